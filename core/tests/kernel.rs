//! Skipping neurons at rest (`Activity`) is exact, for the fixed-point
//! kernel and for the float backends (whose inhibitory layer skips the
//! neurons at a fixed point of their update): a network that may skip gives
//! bit for bit the state of one that is told to process every neuron in
//! every step. Diehl & Cook's network with learning on, in which the
//! inhibitory layer spends most steps at rest or with a few active neurons.

mod common;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stdp_core::layer::Activity;
use stdp_core::{Fx, Network, NetworkBuffers, NetworkParams, Real, State};

const IN: usize = 64;
const N: usize = 12;

fn snapshot<T: Real>(s: &State<'_, T>) -> Vec<u64> {
    let bits = |x: &[T]| x.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
    let mut out = Vec::new();
    for l in [&s.exc, &s.inh] {
        out.extend(bits(l.v));
        out.extend(bits(l.ge));
        out.extend(bits(l.gi));
        out.extend(bits(l.theta));
        out.extend(l.refractory.iter().map(|&r| r as u64));
        out.extend(l.spiked.iter().map(|&b| b as u64));
    }
    out.extend(bits(s.weights));
    out.extend(bits(s.x_post1));
    out
}

on_backends!(all: skipping_changes_nothing);

fn skipping_changes_nothing<T: Real>() {
    let mut p = NetworkParams::diehl_cook(IN, N);
    // Start below threshold at rest, so the first exc spike comes from input.
    p.exc.theta_init_mv = 10.0;
    let net = Network::<T>::new(&p).unwrap();
    let (mut a, mut b) = (
        Box::new(NetworkBuffers::<T, IN, N>::new()),
        Box::new(NetworkBuffers::<T, IN, N>::new()),
    );
    let (mut sa, mut sb) = (a.state(&net).unwrap(), b.state(&net).unwrap());
    net.init_state(&mut sa).unwrap();
    net.init_state(&mut sb).unwrap();
    let mut rng = SmallRng::seed_from_u64(3);
    for (wa, wb) in sa.weights.iter_mut().zip(sb.weights.iter_mut()) {
        *wa = T::from_f64(rng.gen_range(0.0..0.6));
        *wb = *wa;
    }
    let mut seen = [0u32; 3];
    let mut exc_spikes = 0;
    let mut inputs = Vec::new();
    for k in 0..6000 {
        if k % 3000 == 2999 {
            net.reset_dynamics(&mut sa).unwrap();
            net.reset_dynamics(&mut sb).unwrap();
        }
        // Input in bursts, with silent stretches in which everything relaxes.
        inputs.clear();
        if k % 1000 < 300 {
            inputs.extend((0..IN as u16).filter(|_| rng.gen_bool(0.03)));
        }
        *sb.exc.activity = Activity::All;
        *sb.inh.activity = Activity::All;
        seen[*sa.inh.activity as usize] += 1;
        let (oa, ob) = (net.step(&mut sa, &inputs).unwrap(), net.step(&mut sb, &inputs).unwrap());
        assert_eq!(
            (oa.exc_spikes, oa.inh_spikes),
            (ob.exc_spikes, ob.inh_spikes),
            "step {k}"
        );
        assert_eq!(snapshot(&sa), snapshot(&sb), "step {k}");
        exc_spikes += oa.exc_spikes;
    }
    // Not vacuous: spikes happened, and the inhibitory layer was skipped
    // whole and in part.
    assert!(exc_spikes > 20, "{exc_spikes} excitatory spikes");
    let [all, listed, rest] = seen;
    eprintln!(
        "{}: inhibitory layer: All {all}, Listed {listed}, Rest {rest} steps; {exc_spikes} excitatory spikes",
        T::NAME
    );
    // (f64 relaxes to its fixed point in ~700 steps: rarely wholly at rest.)
    assert!(
        listed > 500 && (rest > 500 || T::NAME == "f64"),
        "All {all}, Listed {listed}, Rest {rest} steps"
    );
}

/// `load_theta` writes the thresholds and drops the layer's promise of
/// rest, so the next step sees the new thresholds; a wrong length changes
/// nothing.
#[test]
fn load_theta_sets_every_threshold_and_resets_the_activity_promise() {
    let net = Network::<Fx>::new(&NetworkParams::diehl_cook(16, 4)).unwrap();
    let mut store = NetworkBuffers::<Fx, 16, 4>::new();
    let mut s = store.state(&net).unwrap();
    net.init_state(&mut s).unwrap();
    // Quiet steps: the layer settles into its promise of rest.
    for _ in 0..50 {
        net.step(&mut s, &[]).unwrap();
    }
    let theta = [1.0, 2.0, 3.0, 4.0].map(Fx::from_f64);
    assert_eq!(
        net.load_theta(&mut s, theta[..3].iter().copied()),
        Err(stdp_core::Error::BufferSize("theta"))
    );
    assert!(s.exc.theta.iter().all(|&t| t != theta[0]), "nothing written");
    net.load_theta(&mut s, theta.iter().copied()).unwrap();
    assert_eq!(s.exc.theta, &theta[..]);
    assert_eq!(*s.exc.activity, Activity::All);
}
