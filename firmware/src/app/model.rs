//! The model slots: the built-in image and two upload slots, the checks an
//! image passes before it becomes the current model, and the state it
//! starts from (inference on its 8-bit weights, or learning on weights
//! copied to RAM).

use core::ops::Range;

use stdp_core::crc::crc32;
use stdp_core::image::ModelImage;
use stdp_core::present_events::EventInput;
use stdp_core::{Fx, Network, Procedure, QuantizedWeights};
use stdp_protocol::{ErrorCode, StateKind};

use super::{core_err, fail, App, Failure, Input};
use crate::board::Board;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Source {
    Builtin,
    Slot(usize),
}

/// The current model: its network and where its arrays are in its image.
#[derive(Clone, Copy)]
pub(super) struct Model {
    pub(super) source: Source,
    pub(super) len: usize,
    pub(super) crc: u32,
    pub(super) net: Network<Fx>,
    pub(super) procedure: Procedure,
    pub(super) w_max: f64,
    pub(super) n_inputs: usize,
    pub(super) n: usize,
    pub(super) weights: (usize, usize),
    pub(super) theta: usize,
    pub(super) assignments: (usize, usize),
    pub(super) present_steps: u32,
    pub(super) rest_steps: u32,
    /// Event input (the image's), `None` for an image model.
    pub(super) events: Option<EventInput>,
}

impl Model {
    pub(super) fn weights(&self) -> Range<usize> {
        self.weights.0..self.weights.1
    }
    pub(super) fn assignments(&self) -> Range<usize> {
        self.assignments.0..self.assignments.1
    }
}

/// The bytes of the image of `m`.
pub(super) fn image<'s>(slots: &'s [&mut [u8]; 2], builtin: Option<&'s [u8]>, m: &Model) -> &'s [u8] {
    let b: &'s [u8] = match m.source {
        Source::Builtin => builtin.unwrap_or(&[]),
        Source::Slot(k) => slots[k],
    };
    b.get(..m.len).unwrap_or(&[])
}

/// Range of `part` within `whole` (both from the same image).
fn range_in(whole: &[u8], part: &[u8]) -> (usize, usize) {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    (start, start + part.len())
}

fn theta_bits(img: &[u8], m: &Model, j: usize) -> i32 {
    let at = m.theta + 4 * j;
    match img.get(at..at + 4) {
        Some(b) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

/// The image's 8-bit weights, unless the network runs on learned weights.
pub(super) fn quantized<'i>(
    img: &'i [u8],
    m: &Model,
    plastic_active: bool,
) -> Result<Option<QuantizedWeights<'i, Fx>>, Failure> {
    if plastic_active {
        return Ok(None);
    }
    let w = img.get(m.weights()).ok_or((ErrorCode::Core, 0))?;
    QuantizedWeights::new(w, m.w_max).map(Some).map_err(core_err)
}

impl<B: Board, const N: usize, const LI: usize, const LN: usize> App<'_, B, N, LI, LN> {
    pub(super) fn max_inputs(&self) -> usize {
        self.mem.inputs.pixels.len()
    }

    pub(super) fn upload_capacity(&self) -> usize {
        self.mem.slots[0].len().min(self.mem.slots[1].len())
    }

    /// Checks `bytes` as an image this device can run.
    pub(super) fn check_image(&self, bytes: &[u8], source: Source) -> Result<Model, Failure> {
        let img = ModelImage::parse(bytes).map_err(|_| (ErrorCode::BadImage, 0))?;
        let p = img.header.params;
        if p.n_inputs > self.max_inputs() || p.n_neurons > N || self.mem.counts.len() < p.n_neurons {
            return fail(ErrorCode::TooLarge, p.n_neurons as u32);
        }
        let net = Network::<Fx>::new(&p).map_err(|_| (ErrorCode::BadImage, 1))?;
        let procedure = img.header.procedure;
        let dt = net.dt_ms();
        let present_steps = libm::round(procedure.present_ms as f64 / dt);
        let rest_steps = libm::round(procedure.rest_ms as f64 / dt);
        if !((1.0..=u16::MAX as f64).contains(&present_steps) && (0.0..1e9).contains(&rest_steps)) {
            return fail(ErrorCode::BadImage, 2);
        }
        let weights = range_in(bytes, img.weights);
        let assignments = range_in(bytes, img.assignments);
        Ok(Model {
            source,
            len: bytes.len(),
            crc: crc32(bytes),
            net,
            procedure,
            w_max: p.stdp.w_max,
            n_inputs: p.n_inputs,
            n: p.n_neurons,
            weights,
            theta: weights.1,
            assignments,
            present_steps: present_steps as u32,
            rest_steps: rest_steps as u32,
            events: img.header.events,
        })
    }

    /// Makes `m` the current model, in its start state, learning off.
    pub(super) fn install(&mut self, m: Model) {
        self.model = Some(m);
        self.upload = None;
        self.restart();
    }

    /// Learned state, input and result dropped; the inference state as
    /// after loading (the host's `ImageSim::new`).
    pub(super) fn restart(&mut self) {
        self.learning = false;
        self.plastic_active = false;
        self.input = Input::None;
        self.recording = None;
        self.last = None;
        if let Some(m) = self.model {
            let img = image(&self.mem.slots, self.mem.builtin, &m);
            if let Ok(mut st) = self.mem.frozen.state(&m.net) {
                if m.net.init_state(&mut st).is_ok() {
                    let theta = (0..m.n).map(|j| Fx::from_bits(theta_bits(img, &m, j)));
                    // The sizes were checked when the model was taken.
                    let _ = m.net.load_theta(&mut st, theta);
                }
            }
        }
    }

    pub(super) fn model(&self) -> Result<Model, Failure> {
        self.model.ok_or((ErrorCode::NoModel, 0))
    }

    /// Starts an upload of `len` bytes into the slot that does not hold
    /// the current model.
    pub(super) fn upload_begin(&mut self, len: u32) -> Result<(), Failure> {
        let cap = self.upload_capacity();
        if len == 0 || len as usize > cap {
            return fail(ErrorCode::TooLarge, cap as u32);
        }
        let slot = match self.model {
            Some(Model {
                source: Source::Slot(k),
                ..
            }) => 1 - k,
            _ => 0,
        };
        self.upload = Some((slot, len as usize));
        Ok(())
    }

    /// Writes a piece of the image being uploaded.
    pub(super) fn upload_chunk(&mut self, offset: u32, data: &[u8]) -> Result<(), Failure> {
        let (slot, len) = self.upload.ok_or((ErrorCode::BadState, 0))?;
        let start = offset as usize;
        let end = start.checked_add(data.len()).filter(|&e| e <= len);
        let end = end.ok_or((ErrorCode::OutOfRange, offset))?;
        self.mem.slots[slot][start..end].copy_from_slice(data);
        Ok(())
    }

    /// Checks the uploaded image (its CRC, then as a model) and makes it
    /// the current model.
    pub(super) fn upload_commit(&mut self, crc: u32) -> Result<Model, Failure> {
        let (slot, len) = self.upload.ok_or((ErrorCode::BadState, 0))?;
        let bytes = &self.mem.slots[slot][..len];
        let got = crc32(bytes);
        if got != crc {
            return fail(ErrorCode::BadImage, got);
        }
        let m = self.check_image(bytes, Source::Slot(slot))?;
        self.install(m);
        Ok(m)
    }

    /// Back to the state after loading the model; with `forget_model`, an
    /// uploaded model is dropped for the built-in one (if any).
    pub(super) fn reset(&mut self, forget_model: bool) {
        if forget_model && matches!(self.model, Some(m) if m.source != Source::Builtin) {
            self.model = None;
            if let Some(b) = self.mem.builtin {
                if let Ok(m) = self.check_image(b, Source::Builtin) {
                    self.model = Some(m);
                }
            }
        }
        self.upload = None;
        self.restart();
    }

    /// Weights dequantised from the image, theta from the image, the
    /// state at its start (as the host's `ImageSim::new(..).sim`).
    pub(super) fn make_plastic(&mut self, m: &Model) -> Result<(), Failure> {
        let img = image(&self.mem.slots, self.mem.builtin, m);
        let buffers = self
            .mem
            .plastic
            .as_deref_mut()
            .ok_or((ErrorCode::NoLearning, LN as u32))?;
        let mut st = buffers.state(&m.net).map_err(|_| (ErrorCode::NoLearning, LN as u32))?;
        let lut: [Fx; 256] = core::array::from_fn(|q| QuantizedWeights::<Fx>::value(q as u8, m.w_max));
        for (w, &q) in st.weights.iter_mut().zip(&img[m.weights()]) {
            *w = lut[q as usize];
        }
        m.net.init_state(&mut st).map_err(core_err)?;
        let theta = (0..m.n).map(|j| Fx::from_bits(theta_bits(img, m, j)));
        m.net.load_theta(&mut st, theta).map_err(core_err)?;
        self.plastic_active = true;
        Ok(())
    }

    pub(super) fn read_state(
        &mut self,
        kind: StateKind,
        offset: usize,
        count: usize,
        v: &mut [i32],
    ) -> Result<usize, Failure> {
        let m = self.model()?;
        let total = match kind {
            StateKind::Weights => m.n_inputs * m.n,
            StateKind::Theta => m.n,
        };
        let end = offset.saturating_add(count);
        if end > total || count > v.len() {
            return fail(ErrorCode::OutOfRange, end.min(u32::MAX as usize) as u32);
        }
        let v = &mut v[..count];
        if self.plastic_active {
            if let Some(buffers) = self.mem.plastic.as_deref_mut() {
                let st = buffers.state(&m.net).map_err(core_err)?;
                let src: &[Fx] = match kind {
                    StateKind::Weights => st.weights,
                    StateKind::Theta => st.exc.theta,
                };
                for (d, s) in v.iter_mut().zip(&src[offset..end]) {
                    *d = s.to_bits();
                }
                return Ok(count);
            }
        }
        let img = image(&self.mem.slots, self.mem.builtin, &m);
        match kind {
            StateKind::Weights => {
                for (d, &q) in v.iter_mut().zip(&img[m.weights()][offset..end]) {
                    *d = QuantizedWeights::<Fx>::value(q, m.w_max).to_bits();
                }
            }
            StateKind::Theta => {
                for (i, d) in v.iter_mut().enumerate() {
                    *d = theta_bits(img, &m, offset + i);
                }
            }
        }
        Ok(count)
    }
}
