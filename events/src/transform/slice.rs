//! tonic's slicers: a recording held whole, cut into windows of time or of
//! event counts, as borrowed slices (no copy).

use super::{argument, check_order};
use crate::{Error, Event};

/// How the slices are laid out.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Slice k holds the events with `t0 + k·stride <= t < t0 + k·stride + window`.
    Time { t0: u64, window: u64, stride: u64 },
    /// Slice k holds events `k·stride .. k·stride + count` (cut at the end).
    Count { count: usize, stride: usize },
}

/// The slices of a recording, in order: an iterator of `&[Event]`, each a
/// borrowed part of the events given (see [`slice_by_time`], [`slice_by_count`]).
#[derive(Debug, Clone)]
pub struct Slices<'a> {
    events: &'a [Event],
    step: Step,
    next: usize,
    n: usize,
}

impl<'a> Slices<'a> {
    fn slice(&self, k: usize) -> &'a [Event] {
        let events = self.events;
        match self.step {
            Step::Time { t0, window, stride } => {
                let start = t0.saturating_add((k as u64).saturating_mul(stride));
                let end = start.saturating_add(window);
                let a = events.partition_point(|e| e.t < start);
                let b = events.partition_point(|e| e.t < end);
                &events[a..b.max(a)]
            }
            Step::Count { count, stride } => {
                let a = (k * stride).min(events.len());
                let b = (a + count).min(events.len());
                &events[a..b]
            }
        }
    }
}

impl<'a> Iterator for Slices<'a> {
    type Item = &'a [Event];

    fn next(&mut self) -> Option<&'a [Event]> {
        (self.next < self.n).then(|| {
            self.next += 1;
            self.slice(self.next - 1)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.n - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Slices<'_> {}

/// tonic's `SliceByTime`: windows of `time_window` µs, each starting
/// `time_window - overlap` µs after the one before, the first at the first
/// event's time; slice k holds the events with
/// `t0 + k·(time_window − overlap) <= t < t0 + k·(time_window − overlap) + time_window`.
///
/// How many, as tonic: with `d` = last time − first time and `s` the stride,
/// ⌊(d − time_window) / s⌋ + 1 windows that end within the recording, or with
/// `include_incomplete` ⌈(d − time_window) / s⌉ + 1, the last one running past
/// the end; at least one. So without it the events after the last whole
/// window are in no slice (and with it, when `d` is a multiple of the
/// stride, neither are the events at the last time: tonic's arithmetic).
///
/// `events` must be in time order (as [`Reader`](crate::Reader) gives
/// them); no events, no slices. An error for a zero window, an overlap
/// not shorter than the window, or events out of order.
pub fn slice_by_time(
    events: &[Event],
    time_window: u64,
    overlap: u64,
    include_incomplete: bool,
) -> Result<Slices<'_>, Error> {
    const WHO: &str = "slice_by_time";
    if time_window == 0 {
        return Err(argument(WHO, "time_window 0 µs holds no time"));
    }
    if overlap >= time_window {
        return Err(argument(
            WHO,
            format!("overlap {overlap} µs must be shorter than time_window {time_window} µs"),
        ));
    }
    check_order(WHO, events)?;
    let stride = time_window - overlap;
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Ok(Slices {
            events,
            step: Step::Time {
                t0: 0,
                window: time_window,
                stride,
            },
            next: 0,
            n: 0,
        });
    };
    let d = last.t - first.t;
    let n = if d < time_window {
        1
    } else if include_incomplete {
        (d - time_window).div_ceil(stride) + 1
    } else {
        (d - time_window) / stride + 1
    };
    Ok(Slices {
        events,
        step: Step::Time {
            t0: first.t,
            window: time_window,
            stride,
        },
        next: 0,
        n: usize::try_from(n).unwrap_or(usize::MAX),
    })
}

/// tonic's `SliceByEventCount`: slices of `event_count` events, each
/// starting `event_count − overlap` events after the one before. How many,
/// as tonic: with `n` events, `c` = min(`event_count`, `n`) and `s` the
/// stride, ⌊(n − c) / s⌋ + 1 full slices, or with `include_incomplete`
/// ⌈(n − c) / s⌉ + 1, the last one shorter. No events, no slices. An error
/// for a zero count or an overlap not smaller than it.
pub fn slice_by_count(
    events: &[Event],
    event_count: usize,
    overlap: usize,
    include_incomplete: bool,
) -> Result<Slices<'_>, Error> {
    const WHO: &str = "slice_by_count";
    if event_count == 0 {
        return Err(argument(WHO, "event_count 0 makes empty slices"));
    }
    if overlap >= event_count {
        return Err(argument(
            WHO,
            format!("overlap {overlap} must be smaller than event_count {event_count}"),
        ));
    }
    let stride = event_count - overlap;
    let len = events.len();
    let c = event_count.min(len);
    let n = if len == 0 {
        0
    } else if include_incomplete {
        (len - c).div_ceil(stride) + 1
    } else {
        (len - c) / stride + 1
    };
    Ok(Slices {
        events,
        step: Step::Count {
            count: event_count,
            stride,
        },
        next: 0,
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(times: &[u64]) -> Vec<Event> {
        times.iter().map(|&t| Event::new(t, 0, 0, true)).collect()
    }

    fn times(slices: Slices<'_>) -> Vec<Vec<u64>> {
        slices.map(|s| s.iter().map(|e| e.t).collect()).collect()
    }

    #[test]
    fn time_slices_start_at_the_first_event_and_drop_the_incomplete_tail() {
        // d = 250: floor((250 - 100) / 100) + 1 = 2 windows, [10, 110) and [110, 210).
        let events = at(&[10, 50, 109, 110, 209, 210, 260]);
        assert_eq!(
            times(slice_by_time(&events, 100, 0, false).unwrap()),
            vec![vec![10, 50, 109], vec![110, 209]]
        );
        // With the incomplete one: ceil(1.5) + 1 = 3, the third [210, 310).
        assert_eq!(
            times(slice_by_time(&events, 100, 0, true).unwrap()),
            vec![vec![10, 50, 109], vec![110, 209], vec![210, 260]]
        );
    }

    #[test]
    fn time_slices_overlap_by_the_given_microseconds() {
        // Window 100, overlap 50: stride 50; d = 200 gives floor(100 / 50) + 1 = 3.
        let events = at(&[0, 60, 120, 200]);
        assert_eq!(
            times(slice_by_time(&events, 100, 50, false).unwrap()),
            vec![vec![0, 60], vec![60, 120], vec![120]]
        );
    }

    #[test]
    fn a_recording_shorter_than_the_window_is_one_slice() {
        let events = at(&[5, 7]);
        assert_eq!(times(slice_by_time(&events, 100, 0, false).unwrap()), vec![vec![5, 7]]);
        assert_eq!(slice_by_time(&[], 100, 0, false).unwrap().count(), 0);
    }

    #[test]
    fn time_slicing_refuses_bad_arguments_and_unsorted_events() {
        assert!(slice_by_time(&at(&[1]), 0, 0, false).is_err());
        assert!(slice_by_time(&at(&[1]), 10, 10, false).is_err());
        assert!(slice_by_time(&at(&[5, 4]), 10, 0, false).is_err());
    }

    #[test]
    fn count_slices_follow_tonic_with_and_without_the_incomplete_one() {
        let events = at(&[0, 1, 2, 3, 4, 5, 6]);
        // 7 events by 3: floor(4 / 3) + 1 = 2 full, ceil(4 / 3) + 1 = 3 with the rest.
        assert_eq!(
            times(slice_by_count(&events, 3, 0, false).unwrap()),
            vec![vec![0, 1, 2], vec![3, 4, 5]]
        );
        assert_eq!(
            times(slice_by_count(&events, 3, 0, true).unwrap()),
            vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]
        );
        // Overlap 1: stride 2, floor(4 / 2) + 1 = 3.
        assert_eq!(
            times(slice_by_count(&events, 3, 1, false).unwrap()),
            vec![vec![0, 1, 2], vec![2, 3, 4], vec![4, 5, 6]]
        );
        // More than there are: one slice of all.
        assert_eq!(times(slice_by_count(&events, 10, 0, false).unwrap()).len(), 1);
        assert_eq!(slice_by_count(&[], 3, 0, true).unwrap().len(), 0);
        assert!(slice_by_count(&events, 0, 0, false).is_err());
        assert!(slice_by_count(&events, 3, 3, false).is_err());
    }
}
