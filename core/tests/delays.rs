//! Input delays (`State::delays`): a spike arrives at each synapse its
//! delay later, and delays of zero are the network without delays, bit for
//! bit (every backend; inputs in ascending order, the order both apply them).

mod common;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stdp_core::{Error, Network, NetworkBuffers, NetworkParams, Real, State};

const IN: usize = 48;
const N: usize = 10;

fn snapshot<T: Real>(s: &State<'_, T>) -> Vec<u64> {
    let bits = |x: &[T]| x.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
    let mut out = Vec::new();
    for l in [&s.exc, &s.inh] {
        out.extend(bits(l.v));
        out.extend(bits(l.ge));
        out.extend(bits(l.gi));
        out.extend(bits(l.theta));
        out.extend(l.spiked.iter().map(|&b| b as u64));
    }
    out.extend(bits(s.weights));
    out.extend(bits(s.x_post1));
    out.extend(bits(s.x_post2));
    out
}

fn zero_delays_change_nothing<T: Real>() {
    let mut p = NetworkParams::diehl_cook(IN, N);
    p.exc.theta_init_mv = 8.0;
    let net = Network::<T>::new(&p).unwrap();
    let (mut a, mut b) = (
        Box::new(NetworkBuffers::<T, IN, N>::new()),
        Box::new(NetworkBuffers::<T, IN, N>::new()),
    );
    let (mut sa, mut sb) = (a.state(&net).unwrap(), b.state(&net).unwrap());
    let zeros = [0u8; IN * N];
    let mut hist = [0u32; IN];
    sb.delays = &zeros;
    sb.pre_hist = &mut hist;
    net.init_state(&mut sa).unwrap();
    net.init_state(&mut sb).unwrap();
    let mut rng = SmallRng::seed_from_u64(9);
    for (wa, wb) in sa.weights.iter_mut().zip(sb.weights.iter_mut()) {
        *wa = T::from_f64(rng.gen_range(0.0..0.6));
        *wb = *wa;
    }
    let mut spikes = 0;
    let mut inputs = Vec::new();
    for k in 0..4000 {
        inputs.clear();
        if k % 1000 < 350 {
            inputs.extend((0..IN as u16).filter(|_| rng.gen_bool(0.04)));
        }
        let (oa, ob) = (net.step(&mut sa, &inputs).unwrap(), net.step(&mut sb, &inputs).unwrap());
        assert_eq!(oa, ob, "step {k}");
        spikes += oa.exc_spikes;
        if k % 1000 == 999 {
            net.normalize(&mut sa, 4.0).unwrap();
            net.normalize(&mut sb, 4.0).unwrap();
        }
    }
    assert!(
        spikes > 50,
        "{spikes} excitatory spikes: the comparison would be vacuous"
    );
    assert_eq!(snapshot(&sa), snapshot(&sb));
}

on_backends!(all: zero_delays_change_nothing);

/// One input spike at step 0 reaches neuron j at step delays[j] exactly:
/// its conductance is 0 before and w (decayed by nothing yet) in that step.
#[test]
fn a_spike_arrives_after_its_delay() {
    let p = NetworkParams::diehl_cook(IN, N);
    let mut net = Network::<f64>::new(&p).unwrap();
    net.set_learning(false);
    let mut store = Box::new(NetworkBuffers::<f64, IN, N>::new());
    let mut s = store.state(&net).unwrap();
    let delays: Vec<u8> = (0..IN * N).map(|k| (k % 32) as u8).collect();
    let mut hist = [0u32; IN];
    s.delays = &delays;
    s.pre_hist = &mut hist;
    net.init_state(&mut s).unwrap();
    s.weights.fill(0.25);
    let input = 5usize;
    for k in 0..40u32 {
        let inputs: &[u16] = if k == 0 { &[input as u16] } else { &[] };
        let before: Vec<f64> = s.exc.ge.to_vec();
        net.step(&mut s, inputs).unwrap();
        for j in 0..N {
            let d = delays[input * N + j] as u32;
            let jump = s.exc.ge[j] - before[j] * net_decay_ge(&p);
            if k == d {
                assert!(
                    (jump - 0.25).abs() < 1e-12,
                    "neuron {j}, delay {d}: ge jumped by {jump} at step {k}"
                );
            } else {
                assert!(
                    jump.abs() < 1e-12,
                    "neuron {j}, delay {d}: ge changed by {jump} at step {k}"
                );
            }
        }
    }
    assert!(s.pre_hist.iter().all(|&h| h == 0), "the spike has left the window");
}

/// ge's decay per step (the update decays ge before the synapses add to it).
fn net_decay_ge(p: &NetworkParams) -> f64 {
    (-p.dt_ms / p.exc.tau_ge_ms).exp()
}

#[test]
fn delay_buffers_of_the_wrong_length_are_refused() {
    let p = NetworkParams::diehl_cook(IN, N);
    let net = Network::<f32>::new(&p).unwrap();
    let mut store = Box::new(NetworkBuffers::<f32, IN, N>::new());
    let mut s = store.state(&net).unwrap();
    let delays = [0u8; IN * N - 1];
    let mut hist = [0u32; IN];
    s.delays = &delays;
    s.pre_hist = &mut hist;
    assert_eq!(net.step(&mut s, &[]), Err(Error::BufferSize("delays")));
}

/// The presynaptic trace a postsynaptic spike reads is the synapse's own:
/// 1 at the spike's arrival, decayed since (pair rule, dw = nu_post x_pre),
/// and 0 where the spike has not arrived yet; also once the spike has left
/// the 32-step window of spikes in flight.
#[test]
fn a_post_spike_reads_the_trace_since_arrival() {
    post_spike_reads_trace(11);
    post_spike_reads_trace(45);
}

fn post_spike_reads_trace(spike_at: u32) {
    let mut p = NetworkParams::diehl_cook(IN, N);
    p.stdp.rule = stdp_core::Rule::Pair;
    p.stdp.nu_pre = 0.0;
    p.inhibition = stdp_core::Inhibition::None;
    let net = Network::<f64>::new(&p).unwrap();
    let mut store = Box::new(NetworkBuffers::<f64, IN, N>::new());
    let mut s = store.state(&net).unwrap();
    // Input 3 reaches neuron j after 2 j steps (0, 2, ..., 18).
    let delays: Vec<u8> = (0..IN * N).map(|k| (2 * (k % N)) as u8).collect();
    let mut hist = [0u32; IN];
    s.delays = &delays;
    s.pre_hist = &mut hist;
    net.init_state(&mut s).unwrap();
    s.weights.fill(0.0);
    let input = 3usize;
    for k in 0..=spike_at {
        if k == spike_at {
            // Far above threshold: every neuron fires in this step.
            s.exc.v.fill(100.0);
        }
        let inputs: &[u16] = if k == 0 { &[input as u16] } else { &[] };
        net.step(&mut s, inputs).unwrap();
    }
    assert!(s.exc.spiked.iter().all(|&b| b));
    let decay = (-p.dt_ms / p.stdp.tau_pre_ms).exp();
    for j in 0..N {
        let d = 2 * j as u32;
        let want = if d <= spike_at {
            p.stdp.nu_post * decay.powi((spike_at - d) as i32)
        } else {
            0.0
        };
        let got = s.weights[input * N + j];
        assert!(
            (got - want).abs() < 1e-12,
            "neuron {j} (delay {d}): dw {got}, want {want}"
        );
        assert_eq!(s.weights[(input + 1) * N + j], 0.0, "an input that never spiked");
    }
}
