//! MNIST-format IDX data sets: loading and fetching.
