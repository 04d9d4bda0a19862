//! The desktop side of the project: scenario runner, MNIST training and
//! evaluation, experiments. The binary `host-sim` is a thin CLI over this.

pub mod mnist;
pub mod owned;
pub mod plots;
pub mod scenario;
