//! The model file: one versioned format for trained networks and training
//! checkpoints.
//!
//! ```text
//! offset  size  content
//! 0       8     magic "STDPMDL\0"
//! 8       4     format version, u32 little-endian (currently 2; 1 is read
//!               too: its header holds the configuration's STDP fields flat,
//!               see `Config`)
//! 12      4     J = length of the JSON header, u32 LE
//! 16      J     JSON header (UTF-8): `Meta` — configuration, backend, value
//!               type, assignments, training history, progress (checkpoints)
//! 16+J    ...   weights: n_inputs * n_neurons values, row-major by input
//!               (w[i * n + j] = input i onto neuron j)
//!         ...   theta: n_neurons values (mV)
//!         ...   checkpoints only: the network's dynamic state (see
//!               `OwnedState::dynamic_values` / `dynamic_ints`)
//! end-4   4     CRC-32 (IEEE) of every byte before it, u32 LE
//! ```
//! Values are stored exactly in the training backend's type, little-endian:
//! `f32`, `f64`, or `q11.20` (the raw `i32` of the fixed backend), so a
//! model loads bit-exactly into the backend that trained it. Loading into
//! another backend converts (rounding to nearest).
//!
//! Files are written with [`crate::write_atomic`] (temporary file, fsync,
//! rename, fsync of the directory): a crash
//! never leaves a half-written model or checkpoint.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Config;

const MAGIC: &[u8; 8] = b"STDPMDL\0";
/// Current format version (2: the configuration's STDP parameters are the
/// object `"stdp"`; the layout of the bytes is that of version 1).
pub const VERSION: u32 = 2;

/// The oldest version read (its flat configuration is brought to the
/// current form by `Config`'s deserializer).
pub const OLDEST_VERSION: u32 = 1;

/// How values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// IEEE f32.
    F32,
    /// IEEE f64.
    F64,
    /// Q11.20 in an i32 (value = raw / 2^20).
    #[serde(rename = "q11.20")]
    Q11_20,
}

impl ValueType {
    fn size(self) -> usize {
        match self {
            ValueType::F64 => 8,
            _ => 4,
        }
    }
    fn put(self, out: &mut Vec<u8>, x: f64) {
        match self {
            ValueType::F32 => out.extend_from_slice(&(x as f32).to_le_bytes()),
            ValueType::F64 => out.extend_from_slice(&x.to_le_bytes()),
            ValueType::Q11_20 => out.extend_from_slice(&((x * (1u32 << 20) as f64).round() as i32).to_le_bytes()),
        }
    }
    fn get(self, b: &[u8]) -> f64 {
        match self {
            ValueType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            ValueType::F64 => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            ValueType::Q11_20 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 / (1u32 << 20) as f64,
        }
    }
}

/// One point of the training history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// Examples trained so far.
    pub examples: u64,
    /// Accuracy of the predictions made over the last window with the
    /// assignment from the window before (NaN-free: null before the first).
    pub running_accuracy: Option<f64>,
    /// Mean excitatory spikes per example over the last window.
    pub spikes_per_example: f64,
    /// Presentations repeated at higher intensity over the last window.
    pub retries: u64,
}

/// Where a checkpointed run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Epochs asked for.
    pub epochs: u32,
    /// Examples per epoch.
    pub per_epoch: u64,
    /// Examples done in all (epoch * per_epoch + index).
    pub done: u64,
    /// Counts of the current assignment window (neuron x class sums).
    pub window_sums: Vec<f64>,
    /// Examples per class in the window.
    pub window_examples: [u64; 10],
    /// Correct predictions and predictions made in the window.
    pub window_correct: u64,
    /// Predictions made in the window.
    pub window_predicted: u64,
    /// Spikes in the window.
    pub window_spikes: u64,
    /// Retries in the window.
    pub window_retries: u64,
}

/// The JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// The program that wrote it.
    pub written_by: String,
    /// The procedure and network parameters.
    pub config: Config,
    /// Backend that trained it: "f32", "f64" or "fixed" (files written
    /// before the names were explicit say "float" for f32; they read as f32).
    pub backend: crate::backend::Backend,
    /// How values are stored.
    pub value_type: ValueType,
    /// Training seed.
    pub seed: u64,
    /// Examples trained (presentations counted once).
    pub examples_trained: u64,
    /// Presentations repeated at higher intensity, in all.
    pub retries: u64,
    /// Wall-clock training time (s).
    pub train_seconds: f64,
    /// Each neuron's class (255: none), from the last assignment.
    pub assignments: Vec<u8>,
    /// Training curve.
    pub history: Vec<HistoryPoint>,
    /// Present in checkpoints: where the run stands.
    pub progress: Option<Progress>,
}

/// A model or checkpoint: header and values (as f64, exact for every value type).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The header.
    pub meta: Meta,
    /// Weights, n_inputs * n_neurons, row-major by input.
    pub weights: Vec<f64>,
    /// theta (mV), n_neurons.
    pub theta: Vec<f64>,
    /// Checkpoints: the dynamic state's values (backend type).
    pub dynamic_values: Vec<f64>,
    /// Checkpoints: the dynamic state's integers.
    pub dynamic_ints: Vec<u32>,
}

impl Model {
    /// Serialises to bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(&self.meta)?;
        let vt = self.meta.value_type;
        let mut out = Vec::with_capacity(
            24 + json.len() + (self.weights.len() + self.theta.len() + self.dynamic_values.len()) * vt.size(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&u32::try_from(json.len())?.to_le_bytes());
        out.extend_from_slice(&json);
        for &x in self.weights.iter().chain(&self.theta).chain(&self.dynamic_values) {
            vt.put(&mut out, x);
        }
        for &i in &self.dynamic_ints {
            out.extend_from_slice(&i.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok(out)
    }

    /// Parses bytes; `dynamic` says how many dynamic values and ints a
    /// checkpoint of this configuration carries.
    pub fn from_bytes(b: &[u8], dynamic: impl Fn(&Config) -> (usize, usize)) -> Result<Model> {
        if b.len() < 20 || &b[..8] != MAGIC {
            bail!("not a host-sim model file (no STDPMDL magic number)");
        }
        let version = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        if !(OLDEST_VERSION..=VERSION).contains(&version) {
            bail!("model format version {version} is not supported (this program reads versions {OLDEST_VERSION} to {VERSION})");
        }
        let (body, tail) = b.split_at(b.len() - 4);
        let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        if crc32fast::hash(body) != stored {
            bail!("corrupt model file: checksum mismatch");
        }
        let json_len = u32::from_le_bytes([b[12], b[13], b[14], b[15]]) as usize;
        let json = body
            .get(16..16usize.saturating_add(json_len))
            .ok_or_else(|| anyhow!("corrupt model file: header length"))?;
        let meta: Meta = serde_json::from_slice(json).context("corrupt model header")?;
        let cfg = &meta.config;
        // A header that passed the checksum can still ask for absurd work
        // (say present_ms = 1e12): the same ranges as a run's parameters.
        cfg.check().context("model header: parameter out of range")?;
        stdp_core::Network::<f64>::new(&cfg.network())
            .map_err(|e| anyhow::anyhow!("model header: parameter out of range: {e}"))?;
        let vt = meta.value_type;
        let (n_w, n_t) = (cfg.n_inputs.saturating_mul(cfg.n_neurons), cfg.n_neurons);
        let (n_dv, n_di) = if meta.progress.is_some() { dynamic(cfg) } else { (0, 0) };
        let need = (n_w + n_t + n_dv) * vt.size() + n_di * 4;
        let data = &body[16 + json_len..];
        if data.len() != need {
            bail!(
                "corrupt model file: {} bytes of values, {} expected for this configuration",
                data.len(),
                need
            );
        }
        let mut vals = data[..(n_w + n_t + n_dv) * vt.size()]
            .chunks_exact(vt.size())
            .map(|c| vt.get(c));
        let weights: Vec<f64> = vals.by_ref().take(n_w).collect();
        let theta: Vec<f64> = vals.by_ref().take(n_t).collect();
        let dynamic_values: Vec<f64> = vals.collect();
        let dynamic_ints = data[(n_w + n_t + n_dv) * vt.size()..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if meta.assignments.len() != cfg.n_neurons && !meta.assignments.is_empty() {
            bail!(
                "corrupt model file: {} assignments for {} neurons",
                meta.assignments.len(),
                cfg.n_neurons
            );
        }
        Ok(Model {
            meta,
            weights,
            theta,
            dynamic_values,
            dynamic_ints,
        })
    }

    /// Writes atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::write_atomic(path, &self.to_bytes()?)
    }

    /// The backend that trained the model.
    pub fn backend(&self) -> crate::backend::Backend {
        self.meta.backend
    }

    /// Reads a model or checkpoint; errors name the file. (Commands read
    /// `--model` through the NIR importer's `load_model`, which takes NIR
    /// graphs too and hands everything else to this.)
    pub fn load(path: &Path) -> Result<Model> {
        let b = match std::fs::read(path) {
            Ok(b) => b,
            // `train` removes its checkpoint OUT.ckpt when the run ends.
            Err(e) if path.extension().is_some_and(|x| x == "ckpt") && path.with_extension("").is_file() => {
                anyhow::bail!(
                    "cannot read model {}: {e}; a training run removes its checkpoint when it ends: its final model is {}",
                    path.display(),
                    path.with_extension("").display()
                )
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read model {}", path.display())),
        };
        Model::from_bytes(&b, dynamic_sizes).with_context(|| path.display().to_string())
    }
}

/// How many (values, integers) a checkpoint of a configuration holds: its
/// dynamic state (`OwnedState::dynamic_values` and `dynamic_ints` of the
/// simulator, which must agree).
pub fn dynamic_sizes(cfg: &Config) -> (usize, usize) {
    let (ni, n) = (cfg.n_inputs, cfg.n_neurons);
    let inh = if cfg.inhibition == stdp_core::InhibitionKind::Layer {
        n
    } else {
        0
    };
    let hist = if cfg.delay_steps() > 0 { ni } else { 0 };
    (ni + 5 * n + 4 * inh, ni + hist + n + inh + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(vt: ValueType) -> Model {
        let config = Config {
            n_neurons: 3,
            ..Config::default()
        };
        let n = config.n_inputs * config.n_neurons;
        Model {
            meta: Meta {
                written_by: "test".into(),
                config,
                backend: crate::backend::Backend::Fixed,
                value_type: vt,
                seed: 7,
                examples_trained: 10,
                retries: 1,
                train_seconds: 0.5,
                assignments: vec![1, 255, 3],
                history: vec![],
                progress: None,
            },
            weights: (0..n).map(|i| (i % 97) as f64 / 128.0).collect(),
            theta: vec![20.0, 20.5, -0.25],
            dynamic_values: vec![],
            dynamic_ints: vec![],
        }
    }

    #[test]
    fn every_value_type_round_trips_exactly() {
        for vt in [ValueType::F32, ValueType::F64, ValueType::Q11_20] {
            let m = model(vt);
            let back = Model::from_bytes(&m.to_bytes().unwrap(), dynamic_sizes).unwrap();
            assert_eq!(back, m);
        }
    }

    /// A version-1 file: the same bytes, its header's configuration with
    /// the STDP fields at the top level.
    #[test]
    fn version_1_files_with_the_flat_configuration_read() {
        let m = model(ValueType::F32);
        let mut meta = serde_json::to_value(&m.meta).unwrap();
        let cfg = meta["config"].as_object_mut().unwrap();
        let Some(serde_json::Value::Object(stdp)) = cfg.remove("stdp") else {
            panic!("no stdp")
        };
        cfg.extend(stdp);
        let json = serde_json::to_vec(&meta).unwrap();
        let bytes = m.to_bytes().unwrap();
        let old_json = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let mut v1 = MAGIC.to_vec();
        v1.extend_from_slice(&1u32.to_le_bytes());
        v1.extend_from_slice(&(json.len() as u32).to_le_bytes());
        v1.extend_from_slice(&json);
        v1.extend_from_slice(&bytes[16 + old_json..bytes.len() - 4]);
        let crc = crc32fast::hash(&v1);
        v1.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(Model::from_bytes(&v1, dynamic_sizes).unwrap(), m);
    }

    #[test]
    fn corrupt_truncated_and_foreign_files_are_refused_with_a_reason() {
        let bytes = model(ValueType::Q11_20).to_bytes().unwrap();
        let err = |b: &[u8]| format!("{:#}", Model::from_bytes(b, dynamic_sizes).unwrap_err());
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x10;
        assert!(err(&flipped).contains("checksum mismatch"));
        assert!(err(&bytes[..bytes.len() - 1]).contains("checksum mismatch"));
        assert!(err(&bytes[..10]).contains("not a host-sim model file"));
        assert!(err(b"\x89PNG\r\n\x1a\n plus some more bytes").contains("not a host-sim model file"));
        let mut v3 = bytes.clone();
        v3[8] = 3;
        assert!(err(&v3).contains("version 3 is not supported (this program reads versions 1 to 2)"));
        // A consistent file whose values do not match its header's sizes.
        let mut m = model(ValueType::F32);
        m.theta.push(1.0);
        assert!(err(&m.to_bytes().unwrap()).contains("bytes of values"));
    }

    /// Well-formed files (valid checksum) whose header asks for absurd or
    /// impossible work: refused by name, before any value is read.
    #[test]
    fn headers_with_values_out_of_range_are_refused_by_name() {
        type Edit = fn(&mut Config);
        let table: &[(&str, Edit, &str)] = &[
            (
                "hours of simulation",
                |c| c.present_ms = 1e12,
                "present_ms and rest_ms must be <= 10000 ms",
            ),
            ("negative rest", |c| c.rest_ms = -1.0, "rest_ms must be >= 0"),
            (
                "no neurons",
                |c| c.n_neurons = 0,
                "n_neurons must be 1 to 65535, the most a chip image holds",
            ),
            (
                "a billion neurons",
                |c| c.n_neurons = 1 << 30,
                "n_neurons must be 1 to 65535, the most a chip image holds",
            ),
            ("delays past the window", |c| c.input_delay_ms = 100.0, "input_delay_ms"),
            ("intensity 0", |c| c.intensity = 0.0, "intensity"),
            ("tau_m 0", |c| c.exc.tau_m_ms = 0.0, "tau_m_ms"),
            ("w_max negative", |c| c.stdp.w_max = -1.0, "w_max"),
        ];
        for (what, edit, want) in table {
            let mut m = model(ValueType::F32);
            edit(&mut m.meta.config);
            let bytes = m.to_bytes().unwrap();
            let e = format!("{:#}", Model::from_bytes(&bytes, dynamic_sizes).unwrap_err());
            assert!(
                e.contains("model header: parameter out of range") && e.contains(want),
                "{what}: `{e}` does not say `{want}`"
            );
        }
    }
}
