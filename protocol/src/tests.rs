//! Unit and property tests of the whole protocol.

use crate::*;
use proptest::prelude::*;
use stdp_core::crc::crc32;

fn cobs(src: &[u8], out: &mut [u8]) -> usize {
    cobs_encode(src, out).unwrap()
}

fn frame(r: &Request<'_>, seq: u16) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let n = r.encode(seq, &mut out).unwrap();
    out[..n].to_vec()
}

#[test]
fn cobs_matches_the_paper_examples() {
    let mut out = [0u8; 600];
    let n = cobs(&[0x11, 0x22, 0x00, 0x33], &mut out);
    assert_eq!(&out[..n], &[0x03, 0x11, 0x22, 0x02, 0x33]);
    let n = cobs(&[0x00], &mut out);
    assert_eq!(&out[..n], &[0x01, 0x01]);
    let data: Vec<u8> = (1..=254).collect();
    let n = cobs(&data, &mut out);
    assert_eq!(out[0], 0xFF);
    assert_eq!(n, 256);
    let mut back = [0u8; 300];
    assert_eq!(cobs_decode(&out[..n], &mut back), Ok(254));
    assert_eq!(&back[..254], &data[..]);
}

#[test]
fn requests_round_trip_with_their_sequence_number() {
    let spikes = [Spike { input: 3, step: 0 }, Spike { input: 783, step: 5 }];
    let pixels = [7u8; 784];
    let reqs = [
        Request::Info,
        Request::UploadBegin { len: 79_000 },
        Request::UploadChunk {
            offset: 1020,
            data: &[0, 1, 2, 0, 0],
        },
        Request::UploadCommit { crc: 0xDEAD_BEEF },
        Request::SetLearning { on: true },
        Request::PresentDigit {
            seed: 42,
            pixels: &pixels,
        },
        Request::PresentSpikes {
            start: true,
            independent: true,
            until: 9,
            spikes: Array::Values(&spikes),
        },
        Request::Run { independent: true },
        Request::ReadCounts { offset: 2, count: 7 },
        Request::ReadState {
            kind: StateKind::Theta,
            offset: 5,
            count: 254,
        },
        Request::Reset { forget_model: true },
        Request::EventsBegin { independent: true },
        Request::EventsBatch { bytes: &[100, 33, 67] },
        Request::EventsEnd,
    ];
    for (i, r) in reqs.iter().enumerate() {
        let f = frame(r, i as u16 * 1000);
        assert_eq!(f.iter().position(|&b| b == 0), Some(f.len() - 1));
        let mut body = [0u8; MAX_BODY];
        let (seq, back) = Request::decode(&f[..f.len() - 1], &mut body).unwrap();
        assert_eq!((seq, &back), (i as u16 * 1000, r));
    }
}

#[test]
fn replies_round_trip() {
    let counts = [1u16, 0, 65535];
    let vals = [-1i32, 7 << 20];
    let reps = [
        Reply::Info(Info {
            protocol: 1,
            n_neurons: 100,
            free_ram: 12345,
            ..Info::default()
        }),
        Reply::Ack(cmd::RESET),
        Reply::Committed {
            n_inputs: 784,
            n_neurons: 100,
        },
        Reply::Run {
            summary: RunSummary {
                class: 7,
                steps: 1000,
                n_neurons: 3,
                ..RunSummary::default()
            },
            counts: Array::Values(&counts),
        },
        Reply::Counts {
            offset: 3,
            counts: Array::Values(&counts),
        },
        Reply::Ack(cmd::EVENTS_BATCH),
        Reply::Recording {
            step_spikes: 2312,
            replay_events: 8192,
        },
        Reply::Recorded {
            summary: RunSummary {
                class: 3,
                flags: crate::run_flags::EVENTS,
                steps: 1400,
                n_neurons: 3,
                ..RunSummary::default()
            },
            counts: Array::Values(&counts),
        },
        Reply::State {
            kind: StateKind::Weights,
            offset: 9,
            values: Array::Values(&vals),
        },
        Reply::Error {
            code: ErrorCode::OutOfRange,
            command: cmd::PRESENT_SPIKES,
            arg: 900,
        },
    ];
    for r in reps {
        let mut out = [0u8; MAX_FRAME];
        let n = r.encode(77, &mut out).unwrap();
        let mut body = [0u8; MAX_BODY];
        assert_eq!(Reply::decode(&out[..n - 1], &mut body), Ok((77, r)));
    }
}

#[test]
fn damaged_frames_give_typed_errors() {
    let f = frame(&Request::UploadCommit { crc: 1 }, 5);
    let enc = &f[..f.len() - 1];
    let mut body = [0u8; MAX_BODY];
    let mut bad = enc.to_vec();
    bad[3] ^= 0x40;
    assert_eq!(Request::decode(&bad, &mut body).unwrap_err().1, ProtocolError::Crc);
    assert!(Request::decode(&enc[..3], &mut body).is_err());
    assert_eq!(decode_frame(&[0x02, 1, 0x01], &mut body), Err(ProtocolError::TooShort));
    assert_eq!(decode_frame(&[0x05, 1, 0], &mut body), Err(ProtocolError::Cobs));
    assert_eq!(decode_frame(&[0x05, 1], &mut body), Err(ProtocolError::Cobs));
    assert_eq!(
        decode_frame(&[1; MAX_ENCODED + 1], &mut body),
        Err(ProtocolError::Oversize)
    );
    // A body of MAX_BODY + 1 bytes, validly encoded.
    let mut out = [0u8; MAX_FRAME + 8];
    let n = cobs(&[9u8; MAX_BODY + 1], &mut out);
    assert_eq!(decode_frame(&out[..n], &mut body), Err(ProtocolError::Oversize));
    // Wrong version, unknown command, wrong length: the seq survives.
    let mut e = FrameEncoder::new(&mut out, cmd::INFO, 9);
    e.put(&[]);
    let n = e.finish().unwrap();
    let mut v = [0u8; 16];
    let m = cobs_decode(&out[..n - 1], &mut v).unwrap();
    v[0] = 2;
    let c = crc32(&v[..m - 4]);
    v[m - 4..m].copy_from_slice(&c.to_le_bytes());
    let n = cobs(&v[..m], &mut out);
    assert_eq!(
        Request::decode(&out[..n], &mut body),
        Err((UNTRUSTED_SEQ, ProtocolError::Version { found: 2, seq: 9 }))
    );
    let mut e = FrameEncoder::new(&mut out, 0x42, 10);
    e.put(&[1]);
    let n = e.finish().unwrap();
    assert_eq!(
        Request::decode(&out[..n - 1], &mut body),
        Err((10, ProtocolError::UnknownCode(0x42)))
    );
    let mut e = FrameEncoder::new(&mut out, cmd::RUN, 11);
    e.put(&[1, 2]);
    let n = e.finish().unwrap();
    assert_eq!(
        Request::decode(&out[..n - 1], &mut body),
        Err((11, ProtocolError::BadLength { code: cmd::RUN, len: 2 }))
    );
    let too_many = [0u8; MAX_PAYLOAD + 1];
    let mut out = [0u8; 2 * MAX_FRAME];
    assert_eq!(
        Request::UploadChunk {
            offset: 0,
            data: &too_many
        }
        .encode(0, &mut out),
        Err(ProtocolError::PayloadTooLong)
    );
    assert_eq!(
        Request::Info.encode(0, &mut [0u8; 5]),
        Err(ProtocolError::BufferTooSmall)
    );
}

#[test]
fn reader_splits_frames_and_reports_oversize_and_loss() {
    let mut r = FrameReader::<16>::new();
    let mut got = Vec::new();
    for &b in &[0u8, 0, 1, 2, 0, 3] {
        if let Some(x) = r.push(b) {
            got.push(x.map(|f| f.to_vec()));
        }
    }
    assert_eq!(got, vec![Ok(vec![1, 2])]);
    for _ in 0..20 {
        assert!(r.push(7).is_none());
    }
    assert_eq!(
        r.push(0).map(|x| x.map(|f| f.len())),
        Some(Err(ProtocolError::Oversize))
    );
    r.push(5);
    r.lose();
    assert_eq!(r.push(0).map(|x| x.map(|f| f.len())), Some(Err(ProtocolError::Overrun)));
    r.push(5);
    assert_eq!(r.push(0).map(|x| x.map(|f| f.to_vec())), Some(Ok(vec![5])));
}

#[test]
fn largest_frames_fit_the_limits() {
    let data = [0xAAu8; MAX_CHUNK];
    let f = frame(&Request::UploadChunk { offset: 0, data: &data }, 1);
    assert!(f.len() <= MAX_FRAME);
    let counts = [0u16; MAX_RUN_COUNTS];
    let mut out = [0u8; MAX_FRAME];
    Reply::Run {
        summary: RunSummary::default(),
        counts: Array::Values(&counts),
    }
    .encode(0, &mut out)
    .unwrap();
    let vals = [0i32; MAX_STATE_VALUES];
    Reply::State {
        kind: StateKind::Weights,
        offset: 0,
        values: Array::Values(&vals),
    }
    .encode(0, &mut out)
    .unwrap();
    // The worst case for COBS: no zero byte at all.
    let mut e = FrameEncoder::new(&mut out, 0x7F, 0x0101);
    e.put(&[1u8; MAX_PAYLOAD]);
    assert!(e.finish().unwrap() <= MAX_FRAME);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let mut body = [0u8; MAX_BODY];
        let _ = Request::decode(&bytes, &mut body);
        let _ = Reply::decode(&bytes, &mut body);
        let mut small = [0u8; 7];
        let _ = decode_frame(&bytes, &mut small);
        let mut r = FrameReader::<64>::new();
        for &b in &bytes {
            if let Some(Ok(f)) = r.push(b) {
                let mut body = [0u8; MAX_BODY];
                let _ = Request::decode(f, &mut body);
            }
        }
    }

    #[test]
    fn cobs_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..1100)) {
        let mut out = vec![0u8; cobs_max_len(bytes.len())];
        let n = cobs(&bytes, &mut out);
        prop_assert!(!out[..n].contains(&0));
        let mut back = vec![0u8; bytes.len()];
        prop_assert_eq!(cobs_decode(&out[..n], &mut back), Ok(bytes.len()));
        prop_assert_eq!(back, bytes);
    }

    #[test]
    fn every_valid_payload_survives_and_any_damage_is_caught(
        code in 1u8..=0x0B,
        seq in 0u16..0xFFFF,
        payload in proptest::collection::vec(any::<u8>(), 0..MAX_PAYLOAD),
        flip in any::<(usize, u8)>(),
        cut in any::<usize>(),
    ) {
        let mut out = [0u8; MAX_FRAME];
        let mut e = FrameEncoder::new(&mut out, code, seq);
        e.put(&payload);
        let n = e.finish().unwrap();
        let enc = out[..n - 1].to_vec();
        let mut body = [0u8; MAX_BODY];
        let f = decode_frame(&enc, &mut body).unwrap();
        prop_assert_eq!(f.header, Header { code, seq });
        prop_assert_eq!(f.payload, &payload[..]);
        // Parsing may refuse the random payload, but only with an error.
        let _ = Request::parse(code, f.payload);
        // One flipped bit (kept non-zero, as on the wire between delimiters).
        let (at, bit) = (flip.0 % enc.len(), 1u8 << (flip.1 % 8));
        let mut bad = enc.clone();
        bad[at] ^= bit;
        if bad[at] != 0 {
            prop_assert!(decode_frame(&bad, &mut body).is_err());
        }
        // Truncated.
        let k = cut % enc.len();
        prop_assert!(decode_frame(&enc[..k], &mut body).is_err());
    }

    #[test]
    fn spike_requests_round_trip(
        raw in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..MAX_SPIKES),
        until in any::<u16>(), start in any::<bool>(), independent in any::<bool>()
    ) {
        let spikes: Vec<Spike> = raw.iter().map(|&(input, step)| Spike { input, step }).collect();
        let r = Request::PresentSpikes { start, independent, until, spikes: Array::Values(&spikes) };
        let f = frame(&r, 3);
        let mut body = [0u8; MAX_BODY];
        let (_, back) = Request::decode(&f[..f.len() - 1], &mut body).unwrap();
        prop_assert_eq!(back, r);
    }
}

#[test]
fn an_empty_event_batch_and_payloads_on_begin_or_end_are_refused() {
    use crate::{cmd, ProtocolError, Request};
    assert_eq!(
        Request::parse(cmd::EVENTS_BATCH, &[]),
        Err(ProtocolError::BadLength {
            code: cmd::EVENTS_BATCH,
            len: 0
        })
    );
    assert!(Request::parse(cmd::EVENTS_END, &[0]).is_err());
    assert!(Request::parse(cmd::EVENTS_BEGIN, &[2]).is_err());
    assert!(Request::parse(cmd::EVENTS_BEGIN, &[]).is_err());
}
