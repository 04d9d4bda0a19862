use super::calibrate::{self, Split};
use super::*;

/// A hand-drawn "zero": a ring of white with soft edges, 28 x 28.
fn ring() -> Vec<u8> {
    let mut img = vec![0u8; DIGIT * DIGIT];
    for y in 0..DIGIT {
        for x in 0..DIGIT {
            let r = ((x as f64 - 13.5).powi(2) + (y as f64 - 13.5).powi(2)).sqrt();
            let v = (1.0 - ((r - 7.0).abs() - 1.5).max(0.0)).clamp(0.0, 1.0);
            img[y * DIGIT + x] = (255.0 * v) as u8;
        }
    }
    img
}

fn quiet() -> EmulatorParams {
    EmulatorParams {
        leak_rate_hz: 0.0,
        shot_rate_hz: 0.0,
        ..EmulatorParams::default()
    }
}

fn record(p: &EmulatorParams, img: &[u8], seed: u64) -> Vec<Event> {
    let mut out = Vec::new();
    Emulator::new(p).unwrap().record(img, seed, &mut out);
    out
}

#[test]
fn record_is_deterministic_for_a_seed() {
    let p = EmulatorParams::default();
    let a = record(&p, &ring(), 7);
    let b = record(&p, &ring(), 7);
    assert!(a.len() > 500, "{} events", a.len());
    assert_eq!(a, b);
    // The buffer's old contents are replaced.
    let mut out = vec![Event::new(1, 2, 3, true); 10];
    Emulator::new(&p).unwrap().record(&ring(), 7, &mut out);
    assert_eq!(out, a);
}

#[test]
fn different_seeds_differ() {
    let p = EmulatorParams::default();
    let a = record(&p, &ring(), 1);
    let b = record(&p, &ring(), 2);
    assert_ne!(a, b);
    // ... but only by the noise, the phases and the jitter: the counts are close.
    let (na, nb) = (a.len() as f64, b.len() as f64);
    assert!((na - nb).abs() < 0.1 * na, "{na} {nb}");
}

#[test]
fn blank_digit_gives_only_noise_events() {
    let blank = vec![0u8; DIGIT * DIGIT];
    assert!(record(&quiet(), &blank, 3).is_empty());
    // Leak only: ON events, about rate x pixels x duration of them.
    let p = EmulatorParams {
        shot_rate_hz: 0.0,
        leak_rate_hz: 2.0,
        ..EmulatorParams::default()
    };
    let ev = record(&p, &blank, 3);
    let expect = 2.0 * (W * H) as f64 * p.duration_ms / 1000.0;
    assert!(ev.iter().all(|e| e.on));
    assert!(
        (ev.len() as f64 - expect).abs() < 0.2 * expect,
        "{} leak events, expected ~{expect}",
        ev.len()
    );
    // Shot only: both polarities, a Poisson count.
    let p = EmulatorParams {
        shot_rate_hz: 2.0,
        leak_rate_hz: 0.0,
        ..EmulatorParams::default()
    };
    let ev = record(&p, &blank, 3);
    let on = ev.iter().filter(|e| e.on).count() as f64 / ev.len() as f64;
    assert!(
        (ev.len() as f64 - expect).abs() < 5.0 * expect.sqrt(),
        "{} shot events, expected ~{expect}",
        ev.len()
    );
    assert!((on - 0.5).abs() < 0.1, "ON fraction {on}");
    // A digit with the noise off: no event away from where it passed (the
    // ring reaches 10 px from its centre; the blur adds a little). A dark
    // pixel's slow low-pass may fire well after the ring has left, so the
    // test is against the whole path.
    let ev = record(&quiet(), &ring(), 3);
    assert!(!ev.is_empty());
    let emu = Emulator::new(&quiet()).unwrap();
    let path: Vec<[f64; 2]> = (0..=310).map(|ms| emu.position(ms as f64 * 1000.0)).collect();
    for e in &ev {
        let near = path.iter().any(|q| {
            let (dx, dy) = (f64::from(e.x) - q[0] - 13.5, f64::from(e.y) - q[1] - 13.5);
            (dx * dx + dy * dy).sqrt() < 11.5
        });
        assert!(near, "{e:?} away from the path");
    }
}

#[test]
fn events_are_in_bounds_and_sorted() {
    for seed in 0..4 {
        let ev = record(&EmulatorParams::default(), &ring(), seed);
        assert!(ev.windows(2).all(|w| w[0].t <= w[1].t));
        let end = (EmulatorParams::default().duration_ms * 1000.0) as u64;
        assert!(ev
            .iter()
            .all(|e| usize::from(e.x) < W && usize::from(e.y) < H && e.t < end));
    }
    // A path that carries the digit off the sensor still stays in bounds.
    let p = EmulatorParams {
        start_px: [20.0, -10.0],
        saccades: vec![Saccade {
            start_ms: 0.0,
            duration_ms: 300.0,
            dx_px: -20.0,
            dy_px: 25.0,
        }],
        ..EmulatorParams::default()
    };
    let ev = record(&p, &ring(), 1);
    assert!(!ev.is_empty());
    assert!(ev.iter().all(|e| usize::from(e.x) < W && usize::from(e.y) < H));
    assert!(ev.windows(2).all(|w| w[0].t <= w[1].t));
}

#[test]
fn count_scales_with_contrast_threshold() {
    // No refractory period, no low-pass, no mismatch: an edge gives
    // floor(contrast / threshold) events, so halving the threshold about
    // doubles them (the ring's contrast is ln(1.05 / 0.05) = 3.04: 15, 7, 3).
    let base = EmulatorParams {
        refractory_us: 0.0,
        cutoff_hz: 0.0,
        threshold_sigma: 0.0,
        jitter_us: 0.0,
        ..quiet()
    };
    let count = |thr: f32| {
        let p = EmulatorParams {
            threshold_on: thr,
            threshold_off: thr,
            ..base.clone()
        };
        record(&p, &ring(), 5).len() as f64
    };
    let (a, b, c) = (count(0.2), count(0.4), count(0.8));
    assert!(a > b && b > c, "{a} {b} {c}");
    assert!((a / b - 2.0).abs() < 0.3, "0.2 vs 0.4: {a} / {b}");
    assert!((b / c - 2.0).abs() < 0.5, "0.4 vs 0.8: {b} / {c}");
    // With the default model (refractory period, low-pass) the count still falls as the threshold rises.
    let p = |thr: f32| EmulatorParams {
        threshold_on: thr,
        threshold_off: thr,
        ..quiet()
    };
    assert!(record(&p(0.2), &ring(), 5).len() > record(&p(0.4), &ring(), 5).len());
}

#[test]
fn crossings_are_interpolated_in_time_and_polarity_follows_the_change() {
    // One pixel, signal rising 0 -> 1 over a step of 1000 µs, threshold 0.3:
    // three ON events at 300, 600, 900 µs.
    let mut px = Pixel {
        level: 0.0,
        refr: f64::NEG_INFINITY,
    };
    let mut got = Vec::new();
    px.cross(0.0, 1000.0, 0.0, 1.0, 0.3, 0.3, 0.0, |t, on| got.push((t, on)));
    assert_eq!(got.len(), 3);
    for (k, (t, on)) in got.iter().enumerate() {
        assert!(*on && (t - 300.0 * (k + 1) as f64).abs() < 1e-9, "{got:?}");
    }
    assert!((px.level - 0.9).abs() < 1e-12);
    // With a refractory period of 500 µs the second crossing is lost and the
    // level restarts from the signal at 800 µs (0.8): one more event at 1100 µs.
    let mut px = Pixel {
        level: 0.0,
        refr: f64::NEG_INFINITY,
    };
    let mut got = Vec::new();
    px.cross(0.0, 1000.0, 0.0, 1.0, 0.3, 0.3, 500.0, |t, on| got.push((t, on)));
    assert_eq!(got, vec![(300.0, true)]);
    assert!((px.level - 0.8).abs() < 1e-12 && px.refr == 800.0);
    px.cross(1000.0, 2000.0, 1.0, 1.2, 0.3, 0.3, 500.0, |t, on| got.push((t, on)));
    assert_eq!(got.len(), 2);
    assert!((got[1].0 - 1500.0).abs() < 1e-9 && got[1].1);
    // Falling: OFF.
    let mut px = Pixel {
        level: 0.0,
        refr: f64::NEG_INFINITY,
    };
    let mut got = Vec::new();
    px.cross(0.0, 100.0, 0.0, -0.5, 0.3, 0.4, 0.0, |t, on| got.push((t, on)));
    assert_eq!(got.len(), 1);
    assert!((got[0].0 - 80.0).abs() < 1e-9 && !got[0].1, "{got:?}");
}

#[test]
fn bad_parameters_are_refused_with_the_field_named() {
    let cases: Vec<(EmulatorParams, &str)> = vec![
        (
            EmulatorParams {
                threshold_on: 0.0,
                ..Default::default()
            },
            "threshold_on",
        ),
        (
            EmulatorParams {
                threshold_off: f32::NAN,
                ..Default::default()
            },
            "threshold_off",
        ),
        (
            EmulatorParams {
                dt_us: 0.0,
                ..Default::default()
            },
            "dt_us",
        ),
        (
            EmulatorParams {
                log_eps: 0.0,
                ..Default::default()
            },
            "log_eps",
        ),
        (
            EmulatorParams {
                blur_px: 9.0,
                ..Default::default()
            },
            "blur_px",
        ),
        (
            EmulatorParams {
                leak_rate_hz: -1.0,
                ..Default::default()
            },
            "leak_rate_hz",
        ),
        (
            EmulatorParams {
                cutoff_floor: 0.0,
                ..Default::default()
            },
            "cutoff_floor",
        ),
        (
            EmulatorParams {
                saccades: vec![Saccade {
                    start_ms: 0.0,
                    duration_ms: 0.0,
                    dx_px: 1.0,
                    dy_px: 0.0,
                }],
                ..Default::default()
            },
            "saccades[0].duration_ms",
        ),
        (
            EmulatorParams {
                saccades: vec![
                    Saccade {
                        start_ms: 0.0,
                        duration_ms: 10.0,
                        dx_px: 20.0,
                        dy_px: 0.0,
                    },
                    Saccade {
                        start_ms: 10.0,
                        duration_ms: 10.0,
                        dx_px: 20.0,
                        dy_px: 0.0,
                    },
                ],
                ..Default::default()
            },
            "along x",
        ),
    ];
    for (p, field) in cases {
        let e = Emulator::new(&p).unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
    assert!(serde_json::from_str::<EmulatorParams>(r#"{"threshold": 0.2}"#).is_err());
    let p: EmulatorParams = serde_json::from_str(r#"{"threshold_on": 0.2}"#).unwrap();
    assert_eq!(
        p,
        EmulatorParams {
            threshold_on: 0.2,
            ..Default::default()
        }
    );
}

#[test]
fn shipped_params_file_parses_and_equals_the_defaults() {
    let text = include_str!("../../../docs/params/emulator.json");
    let p: EmulatorParams = serde_json::from_str(text).unwrap();
    assert_eq!(p, EmulatorParams::default());
    Emulator::new(&p).unwrap();
}

// --- the report's functions on tiny hand-made inputs -------------------------

fn ev(t_ms: u64, x: u16, y: u16, on: bool) -> Event {
    Event::new(t_ms * 1000, x, y, on)
}

#[test]
fn quantile_pearson_and_count_image() {
    let v = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(calibrate::quantile(&v, 0.5), 3.0);
    assert_eq!(calibrate::quantile(&v, 0.1), 1.4);
    assert_eq!(calibrate::quantile(&v, 1.0), 5.0);
    assert!(calibrate::quantile(&[], 0.5).is_nan());
    assert!((calibrate::pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
    assert!((calibrate::pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    assert!(calibrate::pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    let img = calibrate::count_image(&[
        ev(0, 1, 0, true),
        ev(1, 1, 0, false),
        ev(2, 0, 2, true),
        ev(3, 40, 0, true),
    ]);
    assert_eq!(img.len(), 34 * 34);
    assert_eq!((img[1], img[2 * 34], img.iter().sum::<f32>()), (2.0, 1.0, 3.0));
    let pol = calibrate::polarity_image(&[ev(0, 1, 0, true), ev(1, 1, 0, false), ev(2, 0, 2, true)]);
    assert_eq!(pol.len(), 2 * 34 * 34);
    assert_eq!(
        (pol[1], pol[34 * 34 + 1], pol[2 * 34], pol.iter().sum::<f32>()),
        (1.0, 1.0, 1.0, 3.0)
    );
}

#[test]
fn side_figures_of_hand_made_recordings() {
    // Two recordings: a (4 events, 3 ON), b (2 events, 0 ON).
    let a = vec![
        ev(0, 0, 0, true),
        ev(5, 2, 0, true),
        ev(15, 0, 2, true),
        ev(25, 2, 2, false),
    ];
    let b = vec![ev(12, 5, 5, false), ev(14, 5, 5, false)];
    let s = calibrate::side(&[a, b]);
    assert_eq!((s.events_median, s.events_p10, s.events_p90), (3.0, 2.2, 3.8));
    assert!((s.on_fraction - 0.375).abs() < 1e-12);
    // Bins of 10 ms: 2 events in 0-10, 3 in 10-20, 1 in 20-30, of 6.
    assert!((s.profile[0] - 100.0 * 2.0 / 6.0).abs() < 1e-9);
    assert!((s.profile[1] - 50.0).abs() < 1e-9);
    assert!((s.profile[2] - 100.0 / 6.0).abs() < 1e-9);
    assert_eq!(s.profile.len(), calibrate::BINS);
    // a's mean is (1, 1): bin 0 holds (-1, -1) and (1, -1): centroid (0, -1).
    assert_eq!(s.centroid[0], Some([0.0, -1.0]));
    // Bin 1: a's (-1, 1) and b's two at its own mean (0, 0): (-1/3, 1/3).
    let c = s.centroid[1].unwrap();
    assert!((c[0] + 1.0 / 3.0).abs() < 1e-12 && (c[1] - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(s.centroid[5], None);
    // ON minus OFF: bin 0 has no OFF; bin 1: a's ON (-1, 1) against b's two OFF at (0, 0).
    assert_eq!(s.on_minus_off[0], None);
    assert_eq!(s.on_minus_off[1], Some([-1.0, 1.0]));
    // One pixel fired twice: b's (5, 5), 2 ms apart.
    assert_eq!(s.pixel_interval_median_us, 2000.0);
    assert_eq!(s.last_event_median_us, 19_500.0);
    // The frame (3 px wide, 34 * 34 - 28 * 28 = 372 pixels): a's (0, 0), (2, 0), (0, 2), (2, 2), 3 ON.
    assert!((s.frame_events_per_pixel - 4.0 / (372.0 * 2.0)).abs() < 1e-12);
    assert_eq!(s.frame_on_fraction, 0.75);
}

#[test]
fn nearest_centroid_and_compare_on_tiny_sets() {
    // Class 0 lights pixel 0, class 1 pixel 1.
    let img = |p: usize, n: f32| {
        let mut v = vec![0f32; 4];
        v[p] = n;
        v[3] = 0.1;
        v
    };
    let train = vec![img(0, 1.0), img(0, 5.0), img(1, 2.0)];
    let test = vec![img(0, 3.0), img(1, 9.0), img(1, 1.0)];
    assert_eq!(calibrate::nearest_centroid(&train, &[0, 0, 1], &test, &[0, 1, 1]), 1.0);
    assert_eq!(calibrate::nearest_centroid(&train, &[0, 0, 1], &test, &[1, 0, 0]), 0.0);
    assert!(calibrate::nearest_centroid(&train, &[0, 0, 1], &[], &[]).is_nan());

    // Real and synthetic alike (synthetic = real shifted by 1 ms): profile r 1
    // (same bins), image r 1, counts r 1, transfer equal.
    let rec = |x: u16, n: u64| (0..n).map(|i| ev(i * 3, x, 3, i % 2 == 0)).collect::<Vec<_>>();
    let real = vec![rec(1, 10), rec(1, 20), rec(8, 30), rec(8, 40)];
    let synth: Vec<Vec<Event>> = real
        .iter()
        .map(|r| r.iter().map(|e| Event { t: e.t + 1000, ..*e }).collect())
        .collect();
    let split = Split {
        train: 0..2,
        tests: vec![("rest".into(), 2..4)],
    };
    let labels = [0, 1, 0, 1];
    let rep = calibrate::compare(&real, &synth, &labels, &split);
    assert_eq!(rep.recordings, 4);
    assert!((rep.count_r - 1.0).abs() < 1e-12);
    assert!((rep.image_r - 1.0).abs() < 1e-12);
    assert!((rep.polarity_image_r - 1.0).abs() < 1e-12);
    assert!(rep.polarity_rms_px < 1e-9);
    assert!(
        rep.profile_r > 0.9 && rep.profile_distance <= 0.15,
        "{} {}",
        rep.profile_r,
        rep.profile_distance
    );
    assert_eq!(rep.transfer.len(), 1);
    assert_eq!(rep.transfer[0].n, 2);
    assert_eq!(rep.transfer[0].synth_to_real, rep.transfer[0].real_to_real);
    assert_eq!(
        rep.transfer[0].synth_to_real_polarity,
        rep.transfer[0].real_to_real_polarity
    );
    assert_eq!(rep.real.on_fraction, 0.5);
    // The report prints.
    let text = rep.to_string();
    assert!(text.contains("4 recordings") && text.contains("nearest-centroid on rest"));
}

#[test]
fn radix_sort_by_time_is_stable() {
    // Times across both radix passes, with ties told apart by x (their order of arrival).
    let mut v: Vec<Event> = (0..5000u64)
        .map(|i| Event::new((i * 7919) % 3001 * 97 + (i % 3) * 2048, i as u16, 0, i % 2 == 0))
        .collect();
    let mut want = v.clone();
    want.sort_by_key(|e| e.t);
    sort_by_time(&mut v);
    assert_eq!(v, want);
    let mut empty = Vec::new();
    sort_by_time(&mut empty);
    assert!(empty.is_empty());
}

/// FNV-1a over the events' fields.
fn digest(events: &[Event]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for e in events {
        for b in
            e.t.to_le_bytes()
                .into_iter()
                .chain(e.x.to_le_bytes())
                .chain(e.y.to_le_bytes())
                .chain([e.on as u8])
        {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[test]
fn output_is_pinned_for_a_seed() {
    // The same events on every machine (no libm, no fused multiply-add, the
    // portable RNG): a change here is a change of the model or of its defaults.
    let ev = record(&EmulatorParams::default(), &ring(), 1);
    assert_eq!(
        (ev.len(), digest(&ev)),
        (4802, 0x9294_a1d5_9677_c389),
        "events {} digest {:#x}",
        ev.len(),
        digest(&ev)
    );
}

#[test]
fn polarity_follows_the_screen_bright_or_dark_digit() {
    // A white bar moving down: its lower edge brightens the pixels it
    // reaches (ON), its upper edge darkens those it leaves (OFF). On a
    // negative screen (a dark bar on white) the two swap.
    let mut bar = vec![0u8; DIGIT * DIGIT];
    for y in 12..16 {
        for x in 6..22 {
            bar[y * DIGIT + x] = 255;
        }
    }
    let base = EmulatorParams {
        saccades: vec![Saccade {
            start_ms: 10.0,
            duration_ms: 100.0,
            dx_px: 0.0,
            dy_px: 4.0,
        }],
        jitter_us: 0.0,
        ..quiet()
    };
    let on_minus_off_y = |negative: bool| {
        let ev = record(
            &EmulatorParams {
                negative,
                ..base.clone()
            },
            &bar,
            1,
        );
        let mean = |on: bool| {
            let ys: Vec<f64> = ev.iter().filter(|e| e.on == on).map(|e| f64::from(e.y)).collect();
            assert!(ys.len() > 50, "{} events of polarity {on}", ys.len());
            ys.iter().sum::<f64>() / ys.len() as f64
        };
        mean(true) - mean(false)
    };
    assert!(on_minus_off_y(false) > 2.0);
    assert!(on_minus_off_y(true) < -2.0);
    // A blank digit on a negative screen is a white screen: nothing moves.
    let blank = vec![0u8; DIGIT * DIGIT];
    assert!(record(
        &EmulatorParams {
            negative: true,
            ..quiet()
        },
        &blank,
        1
    )
    .is_empty());
}
