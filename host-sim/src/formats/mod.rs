//! The files host-sim reads and writes: MNIST's IDX files (`mnist`),
//! model files and checkpoints (`model`), NumPy archives (`npz`). The chip
//! image and NIR graphs are in [`crate::export`].

pub mod mnist;
pub mod model;
pub mod npz;
