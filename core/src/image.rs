//! The compact model image that the chip runs: parameters, 8-bit weights,
//! thetas and label assignments, parsed without allocation and without
//! copying (the weights can stay in flash).
//!
//! The host (`host-sim export`) writes it and the chip reads it with this
//! same code, and the host's fixed backend runs a model *from its image*:
//! both sides build the identical `Network<Fx>`, the same 256-entry weight
//! table and the same thetas, so their spike counts are identical.
//!
//! ```text
//! offset        size      content (all little-endian)
//! 0             8         magic "STDPIMG\0"
//! 8             2         version (1: image input, 2: event input)
//! 10            2         n_inputs (1 to `MAX_INPUTS`)
//! 12            2         n_neurons (1 to `MAX_NEURONS`)
//! 14            1         flags: bit 0 excitatory conductance model,
//!                         bit 1 inhibitory layer (else direct inhibition),
//!                         bit 2 inhibitory neurons conductance model,
//!                         bits 4-6 rule (0 none, 1 pair, 2 triplet,
//!                         3 power-law, 4 exp-weight), bit 7 additive traces
//! 15            1         model flags: bit 0 excitatory CubaLif model,
//!                         bit 1 inhibitory neurons CubaLif model (with
//!                         bit 0 / bit 2 of byte 14 clear); other bits 0
//! 16            4 * 46    parameters, f32, in the order of `PARAMS`
//! 200           0 or 16   version 2 only: the event input (below)
//! W             I * N     weights, u8, row-major by input: w = q * w_max / 255
//! W + I N       4 * N     theta per neuron, Q11.20 in an i32 (mV)
//! ...           N         label assignment per neuron (255: none)
//! ...           0-3       zero padding to a multiple of 4
//! end - 4       4         CRC-32 of everything before
//! ```
//! Parameters are stored as `f32`: both sides convert the same `f32`s, so
//! the rounding (0.05 mV is 0.0500000007 mV) is the same everywhere.
//!
//! The event input of a version 2 image (W = 216), everything
//! [`crate::present_events::present_events`] needs besides the network and
//! the procedure; the window always starts at the recording's first event:
//!
//! ```text
//! offset  size  content
//! 200     1     1 (events)
//! 201     1     channels: 2 ON/OFF pairs, 1 merged polarities
//! 202     2     sensor width (pixels)
//! 204     2     sensor height (pixels)
//! 206     2     downsample factor
//! 208     1     retry: 0 none, 1 gain, 2 threshold
//! 209     1     retry: the largest gain, or the most threshold steps (0 for none)
//! 210     2     0
//! 212     4     retry threshold step (mV, f32; 0 otherwise)
//! ```
//!
//! An image model is written as version 1, byte for byte as before event
//! input existed; [`ModelImage::parse`] reads both versions.

use crate::crc::crc32;
use crate::params::{
    Inhibition, NetworkParams, NeuronModel, NeuronParams, Rule, StdpParams, TraceMode, MAX_INPUTS, MAX_NEURONS,
};
use crate::present_events::{EventInput, EventLayout, Polarity, Retry, Start};
use crate::{Error, Fx, Real};

// The procedure and its bounds lived here (`stdp_core::image::Procedure`);
// they still go by these paths.
pub use crate::procedure::{Procedure, MAX_INTENSITY, MAX_PHASE_MS, MAX_PHASE_STEPS};

const MAGIC: &[u8; 8] = b"STDPIMG\0";
/// Newest image format version (what [`ModelImage::parse`] reads up to):
/// 2 adds the event input. Image models are still written as version 1.
pub const IMAGE_VERSION: u16 = 2;
/// The version of an image without event input.
const IMAGE_VERSION_IMAGES: u16 = 1;
/// Number of f32 parameters.
pub const N_PARAMS: usize = 46;
const HEADER: usize = 16 + 4 * N_PARAMS;
/// Bytes of the event input block of a version 2 image.
pub const EVENT_BLOCK: usize = 16;

/// Everything but the arrays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageHeader {
    /// The network.
    pub params: NetworkParams,
    /// The procedure.
    pub procedure: Procedure,
    /// Event input (layout and retry; the window starts at the first
    /// event), `None` for images (Poisson rate coding).
    pub events: Option<EventInput>,
}

/// A parsed image borrowing its bytes.
#[derive(Debug, Clone, Copy)]
pub struct ModelImage<'a> {
    /// Parameters.
    pub header: ImageHeader,
    /// Weights, n_inputs * n_neurons bytes.
    pub weights: &'a [u8],
    theta: &'a [u8],
    /// Label assignment per neuron (255: none).
    pub assignments: &'a [u8],
}

/// Size in bytes of the image of a network of `n_inputs` x `n_neurons`
/// with image input.
pub const fn image_size(n_inputs: usize, n_neurons: usize) -> usize {
    let body = HEADER + n_inputs * n_neurons + 5 * n_neurons;
    body.div_ceil(4) * 4 + 4
}

/// Size in bytes of the image of a network of `n_inputs` x `n_neurons`
/// with event input (`events`) or image input.
pub const fn image_size_with(n_inputs: usize, n_neurons: usize, events: bool) -> usize {
    image_size(n_inputs, n_neurons) + if events { EVENT_BLOCK } else { 0 }
}

/// The event input block (see the module docs).
fn encode_events(e: &EventInput) -> Result<[u8; EVENT_BLOCK], Error> {
    if e.start != Start::FirstEvent {
        return Err(Error::InvalidParameter("image event start (only the first event)"));
    }
    let mut b = [0u8; EVENT_BLOCK];
    let l = e.layout;
    b[0] = 1;
    b[1] = l.channels() as u8;
    b[2..4].copy_from_slice(&l.width().to_le_bytes());
    b[4..6].copy_from_slice(&l.height().to_le_bytes());
    b[6..8].copy_from_slice(&l.downsample().to_le_bytes());
    let (kind, max, step) = match e.retry {
        Retry::None => (0, 0, 0.0f32),
        Retry::Gain { max } => (1, max, 0.0),
        Retry::Threshold { step_mv, max_steps } => (2, max_steps, step_mv),
    };
    b[8] = kind;
    b[9] = max;
    b[12..16].copy_from_slice(&step.to_le_bytes());
    check_retry(e.retry)?;
    Ok(b)
}

/// The retry options the chip can run (as `present_events` checks them).
fn check_retry(r: Retry) -> Result<(), Error> {
    match r {
        Retry::None => Ok(()),
        Retry::Gain { max } if max >= 1 => Ok(()),
        Retry::Gain { .. } => Err(Error::InvalidParameter("image retry gain")),
        Retry::Threshold { step_mv, max_steps } => {
            if !(step_mv > 0.0 && step_mv.is_finite()) {
                return Err(Error::InvalidParameter("image retry threshold step_mv"));
            }
            if !Fx::in_range(step_mv as f64 * max_steps as f64) {
                return Err(Error::NotRepresentable("image retry threshold step_mv"));
            }
            Ok(())
        }
    }
}

fn decode_events(b: &[u8]) -> Result<EventInput, Error> {
    let h = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    if b[0] != 1 || b[10] != 0 || b[11] != 0 {
        return Err(Error::InvalidParameter("image event input"));
    }
    let polarity = match b[1] {
        2 => Polarity::Pairs,
        1 => Polarity::Merged,
        _ => return Err(Error::InvalidParameter("image event channels")),
    };
    let layout = EventLayout::new(h(2), h(4), polarity, h(6))?;
    let step = f32::from_le_bytes([b[12], b[13], b[14], b[15]]);
    let retry = match (b[8], b[9]) {
        (0, 0) if step == 0.0 => Retry::None,
        (1, max) if step == 0.0 => Retry::Gain { max },
        (2, max_steps) => Retry::Threshold {
            step_mv: step,
            max_steps,
        },
        _ => return Err(Error::InvalidParameter("image retry")),
    };
    check_retry(retry)?;
    Ok(EventInput {
        layout,
        start: Start::FirstEvent,
        retry,
    })
}

fn neuron_params(p: &NeuronParams) -> [f32; 14] {
    [
        p.v_rest_mv as f32,
        p.v_reset_mv as f32,
        p.v_thresh_mv as f32,
        p.v_init_mv as f32,
        p.tau_m_ms as f32,
        p.refractory_ms as f32,
        p.theta_plus_mv as f32,
        p.tau_theta_ms as f32,
        p.theta_init_mv as f32,
        p.theta_offset_mv as f32,
        p.tau_ge_ms as f32,
        p.tau_gi_ms as f32,
        p.e_exc_mv as f32,
        p.e_inh_mv as f32,
    ]
}

/// The membrane model from its two flag bits.
fn model_from(conductance: bool, cuba: bool) -> Result<NeuronModel, Error> {
    match (conductance, cuba) {
        (false, false) => Ok(NeuronModel::Lif),
        (true, false) => Ok(NeuronModel::Conductance),
        (false, true) => Ok(NeuronModel::CubaLif),
        (true, true) => Err(Error::InvalidParameter("image model flags")),
    }
}

fn neuron_from(v: &[f32], model: NeuronModel) -> NeuronParams {
    let g = |i: usize| v.get(i).copied().unwrap_or(0.0) as f64;
    NeuronParams {
        model,
        v_rest_mv: g(0),
        v_reset_mv: g(1),
        v_thresh_mv: g(2),
        v_init_mv: g(3),
        tau_m_ms: g(4),
        refractory_ms: g(5),
        threshold_block_ms: 0.0,
        theta_plus_mv: g(6),
        tau_theta_ms: g(7),
        theta_init_mv: g(8),
        theta_offset_mv: g(9),
        tau_ge_ms: g(10),
        tau_gi_ms: g(11),
        e_exc_mv: g(12),
        e_inh_mv: g(13),
    }
}

fn rule_code(r: Rule) -> u8 {
    match r {
        Rule::None => 0,
        Rule::Pair => 1,
        Rule::Triplet => 2,
        Rule::PowerLaw => 3,
        Rule::ExpWeight => 4,
    }
}

impl ImageHeader {
    fn encode(&self) -> ([f32; N_PARAMS], u8, u8) {
        let p = &self.params;
        let mut v = [0f32; N_PARAMS];
        v[0] = p.dt_ms as f32;
        v[1..15].copy_from_slice(&neuron_params(&p.exc));
        let mut flags = (p.exc.model == NeuronModel::Conductance) as u8;
        let mut models = (p.exc.model == NeuronModel::CubaLif) as u8;
        match p.inhibition {
            Inhibition::Layer {
                inh,
                w_exc_inh,
                w_inh_exc,
            } => {
                v[15..29].copy_from_slice(&neuron_params(&inh));
                v[29] = w_exc_inh as f32;
                v[30] = w_inh_exc as f32;
                flags |= 2 | (((inh.model == NeuronModel::Conductance) as u8) << 2);
                models |= ((inh.model == NeuronModel::CubaLif) as u8) << 1;
            }
            Inhibition::Direct { w } => v[29] = w as f32,
            Inhibition::None => {}
        }
        let s = &p.stdp;
        v[31..40].copy_from_slice(&[
            s.nu_pre as f32,
            s.nu_post as f32,
            s.tau_pre_ms as f32,
            s.tau_post1_ms as f32,
            s.tau_post2_ms as f32,
            s.w_max as f32,
            s.x_tar as f32,
            s.mu as f32,
            s.beta as f32,
        ]);
        flags |= rule_code(s.rule) << 4;
        flags |= ((s.trace_mode == TraceMode::Additive) as u8) << 7;
        let q = &self.procedure;
        v[40..46].copy_from_slice(&[
            q.intensity,
            q.max_intensity,
            q.present_ms,
            q.rest_ms,
            q.min_spikes as f32,
            q.norm_target,
        ]);
        (v, flags, models)
    }

    fn decode(v: &[f32; N_PARAMS], flags: u8, models: u8, n_inputs: usize, n_neurons: usize) -> Result<Self, Error> {
        if models & !3 != 0 || (flags & 2 == 0 && models & 2 != 0) {
            return Err(Error::InvalidParameter("image model flags"));
        }
        let rule = match (flags >> 4) & 7 {
            0 => Rule::None,
            1 => Rule::Pair,
            2 => Rule::Triplet,
            3 => Rule::PowerLaw,
            4 => Rule::ExpWeight,
            _ => return Err(Error::InvalidParameter("image rule")),
        };
        let inhibition = if flags & 2 != 0 {
            Inhibition::Layer {
                inh: neuron_from(&v[15..29], model_from(flags & 4 != 0, models & 2 != 0)?),
                w_exc_inh: v[29] as f64,
                w_inh_exc: v[30] as f64,
            }
        } else if v[29] != 0.0 {
            Inhibition::Direct { w: v[29] as f64 }
        } else {
            Inhibition::None
        };
        let params = NetworkParams {
            n_inputs,
            n_neurons,
            dt_ms: v[0] as f64,
            exc: neuron_from(&v[1..15], model_from(flags & 1 != 0, models & 1 != 0)?),
            stdp: StdpParams {
                rule,
                trace_mode: if flags & 0x80 != 0 {
                    TraceMode::Additive
                } else {
                    TraceMode::Set
                },
                nu_pre: v[31] as f64,
                nu_post: v[32] as f64,
                tau_pre_ms: v[33] as f64,
                tau_post1_ms: v[34] as f64,
                tau_post2_ms: v[35] as f64,
                w_max: v[36] as f64,
                x_tar: v[37] as f64,
                mu: v[38] as f64,
                beta: v[39] as f64,
            },
            inhibition,
        };
        let min_spikes = v[44];
        if !(min_spikes >= 0.0 && min_spikes <= u32::MAX as f32) {
            return Err(Error::InvalidParameter("image min_spikes"));
        }
        let procedure = Procedure {
            intensity: v[40],
            max_intensity: v[41],
            present_ms: v[42],
            rest_ms: v[43],
            min_spikes: min_spikes as u32,
            norm_target: v[45],
        };
        Ok(ImageHeader {
            params,
            procedure,
            events: None,
        })
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

impl<'a> ModelImage<'a> {
    /// Parses and checks an image: magic, version, sizes, CRC, and that the
    /// network parameters are valid for the fixed backend.
    pub fn parse(b: &'a [u8]) -> Result<Self, Error> {
        if b.len() < HEADER + 4 || &b[..8] != MAGIC {
            return Err(Error::InvalidParameter("image magic"));
        }
        let events = match u16_at(b, 8) {
            IMAGE_VERSION_IMAGES => false,
            IMAGE_VERSION => true,
            _ => return Err(Error::InvalidParameter("image version")),
        };
        let (ni, n) = (u16_at(b, 10) as usize, u16_at(b, 12) as usize);
        if ni == 0 || n == 0 {
            return Err(Error::InvalidParameter("image size"));
        }
        if b.len() != image_size_with(ni, n, events) {
            return Err(Error::BufferSize("image"));
        }
        let (body, tail) = b.split_at(b.len() - 4);
        if crc32(body) != u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) {
            return Err(Error::InvalidParameter("image checksum"));
        }
        let mut v = [0f32; N_PARAMS];
        for (i, x) in v.iter_mut().enumerate() {
            let at = 16 + 4 * i;
            *x = f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        }
        let mut header = ImageHeader::decode(&v, b[14], b[15], ni, n)?;
        let w_start = if events {
            let e = decode_events(&b[HEADER..HEADER + EVENT_BLOCK])?;
            if e.layout.inputs() != ni {
                return Err(Error::InvalidParameter(
                    "image event layout (inputs differ from n_inputs)",
                ));
            }
            header.events = Some(e);
            HEADER + EVENT_BLOCK
        } else {
            HEADER
        };
        // The parameters must make a valid fixed-point network, and the
        // procedure must be one that ends.
        crate::Network::<Fx>::new(&header.params)?;
        header.procedure.check(header.params.dt_ms)?;
        let w_end = w_start + ni * n;
        Ok(ModelImage {
            header,
            weights: &b[w_start..w_end],
            theta: &b[w_end..w_end + 4 * n],
            assignments: &b[w_end + 4 * n..w_end + 5 * n],
        })
    }

    /// theta of neuron `j` (mV) in backend `T` (exact for the fixed backend).
    pub fn theta<T: Real>(&self, j: usize) -> T {
        match self.theta.get(4 * j..4 * j + 4) {
            Some(c) => T::from_f64(Fx::from_bits(i32::from_le_bytes([c[0], c[1], c[2], c[3]])).to_f64()),
            None => T::ZERO,
        }
    }

    /// Writes an image into `out` (at least [`image_size`] bytes) and
    /// returns its length. `weights` are the quantised weights
    /// ([`crate::QuantizedWeights::quantize`]), `theta` in mV.
    pub fn write(
        header: &ImageHeader,
        weights: &[u8],
        theta: impl ExactSizeIterator<Item = f64>,
        assignments: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let (ni, n) = (header.params.n_inputs, header.params.n_neurons);
        if !(1..=MAX_INPUTS).contains(&ni) || !(1..=MAX_NEURONS).contains(&n) {
            return Err(Error::InvalidParameter("image size"));
        }
        if weights.len() != ni * n || theta.len() != n || assignments.len() != n {
            return Err(Error::BufferSize("image arrays"));
        }
        // Nothing is written that `parse` would refuse.
        crate::Network::<Fx>::new(&header.params)?;
        header.procedure.check(header.params.dt_ms)?;
        let block = match &header.events {
            Some(e) if e.layout.inputs() != ni => {
                return Err(Error::InvalidParameter(
                    "image event layout (inputs differ from n_inputs)",
                ))
            }
            Some(e) => Some(encode_events(e)?),
            None => None,
        };
        let size = image_size_with(ni, n, block.is_some());
        let out = out.get_mut(..size).ok_or(Error::Capacity)?;
        out.fill(0);
        out[..8].copy_from_slice(MAGIC);
        let version = if block.is_some() {
            IMAGE_VERSION
        } else {
            IMAGE_VERSION_IMAGES
        };
        out[8..10].copy_from_slice(&version.to_le_bytes());
        out[10..12].copy_from_slice(&(ni as u16).to_le_bytes());
        out[12..14].copy_from_slice(&(n as u16).to_le_bytes());
        let (v, flags, models) = header.encode();
        out[14] = flags;
        out[15] = models;
        for (i, x) in v.iter().enumerate() {
            out[16 + 4 * i..20 + 4 * i].copy_from_slice(&x.to_le_bytes());
        }
        let w_start = match block {
            Some(b) => {
                out[HEADER..HEADER + EVENT_BLOCK].copy_from_slice(&b);
                HEADER + EVENT_BLOCK
            }
            None => HEADER,
        };
        let w_end = w_start + ni * n;
        out[w_start..w_end].copy_from_slice(weights);
        for (j, t) in theta.enumerate() {
            out[w_end + 4 * j..w_end + 4 * j + 4].copy_from_slice(&Fx::from_f64(t).to_bits().to_le_bytes());
        }
        out[w_end + 4 * n..w_end + 5 * n].copy_from_slice(assignments);
        let crc = crc32(&out[..size - 4]);
        out[size - 4..].copy_from_slice(&crc.to_le_bytes());
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ImageHeader {
        ImageHeader {
            params: NetworkParams::diehl_cook(6, 3),
            procedure: Procedure {
                intensity: 2.0,
                max_intensity: 32.0,
                present_ms: 350.0,
                rest_ms: 150.0,
                min_spikes: 5,
                norm_target: 78.0,
            },
            events: None,
        }
    }

    fn image() -> [u8; image_size(6, 3)] {
        let mut out = [0u8; image_size(6, 3)];
        let w: [u8; 18] = core::array::from_fn(|i| (i * 13) as u8);
        let n = ModelImage::write(&header(), &w, [20.0, 21.5, 19.25].into_iter(), &[1, 2, 255], &mut out).unwrap();
        assert_eq!(n, out.len());
        out
    }

    #[test]
    fn round_trip_keeps_everything_at_f32_precision() {
        let b = image();
        let m = ModelImage::parse(&b).unwrap();
        let h = header();
        assert_eq!(m.header.procedure, h.procedure);
        assert_eq!(m.header.params.n_inputs, 6);
        assert_eq!(m.header.params.exc.tau_theta_ms, 1e7);
        assert_eq!(m.header.params.exc.theta_plus_mv, 0.05f32 as f64);
        assert_eq!(m.header.params.stdp.rule, Rule::Triplet);
        assert!(
            matches!(m.header.params.inhibition, Inhibition::Layer { w_exc_inh, .. } if w_exc_inh == 10.4f32 as f64)
        );
        assert_eq!(m.weights[5], 65);
        assert_eq!(m.theta::<f64>(1), 21.5);
        assert_eq!(m.assignments, &[1, 2, 255]);
        // The parsed header writes the same image again.
        let mut again = [0u8; image_size(6, 3)];
        let th = [m.theta::<f64>(0), m.theta::<f64>(1), m.theta::<f64>(2)];
        ModelImage::write(&m.header, m.weights, th.into_iter(), m.assignments, &mut again).unwrap();
        assert_eq!(again, b);
    }

    #[test]
    fn damaged_images_are_refused() {
        let b = image();
        let mut bad = b;
        bad[100] ^= 1;
        assert_eq!(
            ModelImage::parse(&bad).unwrap_err(),
            Error::InvalidParameter("image checksum")
        );
        assert_eq!(
            ModelImage::parse(&b[..b.len() - 4]).unwrap_err(),
            Error::BufferSize("image")
        );
        assert_eq!(
            ModelImage::parse(b"garbage").unwrap_err(),
            Error::InvalidParameter("image magic")
        );
        let mut v = b;
        v[8] = 9;
        assert_eq!(
            ModelImage::parse(&v).unwrap_err(),
            Error::InvalidParameter("image version")
        );
        let mut small = [0u8; 4];
        assert_eq!(
            ModelImage::write(&header(), &[0; 18], [0.0; 3].into_iter(), &[0; 3], &mut small),
            Err(Error::Capacity)
        );
    }

    #[test]
    fn every_membrane_model_of_both_layers_round_trips() {
        use crate::params::NeuronModel::{Conductance, CubaLif, Lif};
        for exc in [Lif, Conductance, CubaLif] {
            for inh in [Lif, Conductance, CubaLif] {
                let mut h = header();
                h.params.exc.model = exc;
                if let Inhibition::Layer { inh: layer, .. } = &mut h.params.inhibition {
                    layer.model = inh;
                }
                let mut out = [0u8; image_size(6, 3)];
                ModelImage::write(&h, &[7; 18], [20.0; 3].into_iter(), &[0; 3], &mut out).unwrap();
                let m = ModelImage::parse(&out).unwrap();
                assert_eq!(m.header.params.exc.model, exc);
                assert!(
                    matches!(m.header.params.inhibition, Inhibition::Layer { inh: layer, .. } if layer.model == inh)
                );
            }
        }
        // Both model bits of a layer, or unknown model bits: refused.
        for (flags, models) in [(1u8, 1u8), (4, 2), (0, 4), (0, 0x80)] {
            let mut b = image();
            b[14] = (b[14] & !5) | flags;
            b[15] = models;
            let n = b.len();
            let crc = crc32(&b[..n - 4]);
            b[n - 4..].copy_from_slice(&crc.to_le_bytes());
            assert_eq!(
                ModelImage::parse(&b).err(),
                Some(Error::InvalidParameter("image model flags")),
                "flags {flags:#x}, models {models:#x}"
            );
        }
    }

    /// An image with header word `i` (f32, see `PARAMS`) set to `x` and a
    /// valid checksum again: what a crafted or mis-exported image would be.
    fn with_param(i: usize, x: f32) -> [u8; image_size(6, 3)] {
        let mut b = image();
        b[16 + 4 * i..20 + 4 * i].copy_from_slice(&x.to_le_bytes());
        let n = b.len();
        let crc = crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn header_values_out_of_range_are_refused_by_name_even_with_a_valid_checksum() {
        let table: &[(&str, usize, f32, Error)] = &[
            ("dt 0", 0, 0.0, Error::InvalidParameter("dt_ms")),
            ("dt NaN", 0, f32::NAN, Error::InvalidParameter("dt_ms")),
            ("tau_m 0", 5, 0.0, Error::InvalidParameter("tau_m_ms")),
            ("refractory negative", 6, -1.0, Error::InvalidParameter("refractory_ms")),
            ("tau_theta 0", 8, 0.0, Error::InvalidParameter("tau_theta_ms")),
            ("tau_ge NaN", 11, f32::NAN, Error::InvalidParameter("tau_ge_ms")),
            (
                "inhibitory tau_m negative",
                19,
                -5.0,
                Error::InvalidParameter("tau_m_ms"),
            ),
            ("tau_pre 0", 33, 0.0, Error::InvalidParameter("tau_pre_ms")),
            ("w_max 0", 36, 0.0, Error::InvalidParameter("w_max")),
            ("intensity 0", 40, 0.0, Error::InvalidParameter("intensity")),
            ("intensity NaN", 40, f32::NAN, Error::InvalidParameter("intensity")),
            ("intensity over its cap", 40, 64.0, Error::InvalidParameter("intensity")),
            ("cap 1e6", 41, 1e6, Error::InvalidParameter("max_intensity")),
            ("present 0", 42, 0.0, Error::InvalidParameter("present_ms")),
            ("present 1e12 ms", 42, 1e12, Error::InvalidParameter("present_ms")),
            ("present NaN", 42, f32::NAN, Error::InvalidParameter("present_ms")),
            ("rest negative", 43, -1.0, Error::InvalidParameter("rest_ms")),
            ("rest infinite", 43, f32::INFINITY, Error::InvalidParameter("rest_ms")),
            ("norm target 0", 45, 0.0, Error::InvalidParameter("norm_target")),
            ("norm target NaN", 45, f32::NAN, Error::InvalidParameter("norm_target")),
        ];
        for (what, i, x, want) in table {
            assert_eq!(ModelImage::parse(&with_param(*i, *x)).err(), Some(*want), "{what}");
        }
        // Sizes and flags.
        let mut b = image();
        b[14] = 7 << 4; // rule 7
        let n = b.len();
        let crc = crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(ModelImage::parse(&b).err(), Some(Error::InvalidParameter("image rule")));
        let mut b = image();
        b[12..14].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(ModelImage::parse(&b).err(), Some(Error::InvalidParameter("image size")));
        let mut b = image();
        b[10..12].copy_from_slice(&100u16.to_le_bytes());
        assert_eq!(ModelImage::parse(&b).err(), Some(Error::BufferSize("image")));
        // At the edges: accepted.
        for (i, x) in [(40, 32.0), (41, 1000.0), (42, 10_000.0), (43, 0.0), (43, 10_000.0)] {
            assert!(ModelImage::parse(&with_param(i, x)).is_ok(), "word {i} = {x}");
        }
    }

    #[test]
    fn write_refuses_more_neurons_or_inputs_than_the_image_holds() {
        let mut out = [0u8; image_size(6, 3)];
        for (ni, n) in [(6, MAX_NEURONS + 1), (MAX_INPUTS + 1, 3), (0, 3), (6, 0)] {
            let mut h = header();
            h.params.n_inputs = ni;
            h.params.n_neurons = n;
            assert_eq!(
                ModelImage::write(&h, &[], [].into_iter(), &[], &mut out),
                Err(Error::InvalidParameter("image size")),
                "{ni} x {n}"
            );
        }
    }

    #[test]
    fn write_refuses_what_parse_would_refuse() {
        let mut out = [0u8; image_size(6, 3)];
        let mut h = header();
        h.procedure.present_ms = 1e12;
        assert_eq!(
            ModelImage::write(&h, &[0; 18], [0.0; 3].into_iter(), &[0; 3], &mut out),
            Err(Error::InvalidParameter("present_ms"))
        );
        let mut h = header();
        h.params.dt_ms = -1.0;
        assert_eq!(
            ModelImage::write(&h, &[0; 18], [0.0; 3].into_iter(), &[0; 3], &mut out),
            Err(Error::InvalidParameter("dt_ms"))
        );
    }

    /// A 3 x 1 sensor, ON/OFF pairs: 6 inputs, as `header()`'s network.
    fn event_header(retry: Retry) -> ImageHeader {
        ImageHeader {
            events: Some(EventInput {
                retry,
                ..EventInput::new(EventLayout::new(3, 1, Polarity::Pairs, 1).unwrap())
            }),
            ..header()
        }
    }

    fn event_image(retry: Retry) -> [u8; image_size_with(6, 3, true)] {
        let mut out = [0u8; image_size_with(6, 3, true)];
        let w: [u8; 18] = core::array::from_fn(|i| (i * 13) as u8);
        let n = ModelImage::write(
            &event_header(retry),
            &w,
            [20.0, 21.5, 19.25].into_iter(),
            &[1, 2, 255],
            &mut out,
        )
        .unwrap();
        assert_eq!(n, out.len());
        out
    }

    #[test]
    fn an_event_image_is_version_2_and_round_trips_its_layout_and_retry() {
        for retry in [
            Retry::None,
            Retry::Gain { max: 3 },
            Retry::Threshold {
                step_mv: 0.5,
                max_steps: 4,
            },
        ] {
            let b = event_image(retry);
            assert_eq!(u16_at(&b, 8), 2);
            let m = ModelImage::parse(&b).unwrap();
            assert_eq!(m.header.events, event_header(retry).events);
            assert_eq!(m.header.procedure, header().procedure);
            // The arrays follow the event block.
            let old = image();
            let v1 = ModelImage::parse(&old).unwrap();
            assert_eq!(m.weights, v1.weights);
            assert_eq!(m.assignments, v1.assignments);
            assert_eq!(m.theta::<f64>(2), 19.25);
        }
    }

    #[test]
    fn an_image_model_is_still_written_and_read_as_version_1() {
        // The version 1 layout, byte for byte as before event input: the
        // version word, the size, the weights at byte 200.
        let b = image();
        assert_eq!(u16_at(&b, 8), 1);
        assert_eq!(b.len(), 16 + 4 * 46 + 18 + 12 + 3 + 3 + 4);
        assert_eq!(b[200 + 5], 65);
        assert_eq!(
            crc32(&b[..b.len() - 4]),
            u32::from_le_bytes(b[b.len() - 4..].try_into().unwrap())
        );
        let m = ModelImage::parse(&b).unwrap();
        assert_eq!(m.header.events, None);
    }

    #[test]
    fn event_images_with_a_wrong_block_are_refused() {
        let resign = |mut b: [u8; image_size_with(6, 3, true)]| {
            let n = b.len();
            let crc = crc32(&b[..n - 4]);
            b[n - 4..].copy_from_slice(&crc.to_le_bytes());
            b
        };
        let cases: &[(&str, usize, u8, Error)] = &[
            ("kind", 200, 7, Error::InvalidParameter("image event input")),
            ("channels", 201, 3, Error::InvalidParameter("image event channels")),
            ("width 0", 202, 0, Error::InvalidParameter("event layout size")),
            (
                "width 4: 8 inputs",
                202,
                4,
                Error::InvalidParameter("image event layout (inputs differ from n_inputs)"),
            ),
            ("retry kind", 208, 9, Error::InvalidParameter("image retry")),
            ("gain 0", 209, 0, Error::InvalidParameter("image retry gain")),
        ];
        for (what, at, v, want) in cases {
            let mut b = event_image(Retry::Gain { max: 2 });
            b[*at] = *v;
            assert_eq!(ModelImage::parse(&resign(b)).err(), Some(*want), "{what}");
        }
        // A version 2 image without its block (the size of a version 1 image).
        let mut b = image();
        b[8] = 2;
        let n = b.len();
        let crc = crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(ModelImage::parse(&b).err(), Some(Error::BufferSize("image")));
        // Write refuses a layout of other inputs and a window not at the first event.
        let mut out = [0u8; image_size_with(6, 3, true)];
        let mut h = event_header(Retry::None);
        h.events.as_mut().unwrap().start = Start::At(5);
        assert_eq!(
            ModelImage::write(&h, &[0; 18], [0.0; 3].into_iter(), &[0; 3], &mut out),
            Err(Error::InvalidParameter("image event start (only the first event)"))
        );
        h.events = Some(EventInput::new(EventLayout::NMNIST));
        assert_eq!(
            ModelImage::write(&h, &[0; 18], [0.0; 3].into_iter(), &[0; 3], &mut out),
            Err(Error::InvalidParameter(
                "image event layout (inputs differ from n_inputs)"
            ))
        );
    }
}
