//! Learning rules, refractoriness, threshold adaptation, normalisation and
//! error paths of `Network`, checked against values computed by hand from
//! the formulas of docs/scenario-format.md (never by running the code).
//!
//! Every behaviour is run on the float reference (`f64`) and on the fixed
//! backend (`Fx`, Q11.20). Tolerances, in the unit of the checked quantity:
//! - f64: [`F64_TOL`] = 1e-12 (a few float roundings);
//! - Fx: [`FX_TOL`] = 4e-6 (4 Q11.20 steps of 2^-20 = 9.5e-7). The values
//!   checked here go through at most ~20 rounded operations (products round
//!   to nearest, decays move at least one step toward 0 per step), so their
//!   error stays within a few steps; the largest error observed in this file
//!   is 1.2 steps (1.15e-6). The conductance update has its own, derived
//!   bound (see `conductance_membrane_follows_exponential_euler`).
//!
//! The test network (unless a test says otherwise): dt = 0.5 ms, one
//! current-based LIF neuron, no inhibition, v_rest = v_reset = -65 mV,
//! v_thresh = -64.5 mV, tau_m = 20 ms, no refractory period, no threshold
//! adaptation. Two inputs: input 0, the *driver*, has weight 1 = w_max and
//! makes the neuron spike one step after each of its spikes
//! (-65 + 1 * exp(-0.5/20) = -64.025 > -64.5); input 1, the *probe*, has
//! weight 0.2, too small to make it spike (-64.8, or -64.61 for two probe
//! spikes two steps apart). The learning rule is read off the probe weight.
//! The three trace time constants differ (16, 10, 40 ms) so that a trace
//! read with the wrong time constant shows.

mod common;

use stdp_core::layer::{Activity, LayerState};
use stdp_core::{
    Error, Fx, Inhibition, Network, NetworkBuffers, NetworkParams, NeuronModel, NeuronParams, Real, Rule, State,
    StdpParams, StepOutput, TraceMode, MAX_INPUTS, MAX_NEURONS,
};

const DT: f64 = 0.5;
const TAU_PRE: f64 = 16.0;
const TAU_POST1: f64 = 10.0;
const TAU_POST2: f64 = 40.0;
const NU_PRE: f64 = 0.02;
const NU_POST: f64 = 0.05;
const W_MAX: f64 = 1.0;
const W_DRIVER: f64 = 1.0;
const W_PROBE: f64 = 0.2;
const DRIVER: u16 = 0;
const PROBE: u16 = 1;

/// Tolerance of the float reference (any domain unit).
const F64_TOL: f64 = 1e-12;
/// Tolerance of the fixed backend: 4 steps of Q11.20 (mV, weight units or
/// trace units).
const FX_TOL: f64 = 4e-6;

fn tol<T: Real>() -> f64 {
    if T::NAME == Fx::NAME {
        FX_TOL
    } else {
        F64_TOL
    }
}

/// exp(-n dt / tau): a trace of 1, n steps later.
fn decayed(n: u32, tau: f64) -> f64 {
    (-(n as f64) * DT / tau).exp()
}

fn lif() -> NeuronParams {
    NeuronParams {
        model: NeuronModel::Lif,
        v_rest_mv: -65.0,
        v_reset_mv: -65.0,
        v_thresh_mv: -64.5,
        v_init_mv: -65.0,
        tau_m_ms: 20.0,
        refractory_ms: 0.0,
        threshold_block_ms: 0.0,
        theta_plus_mv: 0.0,
        tau_theta_ms: f64::INFINITY,
        theta_init_mv: 0.0,
        theta_offset_mv: 0.0,
        tau_ge_ms: 1.0,
        tau_gi_ms: 2.0,
        e_exc_mv: 0.0,
        e_inh_mv: -100.0,
    }
}

fn params(rule: Rule) -> NetworkParams {
    NetworkParams {
        n_inputs: 2,
        n_neurons: 1,
        dt_ms: DT,
        exc: lif(),
        stdp: StdpParams {
            rule,
            trace_mode: TraceMode::Set,
            nu_pre: NU_PRE,
            nu_post: NU_POST,
            tau_pre_ms: TAU_PRE,
            tau_post1_ms: TAU_POST1,
            tau_post2_ms: TAU_POST2,
            w_max: W_MAX,
            x_tar: 0.4,
            mu: 0.2,
            beta: 2.0,
        },
        inhibition: Inhibition::None,
    }
}

/// A network with its buffers, driven step by step.
struct Rig<T: Real> {
    net: Network<T>,
    store: Box<NetworkBuffers<T, 2, 2>>,
}

impl<T: Real> Rig<T> {
    /// `weights[i * n + j]`, input i onto neuron j.
    fn new(p: &NetworkParams, weights: &[f64]) -> Self {
        let net = Network::<T>::new(p).expect("valid parameters");
        let mut store = Box::new(NetworkBuffers::new());
        let mut s = store.state(&net).expect("fits the buffers");
        net.init_state(&mut s).unwrap();
        assert_eq!(s.weights.len(), weights.len());
        for (w, &x) in s.weights.iter_mut().zip(weights) {
            *w = T::from_f64(x);
        }
        Rig { net, store }
    }

    /// The driver/probe network with one neuron.
    fn standard(rule: Rule) -> Self {
        Self::new(&params(rule), &[W_DRIVER, W_PROBE])
    }

    fn state(&mut self) -> State<'_, T> {
        self.store.state(&self.net).unwrap()
    }

    fn step(&mut self, inputs: &[u16]) -> StepOutput {
        let mut s = self.store.state(&self.net).unwrap();
        self.net.step(&mut s, inputs).unwrap()
    }

    /// Runs up to (not including) step `end`, delivering `spikes` (step,
    /// input), and returns the excitatory spikes as (step, neuron).
    fn run_until(&mut self, end: u32, spikes: &[(u32, u16)]) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        loop {
            let k = *self.state().step;
            if k >= end {
                return out;
            }
            let inputs: Vec<u16> = spikes.iter().filter(|&&(t, _)| t == k).map(|&(_, i)| i).collect();
            self.step(&inputs);
            let s = self.state();
            out.extend(
                s.exc
                    .spiked
                    .iter()
                    .enumerate()
                    .filter(|(_, &sp)| sp)
                    .map(|(j, _)| (k, j)),
            );
        }
    }

    fn normalize(&mut self, target: f64) -> Result<(), Error> {
        let mut s = self.store.state(&self.net).unwrap();
        self.net.normalize(&mut s, target)
    }

    fn w(&mut self, i: u16, j: usize) -> f64 {
        let n = self.net.n_neurons();
        self.state().weights[i as usize * n + j].to_f64()
    }
    fn v(&mut self, j: usize) -> f64 {
        self.state().exc.v[j].to_f64()
    }
    fn theta(&mut self, j: usize) -> f64 {
        self.state().exc.theta[j].to_f64()
    }
}

#[track_caller]
fn assert_close(got: f64, expected: f64, tol: f64, what: &str) {
    assert!(
        (got - expected).abs() <= tol,
        "{what}: got {got}, expected {expected} (|err| {:e} > {tol:e})",
        (got - expected).abs()
    );
}

// Each generic check on both exact backends (`name::f64`, `name::fixed`).
on_backends!(
    exact:
    pair_post_after_pre_potentiates_by_nu_post_times_decayed_x_pre,
    pair_pre_after_post_depresses_by_nu_pre_times_decayed_x_post1,
    triplet_potentiation_uses_x_post2_before_the_spike,
    power_law_potentiates_above_and_depresses_below_x_tar,
    exp_weight_follows_its_soft_bound_formula,
    additive_traces_accumulate_while_set_traces_jump_to_one,
    additive_post_trace_sums_the_decayed_post_spikes,
    weights_are_clipped_at_zero_and_at_w_max,
    same_step_pre_runs_before_post_so_post_sees_x_pre_one,
    input_spike_at_step_k_makes_target_spike_at_k_plus_1_at_the_earliest,
    refractory_neuron_holds_v_reset_and_ignores_input_for_r_steps,
    theta_grows_by_theta_plus_at_reset_and_decays_with_tau_theta,
    theta_raises_the_threshold,
    normalize_rescales_each_neurons_input_weights_to_the_target,
    learning_off_freezes_weights_and_theta_but_not_spikes,
    post_traces_decay_through_a_learning_off_period,
    conductance_membrane_follows_exponential_euler,
    out_of_range_input_is_an_error_and_leaves_the_state_unchanged,
    too_small_buffers_are_an_error,
);

fn pair_post_after_pre_potentiates_by_nu_post_times_decayed_x_pre<T: Real>() {
    let mut r = Rig::<T>::standard(Rule::Pair);
    // Probe at step 0: on_pre reads x_post1 = 0 (no change), then x_pre = 1.
    // Driver at 5 -> post spike at 6: w += nu_post * x_pre, x_pre decayed
    // over 6 steps: 0.2 + 0.05 * exp(-6 * 0.5 / 16).
    let posts = r.run_until(7, &[(0, PROBE), (5, DRIVER)]);
    assert_eq!(posts, [(6, 0)]);
    assert_close(
        r.w(PROBE, 0),
        W_PROBE + NU_POST * decayed(6, TAU_PRE),
        tol::<T>(),
        "probe weight",
    );
}

fn pair_pre_after_post_depresses_by_nu_pre_times_decayed_x_post1<T: Real>() {
    let mut r = Rig::<T>::standard(Rule::Pair);
    // Driver at 0 -> post at 1: probe's x_pre = 0, no potentiation;
    // x_post1 = 1 after step 1's on_post. Probe at 9: x_post1 has decayed
    // in steps 2..=9 (8 steps): w = 0.2 - 0.02 * exp(-8 * 0.5 / 10).
    let posts = r.run_until(10, &[(0, DRIVER), (9, PROBE)]);
    assert_eq!(posts, [(1, 0)]);
    assert_close(
        r.w(PROBE, 0),
        W_PROBE - NU_PRE * decayed(8, TAU_POST1),
        tol::<T>(),
        "probe weight",
    );
}

fn triplet_potentiation_uses_x_post2_before_the_spike<T: Real>() {
    let mut r = Rig::<T>::standard(Rule::Triplet);
    // Driver and probe at 0 -> post at 1. The probe's x_pre is
    // exp(-0.5/16) = 0.97, but x_post2 before this first post spike is 0:
    // no potentiation (a pair rule would add 0.05 * 0.97).
    let posts = r.run_until(2, &[(0, DRIVER), (0, PROBE)]);
    assert_eq!(posts, [(1, 0)]);
    assert_close(
        r.w(PROBE, 0),
        W_PROBE,
        tol::<T>(),
        "probe weight after the first post spike",
    );
    // Probe at 3: depression by nu_pre * x_post1, 2 steps after the post:
    // w1 = 0.2 - 0.02 * exp(-2 * 0.5 / 10). Driver at 7 -> post at 8:
    // w += nu_post * x_pre * x_post2_before, x_pre 5 steps after the probe,
    // x_post2 7 steps after the post at 1 (NOT 1, its value after the jump).
    let posts = r.run_until(9, &[(3, PROBE), (7, DRIVER)]);
    assert_eq!(posts, [(8, 0)]);
    let w1 = W_PROBE - NU_PRE * decayed(2, TAU_POST1);
    let expected = w1 + NU_POST * decayed(5, TAU_PRE) * decayed(7, TAU_POST2);
    assert_close(
        r.w(PROBE, 0),
        expected,
        tol::<T>(),
        "probe weight after the second post spike",
    );
    // x_post2 is 1 again after the spike (set mode).
    assert_close(r.state().x_post2[0].to_f64(), 1.0, 0.0, "x_post2 after the spike");
}

fn power_law_potentiates_above_and_depresses_below_x_tar<T: Real>() {
    // dw = nu_post (x_pre - x_tar) (w_max - w)^mu, on post spikes only;
    // x_tar = 0.4, mu = 0.2. The driver sits at w_max: (w_max - w)^mu = 0.
    let mut r = Rig::<T>::standard(Rule::PowerLaw);
    // Probe at 0 (no on_pre change for this rule), driver at 5 -> post at 6:
    // x_pre = exp(-6 * 0.5 / 16) = 0.829 > x_tar: potentiation.
    let posts = r.run_until(7, &[(0, PROBE), (5, DRIVER)]);
    assert_eq!(posts, [(6, 0)]);
    let w1 = W_PROBE + NU_POST * (decayed(6, TAU_PRE) - 0.4) * (W_MAX - W_PROBE).powf(0.2);
    assert_close(r.w(PROBE, 0), w1, tol::<T>(), "potentiated probe weight");
    assert_eq!(r.w(DRIVER, 0), W_MAX, "a weight at w_max does not move");
    // Driver at 60 -> post at 61: x_pre = exp(-61 * 0.5 / 16) = 0.149 < x_tar: depression.
    let posts = r.run_until(62, &[(60, DRIVER)]);
    assert_eq!(posts, [(61, 0)]);
    let w2 = w1 + NU_POST * (decayed(61, TAU_PRE) - 0.4) * (W_MAX - w1).powf(0.2);
    assert!(w2 < w1);
    assert_close(r.w(PROBE, 0), w2, tol::<T>(), "depressed probe weight");
}

fn exp_weight_follows_its_soft_bound_formula<T: Real>() {
    // dw = nu_post (x_pre exp(-beta w) - x_tar exp(-beta (w_max - w))),
    // beta = 2, x_tar = 0.4, on post spikes only.
    let mut r = Rig::<T>::standard(Rule::ExpWeight);
    let posts = r.run_until(7, &[(0, PROBE), (5, DRIVER)]);
    assert_eq!(posts, [(6, 0)]);
    let dw = |x_pre: f64, w: f64| NU_POST * (x_pre * (-2.0 * w).exp() - 0.4 * (-2.0 * (W_MAX - w)).exp());
    let w1 = W_PROBE + dw(decayed(6, TAU_PRE), W_PROBE);
    assert_close(r.w(PROBE, 0), w1, tol::<T>(), "probe weight");
    // The driver (w = w_max, x_pre = exp(-0.5/16)) is pushed down:
    // 1 + 0.05 (0.969 e^-2 - 0.4) = 0.987.
    assert_close(
        r.w(DRIVER, 0),
        W_DRIVER + dw(decayed(1, TAU_PRE), W_DRIVER),
        tol::<T>(),
        "driver weight",
    );
}

fn additive_traces_accumulate_while_set_traces_jump_to_one<T: Real>() {
    for mode in [TraceMode::Set, TraceMode::Additive] {
        let mut p = params(Rule::Pair);
        p.stdp.trace_mode = mode;
        let mut r = Rig::<T>::new(&p, &[W_DRIVER, W_PROBE]);
        // Probe at 0 and 2, driver at 3 -> post at 4. x_pre at step 4:
        // set: 1 at step 2, decayed 2 steps; additive: (e^(-2dt/tau) + 1)
        // at step 2, decayed 2 more: e^(-4dt/tau) + e^(-2dt/tau).
        let posts = r.run_until(5, &[(0, PROBE), (2, PROBE), (3, DRIVER)]);
        assert_eq!(posts, [(4, 0)]);
        let x_pre = match mode {
            TraceMode::Set => decayed(2, TAU_PRE),
            TraceMode::Additive => decayed(4, TAU_PRE) + decayed(2, TAU_PRE),
        };
        assert_close(r.w(PROBE, 0), W_PROBE + NU_POST * x_pre, tol::<T>(), "probe weight");
    }
}

fn additive_post_trace_sums_the_decayed_post_spikes<T: Real>() {
    let mut p = params(Rule::Pair);
    p.stdp.trace_mode = TraceMode::Additive;
    let mut r = Rig::<T>::new(&p, &[W_DRIVER, W_PROBE]);
    // Driver at 0 and 2 -> posts at 1 and 3 (no refractory period). At
    // step 3, x_post1 = e^(-2dt/tau1) + 1. Probe at 6: x_post1 =
    // e^(-5dt/tau1) + e^(-3dt/tau1); w = 0.2 - nu_pre * x_post1.
    let posts = r.run_until(7, &[(0, DRIVER), (2, DRIVER), (6, PROBE)]);
    assert_eq!(posts, [(1, 0), (3, 0)]);
    let x_post1 = decayed(5, TAU_POST1) + decayed(3, TAU_POST1);
    assert_close(r.w(PROBE, 0), W_PROBE - NU_PRE * x_post1, tol::<T>(), "probe weight");
    // x_post2 likewise, with its own tau, read directly.
    let x_post2 = decayed(5, TAU_POST2) + decayed(3, TAU_POST2);
    assert_close(r.state().x_post2[0].to_f64(), x_post2, tol::<T>(), "x_post2");
}

fn weights_are_clipped_at_zero_and_at_w_max<T: Real>() {
    // Probe at 0.005: depression by 0.02 * exp(-dt/tau1) = 0.0195 would take
    // it to -0.0145; it stops at exactly 0.
    let mut r = Rig::<T>::new(&params(Rule::Pair), &[W_DRIVER, 0.005]);
    let posts = r.run_until(3, &[(0, DRIVER), (2, PROBE)]);
    assert_eq!(posts, [(1, 0)]);
    assert_eq!(r.w(PROBE, 0), 0.0);
    // Probe at 0.99: potentiation by 0.05 * exp(-dt/tau_pre) = 0.048 would
    // take it to 1.038; it stops at exactly w_max. The driver, at w_max,
    // stays there too.
    let mut r = Rig::<T>::new(&params(Rule::Pair), &[W_DRIVER, 0.99]);
    let posts = r.run_until(2, &[(0, DRIVER), (0, PROBE)]);
    // 0.99 + 1 on the membrane: still exactly one post spike, at step 1.
    assert_eq!(posts, [(1, 0)]);
    assert_eq!(r.w(PROBE, 0), W_MAX);
    assert_eq!(r.w(DRIVER, 0), W_MAX);
}

fn same_step_pre_runs_before_post_so_post_sees_x_pre_one<T: Real>() {
    let mut r = Rig::<T>::standard(Rule::Pair);
    // Driver at 0 -> post at 1, and the probe also spikes at 1. on_pre runs
    // first: it reads x_post1 = 0 (the post spike's jump has not happened),
    // sets x_pre = 1; on_post then reads x_pre = 1: w = 0.2 + 0.05.
    let posts = r.run_until(2, &[(0, DRIVER), (1, PROBE)]);
    assert_eq!(posts, [(1, 0)]);
    let w1 = W_PROBE + NU_POST;
    assert_close(r.w(PROBE, 0), w1, tol::<T>(), "after the first coincidence");
    // Driver at 5 -> post at 6, probe at 6 too. on_pre reads the OLD
    // x_post1 (5 steps after the post at 1), not the 1 of this step's post:
    // w = w1 - 0.02 exp(-5 dt/tau1) + 0.05.
    let posts = r.run_until(7, &[(5, DRIVER), (6, PROBE)]);
    assert_eq!(posts, [(6, 0)]);
    let w2 = w1 - NU_PRE * decayed(5, TAU_POST1) + NU_POST;
    assert_close(r.w(PROBE, 0), w2, tol::<T>(), "after the second coincidence");
}

fn input_spike_at_step_k_makes_target_spike_at_k_plus_1_at_the_earliest<T: Real>() {
    let mut r = Rig::<T>::standard(Rule::None);
    // Step 0: the driver lifts v to -64 > -64.5 only in the synapse phase,
    // after the threshold: no spike at 0, the spike comes at 1.
    r.step(&[DRIVER]);
    assert!(!r.state().exc.spiked[0]);
    assert_close(r.v(0), -64.0, tol::<T>(), "v after the input");
    assert_eq!(r.step(&[]).exc_spikes, 1);
    assert_eq!(r.v(0), -65.0, "v is reset to v_reset");
    // With no refractory period, an input in the very step of the target's
    // spike is wiped out by the reset: drivers at 3, 4, 5 give spikes at 4
    // and 6 only.
    let posts = r.run_until(8, &[(3, DRIVER), (4, DRIVER), (5, DRIVER)]);
    assert_eq!(posts, [(4, 0), (6, 0)]);
}

fn refractory_neuron_holds_v_reset_and_ignores_input_for_r_steps<T: Real>() {
    let mut p = params(Rule::None);
    // R = floor(2.0 / 0.5 + 0.001) = 4 steps. v_reset below v_rest, so a
    // neuron that integrated would drift up toward -65.
    p.exc.refractory_ms = 2.0;
    p.exc.v_reset_mv = -70.0;
    let mut r = Rig::<T>::new(&p, &[W_DRIVER, W_PROBE]);
    assert_eq!(r.net.excitatory().refractory_steps(), 4);
    // Spike at 1 (k_last = 1): refractory while k - 1 < 4, i.e. at 2, 3, 4.
    // Drivers at 2, 3, 4 are ignored and v stays exactly at v_reset.
    let mut posts = r.run_until(2, &[(0, DRIVER)]);
    for k in 2..=4 {
        posts.extend(r.run_until(k + 1, &[(k, DRIVER)]));
        assert_eq!(r.v(0), -70.0, "v at step {k}");
    }
    assert_eq!(posts, [(1, 0)]);
    // Step 5: free again, v integrates: -65 + (-70 + 65) exp(-0.5/20).
    let posts = r.run_until(6, &[]);
    assert!(posts.is_empty());
    assert_close(r.v(0), -65.0 - 5.0 * decayed(1, 20.0), tol::<T>(), "v at step 5");
    // The driver now takes effect again: v jumps by 1 at 6 (to about
    // -68.9, no spike).
    r.run_until(7, &[(6, DRIVER)]);
    let v6 = -65.0 - 5.0 * decayed(2, 20.0) + W_DRIVER;
    assert_close(r.v(0), v6, tol::<T>(), "v at step 6");

    // R is computed on integer steps with a margin: 0.3 / 0.1 is
    // 2.9999999999999996 in floats, yet R = 3.
    let mut p = params(Rule::None);
    p.dt_ms = 0.1;
    p.exc.refractory_ms = 0.3;
    assert_eq!(Network::<T>::new(&p).unwrap().excitatory().refractory_steps(), 3);
    p.exc.refractory_ms = 0.0;
    assert_eq!(Network::<T>::new(&p).unwrap().excitatory().refractory_steps(), 0);
}

fn theta_grows_by_theta_plus_at_reset_and_decays_with_tau_theta<T: Real>() {
    let mut p = params(Rule::None);
    p.exc.theta_plus_mv = 0.2;
    p.exc.tau_theta_ms = 50.0;
    let mut r = Rig::<T>::new(&p, &[W_DRIVER, W_PROBE]);
    // Spike at 1: theta = 0 + 0.2 at the reset.
    let posts = r.run_until(2, &[(0, DRIVER)]);
    assert_eq!(posts, [(1, 0)]);
    assert_close(r.theta(0), 0.2, tol::<T>(), "theta after the first spike");
    // Steps 2..=10 decay it 9 times: 0.2 exp(-9 * 0.5 / 50).
    r.run_until(11, &[]);
    assert_close(r.theta(0), 0.2 * decayed(9, 50.0), tol::<T>(), "theta 9 steps later");
    // Driver at 11 -> spike at 12 (v = -64.025 > -64.5 + 0.18): theta
    // decays once more in step 12 before the increment.
    let posts = r.run_until(13, &[(11, DRIVER)]);
    assert_eq!(posts, [(12, 0)]);
    assert_close(
        r.theta(0),
        0.2 * decayed(11, 50.0) + 0.2,
        tol::<T>(),
        "theta after the second spike",
    );
}

fn theta_raises_the_threshold<T: Real>() {
    let mut p = params(Rule::None);
    // theta_plus = 1 mV, no decay. After one spike the threshold is
    // -64.5 + 1 = -63.5 mV: one driver spike (v = -64.025) no longer
    // suffices; two in consecutive steps, 195 steps (48 tau_m) after the
    // last input, do: -65 + (e^(-dt/tau_m) + 1) e^(-dt/tau_m) = -63.07.
    p.exc.theta_plus_mv = 1.0;
    let mut r = Rig::<T>::new(&p, &[W_DRIVER, W_PROBE]);
    let posts = r.run_until(200, &[(0, DRIVER), (5, DRIVER)]);
    assert_eq!(posts, [(1, 0)]);
    let posts = r.run_until(203, &[(200, DRIVER), (201, DRIVER)]);
    assert_eq!(posts, [(202, 0)]);
    assert_close(r.theta(0), 2.0, 0.0, "theta after two spikes");
}

fn normalize_rescales_each_neurons_input_weights_to_the_target<T: Real>() {
    let mut p = params(Rule::None);
    p.n_neurons = 2;
    // Column sums: neuron 0: 0.2 + 0.6 = 0.8, neuron 1: 0.1 + 0.3 = 0.4.
    let mut r = Rig::<T>::new(&p, &[0.2, 0.1, 0.6, 0.3]);
    r.normalize(1.0).unwrap();
    // target / sum: 1.25 and 2.5.
    let want = [0.25, 0.25, 0.75, 0.75];
    for (i, &w) in want.iter().enumerate() {
        assert_close(r.w(i as u16 / 2, i % 2), w, tol::<T>(), "normalised weight");
    }
    // Like Diehl & Cook's code the result is not clipped to w_max:
    // target 3 gives 0.75 * 3 = 2.25 > w_max = 1.
    r.normalize(3.0).unwrap();
    assert_close(r.w(1, 0), 2.25, 2.0 * tol::<T>(), "unclipped weight");
    // A neuron whose weights sum to 0 is left alone; a non-positive target
    // is an error.
    let mut r = Rig::<T>::new(&p, &[0.0, 0.1, 0.0, 0.3]);
    r.normalize(1.0).unwrap();
    assert_eq!((r.w(0, 0), r.w(1, 0)), (0.0, 0.0));
    assert_close(r.w(1, 1), 0.75, tol::<T>(), "the other neuron is still normalised");
    assert_eq!(r.normalize(0.0), Err(Error::InvalidParameter("normalization target")));
    assert_eq!(r.normalize(-1.0), Err(Error::InvalidParameter("normalization target")));
}

fn learning_off_freezes_weights_and_theta_but_not_spikes<T: Real>() {
    let mut p = params(Rule::Triplet);
    p.exc.theta_plus_mv = 0.1;
    p.exc.tau_theta_ms = 50.0;
    let mut r = Rig::<T>::new(&p, &[W_DRIVER, W_PROBE]);
    // Learn a little first, so that traces and theta are non-zero.
    let posts = r.run_until(10, &[(0, DRIVER), (3, PROBE), (6, DRIVER)]);
    assert_eq!(posts, [(1, 0), (7, 0)]);
    let (w0, w1, theta) = (r.w(DRIVER, 0), r.w(PROBE, 0), r.theta(0));
    assert!(theta > 0.0);
    r.net.set_learning(false);
    assert!(!r.net.learning());
    // Pre-post and post-pre pairs that would change both weights, and post
    // spikes that would raise theta: nothing moves, bit for bit, though the
    // neuron still spikes.
    let posts = r.run_until(
        40,
        &[
            (10, PROBE),
            (11, DRIVER),
            (13, PROBE),
            (20, DRIVER),
            (20, PROBE),
            (30, DRIVER),
        ],
    );
    assert_eq!(posts, [(12, 0), (21, 0), (31, 0)]);
    assert_eq!((r.w(DRIVER, 0), r.w(PROBE, 0), r.theta(0)), (w0, w1, theta));
    // Switched back on, the rule works again.
    r.net.set_learning(true);
    r.run_until(42, &[(40, DRIVER)]);
    assert_ne!(r.w(PROBE, 0), w1);
    assert_ne!(r.theta(0), theta);
}

/// While learning is off the postsynaptic traces are not stepped; when it
/// comes back on they are decayed over the whole gap at once, so without
/// spikes in the gap they are what they would have been with learning on
/// throughout (the fixed backend: within the per-step roundings of the run
/// that stayed on, at most one step each over the 190 steps).
fn post_traces_decay_through_a_learning_off_period<T: Real>() {
    let p = params(Rule::Triplet);
    let (mut on, mut off) = (
        Rig::<T>::new(&p, &[W_DRIVER, W_PROBE]),
        Rig::<T>::new(&p, &[W_DRIVER, W_PROBE]),
    );
    for r in [&mut on, &mut off] {
        assert_eq!(r.run_until(10, &[(0, DRIVER), (5, DRIVER)]), [(1, 0), (6, 0)]);
    }
    off.net.set_learning(false);
    on.run_until(200, &[]);
    off.run_until(200, &[]);
    off.net.set_learning(true);
    on.run_until(201, &[]);
    off.run_until(201, &[]);
    let tol = if T::NAME == Fx::NAME {
        190.0 / (1u32 << 20) as f64
    } else {
        F64_TOL
    };
    let (a, b) = (on.state(), off.state());
    let x1 = (a.x_post1[0].to_f64(), b.x_post1[0].to_f64());
    let x2 = (a.x_post2[0].to_f64(), b.x_post2[0].to_f64());
    assert!(x2.0 > 1e-3, "x_post2 still matters: {}", x2.0);
    assert_close(x1.1, x1.0, tol, "x_post1");
    assert_close(x2.1, x2.0, tol, "x_post2");
    // And the same value as a closed form: one at the spike of step 6,
    // decayed over steps 7..=200 (tau_post2).
    assert_close(x2.1, decayed(194, TAU_POST2), tol.max(FX_TOL), "x_post2 vs exp");
}

fn conductance_membrane_follows_exponential_euler<T: Real>() {
    // Not a learning rule, but the update every rule above rests on for
    // the conductance model: one input of weight 0.5 at step 0 gives
    // ge = 0.5 after step 0; in step 1, with ge held:
    //   v_inf = (v_rest + ge e_exc) / (1 + ge) = -65 / 1.5 = -43.33 mV,
    //   tau_eff = tau_m / 1.5, v = v_inf + (v_rest - v_inf) exp(-dt 1.5 / tau_m),
    // then ge decays: 0.5 exp(-dt / tau_ge).
    let mut p = params(Rule::None);
    p.exc.model = NeuronModel::Conductance;
    p.exc.v_thresh_mv = -52.0;
    p.exc.tau_m_ms = 100.0;
    let mut r = Rig::<T>::new(&p, &[0.5, 0.0]);
    r.run_until(2, &[(0, 0)]);
    let v_inf = -65.0 / 1.5;
    let v = v_inf + (-65.0 - v_inf) * (-DT * 1.5 / 100.0).exp();
    // Fixed: the change of v in the step, 0.162 mV, is off by at most the
    // phi table's 4.1e-5 plus the rounding of a = dt/tau_m = 0.005 and of
    // a * phi(a g) to Q11.20 (half a step each, 1e-4 relative each), plus a
    // few steps of rounding elsewhere: 4.1e-5 mV. The float is exact.
    let v_tol = if T::NAME == Fx::NAME {
        let step = 2f64.powi(-20);
        let a = DT / 100.0;
        (v - -65.0).abs() * (4.1e-5 + 0.5 * step / a + 0.5 * step / (a * 0.996)) + 4.0 * step
    } else {
        F64_TOL
    };
    assert_close(r.v(0), v, v_tol, "v");
    assert_close(r.state().exc.ge[0].to_f64(), 0.5 * decayed(1, 1.0), tol::<T>(), "ge");
}

fn out_of_range_input_is_an_error_and_leaves_the_state_unchanged<T: Real>() {
    let mut r = Rig::<T>::standard(Rule::Triplet);
    r.run_until(4, &[(0, DRIVER), (0, PROBE), (3, PROBE)]);
    let snapshot = |s: &State<'_, T>| {
        format!(
            "{} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            s.step,
            s.weights,
            s.x_pre,
            s.pre_last,
            s.x_post1,
            s.x_post2,
            s.exc.v,
            s.exc.ge,
            s.exc.theta,
            s.exc.refractory,
            s.exc.spiked
        )
    };
    let before = snapshot(&r.state());
    let mut s = r.store.state(&r.net).unwrap();
    // The valid index 0 comes first: it must not be applied either.
    assert_eq!(r.net.step(&mut s, &[DRIVER, 2]), Err(Error::InputOutOfRange(2)));
    assert_eq!(r.net.step(&mut s, &[u16::MAX]), Err(Error::InputOutOfRange(65535)));
    assert_eq!(snapshot(&s), before);
}

fn too_small_buffers_are_an_error<T: Real>() {
    let p = params(Rule::Pair);
    let net = Network::<T>::new(&p).unwrap();
    // Static buffers with room for one input only.
    let mut small = Box::new(NetworkBuffers::<T, 1, 1>::new());
    assert_eq!(small.state(&net).err(), Some(Error::Capacity));
    // Caller-built buffers: one weight for 2 x 1 synapses.
    let (mut step, mut w, mut x_pre, mut last, mut x_now) =
        (0u32, vec![T::ZERO; 1], [T::ZERO; 2], [0u32; 2], [T::ZERO; 2]);
    let (mut x1, mut x2, mut scratch) = ([T::ZERO; 1], [T::ZERO; 1], [T::ZERO; 1]);
    let (mut v, mut ge, mut gi, mut theta, mut refr, mut spiked) = (
        [T::ZERO; 1],
        [T::ZERO; 1],
        [T::ZERO; 1],
        [T::ZERO; 1],
        [0u32; 1],
        [false; 1],
    );
    let mut s = State {
        step: &mut step,
        post_step: &mut 0,
        weights: &mut w,
        x_pre: &mut x_pre,
        pre_last: &mut last,
        x_pre_now: &mut x_now,
        delays: &[],
        pre_hist: &mut [],
        x_post1: &mut x1,
        x_post2: &mut x2,
        scratch: &mut scratch,
        exc: LayerState {
            v: &mut v,
            ge: &mut ge,
            gi: &mut gi,
            theta: &mut theta,
            refractory: &mut refr,
            spiked: &mut spiked,
            activity: &mut Activity::All,
            active: &mut [false],
        },
        inh: LayerState {
            v: &mut [],
            ge: &mut [],
            gi: &mut [],
            theta: &mut [],
            refractory: &mut [],
            spiked: &mut [],
            activity: &mut Activity::All,
            active: &mut [],
        },
    };
    assert_eq!(net.init_state(&mut s), Err(Error::BufferSize("weights")));
    assert_eq!(net.step(&mut s, &[0]), Err(Error::BufferSize("weights")));
    assert_eq!(net.normalize(&mut s, 1.0), Err(Error::BufferSize("weights")));
    assert_eq!(*s.step, 0);
}

/// A non-positive (or NaN) time constant is refused, naming the parameter.
#[test]
fn non_positive_tau_is_an_invalid_parameter_naming_it() {
    type Setter = fn(&mut NetworkParams, f64);
    let cases: [(&str, Setter); 7] = [
        ("tau_m_ms", |p, x| p.exc.tau_m_ms = x),
        ("tau_theta_ms", |p, x| p.exc.tau_theta_ms = x),
        ("tau_ge_ms", |p, x| p.exc.tau_ge_ms = x),
        ("tau_gi_ms", |p, x| p.exc.tau_gi_ms = x),
        ("tau_pre_ms", |p, x| p.stdp.tau_pre_ms = x),
        ("tau_post1_ms", |p, x| p.stdp.tau_post1_ms = x),
        ("tau_post2_ms", |p, x| p.stdp.tau_post2_ms = x),
    ];
    for (name, set) in cases {
        for bad in [0.0, -1.0, f64::NAN] {
            let mut p = params(Rule::Triplet);
            // tau_ge and tau_gi are only read by the conductance model.
            p.exc.model = NeuronModel::Conductance;
            set(&mut p, bad);
            assert_eq!(
                Network::<f64>::new(&p).err(),
                Some(Error::InvalidParameter(name)),
                "{name} = {bad}"
            );
            assert_eq!(
                Network::<Fx>::new(&p).err(),
                Some(Error::InvalidParameter(name)),
                "{name} = {bad}"
            );
        }
    }
}

/// A value the fixed backend cannot hold is refused by it (and not by f64).
#[test]
fn parameter_outside_the_fixed_range_is_not_representable() {
    let mut p = params(Rule::Pair);
    p.stdp.w_max = 5000.0;
    assert!(Network::<f64>::new(&p).is_ok());
    assert_eq!(Network::<Fx>::new(&p).err(), Some(Error::NotRepresentable("w_max")));
}

/// Sizes: 1 to `MAX_INPUTS` inputs and 1 to `MAX_NEURONS` neurons, what a
/// chip image holds; one more is refused when the network is made.
#[test]
fn sizes_up_to_the_chip_image_limit_are_accepted_and_one_more_is_refused() {
    assert_eq!((MAX_INPUTS, MAX_NEURONS), (65_535, 65_535));
    let sized = |n_inputs, n_neurons| NetworkParams {
        n_inputs,
        n_neurons,
        ..params(Rule::Pair)
    };
    for (ni, n) in [(1, 1), (MAX_INPUTS, 1), (1, MAX_NEURONS)] {
        assert!(Network::<Fx>::new(&sized(ni, n)).is_ok(), "{ni} x {n}");
    }
    for (ni, n, name) in [
        (0, 1, "n_inputs"),
        (MAX_INPUTS + 1, 1, "n_inputs"),
        (1, 0, "n_neurons"),
        (1, MAX_NEURONS + 1, "n_neurons"),
    ] {
        assert_eq!(
            Network::<f32>::new(&sized(ni, n)).err(),
            Some(Error::InvalidParameter(name)),
            "{ni} x {n}"
        );
    }
}
