//! Running the Diehl & Cook network: one example (`dc`), the training and
//! evaluation procedures (`train`), the state buffers the core's views
//! borrow (`owned`), a layer split across cores (`shards`), and the
//! presentation compiled once per instruction set (`simd`).

pub mod adapt;
pub mod dc;
pub mod owned;
pub mod shards;
pub mod simd;
pub mod train;
