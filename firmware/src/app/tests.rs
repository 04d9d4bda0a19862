//! The application driven through encoded frames, as the UART delivers them.

use super::*;
use crate::board::NoBoard;
use stdp_core::crc::crc32;
use stdp_core::image::ModelImage;
use stdp_core::image::{image_size, ImageHeader};
use stdp_core::NetworkParams;
use stdp_core::Procedure;
use stdp_core::{FrozenBuffers, NetworkBuffers};
use stdp_protocol::{cmd, FrameEncoder, Spike, MAX_CHUNK};
use stdp_protocol::{run_flags, StateKind, MAX_BODY, MAX_FRAME};

const NI: usize = 16;
/// Events the test app keeps for replays.
const REPLAY: usize = 300;
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
        events: None,
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
    let cap = image_size(NI, 8) + stdp_core::image::EVENT_BLOCK;
    let mem = Memory {
        slots: [leak(vec![0u8; cap]).as_mut_slice(), leak(vec![0u8; cap]).as_mut_slice()],
        builtin,
        frozen: leak(FrozenBuffers::new()),
        plastic: Some(leak(NetworkBuffers::new())),
        inputs: InputMemory {
            next: leak(vec![0; NI]),
            inv_log: leak(vec![0.0; NI]),
            link: leak(vec![0; NI]),
            rates: leak(vec![0.0; NI]),
            spikes: leak(vec![0; NI]),
            pixels: leak(vec![0; NI]),
        },
        counts: leak(vec![0; 8]),
        replay: leak(vec![0; REPLAY]),
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

fn run_digit(app: &mut TestApp, seed: u64) -> Vec<u8> {
    let pixels: Vec<u8> = (0..NI).map(|i| (i * 16) as u8).collect();
    let (c, p) = req(app, Request::PresentDigit { seed, pixels: &pixels });
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
    let r1 = run_digit(&mut a, 3);
    let r2 = run_digit(&mut a, 3);
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
    let before = run_digit(&mut a, 5);
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
            Request::PresentDigit {
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
                spikes: Array::Values(&[Spike {
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
                spikes: Array::Values(&[Spike { input: 1, step: 2 }, Spike { input: 1, step: 1 }]),
            },
            ErrorCode::OutOfRange,
        ),
        (
            Request::PresentSpikes {
                start: false,
                independent: true,
                until: 3,
                spikes: Array::Values(&[]),
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
    assert_eq!(run_digit(&mut a, 5), before);
}

#[test]
fn spike_input_in_several_frames_equals_one_frame() {
    let mut a = app(Some(Box::leak(image_bytes(3).into_boxed_slice())));
    assert_eq!(a.shape(), (NI, NN));
    let events: Vec<Spike> = (0..90)
        .map(|k| Spike {
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
                spikes: Array::Values(&events),
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
            spikes: Array::Values(&events[..40]),
        },
    );
    assert_eq!(error_of(c, &p), None);
    let (c, p) = req(
        &mut a,
        Request::PresentSpikes {
            start: false,
            independent: true,
            until: 100,
            spikes: Array::Values(&events[40..]),
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
    let r = run_digit(&mut a, 9);
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

// ---- Streamed camera recordings ----

use stdp_core::present_events::{present_events, EventInput, EventLayout, Polarity, Retry, SliceSource};
use stdp_protocol::dvs::DvsEncoder;

/// An 8 x 1 sensor with ON/OFF pairs: the test network's 16 inputs.
fn layout() -> EventLayout {
    EventLayout::new(8, 1, Polarity::Pairs, 1).unwrap()
}

fn event_image(retry: Retry, min_spikes: u32) -> Vec<u8> {
    let mut h = ModelImage::parse(&image_bytes(5)).unwrap().header;
    h.procedure.min_spikes = min_spikes;
    h.events = Some(EventInput {
        retry,
        ..EventInput::new(layout())
    });
    let w: Vec<u8> = (0..NI * NN).map(|i| (i * 53 % 256) as u8).collect();
    let mut out = vec![0u8; image_size(NI, NN) + stdp_core::image::EVENT_BLOCK];
    ModelImage::write(&h, &w, [2.0, 3.0, 1.5, 2.5].into_iter(), &[0, 1, 2, 3], &mut out).unwrap();
    out
}

/// A recording of `n` events over ~40 ms (µs), busy enough to overflow
/// some steps' 16-entry list.
fn recording(n: usize, seed: u64) -> Vec<stdp_core::Event> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut t = 1_000;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += x % 40;
            stdp_core::Event::new(t, (x >> 8) as u16 % 8, 0, x >> 20 & 1 == 1)
        })
        .collect()
}

/// The recording's events as batch payloads of at most `max` bytes.
fn batches(events: &[stdp_core::Event], max: usize) -> Vec<Vec<u8>> {
    let mut enc = DvsEncoder::new(0);
    let mut out = vec![Vec::new()];
    for e in events {
        let mut b = [0u8; 16];
        let n = enc.encode(e, &mut b).unwrap();
        if out.last().unwrap().len() + n > max {
            out.push(Vec::new());
        }
        out.last_mut().unwrap().extend_from_slice(&b[..n]);
    }
    out.retain(|b| !b.is_empty());
    out
}

/// A UART over fixed input bytes, handed out in small reads; it ends
/// (`Ok(0)`) after them.
struct FakeUart {
    input: Vec<u8>,
    at: usize,
    out: Vec<u8>,
}

impl embedded_io::ErrorType for FakeUart {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for FakeUart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(7).min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl embedded_io::Write for FakeUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Sends the requests through the serving loop; returns the replies (code, payload).
fn converse(app: &mut TestApp, reqs: &[Request<'_>]) -> Vec<(u8, Vec<u8>)> {
    let mut input = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let mut buf = [0u8; MAX_FRAME];
        let n = r.encode(100 + i as u16, &mut buf).unwrap();
        input.extend_from_slice(&buf[..n]);
    }
    let mut uart = FakeUart {
        input,
        at: 0,
        out: Vec::new(),
    };
    let mut link = Box::new(Link::new());
    let mut rx = Rx::new(&mut uart);
    while serve_frame(app, &mut link, &mut rx).is_ok() {}
    let mut replies = Vec::new();
    for f in uart.out.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let mut body = [0u8; MAX_BODY];
        let d = decode_frame(f, &mut body).unwrap();
        replies.push((d.header.code, d.payload.to_vec()));
    }
    replies
}

/// The host's computation of the same presentation: the core's
/// `present_events` on the image's 8-bit weights, the chip's step list
/// (16 entries) and replay capacity.
fn host_events(img: &[u8], events: &[stdp_core::Event]) -> (Vec<u32>, stdp_core::present_events::EventsOutput) {
    let m = ModelImage::parse(img).unwrap();
    let mut net = stdp_core::Network::<stdp_core::Fx>::new(&m.header.params).unwrap();
    let mut store = Box::new(FrozenBuffers::<stdp_core::Fx, 8>::new());
    let mut st = store.state(&net).unwrap();
    net.init_state(&mut st).unwrap();
    net.load_theta(&mut st, (0..NN).map(|j| m.theta::<stdp_core::Fx>(j)))
        .unwrap();
    let q = stdp_core::QuantizedWeights::new(m.weights, m.header.params.stdp.w_max).unwrap();
    assert!(events.len() <= REPLAY);
    let mut src = SliceSource::new(events);
    let (mut spikes, mut counts) = ([0u16; NI], [0u32; NN]);
    let o = present_events(
        &mut net,
        &mut st,
        Some(&q),
        &mut src,
        &m.header.events.unwrap(),
        &m.header.procedure,
        false,
        true,
        &mut spikes,
        &mut counts,
    )
    .unwrap();
    (counts.to_vec(), o)
}

fn recorded(code: u8, p: &[u8]) -> (RunSummary, Vec<u32>) {
    match Reply::parse(code, p).unwrap() {
        Reply::Recorded { summary, counts } => (summary, counts.iter().map(u32::from).collect()),
        r => panic!("not a recorded run: {r:?}"),
    }
}

#[test]
fn a_streamed_recording_gives_the_cores_counts_with_replays() {
    // min_spikes high enough that the gain retry replays.
    for (retry, min_spikes) in [(Retry::None, 5), (Retry::Gain { max: 3 }, 10_000)] {
        let img = event_image(retry, min_spikes);
        let mut a = app(None);
        let (c, p) = upload(&mut a, &img);
        assert_eq!(error_of(c, &p), None);
        let events = recording(250, 1);
        let (host_counts, o) = host_events(&img, &events);
        for max in [3, 40, 1024] {
            let b = batches(&events, max);
            let mut reqs = vec![Request::EventsBegin { independent: true }];
            reqs.extend(b.iter().map(|x| Request::EventsBatch { bytes: x }));
            reqs.push(Request::EventsEnd);
            let r = converse(&mut a, &reqs);
            assert_eq!(r.len(), reqs.len(), "one reply per request");
            assert_eq!(
                Reply::parse(r[0].0, &r[0].1).unwrap(),
                Reply::Recording {
                    step_spikes: NI as u16,
                    replay_events: REPLAY as u32
                }
            );
            for (c, p) in &r[1..r.len() - 1] {
                assert_eq!(Reply::parse(*c, p).unwrap(), Reply::Ack(cmd::EVENTS_BATCH));
            }
            let (c, p) = r.last().unwrap();
            let (s, counts) = recorded(*c, p);
            assert_eq!(counts, host_counts, "{retry:?}, batches of {max} B");
            assert_eq!(s.retries as u32, o.present.retries);
            assert_eq!(s.steps, o.present.steps);
            assert_eq!(s.input_spikes, o.present.input_spikes);
            assert_eq!(s.exc_spikes, o.present.exc_spikes);
            assert_eq!(s.flags & run_flags::EVENTS, run_flags::EVENTS);
        }
        assert!(o.events.overflow > 0, "the test recording overflows some steps' lists");
        if min_spikes > 1000 {
            assert_eq!(o.present.retries, 2);
        }
    }
}

#[test]
fn a_recording_longer_than_the_replay_buffer_is_shown_once() {
    let img = event_image(Retry::Gain { max: 3 }, 10_000);
    let mut a = app(None);
    upload(&mut a, &img);
    let events = recording(REPLAY + 1, 2);
    let b = batches(&events, 1000);
    let mut reqs = vec![Request::EventsBegin { independent: true }];
    reqs.extend(b.iter().map(|x| Request::EventsBatch { bytes: x }));
    reqs.push(Request::EventsEnd);
    let r = converse(&mut a, &reqs);
    let (c, p) = r.last().unwrap();
    let (s, _) = recorded(*c, p);
    assert_eq!(s.retries, 0);
}

#[test]
fn bad_event_batches_are_refused_and_change_nothing() {
    let img = event_image(Retry::None, 5);
    let mut a = app(None);
    upload(&mut a, &img);
    let events = recording(120, 3);
    let good = batches(&events, 60);
    let (host_counts, _) = host_events(&img, &events);
    // An event outside the sensor (x = 8), a varint too long, a cut event:
    // each refused, whatever batch it is in.
    let mut outside = good[1].clone();
    outside.extend_from_slice(&[0, 8, 0]);
    let mut cut = good[1].clone();
    cut.extend_from_slice(&[5, 1]);
    let overlong = [0u8, 0x80, 0x80, 0x80, 0x01, 0];
    let mut reqs = vec![
        Request::EventsBegin { independent: true },
        Request::EventsBatch { bytes: &good[0] },
    ];
    reqs.push(Request::EventsBatch { bytes: &outside });
    reqs.push(Request::EventsBatch { bytes: &cut });
    reqs.push(Request::EventsBatch { bytes: &overlong });
    reqs.push(Request::Info);
    reqs.push(Request::EventsBegin { independent: true });
    reqs.extend(good[1..].iter().map(|x| Request::EventsBatch { bytes: x }));
    reqs.push(Request::EventsEnd);
    let r = converse(&mut a, &reqs);
    assert_eq!(r.len(), reqs.len());
    let err = |k: usize| match Reply::parse(r[k].0, &r[k].1).unwrap() {
        Reply::Error { code, arg, .. } => (code, arg),
        x => panic!("reply {k}: not an error: {x:?}"),
    };
    assert_eq!(err(2), (ErrorCode::OutOfRange, good[1].len() as u32));
    assert_eq!(err(3), (ErrorCode::BadLength, good[1].len() as u32));
    assert_eq!(err(4), (ErrorCode::BadValue, 0));
    assert_eq!(err(5), (ErrorCode::BadState, 2));
    assert_eq!(err(6), (ErrorCode::BadState, 2));
    let (c, p) = r.last().unwrap();
    assert_eq!(recorded(*c, p).1, host_counts, "the refused batches changed the run");
    // Outside a recording: batches and ends are refused; a digit model takes no recording.
    let (c, p) = req(&mut a, Request::EventsBatch { bytes: &good[0] });
    assert_eq!(error_of(c, &p), Some(ErrorCode::BadState));
    let (c, p) = req(&mut a, Request::EventsEnd);
    assert_eq!(error_of(c, &p), Some(ErrorCode::BadState));
    upload(&mut a, &image_bytes(1));
    let (c, p) = req(&mut a, Request::EventsBegin { independent: true });
    assert_eq!(
        Reply::parse(c, &p).unwrap(),
        Reply::Error {
            code: ErrorCode::BadState,
            command: cmd::EVENTS_BEGIN,
            arg: 1
        }
    );
    // Random bytes inside a recording: error replies, then the recording still ends.
    upload(&mut a, &img);
    let mut input = Vec::new();
    let mut buf = [0u8; MAX_FRAME];
    let n = Request::EventsBegin { independent: true }.encode(1, &mut buf).unwrap();
    input.extend_from_slice(&buf[..n]);
    input.extend((0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    input.push(0);
    let n = Request::EventsEnd.encode(2, &mut buf).unwrap();
    input.extend_from_slice(&buf[..n]);
    let mut uart = FakeUart {
        input,
        at: 0,
        out: Vec::new(),
    };
    let mut link = Box::new(Link::new());
    let mut rx = Rx::new(&mut uart);
    while serve_frame(&mut a, &mut link, &mut rx).is_ok() {}
    let last = uart
        .out
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .last()
        .unwrap()
        .to_vec();
    let mut body = [0u8; MAX_BODY];
    let d = decode_frame(&last, &mut body).unwrap();
    assert_eq!((d.header.code, d.header.seq), (cmd::EVENTS_END | 0x80, 2));
}
