//! The DVS emulator's speed on one core: digits recorded per second.
//!
//! ```text
//! cargo run --release -p stdp-events --example emulator_speed -- [IDX_IMAGES] [SECONDS] [PARAMS_JSON]
//! ```
//!
//! `IDX_IMAGES` is an uncompressed MNIST images file (e.g.
//! `gzip -dc train-images-idx3-ubyte.gz > /tmp/train-images`); without it,
//! (or with `-`) digit-like images (anti-aliased strokes) are drawn. Runs for about
//! `SECONDS` (default 5) with the default (calibrated) parameters, or those
//! of `PARAMS_JSON`.

use std::time::Instant;

use stdp_events::emulator::{Emulator, EmulatorParams, DIGIT};

fn idx_images(path: &str) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).expect("reading the IDX file");
    assert!(
        bytes.len() >= 16 && bytes[..4] == [0, 0, 8, 3],
        "an uncompressed IDX images file"
    );
    let n = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let n = n.min(2000).min((bytes.len() - 16) / (DIGIT * DIGIT));
    (0..n)
        .map(|i| bytes[16 + i * DIGIT * DIGIT..16 + (i + 1) * DIGIT * DIGIT].to_vec())
        .collect()
}

/// Digit-like images: two or three thick anti-aliased strokes in the central 20 x 20.
fn strokes(n: usize) -> Vec<Vec<u8>> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let mut img = vec![0u8; DIGIT * DIGIT];
            let k = 2 + (rnd() * 2.0) as usize;
            let mut p = (4.0 + 20.0 * rnd(), 4.0 + 20.0 * rnd());
            for _ in 0..k {
                let q = (4.0 + 20.0 * rnd(), 4.0 + 20.0 * rnd());
                for y in 0..DIGIT {
                    for x in 0..DIGIT {
                        let (px, py) = (x as f64, y as f64);
                        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
                        let len2 = (dx * dx + dy * dy).max(1e-9);
                        let u = (((px - p.0) * dx + (py - p.1) * dy) / len2).clamp(0.0, 1.0);
                        let d = ((px - p.0 - u * dx).powi(2) + (py - p.1 - u * dy).powi(2)).sqrt();
                        let v = (255.0 * (2.0 - d).clamp(0.0, 1.0)) as u8;
                        img[y * DIGIT + x] = img[y * DIGIT + x].max(v);
                    }
                }
                p = q;
            }
            img
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let images = match args.first().filter(|a| a.as_str() != "-") {
        Some(path) => idx_images(path),
        None => strokes(1000),
    };
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let params: EmulatorParams = match args.get(2) {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path).expect("reading the parameters"))
            .expect("emulator parameters"),
        None => EmulatorParams::default(),
    };
    let emu = Emulator::new(&params).expect("valid parameters");
    let mut out = Vec::new();
    // Warm up.
    for (i, img) in images.iter().take(50).enumerate() {
        emu.record(img, i as u64, &mut out);
    }
    let start = Instant::now();
    let (mut digits, mut events) = (0u64, 0u64);
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..100 {
            emu.record(&images[digits as usize % images.len()], digits, &mut out);
            digits += 1;
            events += out.len() as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} digits in {:.2} s on one core: {:.0} digits/s, {:.1} µs per digit, {:.0} events per digit ({} images from {})",
        digits,
        secs,
        digits as f64 / secs,
        1e6 * secs / digits as f64,
        events as f64 / digits as f64,
        images.len(),
        args.first().map_or("drawn strokes", |s| s.as_str())
    );
}
