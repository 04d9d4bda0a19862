//! `events synth`: N-MNIST-like recordings from MNIST with the DVS emulator;
//! `events calibrate`: the emulator's recordings against real N-MNIST ones
//! of the same digits.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use stdp_core::rng::stream_seed;
use stdp_events::emulator::calibrate::{self, Split};
use stdp_events::emulator::{Emulator, EmulatorParams, SENSOR};
use stdp_events::write::{self, OutFormat};
use stdp_events::Event;
use stdp_host::formats::mnist::{self, Dataset};

/// `events synth` arguments.
#[derive(clap::Args)]
pub struct SynthArgs {
    /// MNIST directory (IDX files).
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory (N-MNIST's layout: Train/<label>/<id>.bin, Test/...,
    /// id = the digit's 0-based index in its MNIST file + 1, 5 digits).
    #[arg(long)]
    pub out: PathBuf,
    /// Emulator parameters (JSON with fields of EmulatorParams; a missing
    /// field takes its calibrated default, docs/params/emulator.json).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Only the first N digits of each set (training and test).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed: digit i of a set is recorded with the stream (seed, set, i), so
    /// a digit's recording does not depend on --limit or on the threads.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `events calibrate` arguments.
#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// MNIST directory (IDX files).
    #[arg(long)]
    pub mnist: PathBuf,
    /// Real N-MNIST recordings in N-MNIST's layout (Train/<label>/<id>.bin
    /// is MNIST training digit id - 1, Test/... test digit id - 1).
    #[arg(long)]
    pub real: PathBuf,
    /// Emulator parameters (JSON; missing fields take the defaults).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Seed of the synthetic recordings (as `events synth --seed`).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The classifier trains on the Train recordings with id <= this and is
    /// tested on the other Train recordings and on Test.
    #[arg(long, default_value_t = 400)]
    pub train_ids: u32,
    /// Also train the classifier on the synthetic recordings of this many
    /// MNIST training digits (from digit 1,000 on, past every recording of
    /// N-MNIST's small samples) and test it on the real test sets.
    #[arg(long, default_value_t = 0)]
    pub synth_train: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which MNIST file a digit is from (the `set` word of its seed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Set {
    Train = 0,
    Test = 1,
}

impl Set {
    fn dir(self) -> &'static str {
        match self {
            Set::Train => "Train",
            Set::Test => "Test",
        }
    }
}

/// The seed of digit `index` of `set`.
fn digit_seed(seed: u64, set: Set, index: usize) -> u64 {
    stream_seed(seed, set as u64, index as u64)
}

fn load_params(path: Option<&Path>) -> Result<EmulatorParams> {
    let Some(path) = path else {
        return Ok(EmulatorParams::default());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not emulator parameters", path.display()))
}

fn emulator(path: Option<&Path>) -> Result<Emulator> {
    let p = load_params(path)?;
    Emulator::new(&p).map_err(|e| anyhow::anyhow!("{e}"))
}

fn bar(n: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(n);
    pb.set_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"))
            .expect("a valid template"),
    );
    pb
}

pub fn synth(a: SynthArgs) -> Result<()> {
    let emu = emulator(a.params.as_deref())?;
    let (train, test) = mnist::load_dir(&a.data)?;
    let sets = [(Set::Train, &train), (Set::Test, &test)];
    let count = |d: &Dataset| a.limit.map_or(d.len(), |l| l.min(d.len()));
    let total: usize = sets.iter().map(|(_, d)| count(d)).sum();
    for (set, _) in &sets {
        for label in 0..10 {
            let dir = a.out.join(set.dir()).join(label.to_string());
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let pb = bar(total as u64, "synth");
    let start = std::time::Instant::now();
    let events: u64 = sets
        .iter()
        .map(|(set, d)| {
            (0..count(d))
                .into_par_iter()
                .map_init(Vec::new, |buf: &mut Vec<Event>, i| -> Result<u64> {
                    emu.record(d.digit(i), digit_seed(a.seed, *set, i), buf);
                    let path = a
                        .out
                        .join(set.dir())
                        .join(d.label(i).to_string())
                        .join(format!("{:05}.bin", i + 1));
                    let mut w = write::create(&path, OutFormat::Nmnist, SENSOR)?;
                    w.write(buf)?;
                    w.finish()?;
                    pb.inc(1);
                    Ok(buf.len() as u64)
                })
                .sum::<Result<u64>>()
        })
        .sum::<Result<u64>>()?;
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} recordings ({} train, {} test) in {}: {} events ({:.0} per recording), {:.1} s ({:.0} digits/s)",
        total,
        count(&train),
        count(&test),
        a.out.display(),
        events,
        events as f64 / total.max(1) as f64,
        secs,
        total as f64 / secs
    );
    Ok(())
}

/// A real recording found in the N-MNIST layout.
struct Real {
    set: Set,
    id: u32,
    label: u8,
    path: PathBuf,
}

fn find_real(root: &Path) -> Result<Vec<Real>> {
    let mut found = Vec::new();
    for set in [Set::Train, Set::Test] {
        let dir = root.join(set.dir());
        if !dir.is_dir() {
            continue;
        }
        for label in 0..10u8 {
            let d = dir.join(label.to_string());
            if !d.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "bin") {
                    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                    let id: u32 = stem
                        .parse()
                        .with_context(|| format!("{}: the name is not an id", path.display()))?;
                    if id == 0 {
                        bail!("{}: ids start at 1", path.display());
                    }
                    found.push(Real { set, id, label, path });
                }
            }
        }
    }
    if found.is_empty() {
        bail!(
            "no recordings in {} (Train/<label>/<id>.bin, Test/<label>/<id>.bin)",
            root.display()
        );
    }
    Ok(found)
}

pub fn calibrate(a: CalibrateArgs) -> Result<()> {
    let emu = emulator(a.params.as_deref())?;
    let (train, test) = mnist::load_dir(&a.mnist)?;
    let mut real = find_real(&a.real)?;
    // Classifier's training recordings first, then the other Train, then Test.
    let group = |r: &Real| match r.set {
        Set::Train if r.id <= a.train_ids => 0,
        Set::Train => 1,
        Set::Test => 2,
    };
    real.sort_by_key(|r| (group(r), r.id));
    for r in &real {
        let d = if r.set == Set::Train { &train } else { &test };
        let i = r.id as usize - 1;
        if i >= d.len() {
            bail!(
                "{}: MNIST's {} set has {} digits",
                r.path.display(),
                r.set.dir(),
                d.len()
            );
        }
        if d.label(i) != r.label {
            bail!("{}: MNIST labels digit {} as {}", r.path.display(), i, d.label(i));
        }
    }
    let recs: Vec<Vec<Event>> = real
        .par_iter()
        .map(|r| stdp_events::read_file(&r.path).map_err(|e| anyhow::anyhow!("{e}")))
        .collect::<Result<_>>()?;
    let synth: Vec<Vec<Event>> = real
        .par_iter()
        .map(|r| {
            let d = if r.set == Set::Train { &train } else { &test };
            let i = r.id as usize - 1;
            let mut out = Vec::new();
            emu.record(d.digit(i), digit_seed(a.seed, r.set, i), &mut out);
            out
        })
        .collect();
    let labels: Vec<u8> = real.iter().map(|r| r.label).collect();
    let n = |g| real.iter().filter(|r| group(r) == g).count();
    let (n0, n1, n2) = (n(0), n(1), n(2));
    let mut tests = Vec::new();
    if n1 > 0 {
        tests.push((format!("Train ids > {}", a.train_ids), n0..n0 + n1));
    }
    if n2 > 0 {
        tests.push(("Test".to_string(), n0 + n1..n0 + n1 + n2));
    }
    if n1 > 0 && n2 > 0 {
        tests.push(("both".to_string(), n0..n0 + n1 + n2));
    }
    let split = Split { train: 0..n0, tests };
    let report = calibrate::compare(&recs, &synth, &labels, &split);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    if a.synth_train > 0 {
        const FIRST: usize = 1000;
        let last = (FIRST + a.synth_train).min(train.len());
        let images: Vec<Vec<f32>> = (FIRST..last)
            .into_par_iter()
            .map_init(Vec::new, |buf: &mut Vec<Event>, i| {
                emu.record(train.digit(i), digit_seed(a.seed, Set::Train, i), buf);
                calibrate::count_image(buf)
            })
            .collect();
        let train_labels: Vec<u8> = (FIRST..last).map(|i| train.label(i)).collect();
        let real_images: Vec<Vec<f32>> = recs.iter().map(|r| calibrate::count_image(r)).collect();
        for (name, range) in &split.tests {
            let acc = calibrate::nearest_centroid(
                &images,
                &train_labels,
                &real_images[range.clone()],
                &labels[range.clone()],
            );
            let line = format!(
                "nearest-centroid on {name} ({} real recordings): trained on {} synthetic digits (MNIST training {FIRST}-{}) {acc:.3}",
                range.len(),
                last - FIRST,
                last - 1
            );
            if a.json {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        }
    }
    Ok(())
}
