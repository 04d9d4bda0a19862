//! `host-sim export`: a trained model as the compact image the chip runs
//! (`stdp_core::image`), and the host's fixed backend running *that image*,
//! which is what the firmware must match bit for bit.
//!
//! Quantisation: each weight w becomes the byte q = round(w / w_max * 255),
//! clipped to [0, 255] (so weights above w_max, which normalisation can
//! produce, are clipped); it stands for q * w_max / 255, an error of at most
//! w_max / 510 per weight. theta is stored in Q11.20 (exact for the fixed
//! backend), parameters as f32. An event-input model's image (version 2)
//! also holds its event input: the sensor layout and the retry option, so
//! the chip runs the host's `present_events` on the same recording.

use anyhow::{anyhow, bail, Context, Result};
use stdp_core::image::{image_size_with, ImageHeader, ModelImage};
use stdp_core::present_events::{
    present_events, EventInput, EventSource, EventsOutput, Polarity, Retry, SliceSource, Start,
};
use stdp_core::{Event, Fx, QuantizedWeights};

use crate::config::{Config, EventInputConfig, InputConfig, RetryConfig};
use crate::formats::model::Model;
use crate::sim::dc::{example_rng, ExampleResult, Sim};

/// The image of `model`.
pub fn export(model: &Model) -> Result<Vec<u8>> {
    let cfg = &model.meta.config;
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
    let events = match cfg.input {
        InputConfig::Digits => None,
        InputConfig::Events(e) => Some(EventInput {
            retry: e.retry(),
            ..EventInput::new(e.layout()?)
        }),
    };
    let header = ImageHeader {
        params: cfg.network(),
        procedure: cfg.procedure(),
        events,
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
    let mut out = vec![0u8; image_size_with(cfg.n_inputs, cfg.n_neurons, events.is_some())];
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
        let mut cfg = Config::from_core(p, &h.procedure).context("the image's network")?;
        if let Some(e) = h.events {
            cfg.input = InputConfig::Events(event_config(&e));
        }
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

    /// The image's event input (`None`: a digit model).
    pub fn events(&self) -> Option<EventInput> {
        ModelImage::parse(&self.bytes).ok().and_then(|i| i.header.events)
    }

    /// Inference on a recording exactly as the firmware streams it
    /// (`EventsBegin` with `independent`, the events, `EventsEnd`): read-only
    /// 8-bit weights, the core's `present_events` with a step spike list of
    /// `chip.step_spikes` entries and replays only when the recording fits
    /// the device's `chip.replay_events`.
    pub fn infer_events(&mut self, events: &[Event], chip: ChipEvents) -> Result<EventsResult> {
        let img = ModelImage::parse(&self.bytes).map_err(|e| anyhow!("{e}"))?;
        let q = QuantizedWeights::<Fx>::new(img.weights, img.header.params.stdp.w_max).map_err(|e| anyhow!("{e}"))?;
        chip_events(&mut self.sim, Some(&q), events, false, true, chip)
    }
}

/// What decides an event presentation on the device besides the image
/// (its reply to `EventsBegin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChipEvents {
    /// Entries of a step's input spike list.
    pub step_spikes: usize,
    /// Most events kept for replays.
    pub replay_events: usize,
}

/// An event presentation on the chip (or its twin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsResult {
    /// Spike counts of the final pass.
    pub counts: Vec<u32>,
    /// What the presentation did (retries, steps, input spikes, event stats).
    pub out: EventsOutput,
}

/// The recording's events, replayable only when they fit the device's
/// replay buffer (a live stream otherwise).
struct ChipSource<'a> {
    inner: SliceSource<'a>,
    replayable: bool,
}

impl EventSource for ChipSource<'_> {
    fn next_event(&mut self) -> Option<Event> {
        self.inner.next_event()
    }
    fn rewind(&mut self) -> bool {
        self.replayable && self.inner.rewind()
    }
}

/// Presents `events` to `sim` (on `weights`, or its own weights in RAM
/// when learning) as the firmware does: the image's event input, the
/// core's `present_events`, the device's step list and replay capacity.
pub fn chip_events(
    sim: &mut Sim<Fx>,
    weights: Option<&QuantizedWeights<'_, Fx>>,
    events: &[Event],
    learn: bool,
    independent: bool,
    chip: ChipEvents,
) -> Result<EventsResult> {
    let InputConfig::Events(e) = sim.cfg.input else {
        bail!("this model takes digits, not events");
    };
    let input = EventInput {
        retry: e.retry(),
        ..EventInput::new(e.layout()?)
    };
    let mut src = ChipSource {
        inner: SliceSource::new(events),
        replayable: events.len() <= chip.replay_events,
    };
    let mut spikes = vec![0u16; chip.step_spikes.max(1)];
    let mut counts = vec![0u32; sim.cfg.n_neurons];
    let procedure = sim.cfg.procedure();
    let out = present_events(
        &mut sim.net,
        &mut sim.st.view(),
        weights,
        &mut src,
        &input,
        &procedure,
        learn,
        independent,
        &mut spikes,
        &mut counts,
    )
    .map_err(|e| anyhow!("presentation of events: {e}"))?;
    Ok(EventsResult { counts, out })
}

/// The host configuration of an image's event input.
fn event_config(e: &EventInput) -> EventInputConfig {
    let l = e.layout;
    debug_assert_eq!(e.start, Start::FirstEvent);
    EventInputConfig {
        width: l.width(),
        height: l.height(),
        channels: match l.polarity() {
            Polarity::Pairs => 2,
            Polarity::Merged => 1,
        },
        downsample: l.downsample(),
        retry: match e.retry {
            Retry::Gain { max } => RetryConfig::Gain { max },
            Retry::Threshold { step_mv, max_steps } => RetryConfig::Threshold { step_mv, max_steps },
            _ => RetryConfig::None,
        },
    }
}
