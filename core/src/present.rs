//! Presenting one image, Diehl & Cook's way, on any backend: Poisson rate
//! coding (rate = pixel / 8 * intensity Hz), the presentation, the rest,
//! and the intensity retry. The host's training and evaluation and the
//! chip's inference run this same function, so with the same seed they see
//! the same input spikes.

use rand_core::RngCore;

use crate::network::{Network, QuantizedWeights, State};
use crate::poisson::{Poisson, PoissonState};
use crate::procedure::Procedure;
use crate::shard::{Alone, Collective};
use crate::{Error, Real};

/// Caller-owned buffers of a presentation, each `n_inputs` long.
#[derive(Debug)]
pub struct PresentBuffers<'a> {
    /// Poisson source: next spike step per input.
    pub next: &'a mut [u32],
    /// Poisson source: 1/ln(1-p) per input.
    pub inv_log: &'a mut [f32],
    /// Poisson source: bucket links.
    pub link: &'a mut [u16],
    /// Rates (Hz).
    pub rates: &'a mut [f32],
    /// The inputs that spike in a step.
    pub spikes: &'a mut [u16],
}

/// What a presentation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PresentOutput {
    /// Excitatory spikes of the final presentation (per neuron: `counts`).
    pub exc_spikes: u32,
    /// Presentations repeated at a higher intensity.
    pub retries: u32,
    /// Input spikes delivered, all presentations.
    pub input_spikes: u32,
    /// Steps simulated, all presentations (rest steps included).
    pub steps: u32,
}

/// Presents `pixels` (one per input, 0..255) to `net`.
///
/// With `learn`, weights are normalised to `p.norm_target` first and STDP
/// and theta adaptation are on. With `independent` (or a rest of 0) the
/// dynamics are reset before each presentation, so the result does not
/// depend on earlier examples. `weights`: read-only 8-bit weights instead
/// of `s.weights` (no learning). `counts[j]` receives neuron j's spikes in
/// the final presentation.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(feature = "inline-hot", inline(always))]
pub fn present<T: Real, R: RngCore>(
    net: &mut Network<T>,
    s: &mut State<'_, T>,
    weights: Option<&QuantizedWeights<'_, T>>,
    pixels: &[u8],
    p: &Procedure,
    learn: bool,
    independent: bool,
    b: &mut PresentBuffers<'_>,
    rng: &mut R,
    counts: &mut [u32],
) -> Result<PresentOutput, Error> {
    present_shard(
        net,
        s,
        weights,
        pixels,
        p,
        learn,
        independent,
        b,
        rng,
        counts,
        &mut Alone,
    )
}

/// [`present`] for one shard of a network split across threads
/// ([`crate::shard`]): `net` and `s` are the shard's neurons, `rng` a copy
/// of the one generator every shard starts from, `c` the exchange with the
/// other shards. `counts` are the shard's neurons'; the returned
/// `exc_spikes` is the whole network's.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(feature = "inline-hot", inline(always))]
pub fn present_shard<T: Real, R: RngCore, C: Collective + ?Sized>(
    net: &mut Network<T>,
    s: &mut State<'_, T>,
    weights: Option<&QuantizedWeights<'_, T>>,
    pixels: &[u8],
    p: &Procedure,
    learn: bool,
    independent: bool,
    b: &mut PresentBuffers<'_>,
    rng: &mut R,
    counts: &mut [u32],
    c: &mut C,
) -> Result<PresentOutput, Error> {
    let n_in = net.n_inputs();
    if pixels.len() != n_in || b.rates.len() != n_in || b.spikes.len() != n_in {
        return Err(Error::BufferSize("presentation"));
    }
    if counts.len() != net.n_neurons() {
        return Err(Error::BufferSize("counts"));
    }
    if learn && weights.is_some() {
        return Err(Error::InvalidParameter("learning (read-only weights)"));
    }
    if !(p.intensity > 0.0 && p.max_intensity >= p.intensity && p.present_ms > 0.0 && p.rest_ms >= 0.0) {
        return Err(Error::InvalidParameter("procedure"));
    }
    let dt = net.dt_ms();
    let present_steps = libm::round(p.present_ms as f64 / dt) as u32;
    let rest_steps = libm::round(p.rest_ms as f64 / dt) as u32;
    net.set_learning(learn);
    let mut out = PresentOutput::default();
    let mut intensity = p.intensity;
    loop {
        if independent || rest_steps == 0 {
            net.reset_dynamics(s)?;
        }
        if learn {
            net.normalize(s, p.norm_target as f64)?;
        }
        for (r, &px) in b.rates.iter_mut().zip(pixels) {
            *r = px as f32 / 8.0 * intensity;
        }
        counts.fill(0);
        let mut src = Poisson::new(PoissonState {
            next: b.next,
            inv_log: b.inv_log,
            link: b.link,
        })?;
        src.set_rates(b.rates, dt as f32, 0, rng)?;
        let mut total = 0;
        for k in 0..present_steps {
            let m = src.spikes(k, rng, b.spikes)?;
            out.input_spikes += m as u32;
            let spikes = &b.spikes[..m];
            let o = net.step_shard(s, weights, spikes, c)?;
            if o.exc_spikes > 0 {
                total += o.exc_spikes;
                for (c, &f) in counts.iter_mut().zip(s.exc.spiked.iter()) {
                    *c += f as u32;
                }
            }
        }
        out.steps += present_steps + rest_steps;
        net.rest_shard(s, weights, rest_steps, c)?;
        let total = c.all_sum(total);
        out.exc_spikes = total;
        if total >= p.min_spikes || intensity >= p.max_intensity {
            break;
        }
        intensity = (intensity + 1.0).min(p.max_intensity);
        out.retries += 1;
    }
    Ok(out)
}

/// Classes of a label assignment (digits).
pub const CLASSES: usize = 10;

/// Diehl & Cook's classification: the class whose assigned neurons have the
/// highest mean spike count (`counts[j]`: neuron j's spikes; `assignments[j]`:
/// its class, or anything >= 10 for none); ties go to the lowest class.
/// The host and the chip classify with this one function.
pub fn classify(counts: &[u32], assignments: &[u8]) -> u8 {
    let mut sum = [0.0f64; CLASSES];
    let mut num = [0u32; CLASSES];
    for (&k, &a) in counts.iter().zip(assignments) {
        if let (Some(s), Some(n)) = (sum.get_mut(a as usize), num.get_mut(a as usize)) {
            *s += k as f64;
            *n += 1;
        }
    }
    let mut best = (0u8, -1.0);
    for (c, (&s, &n)) in sum.iter().zip(&num).enumerate() {
        let mean = if n > 0 { s / n as f64 } else { 0.0 };
        if mean > best.1 {
            best = (c as u8, mean);
        }
    }
    best.0
}
