//! The application driven through encoded frames, as the UART delivers them.

use super::*;
use crate::board::NoBoard;
use stdp_core::crc::crc32;
use stdp_core::image::ModelImage;
use stdp_core::image::{image_size, ImageHeader};
use stdp_core::NetworkParams;
use stdp_core::Procedure;
use stdp_core::{FrozenStorage, Storage};
use stdp_protocol::{cmd, Event, FrameEncoder, MAX_CHUNK};
use stdp_protocol::{run_flags, StateKind, MAX_BODY, MAX_FRAME};

const NI: usize = 16;
const NN: usize = 4;
type TestApp = App<'static, NoBoard, 8, 16, 4>;

fn image_bytes(seed: u8) -> Vec<u8> {
    let header = ImageHeader {
        params: NetworkParams::diehl_cook(NI, NN),
        procedure: Procedure {
            intensity: 2.0,
            max_intensity: 32.0,
            present_ms: 50.0,
            rest_ms: 20.0,
            min_spikes: 5,
            norm_target: 4.0,
        },
    };
    let w: Vec<u8> = (0..NI * NN).map(|i| (i * 37 + seed as usize) as u8).collect();
    let mut out = vec![0u8; image_size(NI, NN)];
    ModelImage::write(
        &header,
        &w,
        [20.0, 21.0, 19.5, 20.5].into_iter(),
        &[0, 1, 2, 255],
        &mut out,
    )
    .unwrap();
    out
}

fn leak<T>(x: T) -> &'static mut T {
    Box::leak(Box::new(x))
}

fn app(builtin: Option<&'static [u8]>) -> TestApp {
    let cap = image_size(NI, 8);
    let mem = Memory {
        slots: [leak(vec![0u8; cap]).as_mut_slice(), leak(vec![0u8; cap]).as_mut_slice()],
        builtin,
        frozen: leak(FrozenStorage::new()),
        plastic: Some(leak(Storage::new())),
        inputs: InputMemory {
            next: leak(vec![0; NI]),
            inv_log: leak(vec![0.0; NI]),
            link: leak(vec![0; NI]),
            rates: leak(vec![0.0; NI]),
            spikes: leak(vec![0; NI]),
            pixels: leak(vec![0; NI]),
        },
        counts: leak(vec![0; 8]),
    };
    App::new(mem, NoBoard { free_ram: 1234 })
}

/// Sends a request frame and decodes the reply into an owned form.
fn ask(app: &mut TestApp, frame: &[u8]) -> (u16, Vec<u8>, u8) {
    let mut body = [0u8; MAX_BODY];
    let mut out = [0u8; MAX_FRAME];
    let n = app.handle(&frame[..frame.len() - 1], &mut body, &mut out);
    assert_eq!(out[n - 1], 0);
    let mut rb = [0u8; MAX_BODY];
    let f = decode_frame(&out[..n - 1], &mut rb).unwrap();
    (f.header.seq, f.payload.to_vec(), f.header.code)
}

fn req(app: &mut TestApp, r: Request<'_>) -> (u8, Vec<u8>) {
    let mut buf = [0u8; MAX_FRAME];
    let n = r.encode(7, &mut buf).unwrap();
    let (seq, p, code) = ask(app, &buf[..n]);
    assert_eq!(seq, 7);
    (code, p)
}

fn error_of(code: u8, p: &[u8]) -> Option<ErrorCode> {
    match Reply::parse(code, p).unwrap() {
        Reply::Error { code, .. } => Some(code),
        _ => None,
    }
}

fn upload(app: &mut TestApp, img: &[u8]) -> (u8, Vec<u8>) {
    let (c, p) = req(app, Request::UploadBegin { len: img.len() as u32 });
    assert_eq!(error_of(c, &p), None);
    for (k, chunk) in img.chunks(MAX_CHUNK / 3).enumerate() {
        let (c, p) = req(
            app,
            Request::UploadChunk {
                offset: (k * (MAX_CHUNK / 3)) as u32,
                data: chunk,
            },
        );
        assert_eq!(error_of(c, &p), None);
    }
    req(app, Request::UploadCommit { crc: crc32(img) })
}

fn run_image(app: &mut TestApp, seed: u64) -> Vec<u8> {
    let pixels: Vec<u8> = (0..NI).map(|i| (i * 16) as u8).collect();
    let (c, p) = req(app, Request::PresentImage { seed, pixels: &pixels });
    assert_eq!(error_of(c, &p), None);
    let (c, p) = req(app, Request::Run { independent: true });
    assert_eq!(error_of(c, &p), None, "{p:?}");
    p
}

#[test]
fn upload_then_run_gives_the_same_answer_every_time() {
    let mut a = app(None);
    let img = image_bytes(1);
    let (c, p) = upload(&mut a, &img);
    assert_eq!(
        Reply::parse(c, &p).unwrap(),
        Reply::Committed {
            n_inputs: NI as u16,
            n_neurons: NN as u16
        }
    );
    let r1 = run_image(&mut a, 3);
    let r2 = run_image(&mut a, 3);
    assert_eq!(r1, r2);
    match Reply::parse(cmd::RUN | 0x80, &r1).unwrap() {
        Reply::Run { summary, counts } => {
            assert_eq!(summary.n_neurons, NN as u16);
            assert_eq!(counts.len(), NN);
            assert_eq!(summary.exc_spikes, counts.iter().map(u32::from).sum::<u32>());
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn malformed_and_refused_requests_change_nothing() {
    let mut a = app(None);
    upload(&mut a, &image_bytes(1));
    let before = run_image(&mut a, 5);
    let (_, info_before) = req(&mut a, Request::Info);
    // Bad CRC, unknown command, bad lengths, out-of-range values.
    let mut buf = [0u8; MAX_FRAME];
    let n = Request::Run { independent: true }.encode(1, &mut buf).unwrap();
    buf[2] ^= 0x10;
    let (seq, p, code) = ask(&mut a, &buf[..n]);
    assert_eq!((seq, error_of(code, &p)), (UNTRUSTED_SEQ, Some(ErrorCode::Crc)));
    let mut e = FrameEncoder::new(&mut buf, 0x55, 2);
    e.put(&[1, 2, 3]);
    let n = e.finish().unwrap();
    let (seq, p, code) = ask(&mut a, &buf[..n]);
    assert_eq!((seq, error_of(code, &p)), (2, Some(ErrorCode::UnknownCommand)));
    let bad = [
        (
            Request::PresentImage {
                seed: 1,
                pixels: &[1, 2, 3],
            },
            ErrorCode::BadLength,
        ),
        (
            Request::PresentSpikes {
                start: true,
                independent: true,
                until: 3,
                events: Array::Values(&[Event {
                    input: NI as u16,
                    step: 0,
                }]),
            },
            ErrorCode::OutOfRange,
        ),
        (
            Request::PresentSpikes {
                start: true,
                independent: true,
                until: 3,
                events: Array::Values(&[Event { input: 1, step: 2 }, Event { input: 1, step: 1 }]),
            },
            ErrorCode::OutOfRange,
        ),
        (
            Request::PresentSpikes {
                start: false,
                independent: true,
                until: 3,
                events: Array::Values(&[]),
            },
            ErrorCode::BadState,
        ),
        (
            Request::ReadState {
                kind: StateKind::Weights,
                offset: (NI * NN) as u32,
                count: 1,
            },
            ErrorCode::OutOfRange,
        ),
        (Request::ReadCounts { offset: 3, count: 2 }, ErrorCode::OutOfRange),
        (
            Request::UploadChunk {
                offset: 0,
                data: &[1, 2],
            },
            ErrorCode::BadState,
        ),
        (Request::UploadCommit { crc: 0 }, ErrorCode::BadState),
        (Request::UploadBegin { len: 1 << 30 }, ErrorCode::TooLarge),
    ];
    for (r, want) in bad {
        let (c, p) = req(&mut a, r);
        assert_eq!(error_of(c, &p), Some(want), "{r:?}");
    }
    // A damaged image is refused and the old model stays.
    let mut img = image_bytes(2);
    img[100] ^= 1;
    let (c, p) = upload(&mut a, &img);
    assert_eq!(error_of(c, &p), Some(ErrorCode::BadImage));
    let (c, p) = req(&mut a, Request::UploadCommit { crc: 0 });
    assert_eq!(error_of(c, &p), Some(ErrorCode::BadImage));
    let (_, info_after) = req(&mut a, Request::Info);
    assert_eq!(info_before, info_after);
    assert_eq!(run_image(&mut a, 5), before);
}

#[test]
fn spike_input_in_several_frames_equals_one_frame() {
    let mut a = app(Some(Box::leak(image_bytes(3).into_boxed_slice())));
    assert_eq!(a.shape(), (NI, NN));
    let events: Vec<Event> = (0..90)
        .map(|k| Event {
            input: (k * 7 % NI) as u16,
            step: k as u16,
        })
        .collect();
    let one = |a: &mut TestApp| {
        let (c, p) = req(
            a,
            Request::PresentSpikes {
                start: true,
                independent: true,
                until: 100,
                events: Array::Values(&events),
            },
        );
        assert_eq!(error_of(c, &p), None);
        req(a, Request::Run { independent: true }).1
    };
    let r1 = one(&mut a);
    let (c, p) = req(
        &mut a,
        Request::PresentSpikes {
            start: true,
            independent: true,
            until: 40,
            events: Array::Values(&events[..40]),
        },
    );
    assert_eq!(error_of(c, &p), None);
    let (c, p) = req(
        &mut a,
        Request::PresentSpikes {
            start: false,
            independent: true,
            until: 100,
            events: Array::Values(&events[40..]),
        },
    );
    assert_eq!(error_of(c, &p), None);
    let r2 = req(&mut a, Request::Run { independent: true }).1;
    assert_eq!(r1, r2);
    // Without input, a run is refused.
    let (c, p) = req(&mut a, Request::Run { independent: true });
    assert_eq!(error_of(c, &p), Some(ErrorCode::BadState));
}

#[test]
fn learning_changes_weights_and_reset_restores_them() {
    let mut a = app(None);
    upload(&mut a, &image_bytes(4));
    let read = |a: &mut TestApp| {
        req(
            a,
            Request::ReadState {
                kind: StateKind::Weights,
                offset: 0,
                count: (NI * NN) as u16,
            },
        )
        .1
    };
    let w0 = read(&mut a);
    let (c, p) = req(&mut a, Request::SetLearning { on: true });
    assert_eq!(error_of(c, &p), None);
    assert_eq!(read(&mut a), w0, "dequantised weights are the image's");
    let r = run_image(&mut a, 9);
    assert_eq!(r[1] & run_flags::LEARNED, run_flags::LEARNED);
    assert_ne!(read(&mut a), w0);
    let (c, p) = req(&mut a, Request::Reset { forget_model: false });
    assert_eq!(error_of(c, &p), None);
    assert_eq!(read(&mut a), w0);
    let (c, p) = req(&mut a, Request::Reset { forget_model: true });
    assert_eq!(error_of(c, &p), None);
    let (c, p) = req(&mut a, Request::SetLearning { on: true });
    assert_eq!(error_of(c, &p), Some(ErrorCode::NoModel));
}

#[test]
fn link_answers_garbage_and_oversize_without_losing_sync() {
    let mut a = app(None);
    let mut link = Box::new(Link::new());
    let mut replies = 0;
    let mut feed = |a: &mut TestApp, bytes: &[u8]| {
        for &b in bytes {
            if link.feed(a, b).is_some() {
                replies += 1;
            }
        }
    };
    feed(&mut a, &[1, 2, 3, 0]);
    feed(&mut a, &vec![9u8; 5000]);
    feed(&mut a, &[0]);
    let mut buf = [0u8; MAX_FRAME];
    let n = Request::Info.encode(1, &mut buf).unwrap();
    feed(&mut a, &buf[..n]);
    assert_eq!(replies, 3);
}
