//! The current-based model with synaptic currents (`NeuronModel::CubaLif`,
//! NIR's CubaLIF): its trajectory against an independent f64 reference of
//! the step semantics (docs/scenario-format.md: update with ge, gi held
//! over the step, then threshold, then input, then reset), on every
//! backend, and its spikes.

use stdp_core::{Fx, Inhibition, Network, NetworkBuffers, NetworkParams, NeuronModel, Real, Rule};

const IN: usize = 2;
const N: usize = 1;

fn params() -> NetworkParams {
    let mut p = NetworkParams::diehl_cook(IN, N);
    p.exc.model = NeuronModel::CubaLif;
    p.exc.v_init_mv = p.exc.v_rest_mv;
    p.exc.theta_init_mv = 0.0;
    p.exc.theta_plus_mv = 2.0;
    p.exc.tau_ge_ms = 5.0;
    p.exc.tau_gi_ms = 10.0;
    p.stdp.rule = Rule::None;
    p.inhibition = Inhibition::None;
    p
}

/// The reference: (v after each step, the steps with a spike).
fn reference(p: &NetworkParams, inputs: &[(u32, usize)], w: [f64; IN], steps: u32) -> (Vec<f64>, Vec<u32>) {
    let n = &p.exc;
    let (dt, a) = (p.dt_ms, p.dt_ms / n.tau_m_ms);
    let (e, eg) = ((-a).exp(), (-dt / n.tau_ge_ms).exp());
    let hold = (n.refractory_ms / dt + 0.001).floor() as u32;
    let (mut v, mut ge, mut theta) = (n.v_rest_mv, 0.0, 0.0);
    let mut last: Option<u32> = None;
    let (mut vs, mut spikes) = (Vec::new(), Vec::new());
    for k in 0..steps {
        let refractory = last.is_some_and(|l| k - l < hold);
        if !refractory {
            v = n.v_rest_mv + (v - n.v_rest_mv) * e + (1.0 - e) * ge * (n.e_exc_mv - n.v_rest_mv);
        }
        ge *= eg;
        let spike = !refractory && v > n.v_thresh_mv - n.theta_offset_mv + theta;
        for &(_, i) in inputs.iter().filter(|(t, _)| *t == k) {
            ge += w[i];
        }
        if spike {
            v = n.v_reset_mv;
            theta += n.theta_plus_mv;
            last = Some(k);
            spikes.push(k);
        }
        vs.push(v);
    }
    (vs, spikes)
}

fn run<T: Real>(tol_mv: f64) {
    let p = params();
    let net = Network::<T>::new(&p).unwrap();
    let mut store = Box::new(NetworkBuffers::<T, IN, N>::new());
    let mut s = store.state(&net).unwrap();
    net.init_state(&mut s).unwrap();
    let w = [0.3, 0.05];
    s.weights[0] = T::from_f64(w[0]);
    s.weights[1] = T::from_f64(w[1]);
    let w = [s.weights[0].to_f64(), s.weights[1].to_f64()];
    // A burst on input 0 (drives the neuron over threshold), sparse spikes
    // on input 1 (subthreshold), then silence.
    let mut inputs: Vec<(u32, usize)> = (0..60).map(|k| (k * 3, 0)).collect();
    inputs.extend((0..20).map(|k| (300 + k * 17, 1)));
    inputs.sort();
    let steps = 1200;
    let (want_v, want_spikes) = reference(&p, &inputs, w, steps);
    let mut spikes = Vec::new();
    let mut worst: f64 = 0.0;
    for k in 0..steps {
        let now: Vec<u16> = inputs.iter().filter(|(t, _)| *t == k).map(|&(_, i)| i as u16).collect();
        if net.step(&mut s, &now).unwrap().exc_spikes > 0 {
            spikes.push(k);
        }
        worst = worst.max((s.exc.v[0].to_f64() - want_v[k as usize]).abs());
    }
    assert!(want_spikes.len() >= 3, "{want_spikes:?}: the test needs spikes");
    assert_eq!(spikes, want_spikes);
    assert!(worst <= tol_mv, "v off by {worst} mV (tolerance {tol_mv})");
    // The synaptic current moves v: after the burst, v is far above rest.
    assert!(want_v.iter().any(|&v| v > p.exc.v_rest_mv + 5.0));
}

#[test]
fn cuba_lif_follows_the_reference_f64() {
    run::<f64>(1e-9);
}

#[test]
fn cuba_lif_follows_the_reference_f32() {
    run::<f32>(2e-4);
}

#[test]
fn cuba_lif_follows_the_reference_fixed() {
    run::<Fx>(2e-3);
}

/// Inhibition goes onto gi with the driving force e_inh - v_rest (< 0):
/// an inhibitory layer spike pulls the excitatory neurons below rest.
#[test]
fn inhibition_pulls_below_rest() {
    let mut p = NetworkParams::diehl_cook(IN, 2);
    p.exc.model = NeuronModel::CubaLif;
    p.exc.v_init_mv = p.exc.v_rest_mv;
    p.stdp.rule = Rule::None;
    p.inhibition = Inhibition::Direct { w: 10.0 };
    let net = Network::<f64>::new(&p).unwrap();
    let mut store = Box::new(NetworkBuffers::<f64, IN, 2>::new());
    let mut s = store.state(&net).unwrap();
    net.init_state(&mut s).unwrap();
    s.weights.copy_from_slice(&[40.0, 0.0, 0.0, 0.0]);
    let mut min1 = f64::MAX;
    for k in 0..200 {
        let inputs: &[u16] = if k == 0 { &[0] } else { &[] };
        net.step(&mut s, inputs).unwrap();
        min1 = min1.min(s.exc.v[1]);
    }
    assert!(min1 < p.exc.v_rest_mv - 1.0, "neuron 1 went down to {min1} mV only");
}

#[test]
fn fixed_and_float_take_the_same_parameters() {
    let p = params();
    assert!(Network::<Fx>::new(&p).is_ok());
    let mut bad = p;
    bad.exc.tau_ge_ms = 0.0;
    assert!(
        Network::<f64>::new(&bad).is_err(),
        "tau_ge must be > 0 for synaptic currents"
    );
}
