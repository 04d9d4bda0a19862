//! A camera recording streamed over the UART (`EventsBegin`, `EventsBatch`
//! ..., `EventsEnd`) and presented as its events arrive: the core's
//! `present_events`, the host's code, pulls the events from a [`Live`]
//! source that reads the UART. A step runs as soon as an event of a later
//! step arrives (or the recording ends); the reply to `EventsEnd` comes
//! after the window's remaining steps, the rest and any replays.
//!
//! Each batch is checked whole before it is acknowledged (codec errors,
//! pixels outside the sensor): a refused batch gets an error reply and
//! changes nothing, and the recording goes on with the next batch. Other
//! requests during a recording are refused (`BadState`, argument 2).
//! Replays (the model's retry) read the events kept in `Memory::replay`;
//! a recording with more events than it holds is shown once, as a live
//! sensor would be.

use embedded_io::{Read, Write};
use stdp_core::present_events::{present_events, EventLayout, EventSource};
use stdp_core::Event;
use stdp_protocol::dvs::{DvsDecoder, DvsError};
use stdp_protocol::{decode_frame, run_flags, Array, ErrorCode, Reply, Request, RunSummary, MAX_RUN_COUNTS};

use super::link::{Closed, Link, Rx, RxError};
use super::session::Session;
use super::{classify, error_reply, App, Failure, Input};
use crate::board::Board;

/// Times beyond this many µs after the first event are kept as this: they
/// are past any window (`MAX_PHASE_MS` is 10 s) either way.
const T_MAX: u64 = (1 << 31) - 1;

/// An event of a recording whose first event came at `t_first` (µs), in
/// 8 bytes: the time since then (31 bits, saturated), the polarity, x, y.
pub fn pack_event(e: &Event, t_first: u64) -> u64 {
    let t = e.t.saturating_sub(t_first).min(T_MAX);
    t | (e.on as u64) << 31 | (e.x as u64) << 32 | (e.y as u64) << 48
}

/// The event [`pack_event`] packed.
pub fn unpack_event(p: u64, t_first: u64) -> Event {
    Event {
        t: t_first + (p & T_MAX),
        x: (p >> 32) as u16,
        y: (p >> 48) as u16,
        on: p >> 31 & 1 == 1,
    }
}

/// The events of the recording being streamed, as `present_events` reads
/// them: from the UART (first pass), then from the replay buffer.
struct Live<'r, 'u, U, B> {
    link: &'r mut Link,
    rx: &'r mut Rx<'u, U>,
    board: &'r B,
    layout: EventLayout,
    dec: DvsDecoder,
    /// The current batch in `link.batch`: its length, the next event's offset.
    len: usize,
    at: usize,
    /// `EventsEnd` came (its sequence number).
    end: Option<u16>,
    closed: bool,
    replay: &'r mut [u64],
    kept: usize,
    /// More events came than `replay` holds.
    overflow: bool,
    t_first: Option<u64>,
    /// Replaying: the next kept event.
    replaying: Option<usize>,
    /// Ticks of the board's clock spent computing (not waiting for bytes).
    busy: u32,
    since: u32,
}

/// Checks a batch whole, decoding from `dec`'s time: every event decodes
/// and lies on the sensor. The refusal's argument is the bad event's
/// offset in the batch.
fn check(mut dec: DvsDecoder, layout: &EventLayout, bytes: &[u8]) -> Result<(), Failure> {
    let mut at = 0;
    while at < bytes.len() {
        match dec.decode(&bytes[at..]) {
            Ok((e, n)) if e.x < layout.width() && e.y < layout.height() => at += n,
            Ok(_) => return Err((ErrorCode::OutOfRange, at as u32)),
            Err(DvsError::Truncated) => return Err((ErrorCode::BadLength, at as u32)),
            Err(_) => return Err((ErrorCode::BadValue, at as u32)),
        }
    }
    Ok(())
}

impl<U: Read + Write, B: Board> Live<'_, '_, U, B> {
    fn reply(&mut self, r: Reply<'_>, seq: u16) {
        let n = r.encode(seq, &mut self.link.out).unwrap_or(0);
        self.rx.send(&self.link.out[..n]);
    }

    fn error(&mut self, code: ErrorCode, command: u8, arg: u32, seq: u16) {
        let n = error_reply(code, command, arg, seq, &mut self.link.out);
        self.rx.send(&self.link.out[..n]);
    }

    /// The next byte; the time spent waiting for it is not counted as busy.
    fn byte(&mut self) -> Result<u8, RxError> {
        if self.rx.buffered() {
            return self.rx.byte();
        }
        let now = self.board.ticks();
        self.busy = self.busy.wrapping_add(now.wrapping_sub(self.since) & B::TICK_MASK);
        let b = self.rx.byte();
        self.since = self.board.ticks();
        b
    }

    /// Waits for the next frame and acts on it: a batch accepted (or
    /// refused), the end, another request refused.
    fn receive(&mut self) {
        let b = match self.byte() {
            Ok(b) => b,
            Err(RxError::Lost) => return self.link.lose(),
            Err(RxError::Closed) => {
                self.closed = true;
                return;
            }
        };
        let frame = match self.link.reader.push(b) {
            None => return,
            Some(Ok(f)) => decode_frame(f, &mut self.link.body),
            Some(Err(e)) => Err(e),
        };
        let (seq, code, req) = match frame {
            Err(e) => {
                let (code, arg, seq) = e.reply(stdp_protocol::UNTRUSTED_SEQ);
                return self.error(code, 0, arg, seq);
            }
            Ok(f) => (f.header.seq, f.header.code, Request::parse(f.header.code, f.payload)),
        };
        match req {
            Ok(Request::EventsBatch { bytes }) => {
                let len = bytes.len();
                match check(self.dec, &self.layout, bytes) {
                    Ok(()) => {
                        self.link.batch[..len].copy_from_slice(bytes);
                        (self.len, self.at) = (len, 0);
                        self.reply(Reply::Ack(code), seq);
                    }
                    Err((c, arg)) => self.error(c, code, arg, seq),
                }
            }
            Ok(Request::EventsEnd) => self.end = Some(seq),
            Ok(_) => self.error(ErrorCode::BadState, code, 2, seq),
            Err(e) => {
                let (c, arg, seq) = e.reply(seq);
                self.error(c, code, arg, seq);
            }
        }
    }

    /// Reads the stream to its end (after a failure).
    fn drain(&mut self) {
        while self.replaying.is_none() && self.next_event().is_some() {}
    }
}

impl<U: Read + Write, B: Board> EventSource for Live<'_, '_, U, B> {
    fn next_event(&mut self) -> Option<Event> {
        if let Some(i) = self.replaying {
            let p = *self.replay.get(i).filter(|_| i < self.kept)?;
            self.replaying = Some(i + 1);
            return Some(unpack_event(p, self.t_first.unwrap_or(0)));
        }
        loop {
            if self.at < self.len {
                // Checked when the batch came: it decodes.
                let (e, n) = self.dec.decode(&self.link.batch[self.at..self.len]).ok()?;
                self.at += n;
                let t_first = *self.t_first.get_or_insert(e.t);
                match self.replay.get_mut(self.kept) {
                    Some(slot) => {
                        *slot = pack_event(&e, t_first);
                        self.kept += 1;
                    }
                    None => self.overflow = true,
                }
                return Some(e);
            }
            if self.end.is_some() || self.closed {
                return None;
            }
            self.receive();
        }
    }

    fn rewind(&mut self) -> bool {
        if self.overflow || self.end.is_none() {
            return false;
        }
        self.replaying = Some(0);
        true
    }
}

impl<B: Board, const N: usize, const LI: usize, const LN: usize> App<'_, B, N, LI, LN> {
    /// Streams the recording that `EventsBegin` began to its `EventsEnd`,
    /// presenting it as it comes, and answers `EventsEnd` with the run.
    pub(super) fn record<U: Read + Write>(
        &mut self,
        link: &mut Link,
        rx: &mut Rx<'_, U>,
        independent: bool,
    ) -> Result<(), Closed> {
        let replay = core::mem::take(&mut self.mem.replay);
        let since = self.board.ticks();
        let buffer = &mut *replay;
        let mut live = Live {
            link,
            rx,
            board: &self.board,
            layout: stdp_core::present_events::EventLayout::NMNIST,
            dec: DvsDecoder::new(0),
            len: 0,
            at: 0,
            end: None,
            closed: false,
            replay: buffer,
            kept: 0,
            overflow: false,
            t_first: None,
            replaying: None,
            busy: 0,
            since,
        };
        let learn = self.learning && self.plastic_active;
        let result = match self.model {
            Some(m) => match m.events {
                Some(ev) => {
                    live.layout = ev.layout;
                    Session::open(&mut self.mem, &m, self.plastic_active, learn).and_then(|mut s| {
                        let o = present_events(
                            &mut s.net,
                            &mut s.st,
                            s.w.as_ref(),
                            &mut live,
                            &ev,
                            &m.procedure,
                            learn,
                            independent,
                            s.inputs.spikes,
                            s.counts,
                        )
                        .map_err(super::core_err)?;
                        let mut flags = run_flags::EVENTS | if learn { run_flags::LEARNED } else { 0 };
                        if s.counts.iter().any(|&c| c > u16::MAX as u32) {
                            flags |= run_flags::SATURATED;
                        }
                        Ok(RunSummary {
                            class: classify(s.counts, &s.img[m.assignments()]),
                            flags,
                            retries: o.present.retries.min(u16::MAX as u32) as u16,
                            steps: o.present.steps,
                            exc_spikes: o.present.exc_spikes,
                            input_spikes: o.present.input_spikes,
                            n_neurons: m.n as u16,
                            ticks: 0,
                        })
                    })
                }
                None => Err((ErrorCode::BadState, 1)),
            },
            None => Err((ErrorCode::NoModel, 0)),
        };
        // After a failure the stream still runs to its end.
        live.drain();
        let now = self.board.ticks();
        // A sum of stretches, each shorter than the clock's wrap: not masked.
        let busy = live.busy.wrapping_add(now.wrapping_sub(live.since) & B::TICK_MASK);
        let (end, closed) = (live.end, live.closed);
        self.mem.replay = replay;
        self.input = Input::None;
        if closed {
            return Err(Closed);
        }
        let seq = end.unwrap_or(0);
        let out = &mut link.out;
        let n = match result {
            Ok(mut summary) => {
                summary.ticks = busy;
                self.last = Some(summary);
                let k = (summary.n_neurons as usize).min(MAX_RUN_COUNTS);
                let mut c = [0u16; MAX_RUN_COUNTS];
                for (d, &s) in c.iter_mut().zip(&self.mem.counts[..k]) {
                    *d = s.min(u16::MAX as u32) as u16;
                }
                Reply::Recorded {
                    summary,
                    counts: Array::Values(&c[..k]),
                }
                .encode(seq, out)
                .unwrap_or(0)
            }
            Err((code, arg)) => {
                self.last = None;
                error_reply(code, stdp_protocol::cmd::EVENTS_END, arg, seq, out)
            }
        };
        rx.send(&out[..n]);
        Ok(())
    }
}
