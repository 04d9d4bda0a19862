//! A layer of leaky integrate-and-fire neurons: the state update and
//! threshold of steps 1 and 2 of the scenario semantics, and the reset of
//! step 4.
//!
//! # Conductance model without a division or an exp per neuron
//! The exact update of scenario-format.md (exponential Euler with ge, gi
//! held over the step) is `v' = v_inf + (v - v_inf) exp(-dt/tau_eff)` with
//! `v_inf = (v_rest + ge e_exc + gi e_inh) / (1 + ge + gi)` and
//! `tau_eff = tau_m / (1 + ge + gi)`. With `a = dt/tau_m`,
//! `g = 1 + ge + gi` and `drive = (v_rest - v) + ge (e_exc - v) + gi (e_inh - v)`
//! it is, algebraically identically,
//! `v' = v + drive * a * phi(a g)`, `phi(x) = (1 - e^-x)/x`, evaluated as
//! `v + m (v_rest - v) + (m ge)(e_exc - v) + (m gi)(e_inh - v)` with
//! `m = a phi(a g)`: since `m g = 1 - exp(-a g) <= 1`, no intermediate
//! exceeds the largest |E - v| (the fixed backend never saturates here).
//! The float backends evaluate phi exactly (libm `expm1`); the fixed
//! backend runs its own integer kernel (`num/fixed/kernel.rs`: phi from a
//! 513-entry table, error < 2.6e-6), so the hot loop has neither a division
//! nor a transcendental call.

use crate::decay::Decay;
use crate::layer::{Activity, CondParams, CondStep, LayerState};
use crate::params::{NeuronModel, NeuronParams};
use crate::{Error, Real};

/// Converts a domain value to the backend, checking it is finite and
/// representable. `name` names the parameter in the error.
pub(crate) fn convert<T: Real>(x: f64, name: &'static str) -> Result<T, Error> {
    if !x.is_finite() {
        return Err(Error::InvalidParameter(name));
    }
    if !T::in_range(x) {
        return Err(Error::NotRepresentable(name));
    }
    Ok(T::from_f64(x))
}

/// The constants of a layer, converted to the backend once.
#[derive(Debug, Clone, Copy)]
pub struct Layer<T: Real> {
    model: NeuronModel,
    v_rest: T,
    v_reset: T,
    v_init: T,
    /// v_thresh - theta_offset (mV).
    thresh: T,
    /// dt / tau_m (conductance model).
    a: T,
    /// exp(-dt/tau_m) (LIF model).
    leak: Decay<T>,
    /// Steps from a spike to the next possible one (the counter's start).
    refractory_steps: u32,
    /// v is held while the counter is above this at the start of a step
    /// (1 without a threshold block: held for R - 1 steps after the spike).
    hold_above: u32,
    theta_plus: T,
    theta_init: T,
    theta_decay: Decay<T>,
    ge_decay: Decay<T>,
    gi_decay: Decay<T>,
    e_exc: T,
    e_inh: T,
    /// exp(-dt/tau_m), every step (CubaLif model).
    leak_step: T::Factor,
    /// 1 - exp(-dt/tau_m) (CubaLif model).
    drive: T::Factor,
    /// e_exc - v_rest, e_inh - v_rest: the fixed driving forces (mV,
    /// CubaLif model).
    d_exc: T,
    d_inh: T,
    /// The backend's own conductance step, if it has one for these
    /// parameters (the fixed backend: its integer kernel).
    kernel: Option<T::CondKernel>,
}

impl<T: Real> Layer<T> {
    /// Checks and converts `p` for time step `dt_ms`.
    pub fn new(p: &NeuronParams, dt_ms: f64) -> Result<Self, Error> {
        if !(p.refractory_ms >= 0.0) || !(p.refractory_ms / dt_ms < u32::MAX as f64) {
            return Err(Error::InvalidParameter("refractory_ms"));
        }
        if !(p.threshold_block_ms >= 0.0) || !(p.threshold_block_ms / dt_ms < u32::MAX as f64) {
            return Err(Error::InvalidParameter("threshold_block_ms"));
        }
        let hold = libm::floor(p.refractory_ms / dt_ms + 0.001) as u32;
        let block = (libm::floor(p.threshold_block_ms / dt_ms + 0.001) as u32).max(hold);
        if !(p.theta_plus_mv >= 0.0) {
            return Err(Error::InvalidParameter("theta_plus_mv"));
        }
        let leak = Decay::new(p.tau_m_ms, dt_ms, "tau_m_ms")?;
        let (ge_decay, gi_decay) = match p.model {
            NeuronModel::Conductance | NeuronModel::CubaLif => (
                Decay::new(p.tau_ge_ms, dt_ms, "tau_ge_ms")?,
                Decay::new(p.tau_gi_ms, dt_ms, "tau_gi_ms")?,
            ),
            NeuronModel::Lif => (Decay::none(), Decay::none()),
        };
        let thresh = p.v_thresh_mv - p.theta_offset_mv;
        let kernel = match p.model {
            NeuronModel::Conductance => T::cond_kernel(&CondParams {
                a: dt_ms / p.tau_m_ms,
                v_rest: p.v_rest_mv,
                e_exc: p.e_exc_mv,
                e_inh: p.e_inh_mv,
                thresh,
            }),
            NeuronModel::Lif | NeuronModel::CubaLif => None,
        };
        // CubaLif: the drive's share of one step, 1 - exp(-dt/tau_m), as a
        // factor (exp(-y) with y = -ln(1 - exp(-dt/tau_m))).
        let x = dt_ms / p.tau_m_ms;
        let drive = T::decay_factor(-libm::log(-libm::expm1(-x)));
        // Converted only where used: the other models never refused an
        // e - v_rest beyond the backend's range.
        let (d_exc, d_inh) = match p.model {
            NeuronModel::CubaLif => (
                convert(p.e_exc_mv - p.v_rest_mv, "e_exc_mv")?,
                convert(p.e_inh_mv - p.v_rest_mv, "e_inh_mv")?,
            ),
            _ => (T::ZERO, T::ZERO),
        };
        Ok(Layer {
            model: p.model,
            v_rest: convert(p.v_rest_mv, "v_rest_mv")?,
            v_reset: convert(p.v_reset_mv, "v_reset_mv")?,
            v_init: convert(p.v_init_mv, "v_init_mv")?,
            thresh: convert(thresh, "v_thresh_mv")?,
            a: convert(dt_ms / p.tau_m_ms, "tau_m_ms")?,
            leak,
            refractory_steps: block,
            hold_above: block - hold + 1,
            theta_plus: convert(p.theta_plus_mv, "theta_plus_mv")?,
            theta_init: convert(p.theta_init_mv, "theta_init_mv")?,
            theta_decay: Decay::new(p.tau_theta_ms, dt_ms, "tau_theta_ms")?,
            ge_decay,
            gi_decay,
            e_exc: convert(p.e_exc_mv, "e_exc_mv")?,
            e_inh: convert(p.e_inh_mv, "e_inh_mv")?,
            leak_step: T::decay_factor(x),
            drive,
            d_exc,
            d_inh,
            kernel,
        })
    }

    /// The conductance-based membrane update of one neuron that is not
    /// held: `v + m (v_rest - v) + (m ge)(e_exc - v) + (m gi)(e_inh - v)`.
    /// m (1 + ge + gi) = 1 - exp(-dt/tau_eff) <= 1, so every product stays
    /// within |E - v|: no intermediate can leave the fixed-point range,
    /// however large gi grows.
    #[inline(always)]
    fn integrate(&self, v0: T, g_e: T, g_i: T) -> T {
        self.integrate_with::<false>(v0, g_e, g_i)
    }

    /// [`Layer::integrate`]; with `SMALL`, phi by [`Real::phi_small`] (the
    /// caller has checked that `a (1 + ge + gi)` is within its range, where
    /// it is the same number).
    #[inline(always)]
    fn integrate_with<const SMALL: bool>(&self, v0: T, g_e: T, g_i: T) -> T {
        let a = self.a;
        let x = self.phi_arg(g_e, g_i);
        let m = a * if SMALL { T::phi_small(x) } else { T::phi(x) };
        let mut v1 = v0 + m * (self.v_rest - v0) + (m * g_e) * (self.e_exc - v0);
        if T::VECTORISES || g_i != T::ZERO {
            // (Without gi this term is exactly 0.)
            v1 += (m * g_i) * (self.e_inh - v0);
        }
        v1
    }

    /// The argument of phi: `a (1 + ge + gi)`.
    #[inline(always)]
    fn phi_arg(&self, g_e: T, g_i: T) -> T {
        self.a * (T::ONE + g_e + g_i)
    }

    /// Whether every neuron's phi argument is within [`Real::phi_small`]'s
    /// range (a branch-free pass that vectorises).
    #[inline(always)]
    fn phi_small_everywhere(&self, s: &LayerState<'_, T>) -> bool {
        if !T::PHI_SMALL_END.is_finite() {
            return false;
        }
        let end = T::from_f64(T::PHI_SMALL_END);
        s.ge.iter()
            .zip(s.gi.iter())
            .fold(true, |all, (&ge, &gi)| all & (self.phi_arg(ge, gi) <= end))
    }

    /// The membrane model.
    pub fn model(&self) -> NeuronModel {
        self.model
    }

    /// Steps from a spike to the next possible one (the refractory period,
    /// or the threshold block if longer).
    pub fn refractory_steps(&self) -> u32 {
        self.refractory_steps
    }

    /// Sets every neuron to the start of a run (`start`: v = v_init, theta =
    /// theta_init) or of a new example (v = v_rest, theta kept); either way
    /// no conductance, not refractory, no spike.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub fn init(&self, s: &mut LayerState<'_, T>, start: bool) {
        s.v.fill(if start { self.v_init } else { self.v_rest });
        s.ge.fill(T::ZERO);
        s.gi.fill(T::ZERO);
        s.refractory.fill(0);
        s.spiked.fill(false);
        *s.activity = Activity::All;
        if start {
            s.theta.fill(self.theta_init);
        }
    }

    /// Steps 1 and 2 for step number `step`: integrate, decay, threshold.
    /// theta decays only if `adapt`. Returns the number of neurons that
    /// spiked; `s.spiked` says which. Buffers must have been checked.
    ///
    /// `track`: keep [`LayerState::active`] exact so that later steps skip
    /// the neurons at rest (worth it for a layer that gets sparse input,
    /// such as the inhibitory layer; not for one that gets a row of input
    /// weights every step). The fixed backend's kernel always tracks.
    ///
    /// Written as branch-free passes over zipped slices (no indexing, no
    /// per-neuron branches, decays not due multiply by exactly 1) so that
    /// the compiler vectorises them.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub(crate) fn update(&self, s: &mut LayerState<'_, T>, step: u32, adapt: bool, track: bool) -> u32 {
        let due = |d: &Decay<T>| if d.due(step) { d.factor() } else { T::FACTOR_ONE };
        let theta_f = if adapt { due(&self.theta_decay) } else { T::FACTOR_ONE };
        // Pass 1: membrane and conductances. A neuron is refractory in this
        // step if more than one refractory step was left at its start.
        match self.model {
            NeuronModel::Conductance => {
                let (ge_f, gi_f) = (due(&self.ge_decay), due(&self.gi_decay));
                if let Some(k) = &self.kernel {
                    let c = CondStep {
                        ge_f,
                        gi_f,
                        theta_f,
                        refractory_steps: self.refractory_steps,
                        hold_above: self.hold_above,
                    };
                    return T::cond_update(k, &c, s, &|v, ge, gi| self.integrate(v, ge, gi));
                }
                if theta_f != T::FACTOR_ONE {
                    // Every threshold moves: no neuron can be skipped.
                    *s.activity = Activity::All;
                }
                match *s.activity {
                    Activity::Rest => return 0,
                    Activity::Listed => return self.update_listed(s, ge_f, gi_f),
                    Activity::All => {}
                }
                // (f32's phi has two branches; a layer whose neurons all
                // need only the first, as is usual, skips the second.)
                match (track && T::VECTORISES, self.phi_small_everywhere(s)) {
                    (true, true) => self.membrane_all::<true, true>(s, ge_f, gi_f),
                    (true, false) => self.membrane_all::<true, false>(s, ge_f, gi_f),
                    (false, true) => self.membrane_all::<false, true>(s, ge_f, gi_f),
                    (false, false) => self.membrane_all::<false, false>(s, ge_f, gi_f),
                }
            }
            NeuronModel::CubaLif => {
                // Exponential Euler with ge, gi held over the step, as the
                // conductance model: v' = v_inf + (v - v_inf) exp(-dt/tau_m),
                // v_inf = v_rest + ge d_exc + gi d_inh. The currents are
                // scaled by 1 - exp(-dt/tau_m) before the driving forces, so
                // no intermediate leaves the fixed-point range.
                let (ge_f, gi_f) = (due(&self.ge_decay), due(&self.gi_decay));
                let (v_rest, hold, leak, drive) = (self.v_rest, self.hold_above, self.leak_step, self.drive);
                let (d_exc, d_inh) = (self.d_exc, self.d_inh);
                for (((v, ge), gi), &r) in
                    s.v.iter_mut()
                        .zip(s.ge.iter_mut())
                        .zip(s.gi.iter_mut())
                        .zip(s.refractory.iter())
                {
                    let (g_e, g_i) = (*ge, *gi);
                    let v1 = v_rest + (*v - v_rest).scale(leak) + g_e.scale(drive) * d_exc + g_i.scale(drive) * d_inh;
                    *v = if r > hold { *v } else { v1 };
                    *ge = g_e.scale(ge_f);
                    *gi = g_i.scale(gi_f);
                }
            }
            NeuronModel::Lif => {
                let f = due(&self.leak);
                let (v_rest, hold) = (self.v_rest, self.hold_above);
                for (v, &r) in s.v.iter_mut().zip(s.refractory.iter()) {
                    let v1 = v_rest + (*v - v_rest).scale(f);
                    *v = if r > hold { *v } else { v1 };
                }
            }
        }
        // Pass 2: theta, threshold, refractory counters.
        let (thresh, refr_steps) = (self.thresh, self.refractory_steps);
        let mut count = 0;
        for (((&v, theta), r), spiked) in
            s.v.iter()
                .zip(s.theta.iter_mut())
                .zip(s.refractory.iter_mut())
                .zip(s.spiked.iter_mut())
        {
            *theta = theta.scale(theta_f);
            let left = r.saturating_sub(1);
            let spike = left == 0 && v > thresh + *theta;
            *spiked = spike;
            *r = if spike { refr_steps } else { left };
            count += spike as u32;
        }
        if track && T::VECTORISES && self.model == NeuronModel::Conductance && *s.activity == Activity::All {
            // Pass 1 left `active` = "not at a fixed point of the update";
            // refractory or spiking neurons are not at rest either.
            let mut any = false;
            for ((a, &r), &spiked) in s.active.iter_mut().zip(s.refractory.iter()).zip(s.spiked.iter()) {
                *a = *a || r != 0 || spiked;
                any |= *a;
            }
            *s.activity = if any { Activity::Listed } else { Activity::Rest };
        }
        count
    }

    /// Pass 1 of a float conductance layer over every neuron; with `TRACK`,
    /// `active[j]` records whether neuron j is *not* at a fixed point of the
    /// update: it had conductance, or its membrane moved. A float membrane
    /// relaxing toward v_rest without conductance stops at a fixed point
    /// (within a few ulps of v_rest, where `m (v_rest - v)` rounds away);
    /// from there, without input, the update leaves it exactly as it is, so
    /// skipping it is exact.
    #[inline(always)]
    fn membrane_all<const TRACK: bool, const SMALL: bool>(
        &self,
        s: &mut LayerState<'_, T>,
        ge_f: T::Factor,
        gi_f: T::Factor,
    ) {
        for ((((v, ge), gi), &r), a) in
            s.v.iter_mut()
                .zip(s.ge.iter_mut())
                .zip(s.gi.iter_mut())
                .zip(s.refractory.iter())
                .zip(s.active.iter_mut())
        {
            let (v0, g_e, g_i) = (*v, *ge, *gi);
            if !T::VECTORISES && g_e == T::ZERO && g_i == T::ZERO && (v0 == self.v_rest || r > self.hold_above) {
                // At rest (or held) without conductance: the update below
                // would leave v, ge and gi exactly as they are.
                continue;
            }
            let v1 = self.integrate_with::<SMALL>(v0, g_e, g_i);
            let v1 = if r > self.hold_above { v0 } else { v1 };
            *v = v1;
            *ge = g_e.scale(ge_f);
            *gi = g_i.scale(gi_f);
            if TRACK {
                *a = g_e != T::ZERO || g_i != T::ZERO || v1 != v0;
            }
        }
    }

    /// Steps 1 and 2 of a float conductance layer for the neurons listed
    /// in `active` (the others are at rest, see [`Layer::membrane_all`]):
    /// the same arithmetic per neuron as the all-neurons passes, so the
    /// result is identical. theta does not move here (the caller processes
    /// every neuron when it decays).
    #[cfg_attr(feature = "inline-hot", inline(always))]
    fn update_listed(&self, s: &mut LayerState<'_, T>, ge_f: T::Factor, gi_f: T::Factor) -> u32 {
        let n = s.v.len();
        let (v, ge, gi, theta, refractory, spiked, active) = (
            &mut s.v[..n],
            &mut s.ge[..n],
            &mut s.gi[..n],
            &s.theta[..n],
            &mut s.refractory[..n],
            &mut s.spiked[..n],
            &mut s.active[..n],
        );
        let (thresh, refr_steps) = (self.thresh, self.refractory_steps);
        let mut count = 0;
        let mut any = false;
        // The flags are scanned 32 at a time (a branch-free OR of a chunk
        // vectorises; most chunks of a large, quiet layer are all false).
        const CHUNK: usize = 32;
        for start in (0..n).step_by(CHUNK) {
            let end = (start + CHUNK).min(n);
            if !active[start..end].iter().fold(false, |a, &f| a | f) {
                continue;
            }
            for j in start..end {
                if !active[j] {
                    continue;
                }
                let (v0, g_e, g_i, r) = (v[j], ge[j], gi[j], refractory[j]);
                let v1 = self.integrate(v0, g_e, g_i);
                let v1 = if r > self.hold_above { v0 } else { v1 };
                v[j] = v1;
                ge[j] = g_e.scale(ge_f);
                gi[j] = g_i.scale(gi_f);
                let left = r.saturating_sub(1);
                let spike = left == 0 && v1 > thresh + theta[j];
                spiked[j] = spike;
                refractory[j] = if spike { refr_steps } else { left };
                count += spike as u32;
                let still = g_e != T::ZERO || g_i != T::ZERO || v1 != v0 || refractory[j] != 0 || spike;
                active[j] = still;
                any |= still;
            }
        }
        *s.activity = if any { Activity::Listed } else { Activity::Rest };
        count
    }

    /// Whether every conductance is below `eps` and no neuron is
    /// refractory: from here on, without input, the layer only relaxes.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub(crate) fn quiescent(&self, s: &LayerState<'_, T>, eps: T) -> bool {
        if *s.activity == Activity::Rest {
            return true;
        }
        // Branch-free folds (they vectorise); the answer is the same as
        // with early exits.
        let small = |all: bool, &g: &T| all & (g < eps) & (-g < eps);
        s.ge.iter().fold(true, small)
            && s.gi.iter().fold(true, small)
            && s.refractory.iter().fold(true, |all, &r| all & (r <= 1))
    }

    /// `n` steps without input of a quiescent layer, in closed form:
    /// v -> v_rest + (v - v_rest) exp(-n dt/tau_m) (exact when ge = gi = 0;
    /// the conductances below `quiescent`'s eps are dropped), theta decays
    /// (if `adapt`) as it would step by step from step `step` on.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub(crate) fn relax(&self, s: &mut LayerState<'_, T>, step: u32, n: u32, adapt: bool) {
        let f = self.leak.pow(n);
        for v in s.v.iter_mut() {
            *v = self.v_rest + (*v - self.v_rest).scale(f);
        }
        s.ge.fill(T::ZERO);
        s.gi.fill(T::ZERO);
        s.refractory.fill(0);
        s.spiked.fill(false);
        *s.activity = Activity::All;
        if adapt {
            let f = self.theta_decay.pow_over(step, n);
            for t in s.theta.iter_mut() {
                *t = t.scale(f);
            }
        }
    }

    /// Step 4: v <- v_reset for every neuron that spiked, and theta +=
    /// theta_plus if `adapt`.
    #[cfg_attr(feature = "inline-hot", inline(always))]
    pub(crate) fn reset(&self, s: &mut LayerState<'_, T>, adapt: bool) {
        let listed = *s.activity != Activity::All;
        for (((v, theta), &spiked), active) in
            s.v.iter_mut()
                .zip(s.theta.iter_mut())
                .zip(s.spiked.iter())
                .zip(s.active.iter_mut())
        {
            if spiked {
                if listed {
                    *active = true;
                    *s.activity = Activity::Listed;
                }
                *v = self.v_reset;
                if adapt {
                    *theta += self.theta_plus;
                }
            }
        }
    }

    /// An input of weight `w` onto neuron `j`: ge += w (conductance), or
    /// v += w unless refractory (LIF).
    #[inline(always)]
    pub(crate) fn excite(&self, s: &mut LayerState<'_, T>, j: usize, w: T) {
        s.wake(j);
        match self.model {
            NeuronModel::Conductance | NeuronModel::CubaLif => s.ge[j] += w,
            NeuronModel::Lif => {
                if s.refractory[j] < self.hold_above {
                    s.v[j] += w
                }
            }
        }
    }

    /// An inhibitory input of weight `w` onto neuron `j`: gi += w
    /// (conductance), or v -= w unless refractory (LIF).
    #[inline(always)]
    pub(crate) fn inhibit(&self, s: &mut LayerState<'_, T>, j: usize, w: T) {
        s.wake(j);
        match self.model {
            NeuronModel::Conductance | NeuronModel::CubaLif => s.gi[j] += w,
            NeuronModel::Lif => {
                if s.refractory[j] < self.hold_above {
                    s.v[j] -= w
                }
            }
        }
    }

    /// Adds one row of input weights to the layer (`excite(j, row[j])` for
    /// every j) and then depresses the row: `w = clip(w - nu * x_post1[j],
    /// 0, w_max)` (the pair and triplet rules' on_pre), in one pass.
    #[inline(always)]
    pub(crate) fn excite_row_depress(&self, s: &mut LayerState<'_, T>, row: &mut [T], x_post1: &[T], nu: T, w_max: T) {
        *s.activity = Activity::All;
        match self.model {
            NeuronModel::Conductance | NeuronModel::CubaLif => {
                for ((g, w), &x1) in s.ge.iter_mut().zip(row.iter_mut()).zip(x_post1) {
                    *g += *w;
                    *w = (*w - nu * x1).clamp_to(T::ZERO, w_max);
                }
            }
            NeuronModel::Lif => {
                for (((v, w), &r), &x1) in s.v.iter_mut().zip(row.iter_mut()).zip(s.refractory.iter()).zip(x_post1) {
                    if r < self.hold_above {
                        *v += *w;
                    }
                    *w = (*w - nu * x1).clamp_to(T::ZERO, w_max);
                }
            }
        }
    }

    /// [`Layer::excite_row`] for the synapses a delayed spike reaches now:
    /// `row[j]` is added where bit `delays[j]` (mod 32) of `hist` is set.
    #[inline(always)]
    pub(crate) fn excite_row_delayed(
        &self,
        s: &mut LayerState<'_, T>,
        row: impl Iterator<Item = T>,
        delays: &[u8],
        hist: u32,
    ) {
        *s.activity = Activity::All;
        let arrives = |d: u8| (hist >> (d & 31)) & 1 != 0;
        match self.model {
            NeuronModel::Conductance | NeuronModel::CubaLif => {
                for ((g, w), &d) in s.ge.iter_mut().zip(row).zip(delays) {
                    *g += if arrives(d) { w } else { T::ZERO };
                }
            }
            NeuronModel::Lif => {
                for (((v, w), &r), &d) in s.v.iter_mut().zip(row).zip(s.refractory.iter()).zip(delays) {
                    if r < self.hold_above && arrives(d) {
                        *v += w;
                    }
                }
            }
        }
    }

    /// [`Layer::excite_row_depress`] for the synapses a delayed spike
    /// reaches now (see [`Layer::excite_row_delayed`]); the others keep
    /// their weight.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn excite_row_depress_delayed(
        &self,
        s: &mut LayerState<'_, T>,
        row: &mut [T],
        delays: &[u8],
        hist: u32,
        x_post1: &[T],
        nu: T,
        w_max: T,
    ) {
        *s.activity = Activity::All;
        let arrives = |d: u8| (hist >> (d & 31)) & 1 != 0;
        match self.model {
            NeuronModel::Conductance | NeuronModel::CubaLif => {
                for (((g, w), &x1), &d) in s.ge.iter_mut().zip(row.iter_mut()).zip(x_post1).zip(delays) {
                    if arrives(d) {
                        *g += *w;
                        *w = (*w - nu * x1).clamp_to(T::ZERO, w_max);
                    }
                }
            }
            NeuronModel::Lif => {
                for ((((v, w), &r), &x1), &d) in
                    s.v.iter_mut()
                        .zip(row.iter_mut())
                        .zip(s.refractory.iter())
                        .zip(x_post1)
                        .zip(delays)
                {
                    if arrives(d) {
                        if r < self.hold_above {
                            *v += *w;
                        }
                        *w = (*w - nu * x1).clamp_to(T::ZERO, w_max);
                    }
                }
            }
        }
    }

    /// Adds one row of input weights to the layer: `excite(j, row[j])` for
    /// every j, as one loop the compiler vectorises.
    #[inline(always)]
    pub(crate) fn excite_row(&self, s: &mut LayerState<'_, T>, row: impl Iterator<Item = T>) {
        *s.activity = Activity::All;
        match self.model {
            NeuronModel::Conductance | NeuronModel::CubaLif => {
                for (g, w) in s.ge.iter_mut().zip(row) {
                    *g += w;
                }
            }
            NeuronModel::Lif => {
                for ((v, w), &r) in s.v.iter_mut().zip(row).zip(s.refractory.iter()) {
                    if r < self.hold_above {
                        *v += w;
                    }
                }
            }
        }
    }
}
