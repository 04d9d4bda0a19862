//! `events info` and `events convert`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use stdp_events::stats::{summarise, Summary};
use stdp_events::write::{self, OutFormat};
use stdp_events::{Reader, Sensor};

/// `events info` arguments.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// The recording (format detected from its content; a headerless file named *.bin is N-MNIST).
    pub file: PathBuf,
    /// Print JSON (keys as in ../shared/data/events/reference.json) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `events convert` arguments.
#[derive(clap::Args)]
pub struct ConvertArgs {
    /// The recording to read.
    pub file: PathBuf,
    /// The output; its extension picks the format: .csv (t,x,y,p), .npy (tonic's
    /// structured array), .bin (N-MNIST), .raw (EVT 2.0), .aedat4 (AEDAT 4.0).
    #[arg(long)]
    pub out: PathBuf,
    /// Subtract the first event's time from every time (a camera's clock to 0;
    /// N-MNIST's .bin needs times from near 0).
    #[arg(long)]
    pub rebase: bool,
}

/// A byte-progress bar over `path`'s size, shown only on a terminal.
fn bytes_bar(path: &Path, what: &str) -> ProgressBar {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    // Small files finish before a bar is worth drawing.
    if !std::io::stderr().is_terminal() || len < (64 << 20) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(&format!(
        "{what} {{elapsed_precise}} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}} ETA {{eta}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Groups digits by thousands.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn info_json(file: &Path, s: &Summary) -> serde_json::Value {
    serde_json::json!({
        "file": file.display().to_string(),
        "format": s.format.name(),
        "events": s.stats.events,
        "width": s.sensor.width,
        "height": s.sensor.height,
        "t_first_us": s.stats.t_first_us,
        "t_last_us": s.stats.t_last_us,
        "on": s.stats.on,
        "off": s.stats.off,
        "duration_us": s.stats.duration_us(),
        "mean_rate_per_s": s.stats.mean_rate(),
        "peak_rate_per_s": s.stats.peak_rate(),
        "clamped": s.clamped,
        "sum_x": s.stats.sum_x,
        "sum_y": s.stats.sum_y,
        "sum_t_minus_first": s.stats.sum_t_minus_first as u64,
    })
}

/// Runs `events info`.
pub fn info(a: InfoArgs) -> Result<()> {
    let reader = Reader::open(&a.file)?;
    let bar = bytes_bar(&a.file, "reading");
    let s = summarise(reader, |at| bar.set_position(at))?;
    bar.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&info_json(&a.file, &s))?);
        return Ok(());
    }
    let st = &s.stats;
    let on_share = if st.events == 0 {
        0.0
    } else {
        100.0 * st.on as f64 / st.events as f64
    };
    println!("file        {}", a.file.display());
    println!("format      {} ({})", s.format.describe(), s.format.name());
    println!("sensor      {} x {} pixels", s.sensor.width, s.sensor.height);
    println!(
        "events      {} (ON {}, OFF {}: {on_share:.1} % ON)",
        group(st.events),
        group(st.on),
        group(st.off)
    );
    println!(
        "time        {} .. {} µs ({:.3} s)",
        st.t_first_us,
        st.t_last_us,
        st.duration_us() as f64 / 1e6
    );
    println!("mean rate   {} events/s", group(st.mean_rate().round() as u64));
    println!(
        "peak rate   {} events/s (busiest 10 ms bin)",
        group(st.peak_rate().round() as u64)
    );
    if s.clamped > 0 {
        println!(
            "out of order {} events earlier than the one before, moved to its time",
            group(s.clamped)
        );
    }
    Ok(())
}

/// Runs `events convert`.
pub fn convert(a: ConvertArgs) -> Result<()> {
    let format = OutFormat::from_path(&a.out)?;
    let mut reader = Reader::open(&a.file)?;
    let sensor = reader.sensor().unwrap_or(Sensor { width: 0, height: 0 });
    let mut writer = write::create(&a.out, format, sensor)?;
    let bar = bytes_bar(&a.file, "converting");
    let mut t0 = None;
    let mut buf = Vec::new();
    let mut n = 0u64;
    while let Some(chunk) = reader.next_chunk()? {
        n += chunk.len() as u64;
        if a.rebase {
            let first = *t0.get_or_insert_with(|| chunk.first().map_or(0, |e| e.t));
            buf.clear();
            buf.extend(chunk.iter().map(|e| stdp_events::Event { t: e.t - first, ..*e }));
            writer.write(&buf)?;
        } else {
            writer.write(chunk)?;
        }
        bar.set_position(reader.offset());
    }
    writer.finish()?;
    bar.finish_and_clear();
    eprintln!(
        "{}: {} events ({}) -> {}",
        a.file.display(),
        group(n),
        reader.format().describe(),
        a.out.display()
    );
    Ok(())
}
