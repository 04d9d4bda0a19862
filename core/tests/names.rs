//! The names renamed so that one word means one thing (issue 30) still
//! work under their old spelling, deprecated, so code written against them
//! keeps building.

#![allow(deprecated)]

use stdp_core::{Network, NetworkParams};

const IN: usize = 8;
const N: usize = 4;

#[test]
fn the_old_buffer_names_name_the_same_buffers() {
    let net = Network::<f64>::new(&NetworkParams::diehl_cook(IN, N)).unwrap();
    let mut old = Box::new(stdp_core::Storage::<f64, IN, N>::new());
    let new: &mut stdp_core::NetworkBuffers<f64, IN, N> = &mut old;
    assert!(new.state(&net).is_ok());
    let mut frozen: stdp_core::FrozenBuffers<f64, N> = stdp_core::FrozenStorage::new();
    assert!(frozen.state(&net).is_ok());
    let mut poisson: stdp_core::poisson::PoissonBuffers<IN> = stdp_core::poisson::PoissonStorage::new();
    assert!(poisson.source(IN).is_ok());
}
