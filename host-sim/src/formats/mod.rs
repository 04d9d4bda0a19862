//! The files host-sim reads and writes: MNIST's IDX files (`mnist`),
//! model files and checkpoints (`model`), NumPy archives (`npz`); fetching
//! N-MNIST's zips (`nmnist_fetch`, feature `fetch`). The chip image and NIR
//! graphs are in [`crate::export`].

pub mod mnist;
pub mod model;
#[cfg(feature = "fetch")]
pub mod nmnist_fetch;
pub mod npz;
