//! MNIST-format IDX data sets: loading and fetching.
//!
//! Reads the four standard IDX files of MNIST (or any 28x28, 10-class set in
//! the same layout, such as Fashion-MNIST), gzip-compressed or raw, and
//! downloads them from public mirrors with checksum verification.
//!
//! Every error is one line that names the file and the problem. No input file
//! can make the loader panic or allocate more than the data actually present.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
#[cfg(feature = "fetch")]
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use flate2::read::MultiGzDecoder;
#[cfg(feature = "fetch")]
use sha2::{Digest, Sha256};

/// Digit height in pixels that the loader accepts.
pub const ROWS: usize = 28;
/// Digit width in pixels that the loader accepts.
pub const COLS: usize = 28;
/// Number of classes; labels are `0..NUM_CLASSES`.
pub const NUM_CLASSES: usize = 10;

/// IDX magic number of an unsigned-byte, 3-dimensional array (the digits).
pub const DIGITS_MAGIC: u32 = 0x0000_0803;
/// IDX magic number of an unsigned-byte, 1-dimensional array (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The training digits' file name (MNIST's own: `train-images-...`), without the `.gz` extension.
pub const TRAIN_DIGITS: &str = "train-images-idx3-ubyte";
/// Training labels file name, without the `.gz` extension.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// The test digits' file name (MNIST's own: `t10k-images-...`), without the `.gz` extension.
pub const TEST_DIGITS: &str = "t10k-images-idx3-ubyte";
/// Test labels file name, without the `.gz` extension.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Public mirrors of the MNIST `.gz` files, tried in order by [`fetch`]
/// (unless [`MIRRORS_VAR`] names others, see [`mirrors`]).
pub const MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const DIGITS_HEADER_LEN: usize = 16;
const LABELS_HEADER_LEN: usize = 8;

/// A labelled set of digits: `len()` digits of `rows` x `cols` u8 pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Pixels of all digits, `len * rows * cols` bytes, digit after digit, each row-major.
    pub pixels: Vec<u8>,
    /// One label per digit, `0..NUM_CLASSES`.
    pub labels: Vec<u8>,
    /// Digit height in pixels.
    pub rows: usize,
    /// Digit width in pixels.
    pub cols: usize,
}

impl Dataset {
    /// Number of digits (and labels).
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True if the set holds no digit.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of digit `i`, `rows * cols` bytes, row-major.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    pub fn digit(&self, i: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.pixels[i * size..(i + 1) * size]
    }

    /// Label of digit `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// Number of digits per class; labels outside `0..NUM_CLASSES` are not counted.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }
}

/// Loads the training and test sets from `dir`, which holds the four standard
/// files, each either gzip-compressed (`NAME.gz`) or raw (`NAME`).
///
/// Returns `(train, test)`.
pub fn load_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    if !dir.is_dir() {
        bail!("MNIST directory {} does not exist or is not a directory", dir.display());
    }
    let names = [TRAIN_DIGITS, TRAIN_LABELS, TEST_DIGITS, TEST_LABELS];
    let mut found = Vec::with_capacity(names.len());
    let mut missing = Vec::new();
    for name in names {
        match find_variant(dir, name) {
            Some(path) => found.push(path),
            None => missing.push(format!("{name}.gz or {name}")),
        }
    }
    if !missing.is_empty() {
        bail!(
            "MNIST files missing in {}: looked for {}",
            dir.display(),
            missing.join(", ")
        );
    }
    let train = load_pair(&found[0], &found[1])?;
    let test = load_pair(&found[2], &found[3])?;
    Ok((train, test))
}

/// Loads one set from an IDX digits file and an IDX labels file, each
/// gzip-compressed or raw (detected from the content, not the name).
pub fn load_pair(digits: &Path, labels: &Path) -> Result<Dataset> {
    let (n_digits, pixels) = read_idx(digits, IdxKind::Digits)?;
    let (n_labels, label_bytes) = read_idx(labels, IdxKind::Labels)?;
    if n_digits != n_labels {
        bail!(
            "digit/label count mismatch: {} has {n_digits} digits but {} has {n_labels} labels",
            digits.display(),
            labels.display()
        );
    }
    if let Some(i) = label_bytes.iter().position(|&l| usize::from(l) >= NUM_CLASSES) {
        bail!(
            "{}: label value {} at index {i} is out of range (expected 0..={})",
            labels.display(),
            label_bytes[i],
            NUM_CLASSES - 1
        );
    }
    Ok(Dataset {
        pixels,
        labels: label_bytes,
        rows: ROWS,
        cols: COLS,
    })
}

/// The environment variable naming the MNIST directory of commands run
/// without `--data` (the directory itself, holding the four files).
pub const DATA_DIR_VAR: &str = "STDP_DATA_DIR";
/// The environment variable that replaces [`MIRRORS`]: base URLs separated
/// by commas or white space (e.g. a local copy, or a loopback server in tests).
pub const MIRRORS_VAR: &str = "STDP_MNIST_MIRRORS";

/// Where commands run without `--data` keep MNIST: `$STDP_DATA_DIR` if
/// set, else `$XDG_CACHE_HOME/stdp/mnist`, else `$HOME/.cache/stdp/mnist`.
pub fn cache_dir() -> Result<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

/// [`cache_dir`] with the environment given by `var` (empty values count
/// as unset; a relative `XDG_CACHE_HOME` is ignored, as the XDG base
/// directory specification asks).
pub fn cache_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var(DATA_DIR_VAR) {
        return Ok(dir);
    }
    if let Some(cache) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Ok(cache.join("stdp").join("mnist"));
    }
    match var("HOME") {
        Some(home) => Ok(home.join(".cache").join("stdp").join("mnist")),
        None => {
            bail!("no MNIST directory: pass --data DIR, or set {DATA_DIR_VAR} (neither XDG_CACHE_HOME nor HOME is set)")
        }
    }
}

/// Whether `dir` holds the four files (each gzip or raw); their content is
/// checked when they are loaded.
pub fn is_complete(dir: &Path) -> bool {
    [TRAIN_DIGITS, TRAIN_LABELS, TEST_DIGITS, TEST_LABELS]
        .iter()
        .all(|name| find_variant(dir, name).is_some())
}

/// The mirrors to fetch from: `$STDP_MNIST_MIRRORS` if set, else [`MIRRORS`].
pub fn mirrors() -> Vec<String> {
    match std::env::var(MIRRORS_VAR) {
        Ok(list) if !list.trim().is_empty() => list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => MIRRORS.iter().map(|m| (*m).to_owned()).collect(),
    }
}

/// The MNIST directory of a command run without `--data`: [`cache_dir`],
/// where the four files are fetched from [`mirrors`] (checksummed, see
/// [`fetch`]) if any is missing, with one line on stderr saying where.
pub fn cached() -> Result<PathBuf> {
    let dir = cache_dir()?;
    if is_complete(&dir) {
        return Ok(dir);
    }
    #[cfg(feature = "fetch")]
    {
        eprintln!(
            "mnist: not in {}; downloading it there (about 11 MB, once; --data DIR or {DATA_DIR_VAR} reads it from elsewhere)",
            dir.display()
        );
        let mirrors = mirrors();
        let mirrors: Vec<&str> = mirrors.iter().map(String::as_str).collect();
        fetch(&dir, &mirrors)?;
        Ok(dir)
    }
    #[cfg(not(feature = "fetch"))]
    bail!(
        "MNIST is not in {} and this build cannot download it (built without the `fetch` feature): pass --data DIR, or set {DATA_DIR_VAR}",
        dir.display()
    )
}

/// The existing file for `name` in `dir`: `name.gz` first, then `name`.
fn find_variant(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(format!("{name}.gz")), dir.join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IdxKind {
    Digits,
    Labels,
}

impl IdxKind {
    fn magic(self) -> u32 {
        match self {
            IdxKind::Digits => DIGITS_MAGIC,
            IdxKind::Labels => LABELS_MAGIC,
        }
    }

    fn header_len(self) -> usize {
        match self {
            IdxKind::Digits => DIGITS_HEADER_LEN,
            IdxKind::Labels => LABELS_HEADER_LEN,
        }
    }

    fn what(self) -> &'static str {
        match self {
            IdxKind::Digits => "digits",
            IdxKind::Labels => "labels",
        }
    }
}

/// Reads one IDX file of `kind`; returns the item count and the payload.
///
/// The payload size claimed by the header is checked against the bytes
/// actually present before a buffer of that size is allocated (for a raw file
/// against its length; for gzip, the buffer grows only as data decompresses).
fn read_idx(path: &Path, kind: IdxKind) -> Result<(usize, Vec<u8>)> {
    let p = path.display();
    let file = File::open(path).map_err(|e| anyhow!("{p}: cannot open: {e}"))?;
    let file_len = file
        .metadata()
        .map_err(|e| anyhow!("{p}: cannot read metadata: {e}"))?
        .len();
    let mut buffered = BufReader::with_capacity(1 << 16, file);
    let is_gzip = buffered
        .fill_buf()
        .map_err(|e| anyhow!("{p}: read error: {e}"))?
        .starts_with(&GZIP_MAGIC);
    let read_problem = |e: std::io::Error| {
        if is_gzip {
            anyhow!("{p}: corrupt or truncated gzip stream: {e}")
        } else {
            anyhow!("{p}: read error: {e}")
        }
    };
    let decompressed = if is_gzip { "decompressed " } else { "" };
    let mut reader: Box<dyn Read> = if is_gzip {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };

    let header_len = kind.header_len();
    let mut header = [0u8; DIGITS_HEADER_LEN];
    let header = &mut header[..header_len];
    let got = read_up_to(&mut reader, header).map_err(read_problem)?;
    if got < 4 {
        bail!("{p}: truncated header: expected {header_len} {decompressed}bytes, found {got}");
    }
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    if magic != kind.magic() {
        let hint = match (kind, magic) {
            (IdxKind::Digits, LABELS_MAGIC) => " (this looks like a labels file)",
            (IdxKind::Labels, DIGITS_MAGIC) => " (this looks like a digits file)",
            _ => "",
        };
        bail!(
            "{p}: wrong magic number 0x{magic:08x}, expected 0x{:08x} for an IDX {} file{hint}",
            kind.magic(),
            kind.what()
        );
    }
    if got < header_len {
        bail!("{p}: truncated header: expected {header_len} {decompressed}bytes, found {got}");
    }
    let dim = |i: usize| u32::from_be_bytes([header[4 * i], header[4 * i + 1], header[4 * i + 2], header[4 * i + 3]]);
    let count = dim(1);
    let item_size: u64 = match kind {
        IdxKind::Digits => {
            let (rows, cols) = (dim(2), dim(3));
            if (rows as usize, cols as usize) != (ROWS, COLS) {
                bail!("{p}: wrong digit size {rows}x{cols}, expected {ROWS}x{COLS}");
            }
            (ROWS * COLS) as u64
        }
        IdxKind::Labels => 1,
    };
    // At most 2^32 * 784: fits in u64.
    let payload_len = u64::from(count) * item_size;
    let expected_total = header_len as u64 + payload_len;
    let describe = || match kind {
        IdxKind::Digits => format!("{header_len}-byte header + {count} digits of {ROWS}x{COLS}"),
        IdxKind::Labels => format!("{header_len}-byte header + {count} labels"),
    };

    if !is_gzip && file_len != expected_total {
        let problem = if file_len < expected_total {
            "truncated data"
        } else {
            "file too long"
        };
        bail!(
            "{p}: {problem}: expected {expected_total} bytes ({}), found {file_len}",
            describe()
        );
    }
    // Raw: checked against the file length above. Gzip: never reserve more
    // than deflate's maximum expansion (~1032:1) of the compressed bytes.
    let reserve = if is_gzip {
        payload_len.min(file_len.saturating_mul(1032))
    } else {
        payload_len
    };
    let mut payload = Vec::new();
    payload
        .try_reserve_exact(usize::try_from(reserve).unwrap_or(usize::MAX))
        .map_err(|e| anyhow!("{p}: cannot allocate {reserve} bytes for {count} {}: {e}", kind.what()))?;
    (&mut reader)
        .take(payload_len)
        .read_to_end(&mut payload)
        .map_err(read_problem)?;
    let found = header_len as u64 + payload.len() as u64;
    if found < expected_total {
        bail!(
            "{p}: truncated data: expected {expected_total} {decompressed}bytes ({}), found {found}",
            describe()
        );
    }
    if is_gzip {
        // Reading to the end makes the decoder check the gzip CRC and length.
        let mut probe = [0u8; 1];
        if read_up_to(&mut reader, &mut probe).map_err(read_problem)? > 0 {
            bail!(
                "{p}: file too long: expected {expected_total} decompressed bytes ({}), found more",
                describe()
            );
        }
    }
    let count = usize::try_from(count).map_err(|_| anyhow!("{p}: {count} {} is too many", kind.what()))?;
    Ok((count, payload))
}

/// Reads until `buf` is full or EOF; returns the number of bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// One of the four files, with the SHA-256 of its decompressed IDX content.
#[cfg(feature = "fetch")]
struct KnownFile {
    name: &'static str,
    idx_len: u64,
    sha256: &'static str,
}

#[cfg(feature = "fetch")]
/// SHA-256 of the DECOMPRESSED IDX files (`gunzip -c NAME.gz | sha256sum`),
/// computed from the project's shared copy. Mirrors recompress with different
/// gzip headers (name, mtime), so the `.gz` archives' hashes differ between
/// mirrors while the decompressed content is the same everywhere.
const KNOWN_FILES: [KnownFile; 4] = [
    KnownFile {
        name: TRAIN_DIGITS,
        idx_len: 47_040_016,
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    KnownFile {
        name: TRAIN_LABELS,
        idx_len: 60_008,
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    KnownFile {
        name: TEST_DIGITS,
        idx_len: 7_840_016,
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    KnownFile {
        name: TEST_LABELS,
        idx_len: 10_008,
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

#[cfg(feature = "fetch")]
/// Largest download accepted (the biggest `.gz` is about 9.2 MiB; raw 45 MiB).
const MAX_DOWNLOAD: u64 = 64 << 20;

#[cfg(feature = "fetch")]
/// Downloads the four MNIST `.gz` files into `out` (created if needed),
/// trying the mirrors in `base_urls` in order (e.g. [`MIRRORS`]).
///
/// Each file is verified by the SHA-256 of its decompressed content and
/// written atomically (temporary file in `out`, then rename). Files already in
/// `out` with the right checksum are kept. Progress goes to stderr.
pub fn fetch(out: &Path, base_urls: &[&str]) -> Result<()> {
    if base_urls.is_empty() {
        bail!("no mirror URL given to fetch MNIST from");
    }
    // A failed run removes the directories it made and left empty.
    let created = super::create_dir_all_recording(out)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(30)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let result = KNOWN_FILES
        .iter()
        .try_for_each(|known| fetch_one(&agent, out, base_urls, known));
    if result.is_err() {
        super::remove_created_if_empty(&created);
    }
    result
}

#[cfg(feature = "fetch")]
fn fetch_one(agent: &ureq::Agent, out: &Path, base_urls: &[&str], known: &KnownFile) -> Result<()> {
    let name = known.name;
    let gz_name = format!("{name}.gz");
    let mut stale = Vec::new();
    for path in [out.join(&gz_name), out.join(name)] {
        if !path.is_file() {
            continue;
        }
        let verdict = std::fs::read(&path)
            .map_err(|e| anyhow!("{e}"))
            .and_then(|bytes| verify(known, &bytes));
        match verdict {
            Ok(_) => {
                eprintln!("mnist: {} already present, checksum ok", path.display());
                return Ok(());
            }
            Err(e) => {
                eprintln!("mnist: {} is not valid ({e}); downloading again", path.display());
                stale.push(path);
            }
        }
    }

    let mut failures = Vec::new();
    for base in base_urls {
        let url = if base.ends_with('/') {
            format!("{base}{gz_name}")
        } else {
            format!("{base}/{gz_name}")
        };
        eprintln!("mnist: downloading {url}");
        let attempt = download(agent, &url).and_then(|body| {
            let is_gzip = verify(known, &body)?;
            Ok((body, is_gzip))
        });
        match attempt {
            Ok((body, is_gzip)) => {
                // A mirror that serves the raw IDX content is stored under the raw name.
                let target = out.join(if is_gzip { gz_name.as_str() } else { name });
                crate::write_atomic(&target, &body)?;
                for old in stale.iter().filter(|old| **old != target) {
                    // Best effort: `load_dir` prefers `.gz`, so a stale one must go.
                    let _ = std::fs::remove_file(old);
                }
                eprintln!("mnist: wrote {} ({} bytes, checksum ok)", target.display(), body.len());
                return Ok(());
            }
            Err(e) => {
                eprintln!("mnist: {url}: {e}");
                failures.push(format!("{url}: {e}"));
            }
        }
    }
    bail!("{gz_name}: no mirror gave a valid copy: {}", failures.join("; "))
}

#[cfg(feature = "fetch")]
fn download(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>> {
    let mut response = agent.get(url).call().map_err(|e| anyhow!("{e}"))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD)
        .read_to_vec()
        .map_err(|e| anyhow!("{e}"))
}

#[cfg(feature = "fetch")]
/// Checks `bytes` (gzip or raw IDX) against `known`; returns whether it was gzip.
fn verify(known: &KnownFile, bytes: &[u8]) -> Result<bool> {
    let is_gzip = bytes.starts_with(&GZIP_MAGIC);
    let mut content = Vec::new();
    let content: &[u8] = if is_gzip {
        // One byte beyond the expected size is enough to tell it is wrong.
        MultiGzDecoder::new(bytes)
            .take(known.idx_len + 1)
            .read_to_end(&mut content)
            .map_err(|e| anyhow!("{}: corrupt or truncated gzip stream: {e}", known.name))?;
        &content
    } else {
        bytes
    };
    let actual = hex(&Sha256::digest(content));
    if actual != known.sha256 {
        bail!(
            "checksum mismatch for {}: SHA-256 of the decompressed content is {actual} ({} bytes), expected {} ({} bytes)",
            known.name,
            content.len(),
            known.sha256,
            known.idx_len
        );
    }
    Ok(is_gzip)
}

#[cfg(feature = "fetch")]
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn cache_dir_is_stdp_data_dir_then_xdg_cache_home_then_home() {
        let all = [
            ("STDP_DATA_DIR", "/data/mnist"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        let dir = |vars: &[(&str, &str)]| cache_dir_from(env(vars)).unwrap();
        assert_eq!(dir(&all), Path::new("/data/mnist"));
        assert_eq!(dir(&all[1..]), Path::new("/xdg/stdp/mnist"));
        assert_eq!(dir(&all[2..]), Path::new("/home/u/.cache/stdp/mnist"));
    }

    #[test]
    fn cache_dir_ignores_empty_values_and_a_relative_xdg_cache_home() {
        let vars = [("STDP_DATA_DIR", ""), ("XDG_CACHE_HOME", "cache"), ("HOME", "/home/u")];
        assert_eq!(
            cache_dir_from(env(&vars)).unwrap(),
            Path::new("/home/u/.cache/stdp/mnist")
        );
        let msg = format!("{:#}", cache_dir_from(env(&[])).unwrap_err());
        assert!(msg.contains("--data") && msg.contains("STDP_DATA_DIR"), "{msg}");
    }

    #[test]
    #[cfg(feature = "fetch")]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
    }

    #[test]
    #[cfg(feature = "fetch")]
    fn verify_accepts_raw_content_with_the_right_hash_and_rejects_other_content() {
        // SHA-256("abc"), FIPS 180-2 example.
        let sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let known = KnownFile {
            name: "x",
            idx_len: 3,
            sha256,
        };
        assert!(!verify(&known, b"abc").unwrap());
        let err = verify(&known, b"abd").unwrap_err().to_string();
        assert!(err.contains("checksum mismatch for x"), "{err}");
    }
}
