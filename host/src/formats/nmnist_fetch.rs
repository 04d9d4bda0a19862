//! Fetching N-MNIST (Orchard, Jayawant, Cohen & Thakor 2015): its two
//! published zips, `Train.zip` (about 1 GB) and `Test.zip` (about 170 MB),
//! downloaded with resume, MD5-checked and unpacked into N-MNIST's own layout,
//! `OUT/Train/<label>/<id>.bin` and `OUT/Test/<label>/<id>.bin` (the layout
//! of the zips, and of the shared sample `nmnist-sample`).
//!
//! Each split goes through three steps, each safe to interrupt:
//! 1. `OUT/<Split>/.complete` holds the expected MD5: the split is there and
//!    nothing is done (no directory created, no request sent).
//! 2. The zip is downloaded into `OUT/.download/<Split>.zip.part`, appending
//!    to what an earlier run left there (`Range: bytes=N-`; a server that
//!    answers 200 instead of 206 gets a fresh start), streamed to disk with
//!    the MD5 computed on the way. A match renames it to
//!    `OUT/.download/<Split>.zip`; a mismatch deletes it.
//! 3. Every entry name is checked (no `..`, no absolute path) before anything
//!    is written; the `<Split>/<label>/<id>.bin` entries are unpacked into a
//!    temporary directory in `OUT`, the marker is written last and the
//!    directory renamed to `OUT/<Split>`; then the zip is deleted.
//!
//! So `OUT/<Split>` exists only complete. A failed run leaves `OUT` as it
//! was, apart from a partial download kept to be resumed: an `OUT` that it
//! created, or that held only an interrupted run's downloads, is removed
//! again if that leaves it empty (and so are the parents it created).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use md5::{Digest, Md5};

/// Where the published zips are (Mendeley Data, the URLs `tonic` uses).
pub const BASE_URL: &str = "https://data.mendeley.com/public-files/datasets/468j46mzdv/files/";

/// One of N-MNIST's two zips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// `Train` or `Test`: the top folder inside the zip and in the output.
    pub name: &'a str,
    /// The file's path after the base URL.
    pub file: &'a str,
    /// The zip's expected MD5, 32 hex digits (either case).
    pub md5: &'a str,
}

/// `Train.zip`: 60,000 recordings.
pub const TRAIN: Split<'static> = Split {
    name: "Train",
    file: "39c25547-014b-4137-a934-9d29fa53c7a0/file_downloaded",
    md5: "20959b8e626244a1b502305a9e6e2031",
};

/// `Test.zip`: 10,000 recordings.
pub const TEST: Split<'static> = Split {
    name: "Test",
    file: "05a4d654-7e03-4c15-bdfa-9bb2bcbea494/file_downloaded",
    md5: "69ca8762b2fe404d9b9bad1103e97832",
};

/// Both splits with their published MD5 sums, in the order fetched.
pub const SPLITS: [Split<'static>; 2] = [TRAIN, TEST];

/// The folder in the output that holds downloads in progress.
pub const DOWNLOAD_DIR: &str = ".download";

/// The file in `OUT/<Split>` that marks the split complete; holds the zip's MD5.
pub const MARKER: &str = ".complete";

/// Largest download accepted (Train.zip is about 1 GB).
const MAX_DOWNLOAD: u64 = 4 << 30;

/// Largest unpacked entry accepted (a recording is some tens of kB).
const MAX_ENTRY: u64 = 64 << 20;

/// How a download copes with a broken connection.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many times a download whose connection broke is resumed within
    /// one run (after `retry_delay`); the count starts again each time a
    /// resumed request brings new bytes. A rerun resumes in any case.
    pub retries: u32,
    /// Pause before each resumed request.
    pub retry_delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retries: 5,
            retry_delay: Duration::from_secs(2),
        }
    }
}

/// What a progress display counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Downloaded bytes.
    Bytes,
    /// Unpacked files.
    Files,
}

/// Where [`fetch`] reports what it does (a terminal bar, log lines, nothing).
pub trait Progress {
    /// One line of news.
    fn message(&mut self, line: &str);
    /// A counted task begins at `position` of `total` (if known).
    fn start(&mut self, what: &str, unit: Unit, position: u64, total: Option<u64>);
    /// The task is at `position`.
    fn set(&mut self, position: u64);
    /// The task ended (done or failed).
    fn end(&mut self);
}

/// Reports nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn message(&mut self, _: &str) {}
    fn start(&mut self, _: &str, _: Unit, _: u64, _: Option<u64>) {}
    fn set(&mut self, _: u64) {}
    fn end(&mut self) {}
}

/// Plain lines on stderr (for logs, where a bar would not draw): each
/// message, a task's start, every tenth of it, and its end.
#[derive(Default)]
pub struct Lines {
    task: Option<(String, Unit, Option<u64>)>,
    position: u64,
    printed: u64,
}

impl Lines {
    /// A line every tenth of the total, or every 64 MiB / 10,000 files without one.
    fn step(&self) -> u64 {
        match &self.task {
            Some((_, _, Some(total))) if *total > 0 => total.div_ceil(10),
            Some((_, Unit::Files, _)) => 10_000,
            _ => 64 << 20,
        }
    }

    fn print(&mut self) {
        let Some((what, unit, total)) = &self.task else {
            return;
        };
        let amount = |n: u64| match unit {
            Unit::Bytes => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
            Unit::Files => format!("{n} files"),
        };
        match total {
            Some(t) if *t > 0 => eprintln!(
                "nmnist: {what}: {} of {} ({:.0} %)",
                amount(self.position),
                amount(*t),
                100.0 * self.position as f64 / *t as f64
            ),
            _ => eprintln!("nmnist: {what}: {}", amount(self.position)),
        }
        self.printed = self.position;
    }
}

impl Progress for Lines {
    fn message(&mut self, line: &str) {
        eprintln!("nmnist: {line}");
    }

    fn start(&mut self, what: &str, unit: Unit, position: u64, total: Option<u64>) {
        self.task = Some((what.to_string(), unit, total));
        self.position = position;
        self.print();
    }

    fn set(&mut self, position: u64) {
        self.position = position;
        let step = self.step();
        if position / step > self.printed / step {
            self.print();
        }
    }

    fn end(&mut self) {
        if self.printed != self.position {
            self.print();
        }
        self.task = None;
    }
}

/// What [`fetch`] did for one split.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitReport {
    /// `Train` or `Test`.
    pub name: String,
    /// The split was complete already: nothing was done.
    pub already_complete: bool,
    /// Bytes received in this run (0 if a verified zip was already there).
    pub bytes_downloaded: u64,
    /// Bytes of an earlier run's partial download this run continued from.
    pub resumed_from: u64,
    /// Recordings unpacked.
    pub files: u64,
}

/// Fetches the `splits` (e.g. [`SPLITS`]) into `out` (created if needed),
/// trying the base URLs in `base_urls` in order (e.g. `[BASE_URL]`); each
/// split's URL is its base followed by [`Split::file`]. See the module
/// documentation for the steps and what a failure leaves behind.
pub fn fetch(
    out: &Path,
    base_urls: &[&str],
    splits: &[Split<'_>],
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<Vec<SplitReport>> {
    if base_urls.is_empty() {
        bail!("no mirror URL given to fetch N-MNIST from");
    }
    for split in splits {
        check_split(split)?;
    }
    if out.exists() && !out.is_dir() {
        bail!("{} exists and is not a directory", out.display());
    }
    // `out` is this command's to remove again if it made it, or if it holds
    // nothing but what an earlier, interrupted run of it left.
    let ours = !out.exists() || only_fetch_state(out, splits);
    let created = super::create_dir_all_recording(out)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into();
    let result = splits
        .iter()
        .map(|split| fetch_split(&agent, out, base_urls, split, options, progress))
        .collect::<Result<Vec<_>>>();
    // Best effort: what this run made and left empty goes again.
    let _ = fs::remove_dir(out.join(DOWNLOAD_DIR));
    if result.is_err() && ours && fs::remove_dir(out).is_ok() {
        super::remove_created_if_empty(created.get(1..).unwrap_or_default());
    }
    result
}

/// Whether `dir` holds something, and only downloads and temporary unpacks
/// of this module (an empty directory is the user's).
fn only_fetch_state(dir: &Path, splits: &[Split<'_>]) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    !names.is_empty()
        && names
            .iter()
            .all(|name| name == DOWNLOAD_DIR || splits.iter().any(|s| name.starts_with(&unpack_prefix(s.name))))
}

/// Refuses a split whose name is not a plain folder name or whose MD5 is not 32 hex digits.
fn check_split(split: &Split<'_>) -> Result<()> {
    let name = split.name;
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', ':', '\0']) {
        bail!("split name {name:?} is not a plain folder name");
    }
    if split.md5.len() != 32 || !split.md5.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{name}: MD5 {:?} is not 32 hex digits", split.md5);
    }
    Ok(())
}

fn fetch_split(
    agent: &ureq::Agent,
    out: &Path,
    base_urls: &[&str],
    split: &Split<'_>,
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<SplitReport> {
    let name = split.name;
    let expected = split.md5.to_ascii_lowercase();
    let mut report = SplitReport {
        name: name.to_string(),
        ..SplitReport::default()
    };
    let target = out.join(name);
    if target.exists() {
        let marker = target.join(MARKER);
        return match fs::read_to_string(&marker) {
            Ok(sum) if sum.trim().eq_ignore_ascii_case(&expected) => {
                progress.message(&format!("{} is complete already (MD5 {expected})", target.display()));
                report.already_complete = true;
                Ok(report)
            }
            Ok(sum) => bail!(
                "{} holds another {name}.zip (MD5 {} in {}, expected {expected}): remove it to fetch again",
                target.display(),
                sum.trim(),
                marker.display()
            ),
            Err(_) => bail!(
                "{} exists but is not a completed fetch (no {MARKER} marker in it): remove or move it, then run again",
                target.display()
            ),
        };
    }
    remove_stale_unpacks(out, name)?;

    let downloads = out.join(DOWNLOAD_DIR);
    fs::create_dir_all(&downloads).with_context(|| format!("cannot create directory {}", downloads.display()))?;
    let zip_path = downloads.join(format!("{name}.zip"));
    let part_path = downloads.join(format!("{name}.zip.part"));
    let mut have_zip = false;
    if zip_path.is_file() {
        progress.message(&format!("checking {} (downloaded earlier)", zip_path.display()));
        let (sum, len) = md5_of_file(&zip_path)?;
        if sum == expected {
            have_zip = true;
        } else {
            progress.message(&format!(
                "{}: MD5 {sum} ({len} bytes) is not {expected}; downloading it again",
                zip_path.display()
            ));
            fs::remove_file(&zip_path).with_context(|| format!("cannot remove {}", zip_path.display()))?;
        }
    }
    if !have_zip {
        download(
            agent,
            base_urls,
            split,
            &expected,
            &part_path,
            options,
            progress,
            &mut report,
        )?;
        fs::rename(&part_path, &zip_path)
            .with_context(|| format!("cannot rename {} to {}", part_path.display(), zip_path.display()))?;
    }
    report.files = unpack(&zip_path, out, name, &expected, progress)?;
    fs::remove_file(&zip_path).with_context(|| format!("cannot remove {}", zip_path.display()))?;
    progress.message(&format!(
        "{}: {} recordings, MD5 {expected} checked",
        target.display(),
        report.files
    ));
    Ok(report)
}

/// Removes the temporary directories of unpacks of `name` that a killed run left in `out`.
fn remove_stale_unpacks(out: &Path, name: &str) -> Result<()> {
    let prefix = unpack_prefix(name);
    let entries = fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))?;
    for entry in entries.flatten() {
        let stale =
            entry.file_name().to_string_lossy().starts_with(&prefix) && entry.file_type().is_ok_and(|t| t.is_dir());
        if stale {
            fs::remove_dir_all(entry.path()).with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn unpack_prefix(name: &str) -> String {
    format!(".{name}.unpacking-")
}

fn join_url(base: &str, file: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{file}")
    } else {
        format!("{base}/{file}")
    }
}

/// Downloads `split` into `part` from the first base URL that gives a copy
/// with the expected MD5.
#[allow(clippy::too_many_arguments)]
fn download(
    agent: &ureq::Agent,
    base_urls: &[&str],
    split: &Split<'_>,
    expected: &str,
    part: &Path,
    options: &Options,
    progress: &mut dyn Progress,
    report: &mut SplitReport,
) -> Result<()> {
    let zip_name = format!("{}.zip", split.name);
    let mut failures = Vec::new();
    for base in base_urls {
        let url = join_url(base, split.file);
        let mut whole_again = false;
        loop {
            progress.message(&format!("downloading {zip_name} from {url}"));
            match download_from(agent, &url, part, &zip_name, options, progress, report) {
                Ok(got) if got.md5 == expected => return Ok(()),
                Ok(got) => {
                    let _ = fs::remove_file(part);
                    let problem = format!(
                        "MD5 mismatch: expected {expected}, got {} ({} bytes); the download was deleted",
                        got.md5, got.len
                    );
                    // The resumed part may be what is wrong: one more try from the first byte.
                    if got.resumed && !whole_again {
                        progress.message(&format!("{url}: {problem}; downloading it whole again"));
                        whole_again = true;
                        continue;
                    }
                    progress.message(&format!("{url}: {problem}"));
                    failures.push(format!("{url}: {problem}"));
                }
                Err(e) => {
                    if fs::metadata(part).is_ok_and(|m| m.len() == 0) {
                        let _ = fs::remove_file(part);
                    }
                    progress.message(&format!("{url}: {e:#}"));
                    failures.push(format!("{url}: {e:#}"));
                }
            }
            break;
        }
    }
    let kept = match fs::metadata(part) {
        Ok(m) if m.len() > 0 => format!(" ({} bytes kept in {} for the next run)", m.len(), part.display()),
        _ => String::new(),
    };
    bail!("{zip_name}: no mirror gave a valid copy: {}{kept}", failures.join("; "))
}

/// A finished download: its MD5, length, and whether any of it was resumed.
struct Downloaded {
    md5: String,
    len: u64,
    resumed: bool,
}

/// What one request brought.
enum Attempt {
    /// The whole file is in.
    Complete,
    /// The connection broke; worth resuming if it brought bytes.
    Broken(anyhow::Error),
}

/// Downloads `url` into `part`, continuing what `part` holds; returns the
/// MD5 of the whole file (the part already there hashed first).
fn download_from(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    what: &str,
    options: &Options,
    progress: &mut dyn Progress,
    report: &mut SplitReport,
) -> Result<Downloaded> {
    let p = part.display();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(part)
        .with_context(|| format!("cannot open {p}"))?;
    let mut hasher = Md5::new();
    let mut len = hash_into(&mut file, &mut hasher).with_context(|| format!("cannot read {p}"))?;
    if len > 0 {
        progress.message(&format!("{what}: {len} bytes from an earlier run in {p}; resuming"));
        if report.resumed_from == 0 {
            report.resumed_from = len;
        }
    }
    let mut resumed = false;
    let mut restarted_after_416 = false;
    let mut retries_left = options.retries;
    let mut answered = false;
    loop {
        let before = len;
        let mut request = agent.get(url);
        if len > 0 {
            request = request.header("Range", format!("bytes={len}-"));
        }
        let mut response = match request.call() {
            Ok(r) => r,
            // No answer from this mirror at all: the next one, not a retry.
            Err(e) if !answered => bail!("{e}"),
            Err(e) => {
                retry_or_fail(&mut retries_left, options, progress, what, anyhow!("{e}"))?;
                continue;
            }
        };
        answered = true;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_length = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let total = match status {
            200 => {
                if len > 0 {
                    progress.message(&format!("{what}: the server sent the whole file again; starting over"));
                    restart(&mut file, &mut hasher, &mut len).with_context(|| format!("cannot truncate {p}"))?;
                    resumed = false;
                }
                content_length
            }
            206 => {
                let range = header("content-range").unwrap_or_default();
                let Some((start, total)) = parse_content_range(&range) else {
                    bail!("HTTP 206 with an unreadable Content-Range {range:?}");
                };
                if start != len {
                    bail!("asked for bytes from {len}, the server sent from {start} (Content-Range {range:?})");
                }
                resumed |= len > 0;
                total.or(content_length.map(|n| start + n))
            }
            416 if len > 0 && !restarted_after_416 => {
                progress.message(&format!(
                    "{what}: the server refused to resume at byte {len}; starting over"
                ));
                restart(&mut file, &mut hasher, &mut len).with_context(|| format!("cannot truncate {p}"))?;
                resumed = false;
                restarted_after_416 = true;
                continue;
            }
            _ => bail!("HTTP {status}"),
        };
        if let Some(total) = total.filter(|&t| t > MAX_DOWNLOAD) {
            bail!("the server announces {total} bytes, more than the {MAX_DOWNLOAD} accepted");
        }
        progress.start(&format!("download {what}"), Unit::Bytes, len, total);
        let mut body = response.body_mut().as_reader();
        let attempt = stream(&mut body, &mut file, &mut hasher, &mut len, total, progress, report);
        progress.end();
        file.sync_all().with_context(|| format!("cannot write {p}"))?;
        match attempt? {
            Attempt::Complete => {
                return Ok(Downloaded {
                    md5: hex(&hasher.finalize()),
                    len,
                    resumed,
                })
            }
            Attempt::Broken(e) => {
                if len > before {
                    retries_left = options.retries;
                }
                retry_or_fail(&mut retries_left, options, progress, what, e)?;
            }
        }
    }
}

/// Spends one retry (after the delay), or fails with `e` when none is left.
fn retry_or_fail(
    retries_left: &mut u32,
    options: &Options,
    progress: &mut dyn Progress,
    what: &str,
    e: anyhow::Error,
) -> Result<()> {
    if *retries_left == 0 {
        return Err(e);
    }
    *retries_left -= 1;
    progress.message(&format!("{what}: {e:#}; resuming in {:?}", options.retry_delay));
    std::thread::sleep(options.retry_delay);
    Ok(())
}

/// Copies `body` to the end of `file`, hashing it; a broken connection is an
/// [`Attempt::Broken`], a local write error an error.
fn stream(
    body: &mut impl Read,
    file: &mut File,
    hasher: &mut Md5,
    len: &mut u64,
    total: Option<u64>,
    progress: &mut dyn Progress,
    report: &mut SplitReport,
) -> Result<Attempt> {
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Ok(Attempt::Broken(anyhow!("connection broke after {len} bytes: {e}"))),
        };
        file.write_all(&buf[..n]).context("cannot write the download")?;
        hasher.update(&buf[..n]);
        *len += n as u64;
        report.bytes_downloaded += n as u64;
        progress.set(*len);
        if *len > MAX_DOWNLOAD {
            bail!("more than the {MAX_DOWNLOAD} bytes accepted");
        }
    }
    match total {
        Some(t) if *len < t => Ok(Attempt::Broken(anyhow!("connection closed after {len} of {t} bytes"))),
        Some(t) if *len > t => bail!("received {len} bytes, more than the {t} announced"),
        _ => Ok(Attempt::Complete),
    }
}

/// Empties the part file and the hash, for a download from the first byte.
fn restart(file: &mut File, hasher: &mut Md5, len: &mut u64) -> io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    *hasher = Md5::new();
    *len = 0;
    Ok(())
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`) as (START, TOTAL).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok().filter(|&t| t > end)?),
    };
    Some((start, total))
}

/// Feeds `reader` from where it is to its end into `hasher`; returns the byte count.
fn hash_into(reader: &mut impl Read, hasher: &mut Md5) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => {
                hasher.update(&buf[..k]);
                n += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// MD5 (lowercase hex) and length of a file.
fn md5_of_file(path: &Path) -> Result<(String, u64)> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Md5::new();
    let len = hash_into(&mut file, &mut hasher).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((hex(&hasher.finalize()), len))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Whether a zip entry name could reach outside the folder it is unpacked
/// in: absolute, a drive, or a `..` component (with `/` or `\` separators).
fn escapes(name: &str) -> bool {
    name.is_empty()
        || name.contains('\0')
        || name.starts_with(['/', '\\'])
        || name.as_bytes().get(1) == Some(&b':')
        || name.split(['/', '\\']).any(|c| c == "..")
}

/// `(label, file)` of an entry `<split>/<label>/<id>.bin`; `None` for anything else.
fn recording<'n>(name: &'n str, split: &str) -> Option<(&'n str, &'n str)> {
    let mut parts = name.split('/');
    let (top, label, file) = (parts.next()?, parts.next()?, parts.next()?);
    let plain_file = file.len() > ".bin".len()
        && file.ends_with(".bin")
        && !file.starts_with('.')
        && !file.contains(['\\', ':', '\0']);
    let plain_label = !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit());
    (parts.next().is_none() && top == split && plain_label && plain_file).then_some((label, file))
}

/// A recording's entry in the zip.
struct Entry {
    index: usize,
    label: String,
    id: String,
}

/// Opens `zip_path` and picks its `<name>/<label>/<id>.bin` entries, after
/// checking every entry name: an unreadable archive, one unsafe name or no
/// recording at all refuses the whole archive.
fn choose(zip_path: &Path, name: &str) -> Result<(zip::ZipArchive<BufReader<File>>, Vec<Entry>)> {
    let z = zip_path.display();
    let file = File::open(zip_path).with_context(|| format!("cannot open {z}"))?;
    let mut archive =
        zip::ZipArchive::new(BufReader::new(file)).map_err(|e| anyhow!("{z} is not a readable zip: {e}"))?;
    let mut chosen = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| anyhow!("{z}: entry {index}: {e}"))?;
        let entry_name = entry.name();
        if escapes(entry_name) || entry.enclosed_name().is_none() {
            bail!("{z}: refused: entry {entry_name:?} would be written outside the target directory");
        }
        if entry.is_dir() || entry.is_symlink() {
            continue;
        }
        if let Some((label, id)) = recording(entry_name, name) {
            chosen.push(Entry {
                index,
                label: label.to_string(),
                id: id.to_string(),
            });
        }
    }
    if chosen.is_empty() {
        bail!("{z} holds no {name}/<label>/<id>.bin entry");
    }
    Ok((archive, chosen))
}

/// Unpacks the `<name>/<label>/<id>.bin` entries of `zip_path` into
/// `out/<name>` through a temporary directory in `out`; returns how many.
fn unpack(zip_path: &Path, out: &Path, name: &str, md5: &str, progress: &mut dyn Progress) -> Result<u64> {
    let z = zip_path.display();
    // A refused archive is deleted: only a new download can help.
    let (mut archive, chosen) = choose(zip_path, name).inspect_err(|_| {
        let _ = fs::remove_file(zip_path);
    })?;

    let tmp = tempfile::Builder::new()
        .prefix(&unpack_prefix(name))
        .tempdir_in(out)
        .with_context(|| format!("cannot create a temporary directory in {}", out.display()))?;
    let root = tmp.path().join(name);
    fs::create_dir(&root).with_context(|| format!("cannot create {}", root.display()))?;
    progress.start(&format!("unpack {name}.zip"), Unit::Files, 0, Some(chosen.len() as u64));
    let unpacked = (|| -> Result<()> {
        let mut made = std::collections::HashSet::new();
        for (done, Entry { index, label, id }) in chosen.iter().enumerate() {
            let dir = root.join(label);
            if made.insert(label.as_str()) {
                fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let mut entry = archive
                .by_index(*index)
                .map_err(|e| anyhow!("{z}: {name}/{label}/{id}: {e}"))?;
            let path = dir.join(id);
            let target = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => anyhow!("{z}: {name}/{label}/{id} is in it twice"),
                    _ => anyhow!("cannot create {}: {e}", path.display()),
                })?;
            let mut writer = BufWriter::new(target);
            let copied = io::copy(&mut (&mut entry).take(MAX_ENTRY + 1), &mut writer)
                .map_err(|e| anyhow!("{z}: {name}/{label}/{id}: {e}"))?;
            if copied > MAX_ENTRY {
                bail!("{z}: {name}/{label}/{id} unpacks to more than {MAX_ENTRY} bytes");
            }
            writer
                .into_inner()
                .map_err(|e| anyhow!("cannot write {}: {}", path.display(), e.error()))?;
            progress.set(done as u64 + 1);
        }
        // The marker last: a split with it is complete.
        let marker = root.join(MARKER);
        fs::write(&marker, format!("{md5}\n")).with_context(|| format!("cannot write {}", marker.display()))?;
        let target = out.join(name);
        fs::rename(&root, &target)
            .with_context(|| format!("cannot rename {} to {}", root.display(), target.display()))?;
        Ok(())
    })();
    progress.end();
    unpacked?;
    tmp.close()
        .with_context(|| format!("cannot remove a temporary directory in {}", out.display()))?;
    Ok(chosen.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_entry_names_are_recognised() {
        for bad in [
            "../evil.bin",
            "Train/../../evil.bin",
            "Train/0/../../../x.bin",
            "/etc/passwd",
            "\\evil.bin",
            "C:/evil.bin",
            "Train\\..\\..\\evil.bin",
            "",
        ] {
            assert!(escapes(bad), "{bad:?}");
        }
        for good in ["Train/0/00002.bin", "Train/", "Test/9/10000.bin", "Train/0/a..b.bin"] {
            assert!(!escapes(good), "{good:?}");
        }
    }

    #[test]
    fn only_split_label_id_bin_entries_are_recordings() {
        assert_eq!(recording("Train/0/00002.bin", "Train"), Some(("0", "00002.bin")));
        assert_eq!(recording("Test/9/10000.bin", "Test"), Some(("9", "10000.bin")));
        for other in [
            "Test/0/00002.bin",
            "Train/0/",
            "Train/0/00002.txt",
            "Train/0/.bin",
            "Train/0/._00002.bin",
            "Train/x/00002.bin",
            "Train/00002.bin",
            "Train/0/1/00002.bin",
            "__MACOSX/Train/0/00002.bin",
        ] {
            assert_eq!(recording(other, "Train"), None, "{other:?}");
        }
    }

    #[test]
    fn content_range_is_parsed() {
        assert_eq!(parse_content_range("bytes 100-199/200"), Some((100, Some(200))));
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, None)));
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(parse_content_range("bytes 0-9/9"), None);
        assert_eq!(parse_content_range("items 0-9/10"), None);
        assert_eq!(parse_content_range(""), None);
    }

    #[test]
    fn md5_hex_of_a_known_input() {
        // RFC 1321's test suite.
        assert_eq!(hex(&Md5::digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn published_splits_are_valid() {
        for split in SPLITS {
            check_split(&split).unwrap();
        }
        assert!(BASE_URL.starts_with("https://") && BASE_URL.ends_with('/'));
        assert!(check_split(&Split { name: "../x", ..TRAIN }).is_err());
        assert!(check_split(&Split { md5: "abc", ..TRAIN }).is_err());
    }
}
