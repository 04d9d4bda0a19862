//! Splitting one network across threads: a *shard* is the network's
//! neurons `lo..hi` (with every input), simulated by its own [`Network`](crate::Network) of
//! `hi - lo` neurons and its own [`State`](crate::State); the shards of one
//! network run the same presentation in lockstep and exchange, through a
//! [`Collective`], the few numbers that couple neurons:
//!
//! | where | what is summed over the shards | why |
//! |---|---|---|
//! | every step, lateral inhibition | inhibitory spikes (excitatory ones with direct inhibition) | each spike inhibits every other neuron of the whole network |
//! | every step of a rest period | neurons not yet quiescent | the rest is stepped until the *whole* network is quiescent |
//! | end of a presentation | excitatory spikes | the intensity retry |
//!
//! Everything else is per neuron (membranes, traces, the weights of a
//! neuron's column, normalisation) or per input and identical in every shard
//! (the Poisson input, from a copy of the same generator; presynaptic
//! traces). Inhibition is applied as "w added once for every spike of
//! another neuron", the same additions in the same order as one network
//! makes, so sharded results are bit-identical to unsharded ones for any
//! number of shards.
//!
//! The core has no threads: the host implements [`Collective`] over atomics.
//! One network alone uses [`Alone`].

/// The shards' exchange: every shard calls the same sequence of
/// [`Collective::all_sum`]s (the control flow depends only on their
/// results), and each call returns the sum of the values all shards passed
/// to their call of the same rank.
pub trait Collective {
    /// The sum over all shards of `x` (every shard must make this call).
    fn all_sum(&mut self, x: u32) -> u32;
}

/// The collective of a network that is not split: `all_sum(x) = x`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Alone;

impl Collective for Alone {
    #[inline(always)]
    fn all_sum(&mut self, x: u32) -> u32 {
        x
    }
}

/// Neurons `lo..hi` of shard `k` of `shards` for a layer of `n` neurons:
/// contiguous ranges whose sizes differ by at most one, in neuron order.
pub fn shard_range(n: usize, shards: usize, k: usize) -> core::ops::Range<usize> {
    let shards = shards.max(1);
    let (q, r) = (n / shards, n % shards);
    let lo = k * q + k.min(r);
    lo..lo + q + usize::from(k < r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_layer_in_order() {
        for n in [1, 7, 100, 6400] {
            for shards in 1..=5 {
                let mut next = 0;
                for k in 0..shards {
                    let r = shard_range(n, shards, k);
                    assert_eq!(r.start, next);
                    assert!(r.len() + 1 >= n / shards && r.len() <= n / shards + 1);
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
    }
}
