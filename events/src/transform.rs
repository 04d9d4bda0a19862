//! Transforms over the stream (being written).
