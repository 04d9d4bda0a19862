//! The examples a command trains or evaluates on, whatever they are:
//! MNIST digits ([`Dataset`]), an event camera's recordings in N-MNIST's
//! layout ([`Recordings`], read from disk one at a time, never all in
//! memory), or MNIST digits turned into recordings on the fly by the DVS
//! emulator ([`Saccades`]). Training, label assignment, evaluation and the
//! cross-check take any of them ([`Examples`]), so they share one path.
//!
//! Reproducibility: an example's input is a function of the example, the
//! run's seed and the pass only (a recording file is itself; an emulated
//! recording is drawn with the seed `stream_seed(seed, pass, index)`, as
//! [`crate::sim::dc::example_rng`] draws spike trains), so a run gives the
//! same result in any order and on any number of threads.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use stdp_core::Event;
use stdp_events::dataset::{is_layout, Part, Split};
use stdp_events::emulator::{Emulator, EmulatorParams};

use crate::config::{EventInputConfig, InputConfig};
use crate::formats::mnist::{self, Dataset};

/// One example's input.
#[derive(Debug, Clone)]
pub enum Input<'a> {
    /// A digit's pixels (rate-coded by the presentation).
    Pixels(&'a [u8]),
    /// A recording's events, in time order (`t` in µs).
    Events(Vec<Event>),
}

/// What the examples are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// MNIST digits (784 pixels).
    Digits,
    /// Event recordings on N-MNIST's 34 x 34 sensor.
    Events,
}

/// A set of labelled examples.
pub trait Examples: Sync {
    /// How many.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Example `i`'s class.
    fn label(&self, i: usize) -> u8;
    /// What they are.
    fn kind(&self) -> Kind;
    /// Example `i`'s input in pass `pass` of a run seeded `seed`. Errors:
    /// a recording that cannot be read (named).
    fn input(&self, i: usize, seed: u64, pass: u64) -> Result<Input<'_>>;
    /// Adds what example `i` is made of (a digit's pixels, a recording
    /// file's bytes) to `h`: how a search recognises its data again.
    fn digest(&self, i: usize, h: &mut crc32fast::Hasher) -> Result<()>;
    /// What else decides the examples beyond their digests (the emulator's
    /// parameters for saccades); `None` for MNIST digits.
    fn source(&self) -> Option<String> {
        None
    }
}

/// Examples `start..start + len` of another set, renumbered from 0 (an
/// emulated recording keeps its index in the whole set, so it is the same
/// recording as in a run over the whole set).
#[derive(Clone, Copy)]
pub struct Slice<'a> {
    of: &'a dyn Examples,
    start: usize,
    len: usize,
}

impl<'a> Slice<'a> {
    /// Examples `range` of `of`. Errors: a range beyond its end.
    pub fn new(of: &'a dyn Examples, range: std::ops::Range<usize>) -> Result<Slice<'a>> {
        if range.start > range.end || range.end > of.len() {
            bail!("examples {}..{} asked of a set of {}", range.start, range.end, of.len());
        }
        Ok(Slice {
            of,
            start: range.start,
            len: range.end - range.start,
        })
    }
}

impl Examples for Slice<'_> {
    fn len(&self) -> usize {
        self.len
    }
    fn label(&self, i: usize) -> u8 {
        self.of.label(self.start + i)
    }
    fn kind(&self) -> Kind {
        self.of.kind()
    }
    fn input(&self, i: usize, seed: u64, pass: u64) -> Result<Input<'_>> {
        self.of.input(self.start + i, seed, pass)
    }
    fn digest(&self, i: usize, h: &mut crc32fast::Hasher) -> Result<()> {
        self.of.digest(self.start + i, h)
    }
    fn source(&self) -> Option<String> {
        self.of.source()
    }
}

impl Examples for Dataset {
    fn len(&self) -> usize {
        Dataset::len(self)
    }
    fn label(&self, i: usize) -> u8 {
        Dataset::label(self, i)
    }
    fn kind(&self) -> Kind {
        Kind::Digits
    }
    fn input(&self, i: usize, _seed: u64, _pass: u64) -> Result<Input<'_>> {
        Ok(Input::Pixels(self.digit(i)))
    }
    fn digest(&self, i: usize, h: &mut crc32fast::Hasher) -> Result<()> {
        h.update(self.digit(i));
        Ok(())
    }
}

/// Recordings in N-MNIST's layout (`Train/<label>/<id>.bin`), in id order.
#[derive(Debug, Clone)]
pub struct Recordings(pub Split);

impl Examples for Recordings {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn label(&self, i: usize) -> u8 {
        self.0.label(i)
    }
    fn kind(&self) -> Kind {
        Kind::Events
    }
    fn input(&self, i: usize, _seed: u64, _pass: u64) -> Result<Input<'_>> {
        let mut out = Vec::new();
        self.0.read(i, &mut out).map_err(|e| anyhow!("{e}"))?;
        Ok(Input::Events(out))
    }
    fn digest(&self, i: usize, h: &mut crc32fast::Hasher) -> Result<()> {
        let path = &self.0.entries[i].path;
        h.update(&std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?);
        Ok(())
    }
    fn source(&self) -> Option<String> {
        Some("recordings".into())
    }
}

/// MNIST digits recorded by the DVS emulator when they are presented
/// (`--input saccades`): digit `i` in pass `pass` of a run seeded `seed`
/// is the recording of seed `stream_seed(seed, pass, i)`, a new one every
/// epoch.
#[derive(Debug, Clone)]
pub struct Saccades {
    /// The digits.
    pub digits: Dataset,
    /// The emulator.
    pub emulator: Emulator,
}

impl Examples for Saccades {
    fn len(&self) -> usize {
        self.digits.len()
    }
    fn label(&self, i: usize) -> u8 {
        self.digits.label(i)
    }
    fn kind(&self) -> Kind {
        Kind::Events
    }
    fn input(&self, i: usize, seed: u64, pass: u64) -> Result<Input<'_>> {
        let mut out = Vec::new();
        let s = stdp_core::rng::stream_seed(seed ^ SACCADE_SEED, pass, i as u64);
        self.emulator.record(self.digits.digit(i), s, &mut out);
        Ok(Input::Events(out))
    }
    fn digest(&self, i: usize, h: &mut crc32fast::Hasher) -> Result<()> {
        h.update(self.digits.digit(i));
        Ok(())
    }
    fn source(&self) -> Option<String> {
        let p = serde_json::to_string(self.emulator.params()).unwrap_or_default();
        Some(format!("saccades, emulator {p}"))
    }
}

/// Keeps the emulator's streams apart from the spike trains' (same seed,
/// pass and index).
const SACCADE_SEED: u64 = 0x5ACC_ADE5_0000_0001;

/// How `--data` is read (`--input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputArg {
    /// Decided by the data: an N-MNIST layout directory holds events, any
    /// other MNIST's IDX files (digits).
    #[default]
    Auto,
    /// MNIST digits (Poisson rate coding; `images`, its former name, works too).
    #[value(alias = "images")]
    Digits,
    /// Event recordings in N-MNIST's layout (`Train/`, `Test/`).
    Events,
    /// MNIST digits through the DVS emulator, recorded on the fly.
    Saccades,
}

/// A data directory's two halves, boxed.
pub struct Data {
    /// Training examples.
    pub train: Box<dyn Examples>,
    /// Test examples.
    pub test: Box<dyn Examples>,
}

/// Loads `dir` as `input` says (with `Auto`: an N-MNIST layout directory
/// is event data, anything else MNIST). `emulator`: the emulator's
/// parameters (JSON) for saccades; the calibrated defaults without it.
pub fn load(dir: &Path, input: InputArg, emulator: Option<&Path>) -> Result<Data> {
    let layout = is_layout(dir);
    let input = match input {
        InputArg::Auto if layout => InputArg::Events,
        InputArg::Auto => InputArg::Digits,
        x => x,
    };
    if emulator.is_some() && input != InputArg::Saccades {
        bail!("--emulator applies to --input saccades only");
    }
    match input {
        InputArg::Events => {
            if !layout {
                bail!(
                    "{}: not an N-MNIST layout directory (Train/<label>/<id>.bin, Test/...) for --input events",
                    dir.display()
                );
            }
            let part = |p| -> Result<Box<dyn Examples>> {
                Ok(Box::new(Recordings(Split::list(dir, p).map_err(|e| anyhow!("{e}"))?)))
            };
            Ok(Data {
                train: part(Part::Train)?,
                test: part(Part::Test)?,
            })
        }
        InputArg::Digits | InputArg::Saccades => {
            if layout {
                bail!(
                    "{}: an N-MNIST layout directory (event recordings); --input {} takes MNIST's IDX files",
                    dir.display(),
                    if input == InputArg::Digits {
                        "digits"
                    } else {
                        "saccades"
                    }
                );
            }
            let (train, test) = mnist::load_dir(dir)?;
            if input == InputArg::Digits {
                return Ok(Data {
                    train: Box::new(train),
                    test: Box::new(test),
                });
            }
            let params = match emulator {
                Some(p) => {
                    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
                    serde_json::from_str::<EmulatorParams>(&text)
                        .with_context(|| format!("{}: not emulator parameters", p.display()))?
                }
                None => EmulatorParams::default(),
            };
            let emulator = Emulator::new(&params).map_err(|e| anyhow!("{e}"))?;
            for d in [&train, &test] {
                if d.rows != 28 || d.cols != 28 {
                    bail!("--input saccades needs 28 x 28 digits, got {} x {}", d.rows, d.cols);
                }
            }
            Ok(Data {
                train: Box::new(Saccades {
                    digits: train,
                    emulator: emulator.clone(),
                }),
                test: Box::new(Saccades { digits: test, emulator }),
            })
        }
        InputArg::Auto => unreachable!("resolved above"),
    }
}

/// Checks that a network with input `cfg` can be shown examples of `kind`:
/// a digit model refuses events and an event model digits, with a
/// one-line error saying what to do.
pub fn check_fits(cfg: &InputConfig, kind: Kind) -> Result<()> {
    match (cfg, kind) {
        (InputConfig::Digits, Kind::Digits) | (InputConfig::Events(_), Kind::Events) => Ok(()),
        (InputConfig::Digits, Kind::Events) => {
            bail!("the model takes digits (784 inputs) and --data holds event recordings; train a model on events")
        }
        (InputConfig::Events(_), Kind::Digits) => {
            bail!("the model takes events and --data holds MNIST digits; give N-MNIST-layout data or --input saccades")
        }
    }
}

/// The configuration's input for data of `kind`: a digit configuration
/// on event data becomes N-MNIST's event input (2,312 inputs), keeping
/// what a `--params` file said about events.
pub fn input_for(cfg: &InputConfig, kind: Kind) -> InputConfig {
    match (cfg, kind) {
        (InputConfig::Digits, Kind::Events) => InputConfig::Events(EventInputConfig::default()),
        (c, _) => *c,
    }
}

/// A one-line refusal for the commands that do not take event input yet.
pub fn refuse_events(what: &str, cfg: &InputConfig) -> Result<()> {
    if !cfg.is_digits() {
        bail!("{what} does not support event-input models yet");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::InputArg;

    #[test]
    fn input_digits_is_also_read_by_its_former_name_images() {
        for name in ["digits", "images"] {
            assert_eq!(InputArg::from_str(name, false), Ok(InputArg::Digits), "{name}");
        }
        let shown: Vec<String> = InputArg::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        assert_eq!(shown, ["auto", "digits", "events", "saccades"]);
    }
}
