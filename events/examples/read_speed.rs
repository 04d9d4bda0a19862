//! Decode speed of the readers: reads each file N times (`-n N`, default 5)
//! and prints the best pass in millions of events per second.
//!
//! ```text
//! cargo run --release -p stdp-events --example read_speed -- [-n N] FILE...
//! ```
//!
//! Every pass opens the file afresh and walks all chunks (the file is in the
//! page cache after the first pass, so this measures decoding, not the disk).

use std::time::Instant;

use stdp_events::Reader;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut passes = 5usize;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        if a == "-n" {
            passes = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| usage());
        } else if a.starts_with('-') {
            usage();
        } else {
            files.push(a);
        }
    }
    if files.is_empty() {
        usage();
    }
    for f in &files {
        let mut best = f64::INFINITY;
        let mut events = 0u64;
        let mut format = String::new();
        for _ in 0..passes {
            let start = Instant::now();
            let mut r = Reader::open(f).unwrap_or_else(|e| fail(&e));
            format = r.format().to_string();
            let mut n = 0u64;
            let mut xor = 0u64;
            r.for_each_chunk(|c| {
                n += c.len() as u64;
                // Touch the events so the work cannot be skipped.
                xor ^= c.last().map_or(0, |e| e.t ^ u64::from(e.x));
            })
            .unwrap_or_else(|e| fail(&e));
            std::hint::black_box(xor);
            best = best.min(start.elapsed().as_secs_f64());
            events = n;
        }
        println!(
            "{f}: {format}, {events} events, best of {passes}: {:.1} ms, {:.1} M events/s",
            best * 1e3,
            events as f64 / best / 1e6
        );
    }
}

fn usage() -> ! {
    eprintln!("usage: read_speed [-n N] FILE...");
    std::process::exit(2)
}

fn fail(e: &stdp_events::Error) -> ! {
    eprintln!("{e}");
    std::process::exit(1)
}
