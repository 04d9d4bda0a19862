//! `host-sim export --format npz`: a model as one NumPy `.npz` archive, so
//! `np.load` opens it with nothing to convert by hand.
//!
//! | array | dtype, shape | content |
//! |---|---|---|
//! | `weights` | `float64 (n_inputs, n_neurons)` | `weights[i, j]`: input `i` to excitatory neuron `j`, in the model's own precision (exact); digits: pixel `i` row-major 28 x 28; events: `i = (y * width + x) * channels + p` (`config_json`'s `input`; N-MNIST: `weights.reshape(34, 34, 2, n)`, `[..., 1, :]` ON) |
//! | `theta_mv` | `float64 (n_neurons,)` | adaptive threshold (mV) |
//! | `assignments` | `int16 (n_neurons,)` | each neuron's class 0-9, `-1`: none |
//! | `history_examples` | `int64 (K,)` | examples trained at each point of the training curve |
//! | `history_running_accuracy` | `float64 (K,)` | running accuracy in [0, 1] (`nan` before the first assignment) |
//! | `history_spikes_per_example` | `float64 (K,)` | mean excitatory spikes per example over the window |
//! | `history_retries` | `int64 (K,)` | presentations repeated at a higher intensity in the window |
//! | `config_json` | `str ()` | every parameter (the `Config` that `train --params` reads) |
//! | `meta_json` | `str ()` | backend, value type, seed, examples trained, training seconds, writer |
//!
//! `json.loads(z["config_json"].item())` gives the parameters as a dict.
//! A checkpoint exports the same arrays (its in-flight state is left out).

use std::io::{Cursor, Write as _};

use anyhow::{Context, Result};
use npyz::WriterBuilder;

use crate::formats::model::Model;

/// An `.npz` archive being written: `.npy` members in a zip, stored
/// uncompressed as `numpy.savez` does.
struct Npz {
    zip: zip::ZipWriter<Cursor<Vec<u8>>>,
}

impl Npz {
    fn new() -> Self {
        Npz {
            zip: zip::ZipWriter::new(Cursor::new(Vec::new())),
        }
    }

    fn member(&mut self, name: &str, npy: &[u8]) -> Result<()> {
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        self.zip
            .start_file(format!("{name}.npy"), options)
            .with_context(|| format!("npz: cannot add {name}"))?;
        self.zip
            .write_all(npy)
            .with_context(|| format!("npz: cannot write {name}"))
    }

    /// One numeric array of `shape` (C order).
    fn put<T: npyz::AutoSerialize + Copy>(&mut self, name: &str, shape: &[u64], data: &[T]) -> Result<()> {
        let mut npy = Vec::new();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut npy)
            .begin_nd()
            .with_context(|| format!("npz: cannot start {name}"))?;
        w.extend(data.iter().copied())
            .with_context(|| format!("npz: cannot write {name}"))?;
        w.finish().with_context(|| format!("npz: cannot finish {name}"))?;
        self.member(name, &npy)
    }

    /// A 0-d string array (NumPy `<U`): `z[name].item()` is `text`.
    fn put_str(&mut self, name: &str, text: &str) -> Result<()> {
        let chars = text.chars().count().max(1);
        let type_str = format!("<U{chars}")
            .parse::<npyz::TypeStr>()
            .map_err(|e| anyhow::anyhow!("npz: {e}"))?;
        let mut npy = Vec::new();
        let mut w = npyz::WriteOptions::<str>::new()
            .dtype(npyz::DType::Plain(type_str))
            .shape(&[])
            .writer(&mut npy)
            .begin_nd()
            .with_context(|| format!("npz: cannot start {name}"))?;
        w.push(text).with_context(|| format!("npz: cannot write {name}"))?;
        w.finish().with_context(|| format!("npz: cannot finish {name}"))?;
        self.member(name, &npy)
    }

    fn finish(self) -> Result<Vec<u8>> {
        Ok(self
            .zip
            .finish()
            .context("npz: cannot finish the archive")?
            .into_inner())
    }
}

/// The `.npz` bytes of `model` (see the module's table).
pub fn to_npz(model: &Model) -> Result<Vec<u8>> {
    let m = &model.meta;
    let (ni, n) = (m.config.n_inputs as u64, m.config.n_neurons as u64);
    let mut npz = Npz::new();
    npz.put("weights", &[ni, n], &model.weights)?;
    npz.put("theta_mv", &[n], &model.theta)?;
    let assignments: Vec<i16> = if m.assignments.is_empty() {
        vec![-1; n as usize]
    } else {
        m.assignments
            .iter()
            .map(|&a| if a < 10 { a as i16 } else { -1 })
            .collect()
    };
    npz.put("assignments", &[n], &assignments)?;
    let k = m.history.len() as u64;
    let h = &m.history;
    npz.put(
        "history_examples",
        &[k],
        &h.iter().map(|p| p.examples as i64).collect::<Vec<_>>(),
    )?;
    npz.put(
        "history_running_accuracy",
        &[k],
        &h.iter()
            .map(|p| p.running_accuracy.unwrap_or(f64::NAN))
            .collect::<Vec<_>>(),
    )?;
    npz.put(
        "history_spikes_per_example",
        &[k],
        &h.iter().map(|p| p.spikes_per_example).collect::<Vec<_>>(),
    )?;
    npz.put(
        "history_retries",
        &[k],
        &h.iter().map(|p| p.retries as i64).collect::<Vec<_>>(),
    )?;
    npz.put_str("config_json", &serde_json::to_string(&m.config)?)?;
    let meta = serde_json::json!({
        "written_by": m.written_by,
        "exported_by": format!("host-sim {}", env!("CARGO_PKG_VERSION")),
        "backend": m.backend,
        "value_type": m.value_type,
        "seed": m.seed,
        "examples_trained": m.examples_trained,
        "retries": m.retries,
        "train_seconds": m.train_seconds,
        "checkpoint": m.progress.is_some(),
    });
    npz.put_str("meta_json", &meta.to_string())?;
    npz.finish()
}
