//! `host-sim device`: talks to the firmware over its UART protocol
//! (`stdp_protocol`, protocol/PROTOCOL.md): uploads a model,
//! classifies test digits on the device and compares every answer with
//! the host's fixed-backend twin of the chip ([`crate::export::ImageSim`]).
//!
//! [`Client`] is the protocol client, also used by the end-to-end tests;
//! the command itself (`host-sim device`) is in the binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use stdp_core::crc::crc32;
use stdp_protocol::dvs::{DvsEncoder, MAX_EVENT_BYTES};
use stdp_protocol::{
    Array, ErrorCode, FrameReader, Info, Reply, Request, RunSummary, Spike, StateKind, MAX_BODY, MAX_CHUNK, MAX_COUNTS,
    MAX_ENCODED, MAX_FRAME, MAX_PAYLOAD, MAX_SPIKES, MAX_STATE_VALUES, UNTRUSTED_SEQ,
};

use crate::export::{export, ChipEvents};
use crate::formats::mnist;
use crate::formats::model::Model;

/// A byte stream to the device.
pub trait Port: Read + Write + Send {}
impl<T: Read + Write + Send> Port for T {}

/// Opens `unix:PATH`, `tcp:HOST:PORT` or `serial:DEVICE` with a read timeout.
pub fn open(spec: &str, timeout: Duration) -> Result<Box<dyn Port>> {
    if let Some(path) = spec.strip_prefix("unix:") {
        let s = UnixStream::connect(path).with_context(|| format!("cannot connect to the Unix socket {path}"))?;
        s.set_read_timeout(Some(timeout))?;
        return Ok(Box::new(s));
    }
    if let Some(addr) = spec.strip_prefix("tcp:") {
        let s = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        s.set_read_timeout(Some(timeout))?;
        s.set_nodelay(true)?;
        return Ok(Box::new(s));
    }
    if let Some(dev) = spec.strip_prefix("serial:") {
        #[cfg(feature = "serial")]
        {
            let p = serialport::new(dev, 115_200)
                .timeout(timeout)
                .open()
                .with_context(|| format!("cannot open the serial port {dev}"))?;
            return Ok(Box::new(p));
        }
        #[cfg(not(feature = "serial"))]
        bail!("--connect serial:{dev}: this host-sim was built without the `serial` feature (cargo build -p host-sim --features serial)");
    }
    bail!("--connect {spec}: expected unix:PATH, tcp:HOST:PORT or serial:DEVICE")
}

/// An error reply of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceError {
    /// Why.
    pub code: ErrorCode,
    /// The refused command.
    pub command: u8,
    /// Detail.
    pub arg: u32,
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "device refused command {:#04x}: {:?} ({})",
            self.command, self.code, self.arg
        )
    }
}

impl std::error::Error for DeviceError {}

/// What a run on the device gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// The summary.
    pub summary: RunSummary,
    /// Spike counts of all neurons.
    pub counts: Vec<u32>,
}

/// A reply frame: its code, sequence number and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReply {
    /// Reply code.
    pub code: u8,
    /// Sequence number.
    pub seq: u16,
    /// Payload.
    pub payload: Vec<u8>,
}

impl RawReply {
    /// The typed reply (borrowing the payload).
    pub fn reply(&self) -> Result<Reply<'_>> {
        Reply::parse(self.code, &self.payload).map_err(|e| anyhow!("malformed reply: {e}"))
    }
    /// The device's error, if this is an error reply.
    pub fn error(&self) -> Option<DeviceError> {
        match self.reply() {
            Ok(Reply::Error { code, command, arg }) => Some(DeviceError { code, command, arg }),
            _ => None,
        }
    }
}

/// The protocol client.
pub struct Client {
    port: Box<dyn Port>,
    seq: u16,
    reader: Box<FrameReader<MAX_ENCODED>>,
    /// Bytes read after the last returned reply (the next replies, when
    /// several are in flight), consumed before reading the port again.
    pending: std::collections::VecDeque<u8>,
    timeout: Duration,
}

impl Client {
    /// A client on `port`; `timeout` bounds the wait for one reply.
    pub fn new(port: Box<dyn Port>, timeout: Duration) -> Self {
        Client {
            port,
            seq: 0,
            reader: Box::new(FrameReader::new()),
            pending: std::collections::VecDeque::new(),
            timeout,
        }
    }

    /// Writes raw bytes (for tests of malformed input).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.port.write_all(bytes).context("UART write")?;
        self.port.flush().context("UART flush")
    }

    /// Reads the next reply frame. Bytes that arrive after it (replies to
    /// requests sent in a burst) are kept for the next call, not dropped.
    pub fn read_reply(&mut self) -> Result<RawReply> {
        let start = Instant::now();
        let mut buf = [0u8; 256];
        loop {
            while let Some(b) = self.pending.pop_front() {
                if let Some(Ok(frame)) = self.reader.push(b) {
                    let mut body = vec![0u8; MAX_BODY];
                    return match stdp_protocol::decode_frame(frame, &mut body) {
                        Ok(f) => Ok(RawReply {
                            code: f.header.code,
                            seq: f.header.seq,
                            payload: f.payload.to_vec(),
                        }),
                        Err(e) => Err(anyhow!("undecodable reply frame: {e}")),
                    };
                }
            }
            if start.elapsed() > self.timeout {
                bail!("no reply from the device within {:?}", self.timeout);
            }
            let n = match self.port.read(&mut buf) {
                Ok(0) => bail!("the device closed the connection"),
                Ok(n) => n,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("UART read"),
            };
            self.pending.extend(&buf[..n]);
        }
    }

    /// Sends `req` and returns its reply (an error reply is returned, not an error).
    pub fn exchange(&mut self, req: &Request<'_>) -> Result<RawReply> {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == UNTRUSTED_SEQ {
            self.seq = 0;
        }
        let mut out = vec![0u8; MAX_FRAME + 1];
        // A leading delimiter ends any partial frame the device holds.
        let n = req
            .encode(self.seq, &mut out[1..])
            .map_err(|e| anyhow!("cannot encode: {e}"))?;
        self.send_raw(&out[..n + 1])?;
        let r = self.read_reply()?;
        if r.seq != self.seq && r.seq != UNTRUSTED_SEQ {
            bail!("reply to sequence number {} while waiting for {}", r.seq, self.seq);
        }
        Ok(r)
    }

    /// Sends `req`; a device error becomes a [`DeviceError`].
    pub fn call(&mut self, req: &Request<'_>) -> Result<RawReply> {
        let r = self.exchange(req)?;
        if let Some(e) = r.error() {
            return Err(e.into());
        }
        Ok(r)
    }

    /// Device and model information.
    pub fn info(&mut self) -> Result<Info> {
        match self.call(&Request::Info)?.reply()? {
            Reply::Info(i) => Ok(i),
            r => bail!("unexpected reply {r:?}"),
        }
    }

    /// Uploads a model image; returns (inputs, neurons).
    pub fn upload(&mut self, image: &[u8]) -> Result<(u16, u16)> {
        self.call(&Request::UploadBegin {
            len: image.len() as u32,
        })?;
        for (k, chunk) in image.chunks(MAX_CHUNK).enumerate() {
            self.call(&Request::UploadChunk {
                offset: (k * MAX_CHUNK) as u32,
                data: chunk,
            })?;
        }
        match self.call(&Request::UploadCommit { crc: crc32(image) })?.reply()? {
            Reply::Committed { n_inputs, n_neurons } => Ok((n_inputs, n_neurons)),
            r => bail!("unexpected reply {r:?}"),
        }
    }

    /// Learning on or off.
    pub fn set_learning(&mut self, on: bool) -> Result<()> {
        self.call(&Request::SetLearning { on }).map(drop)
    }

    /// Drops learned state and input; with `forget_model` also the uploaded model.
    pub fn reset(&mut self, forget_model: bool) -> Result<()> {
        self.call(&Request::Reset { forget_model }).map(drop)
    }

    /// Presents `pixels` (Poisson-encoded on the device with `seed`) and runs it.
    pub fn classify(&mut self, pixels: &[u8], seed: u64, independent: bool) -> Result<RunResult> {
        self.call(&Request::PresentDigit { seed, pixels })?;
        self.run(independent)
    }

    /// Presents input spikes (sorted by step, each step's at most
    /// [`MAX_SPIKES`]) over `steps` steps (<= the model's presentation), then runs.
    pub fn classify_spikes(&mut self, spikes: &[Spike], steps: u16, independent: bool) -> Result<RunResult> {
        let mut start = true;
        let mut rest = spikes;
        loop {
            // Take whole steps, at most MAX_SPIKES spikes.
            let mut k = rest.len().min(MAX_SPIKES);
            if k < rest.len() {
                let cut = rest[k].step;
                while k > 0 && rest[k - 1].step == cut {
                    k -= 1;
                }
                if k == 0 {
                    bail!("more than {MAX_SPIKES} input spikes at step {cut}");
                }
            }
            let (now, later) = rest.split_at(k);
            let until = later.first().map_or(steps, |e| e.step);
            self.call(&Request::PresentSpikes {
                start,
                independent,
                until,
                spikes: Array::Values(now),
            })?;
            start = false;
            rest = later;
            if rest.is_empty() && until == steps {
                break;
            }
        }
        self.run(independent)
    }

    /// Streams one camera recording to an event-input model, in time
    /// order, as a sensor would deliver it (`EventsBegin`, batches of DVS
    /// varints of at most [`MAX_PAYLOAD`] bytes, `EventsEnd`) and returns
    /// the run and what decided it on the device (its step list and replay
    /// capacity, for the host's twin). The events must lie on the model's
    /// sensor (the device refuses a batch with one outside it).
    pub fn classify_events(
        &mut self,
        events: &[stdp_core::Event],
        independent: bool,
    ) -> Result<(RunResult, ChipEvents)> {
        let chip = match self.call(&Request::EventsBegin { independent })?.reply()? {
            Reply::Recording {
                step_spikes,
                replay_events,
            } => ChipEvents {
                step_spikes: step_spikes as usize,
                replay_events: replay_events as usize,
            },
            r => bail!("unexpected reply {r:?}"),
        };
        let mut enc = DvsEncoder::new(0);
        let mut batch = Vec::with_capacity(MAX_PAYLOAD);
        let mut one = [0u8; MAX_EVENT_BYTES];
        let mut failed = None;
        for (k, e) in events.iter().enumerate() {
            let n = match enc.encode(e, &mut one) {
                Ok(n) => n,
                Err(err) => {
                    failed = Some(anyhow!(
                        "event {k} (t = {} µs): {err:?} (events must be in time order)",
                        e.t
                    ));
                    break;
                }
            };
            if batch.len() + n > MAX_PAYLOAD {
                if let Err(err) = self.call(&Request::EventsBatch { bytes: &batch }) {
                    failed = Some(err);
                    break;
                }
                batch.clear();
            }
            batch.extend_from_slice(&one[..n]);
        }
        if failed.is_none() && !batch.is_empty() {
            failed = self.call(&Request::EventsBatch { bytes: &batch }).err();
        }
        // The recording is ended even after a failure, so the device serves requests again.
        let end = self.call(&Request::EventsEnd);
        if let Some(e) = failed {
            return Err(e);
        }
        let r = self.finish_run(end?)?;
        Ok((r, chip))
    }

    /// Runs the current input.
    pub fn run(&mut self, independent: bool) -> Result<RunResult> {
        let r = self.call(&Request::Run { independent })?;
        self.finish_run(r)
    }

    /// The run of a `Run` or `EventsEnd` reply, with the counts that did
    /// not fit it read with `ReadCounts`.
    fn finish_run(&mut self, r: RawReply) -> Result<RunResult> {
        let (summary, mut counts) = match r.reply()? {
            Reply::Run { summary, counts } | Reply::Recorded { summary, counts } => {
                (summary, counts.iter().map(u32::from).collect::<Vec<_>>())
            }
            r => bail!("unexpected reply {r:?}"),
        };
        while counts.len() < summary.n_neurons as usize {
            let count = (summary.n_neurons as usize - counts.len()).min(MAX_COUNTS) as u16;
            let r = self.call(&Request::ReadCounts {
                offset: counts.len() as u16,
                count,
            })?;
            match r.reply()? {
                Reply::Counts { counts: c, .. } if c.len() == count as usize => counts.extend(c.iter().map(u32::from)),
                r => bail!("unexpected reply {r:?}"),
            }
        }
        Ok(RunResult { summary, counts })
    }

    /// All weights (`w[i * n + j]`) or thetas, as Q11.20 bits.
    pub fn read_state(&mut self, kind: StateKind, len: usize) -> Result<Vec<i32>> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let count = (len - out.len()).min(MAX_STATE_VALUES) as u16;
            let r = self.call(&Request::ReadState {
                kind,
                offset: out.len() as u32,
                count,
            })?;
            match r.reply()? {
                Reply::State { values, .. } if values.len() == count as usize => out.extend(values.iter()),
                r => bail!("unexpected reply {r:?}"),
            }
        }
        Ok(out)
    }
}

/// The image in `path`: an image file as it is, anything else read by
/// `load_model` and exported.
pub fn load_image(path: &Path, load_model: impl FnOnce(&Path) -> Result<Model>) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(b"STDPIMG\0") {
        return Ok(bytes);
    }
    export(&load_model(path)?)
}

/// The MNIST test set in `dir` (`.gz` or raw files).
pub fn load_test_set(dir: &Path) -> Result<mnist::Dataset> {
    let pick = |name: &str| {
        let gz = dir.join(format!("{name}.gz"));
        if gz.exists() {
            gz
        } else {
            dir.join(name)
        }
    };
    mnist::load_pair(&pick(mnist::TEST_DIGITS), &pick(mnist::TEST_LABELS))
}

/// What streaming recordings to the device gave ([`stream_recordings`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventsReport {
    /// Recordings streamed.
    pub recordings: usize,
    /// Events streamed.
    pub events: u64,
    /// Correct classes on the device and on the host's twin.
    pub correct_device: usize,
    /// Correct classes of the host's twin.
    pub correct_host: usize,
    /// Recordings whose class is the twin's.
    pub same_class: usize,
    /// Recordings whose run is the twin's (per-neuron spike counts,
    /// replays, steps, input spikes).
    pub same_run: usize,
    /// The indices of the recordings that differ.
    pub differ: Vec<usize>,
    /// The device's clock ticks, steps, summed.
    pub ticks: u64,
    /// Steps simulated, summed.
    pub steps: u64,
}

impl EventsReport {
    /// Whether every recording agreed with the twin.
    pub fn agrees(&self) -> bool {
        self.differ.is_empty()
    }
}

/// Streams recordings `0..limit` of `split` to the device (which holds
/// `twin`'s image), event by event in time order, and compares each run
/// with the twin's ([`ImageSim::infer_events`](crate::export::ImageSim::infer_events)):
/// class, per-neuron spike counts, replays, steps and input spikes. Events
/// outside the model's sensor are left out on both sides (the device
/// refuses them; the core would drop them).
pub fn stream_recordings(
    dev: &mut Client,
    twin: &mut crate::export::ImageSim,
    split: &stdp_events::dataset::Split,
    limit: usize,
) -> Result<EventsReport> {
    let layout = twin
        .events()
        .map(|e| e.layout)
        .context("the model takes digits, not events")?;
    let mut r = EventsReport::default();
    let mut events = Vec::new();
    for i in 0..limit.min(split.len()) {
        events.clear();
        split.read(i, &mut events).map_err(|e| anyhow!("{e}"))?;
        events.retain(|e| layout.input(e).is_some());
        let (d, chip) = dev
            .classify_events(&events, true)
            .with_context(|| format!("recording {i}"))?;
        let h = twin.infer_events(&events, chip)?;
        let hc = crate::sim::dc::classify(&h.counts, &twin.assignments);
        let label = split.label(i);
        let p = &h.out.present;
        let same_run = d.counts == h.counts
            && d.summary.retries as u32 == p.retries
            && d.summary.steps == p.steps
            && d.summary.input_spikes == p.input_spikes;
        r.recordings += 1;
        r.events += events.len() as u64;
        r.correct_device += (d.summary.class == label) as usize;
        r.correct_host += (hc == label) as usize;
        r.same_class += (d.summary.class == hc) as usize;
        r.same_run += same_run as usize;
        if !(same_run && d.summary.class == hc) {
            r.differ.push(i);
        }
        r.ticks += d.summary.ticks as u64;
        r.steps += d.summary.steps as u64;
    }
    Ok(r)
}
