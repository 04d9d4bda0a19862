//! `host-sim export`: a trained model as the compact image the chip runs
//! (`stdp_core::image`), and the host's fixed backend running *that image*,
//! which is what the firmware must match bit for bit.
//!
//! Quantisation: each weight w becomes the byte q = round(w / w_max * 255),
//! clipped to [0, 255] (so weights above w_max, which normalisation can
//! produce, are clipped); it stands for q * w_max / 255, an error of at most
//! w_max / 510 per weight. theta is stored in Q11.20 (exact for the fixed
//! backend), parameters as f32.

pub mod nir;

use anyhow::{anyhow, bail, Context, Result};
use stdp_core::image::{image_size, ImageHeader, ModelImage};
use stdp_core::{Fx, QuantizedWeights};

use crate::config::Config;
use crate::formats::model::Model;
use crate::sim::dc::{example_rng, ExampleResult, Sim};

/// The image of `model`.
pub fn export(model: &Model) -> Result<Vec<u8>> {
    let cfg = &model.meta.config;
    crate::examples::refuse_events("export", &cfg.input)?;
    // The chip's image format (and the firmware) have neither yet: refuse
    // rather than run another network on the chip than on the desktop.
    if cfg.input_delay_ms > 0.0 {
        bail!(
            "this model has input delays (input_delay_ms = {}); the chip image cannot hold them yet",
            cfg.input_delay_ms
        );
    }
    if cfg.exc.threshold_block_ms > cfg.exc.refractory_ms || cfg.inh.threshold_block_ms > cfg.inh.refractory_ms {
        bail!("this model blocks the threshold longer than the refractory period (threshold_block_ms); the chip image cannot hold that yet");
    }
    let header = ImageHeader {
        params: cfg.network(),
        procedure: cfg.procedure(),
    };
    let w_max = cfg.stdp.w_max;
    let q: Vec<u8> = model
        .weights
        .iter()
        .map(|&w| QuantizedWeights::<Fx>::quantize(w, w_max))
        .collect();
    let assignments = if model.meta.assignments.is_empty() {
        vec![255; cfg.n_neurons]
    } else {
        model.meta.assignments.clone()
    };
    let mut out = vec![0u8; image_size(cfg.n_inputs, cfg.n_neurons)];
    let n = ModelImage::write(&header, &q, model.theta.iter().copied(), &assignments, &mut out)
        .map_err(|e| anyhow!("cannot write the image: {e}"))?;
    out.truncate(n);
    Ok(out)
}

/// The host-side twin of the chip: a parsed image on the fixed backend.
#[derive(Debug, Clone)]
pub struct ImageSim {
    bytes: Vec<u8>,
    /// The network with theta from the image and dequantised weights (used
    /// for on-chip learning, which starts from them).
    pub sim: Sim<Fx>,
    /// Label assignment from the image.
    pub assignments: Vec<u8>,
}

impl ImageSim {
    /// Parses `bytes` (errors say what is wrong with the image).
    pub fn new(bytes: Vec<u8>) -> Result<Self> {
        let img = ModelImage::parse(&bytes).map_err(|e| anyhow!("not a valid model image: {e}"))?;
        let h = img.header;
        let p = &h.params;
        // A host `Config` with the image's parameters (for buffer sizes and
        // the procedure); the network itself is built from them below.
        let cfg = Config::from_core(p, &h.procedure).context("the image's network")?;
        let weights: Vec<f64> = img
            .weights
            .iter()
            .map(|&q| QuantizedWeights::<Fx>::value(q, p.stdp.w_max))
            .map(stdp_core::Real::to_f64)
            .collect();
        let theta: Vec<f64> = (0..p.n_neurons).map(|j| img.theta::<f64>(j)).collect();
        let assignments = img.assignments.to_vec();
        let mut sim = Sim::<Fx>::new(&cfg, &weights, Some(&theta))?;
        // The image's parameters, exactly as the chip converts them.
        sim.net = stdp_core::Network::new(p).map_err(|e| anyhow!("{e}"))?;
        Ok(ImageSim {
            bytes,
            sim,
            assignments,
        })
    }

    /// The image bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Inference on `pixels` exactly as the firmware does it: read-only
    /// 8-bit weights, independent examples, the core's presentation, the
    /// random stream `example_rng(seed, 0, 0)`.
    pub fn infer(&mut self, pixels: &[u8], seed: u64) -> Result<ExampleResult> {
        let img = ModelImage::parse(&self.bytes).map_err(|e| anyhow!("{e}"))?;
        let q = QuantizedWeights::<Fx>::new(img.weights, img.header.params.stdp.w_max).map_err(|e| anyhow!("{e}"))?;
        let mut rng = example_rng(seed, 0, 0);
        self.sim.present_with(pixels, &mut rng, false, true, Some(&q))
    }
}
