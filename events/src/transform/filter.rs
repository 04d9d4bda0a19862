//! Filters with a memory per pixel: the background-activity filter
//! ([`Denoise`]) and the refractory period ([`RefractoryPeriod`]). Each
//! keeps one time per pixel of the sensor (8 bytes a pixel: 7.4 MB for a
//! 1280 x 720 sensor), so it works across chunks.

use super::{argument, check_sensor, Transform};
use crate::{Error, Event, Sensor};

/// tonic's `Denoise`, the background-activity filter: keeps an event if
/// one of its four neighbours (left, right, above, below; not the
/// diagonals, not the pixel itself) had an event less than `filter_time`
/// µs before it (t − t_neighbour < `filter_time`). Every event, kept or
/// not, counts as a neighbour's for the events after it. An isolated event
/// (noise) has none and is dropped.
///
/// tonic's numpy code starts every pixel's memory at `filter_time`, so in
/// a recording whose clock starts at 0 every event of the first
/// `filter_time` µs with a neighbour inside the bounds passes; here a pixel
/// that has had no event is no one's neighbour. From `filter_time` µs on the
/// two agree event for event.
///
/// Events outside the sensor are dropped (and counted, [`Denoise::outside`]).
#[derive(Debug, Clone)]
pub struct Denoise {
    sensor: Sensor,
    filter_time: u64,
    /// Per pixel (row-major) its last event's time + `filter_time`; 0 before any.
    until: Vec<u64>,
    outside: u64,
}

impl Denoise {
    /// The filter for `sensor` with a neighbourhood of `filter_time` µs
    /// (tonic's example: 10,000). An error for 0 µs, which would drop every event.
    pub fn new(sensor: Sensor, filter_time: u64) -> Result<Self, Error> {
        const WHO: &str = "Denoise";
        check_sensor(WHO, sensor)?;
        if filter_time == 0 {
            return Err(argument(WHO, "filter_time 0 µs would drop every event"));
        }
        let pixels = usize::from(sensor.width) * usize::from(sensor.height);
        Ok(Denoise {
            sensor,
            filter_time,
            until: vec![0; pixels],
            outside: 0,
        })
    }

    /// Events dropped because they were outside the sensor.
    pub fn outside(&self) -> u64 {
        self.outside
    }
}

impl Transform for Denoise {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        let (w, h) = (usize::from(self.sensor.width), usize::from(self.sensor.height));
        let ft = self.filter_time;
        let until = &mut self.until;
        let outside = &mut self.outside;
        chunk.retain(|e| {
            let (x, y) = (usize::from(e.x), usize::from(e.y));
            if x >= w || y >= h {
                *outside += 1;
                return false;
            }
            let i = y * w + x;
            let t = e.t;
            // As tonic: the pixel's own memory first (it is not its own neighbour).
            until[i] = t.saturating_add(ft);
            (x > 0 && until[i - 1] > t)
                || (x + 1 < w && until[i + 1] > t)
                || (y > 0 && until[i - w] > t)
                || (y + 1 < h && until[i + w] > t)
        });
    }

    fn reset(&mut self) {
        self.until.fill(0);
        self.outside = 0;
    }
}

/// tonic's `RefractoryPeriod`: after an event, its pixel is refractory for
/// `delta` µs; an event in that time is dropped. An event is kept if
/// t − t_last > `delta` (strictly: one exactly `delta` µs later is dropped,
/// as tonic), or if it is the pixel's first.
///
/// Which event starts the period: by default the pixel's last *kept* event
/// (a steady stream at one pixel passes one event every just over `delta`
/// µs). tonic's numpy code restarts it at every event, dropped ones too (a
/// pixel firing faster than `delta` passes only its first event);
/// [`RefractoryPeriod::restart_on_dropped`] gives that. tonic's code also
/// drops a pixel's first event if it comes at 0 µs (its memory starts at
/// −`delta`); here a first event is always kept.
///
/// Events outside the sensor are dropped (and counted, [`RefractoryPeriod::outside`]).
#[derive(Debug, Clone)]
pub struct RefractoryPeriod {
    sensor: Sensor,
    delta: u64,
    restart_on_dropped: bool,
    /// Per pixel (row-major) the last time that started the period, plus 1; 0 before any.
    last: Vec<u64>,
    outside: u64,
}

impl RefractoryPeriod {
    /// A refractory period of `delta` µs per pixel of `sensor`, started by
    /// the last kept event. 0 µs drops only a second event at the same
    /// pixel and time.
    pub fn new(sensor: Sensor, delta: u64) -> Result<Self, Error> {
        check_sensor("RefractoryPeriod", sensor)?;
        let pixels = usize::from(sensor.width) * usize::from(sensor.height);
        Ok(RefractoryPeriod {
            sensor,
            delta,
            restart_on_dropped: false,
            last: vec![0; pixels],
            outside: 0,
        })
    }

    /// With `true`, a dropped event restarts its pixel's period too (tonic's numpy code).
    pub fn restart_on_dropped(mut self, restart: bool) -> Self {
        self.restart_on_dropped = restart;
        self
    }

    /// Events dropped because they were outside the sensor.
    pub fn outside(&self) -> u64 {
        self.outside
    }
}

impl Transform for RefractoryPeriod {
    fn apply(&mut self, chunk: &mut Vec<Event>) {
        let (w, h) = (usize::from(self.sensor.width), usize::from(self.sensor.height));
        let (delta, restart) = (self.delta, self.restart_on_dropped);
        let last = &mut self.last;
        let outside = &mut self.outside;
        chunk.retain(|e| {
            let (x, y) = (usize::from(e.x), usize::from(e.y));
            if x >= w || y >= h {
                *outside += 1;
                return false;
            }
            let i = y * w + x;
            let keep = match last[i] {
                0 => true,
                l => e.t.checked_sub(l - 1).is_some_and(|since| since > delta),
            };
            if keep || restart {
                last[i] = e.t.saturating_add(1);
            }
            keep
        });
    }

    fn reset(&mut self) {
        self.last.fill(0);
        self.outside = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::apply_to;

    const S: Sensor = Sensor { width: 4, height: 3 };

    fn ev(t: u64, x: u16, y: u16) -> Event {
        Event::new(t, x, y, true)
    }

    #[test]
    fn denoise_drops_an_isolated_event_and_keeps_one_with_a_recent_neighbour() {
        let mut d = Denoise::new(S, 100).unwrap();
        let events = [
            ev(0, 1, 1),   // no neighbour yet: dropped
            ev(50, 2, 1),  // right of (1,1), 50 µs later: kept
            ev(99, 2, 2),  // below (2,1), 49 µs: kept
            ev(150, 0, 0), // its neighbours (1,0), (0,1) never fired: dropped
            ev(151, 1, 0), // (1,1) below fired 151 µs ago, (0,0) left 1 µs: kept
        ];
        assert_eq!(
            apply_to(&mut d, &events),
            vec![ev(50, 2, 1), ev(99, 2, 2), ev(151, 1, 0)]
        );
    }

    #[test]
    fn denoise_window_is_strict_and_ignores_diagonals_and_the_pixel_itself() {
        let mut d = Denoise::new(S, 100).unwrap();
        // (1,1) at 0; (2,1) exactly 100 µs later is not within: dropped.
        assert!(apply_to(&mut d, &[ev(0, 1, 1), ev(100, 2, 1)]).is_empty());
        let mut d = Denoise::new(S, 100).unwrap();
        // A diagonal neighbour and the same pixel do not count.
        assert!(apply_to(&mut d, &[ev(0, 1, 1), ev(1, 2, 2), ev(2, 1, 1)]).is_empty());
    }

    #[test]
    fn denoise_remembers_across_chunks_and_counts_events_outside() {
        let mut d = Denoise::new(S, 100).unwrap();
        let mut a = vec![ev(0, 0, 0), ev(5, 9, 9)];
        d.apply(&mut a);
        assert!(a.is_empty());
        let mut b = vec![ev(10, 0, 1)];
        d.apply(&mut b);
        assert_eq!(b, vec![ev(10, 0, 1)]);
        assert_eq!(d.outside(), 1);
        assert!(Denoise::new(S, 0).is_err());
    }

    /// tonic's `denoise_numpy`, line for line (its start-up memory included).
    fn tonic_denoise(events: &[Event], filter_time: u64) -> Vec<Event> {
        let width = events.iter().map(|e| e.x as usize).max().unwrap() + 1;
        let height = events.iter().map(|e| e.y as usize).max().unwrap() + 1;
        let mut memory = vec![vec![filter_time; height]; width];
        let mut out = Vec::new();
        for e in events {
            let (x, y, t) = (e.x as usize, e.y as usize, e.t);
            memory[x][y] = t + filter_time;
            if (x > 0 && memory[x - 1][y] > t)
                || (x < width - 1 && memory[x + 1][y] > t)
                || (y > 0 && memory[x][y - 1] > t)
                || (y < height - 1 && memory[x][y + 1] > t)
            {
                out.push(*e);
            }
        }
        out
    }

    #[test]
    fn denoise_equals_tonic_from_filter_time_on_for_real_nmnist() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/events/nmnist_sample.bin"
        );
        let events = crate::read_file(path).expect("the shared N-MNIST sample at ../shared/data/events");
        let ft = 5_000;
        let mut d = Denoise::new(Sensor { width: 34, height: 34 }, ft).unwrap();
        // Chunks of 1,000, as a reader would give them.
        let mut ours = Vec::new();
        for c in events.chunks(1000) {
            let mut c = c.to_vec();
            d.apply(&mut c);
            ours.extend(c);
        }
        let theirs = tonic_denoise(&events, ft);
        let late = |v: &[Event]| v.iter().filter(|e| e.t >= ft).copied().collect::<Vec<_>>();
        assert_eq!(late(&ours), late(&theirs));
        assert!(!late(&ours).is_empty() && late(&ours).len() < events.len());
    }

    /// tonic's `refractory_period_numpy`, line for line (memory from −delta, every event restarts it).
    fn tonic_refractory(events: &[Event], delta: u64) -> Vec<Event> {
        let width = events.iter().map(|e| e.x as usize).max().unwrap() + 1;
        let height = events.iter().map(|e| e.y as usize).max().unwrap() + 1;
        let mut memory = vec![vec![-(delta as i64); height]; width];
        let mut out = Vec::new();
        for e in events {
            let (x, y) = (e.x as usize, e.y as usize);
            if e.t as i64 - memory[x][y] > delta as i64 {
                out.push(*e);
            }
            memory[x][y] = e.t as i64;
        }
        out
    }

    #[test]
    fn refractory_restarted_by_dropped_events_equals_tonic_for_real_nmnist() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/events/nmnist_sample.bin"
        );
        let events = crate::read_file(path).expect("the shared N-MNIST sample at ../shared/data/events");
        // Its first event is at 654 µs, so tonic's start-up memory plays no part.
        assert!(events[0].t > 0);
        for delta in [0, 1_000, 5_000, 20_000] {
            let mut r = RefractoryPeriod::new(Sensor { width: 34, height: 34 }, delta)
                .unwrap()
                .restart_on_dropped(true);
            let mut ours = Vec::new();
            for c in events.chunks(777) {
                let mut c = c.to_vec();
                r.apply(&mut c);
                ours.extend(c);
            }
            let theirs = tonic_refractory(&events, delta);
            assert_eq!(ours, theirs, "delta {delta} µs");
            if delta == 5_000 {
                assert!(ours.len() < events.len() && ours.len() > events.len() / 4);
            }
        }
    }

    #[test]
    fn refractory_drops_events_within_delta_of_the_last_kept_one() {
        let mut r = RefractoryPeriod::new(S, 10).unwrap();
        // Pixel (0,0): 0 kept; 5 and 10 within 10 µs of 0 dropped; 11 kept;
        // 20 within 10 of 11 dropped; 22 kept. (1,0) has its own period.
        let events = [
            ev(0, 0, 0),
            ev(5, 0, 0),
            ev(6, 1, 0),
            ev(10, 0, 0),
            ev(11, 0, 0),
            ev(20, 0, 0),
            ev(22, 0, 0),
        ];
        assert_eq!(
            apply_to(&mut r, &events),
            vec![ev(0, 0, 0), ev(6, 1, 0), ev(11, 0, 0), ev(22, 0, 0)]
        );
    }

    #[test]
    fn refractory_restarted_by_dropped_events_as_tonic() {
        let mut r = RefractoryPeriod::new(S, 10).unwrap().restart_on_dropped(true);
        // 0 kept; 5 dropped (restarts); 12 is 7 after 5: dropped; 23 is 11 after 12: kept.
        let events = [ev(0, 0, 0), ev(5, 0, 0), ev(12, 0, 0), ev(23, 0, 0)];
        assert_eq!(apply_to(&mut r, &events), vec![ev(0, 0, 0), ev(23, 0, 0)]);
    }

    #[test]
    fn refractory_zero_drops_only_same_time_duplicates_and_remembers_across_chunks() {
        let mut r = RefractoryPeriod::new(S, 0).unwrap();
        let mut a = vec![ev(7, 3, 2), ev(7, 3, 2)];
        r.apply(&mut a);
        assert_eq!(a, vec![ev(7, 3, 2)]);
        let mut b = vec![ev(7, 3, 2), ev(8, 3, 2), ev(1, 4, 0)];
        r.apply(&mut b);
        assert_eq!(b, vec![ev(8, 3, 2)]);
        assert_eq!(r.outside(), 1);
        r.reset();
        let mut c = vec![ev(8, 3, 2)];
        r.apply(&mut c);
        assert_eq!(c.len(), 1);
    }
}
