//! MNIST data layer: loading the shared set, rejecting bad files with clear
//! errors, and fetching from (local, loopback-only) mirrors.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use stdp_host::formats::mnist;

mod common;

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

/// IDX digits file: header claiming `count` digits of `rows`x`cols`, then `pixels`.
fn idx_digits(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [count, rows, cols] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(pixels);
    v
}

/// IDX labels file holding exactly `labels`.
fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

/// `n` valid 28x28 digits whose pixel bytes are the digit's index.
fn valid_digits(n: u8) -> Vec<u8> {
    let pixels: Vec<u8> = (0..n).flat_map(|i| std::iter::repeat_n(i, 784)).collect();
    idx_digits(u32::from(n), 28, 28, &pixels)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A small valid set in `dir`: 3 training and 2 test digits; gzip or raw.
fn write_small_set(dir: &Path, gz: bool) {
    let contents = [
        valid_digits(3),
        idx_labels(&[1, 2, 9]),
        valid_digits(2),
        idx_labels(&[0, 7]),
    ];
    for (name, bytes) in FILES.iter().zip(contents) {
        if gz {
            write(dir, &format!("{name}.gz"), &gzip(&bytes));
        } else {
            write(dir, name, &bytes);
        }
    }
}

/// Loads a digits/labels pair and returns the error line, which must exist.
fn pair_error(digits: &Path, labels: &Path) -> String {
    match mnist::load_pair(digits, labels) {
        Ok(d) => panic!("expected an error, loaded {} digits", d.len()),
        Err(e) => format!("{e:#}"),
    }
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for part in parts {
        assert!(msg.contains(part), "error {msg:?} does not mention {part:?}");
    }
    assert!(!msg.contains('\n'), "error is not one line: {msg:?}");
}

// ---------------------------------------------------------------- loading

#[test]
fn shared_set_has_standard_sizes_class_counts_and_first_labels() {
    let (train, test) = mnist::load_dir(&common::shared("mnist")).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!((train.rows, train.cols, test.rows, test.cols), (28, 28, 28, 28));
    assert_eq!(train.pixels.len(), 60_000 * 784);
    assert_eq!(
        train.class_counts(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        test.class_counts(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(train.labels[..8], [5, 0, 4, 1, 9, 2, 1, 3]);
    assert_eq!(test.labels[..8], [7, 2, 1, 0, 4, 1, 4, 9]);
    assert_eq!(train.label(0), 5);
    let first = train.digit(0);
    assert_eq!(first.len(), 784);
    // MNIST digits sit on a black border with ink in the middle.
    assert_eq!(first[0], 0);
    assert!(first.iter().filter(|&&p| p > 0).count() > 50);
    assert_eq!(test.digit(9_999).len(), 784);
}

#[test]
fn raw_uncompressed_files_load_like_the_gzip_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let digits_gz = common::shared("mnist").join("t10k-images-idx3-ubyte.gz");
    let labels_gz = common::shared("mnist").join("t10k-labels-idx1-ubyte.gz");
    let digits = write(
        tmp.path(),
        "t10k-images-idx3-ubyte",
        &gunzip(&std::fs::read(&digits_gz).unwrap()),
    );
    let labels = write(
        tmp.path(),
        "t10k-labels-idx1-ubyte",
        &gunzip(&std::fs::read(&labels_gz).unwrap()),
    );
    let raw = mnist::load_pair(&digits, &labels).unwrap();
    let gz = mnist::load_pair(&digits_gz, &labels_gz).unwrap();
    assert_eq!(raw, gz);
}

#[test]
fn load_dir_reads_a_raw_set() {
    let tmp = tempfile::tempdir().unwrap();
    write_small_set(tmp.path(), false);
    let (train, test) = mnist::load_dir(tmp.path()).unwrap();
    assert_eq!(train.labels, [1, 2, 9]);
    assert_eq!(test.labels, [0, 7]);
    assert!(train.digit(2).iter().all(|&p| p == 2));
    assert!(test.digit(1).iter().all(|&p| p == 1));
}

#[test]
fn load_dir_reads_a_gzip_set() {
    let tmp = tempfile::tempdir().unwrap();
    write_small_set(tmp.path(), true);
    let (train, test) = mnist::load_dir(tmp.path()).unwrap();
    assert_eq!((train.len(), test.len()), (3, 2));
    assert_eq!(train.class_counts(), [0, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn content_decides_gzip_or_raw_not_the_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    // gzip data without extension, raw data with a .gz extension.
    let digits = write(tmp.path(), "digits", &gzip(&valid_digits(2)));
    let labels = write(tmp.path(), "labels.gz", &idx_labels(&[3, 4]));
    let d = mnist::load_pair(&digits, &labels).unwrap();
    assert_eq!(d.labels, [3, 4]);
}

#[test]
fn empty_set_loads_as_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let digits = write(tmp.path(), "i", &valid_digits(0));
    let labels = write(tmp.path(), "l", &idx_labels(&[]));
    let d = mnist::load_pair(&digits, &labels).unwrap();
    assert!(d.is_empty());
}

// ---------------------------------------------------------------- bad files

#[test]
fn missing_files_are_listed_with_every_name_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    write_small_set(tmp.path(), true);
    std::fs::remove_file(tmp.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    std::fs::remove_file(tmp.path().join("train-images-idx3-ubyte.gz")).unwrap();
    let msg = format!("{:#}", mnist::load_dir(tmp.path()).unwrap_err());
    assert_mentions(
        &msg,
        &[
            "missing",
            &tmp.path().display().to_string(),
            "t10k-labels-idx1-ubyte.gz or t10k-labels-idx1-ubyte",
            "train-images-idx3-ubyte.gz or train-images-idx3-ubyte",
        ],
    );
    assert!(!msg.contains("train-labels"), "{msg}");
}

#[test]
fn missing_directory_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nope");
    let msg = format!("{:#}", mnist::load_dir(&dir).unwrap_err());
    assert_mentions(&msg, &[&dir.display().to_string(), "does not exist"]);
}

#[test]
fn missing_file_in_load_pair_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = write(tmp.path(), "l", &idx_labels(&[1]));
    let digits = tmp.path().join("absent-images");
    assert_mentions(&pair_error(&digits, &labels), &["absent-images", "cannot open"]);
}

#[test]
fn wrong_magic_in_digits_file_says_found_and_expected() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = valid_digits(1);
    bytes[2] = 0x09;
    let digits = write(tmp.path(), "bad-images", &bytes);
    let labels = write(tmp.path(), "l", &idx_labels(&[1]));
    assert_mentions(
        &pair_error(&digits, &labels),
        &["bad-images", "wrong magic number", "0x00000903", "0x00000803"],
    );
}

#[test]
fn swapped_files_are_reported_as_wrong_magic() {
    let tmp = tempfile::tempdir().unwrap();
    let digits = write(tmp.path(), "real-images", &valid_digits(1));
    let labels = write(tmp.path(), "real-labels", &idx_labels(&[1]));
    let msg = pair_error(&labels, &digits);
    assert_mentions(
        &msg,
        &[
            "real-labels",
            "wrong magic number 0x00000801",
            "expected 0x00000803",
            "labels file",
        ],
    );
    let tmp2 = tempfile::tempdir().unwrap();
    let labels_as_digits = write(tmp2.path(), "labels-slot", &valid_digits(1));
    let msg = pair_error(&digits, &labels_as_digits);
    assert_mentions(
        &msg,
        &["labels-slot", "wrong magic number 0x00000803", "expected 0x00000801"],
    );
}

#[test]
fn truncated_raw_digits_say_expected_and_found_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = valid_digits(3);
    bytes.truncate(bytes.len() - 10);
    let digits = write(tmp.path(), "short-images", &bytes);
    let labels = write(tmp.path(), "l", &idx_labels(&[1, 2, 3]));
    let msg = pair_error(&digits, &labels);
    assert_mentions(
        &msg,
        &["short-images", "truncated", "expected 2368 bytes", "found 2358"],
    );
}

#[test]
fn truncated_gzip_payload_says_expected_and_found_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = idx_labels(&[1, 2, 3, 4]);
    bytes.truncate(bytes.len() - 1);
    let labels = write(tmp.path(), "short-labels.gz", &gzip(&bytes));
    let digits = write(tmp.path(), "i", &valid_digits(4));
    let msg = pair_error(&digits, &labels);
    assert_mentions(
        &msg,
        &[
            "short-labels.gz",
            "truncated",
            "expected 12 decompressed bytes",
            "found 11",
        ],
    );
}

#[test]
fn truncated_header_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let digits = write(tmp.path(), "tiny-images", &valid_digits(1)[..10]);
    let labels = write(tmp.path(), "l", &idx_labels(&[1]));
    assert_mentions(
        &pair_error(&digits, &labels),
        &["tiny-images", "truncated header", "expected 16", "found 10"],
    );
    let empty = write(tmp.path(), "empty-images", &[]);
    assert_mentions(
        &pair_error(&empty, &labels),
        &["empty-images", "truncated header", "found 0"],
    );
}

#[test]
fn trailing_data_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = idx_labels(&[1, 2]);
    bytes.push(5);
    let raw = write(tmp.path(), "long-labels", &bytes);
    let gz = write(tmp.path(), "long-labels.gz", &gzip(&bytes));
    let digits = write(tmp.path(), "i", &valid_digits(2));
    assert_mentions(
        &pair_error(&digits, &raw),
        &["long-labels", "too long", "expected 10 bytes", "found 11"],
    );
    assert_mentions(&pair_error(&digits, &gz), &["long-labels.gz", "too long"]);
}

#[test]
fn huge_claimed_count_fails_without_allocating_it() {
    // 0xFFFFFFFF digits of 28x28 would be 3.4 TB; the file has 16 bytes.
    let tmp = tempfile::tempdir().unwrap();
    let header = idx_digits(u32::MAX, 28, 28, &[]);
    let raw = write(tmp.path(), "huge-images", &header);
    let gz = write(tmp.path(), "huge-images.gz", &gzip(&header));
    let labels = write(tmp.path(), "l", &idx_labels(&[1]));
    let expected = format!("expected {} ", 16 + u64::from(u32::MAX) * 784);
    assert_mentions(
        &pair_error(&raw, &labels),
        &["huge-images", "truncated", &expected, "found 16"],
    );
    assert_mentions(
        &pair_error(&gz, &labels),
        &["huge-images.gz", "truncated", &expected, "found 16"],
    );
    let mut labels_header = vec![0, 0, 8, 1];
    labels_header.extend_from_slice(&u32::MAX.to_be_bytes());
    let huge_labels = write(tmp.path(), "huge-labels", &labels_header);
    let digits = write(tmp.path(), "i", &valid_digits(1));
    assert_mentions(
        &pair_error(&digits, &huge_labels),
        &["huge-labels", "truncated", "expected 4294967303 bytes"],
    );
}

#[test]
fn count_mismatch_names_both_files_and_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let digits = write(tmp.path(), "three-images", &valid_digits(3));
    let labels = write(tmp.path(), "two-labels", &idx_labels(&[1, 2]));
    assert_mentions(
        &pair_error(&digits, &labels),
        &["count mismatch", "three-images", "3 digits", "two-labels", "2 labels"],
    );
}

#[test]
fn wrong_digit_size_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let digits = write(tmp.path(), "cifar-ish", &idx_digits(1, 32, 32, &[0; 1024]));
    let labels = write(tmp.path(), "l", &idx_labels(&[1]));
    assert_mentions(
        &pair_error(&digits, &labels),
        &["cifar-ish", "wrong digit size 32x32", "expected 28x28"],
    );
}

#[test]
fn label_above_nine_is_reported_with_its_index() {
    let tmp = tempfile::tempdir().unwrap();
    let digits = write(tmp.path(), "i", &valid_digits(3));
    let labels = write(tmp.path(), "bad-labels.gz", &gzip(&idx_labels(&[1, 12, 3])));
    assert_mentions(
        &pair_error(&digits, &labels),
        &["bad-labels.gz", "label value 12", "index 1", "0..=9"],
    );
}

#[test]
fn corrupt_gzip_streams_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = write(tmp.path(), "l", &idx_labels(&[1, 2]));
    let good = gzip(&valid_digits(2));

    // Gzip magic followed by garbage.
    let mut garbage = vec![0x1f, 0x8b];
    garbage.extend_from_slice(&[0xAA; 64]);
    let path = write(tmp.path(), "garbage-images.gz", &garbage);
    assert_mentions(
        &pair_error(&path, &labels),
        &["garbage-images.gz", "corrupt or truncated gzip"],
    );

    // Stream cut in the middle.
    let path = write(tmp.path(), "cut-images.gz", &good[..good.len() / 2]);
    assert_mentions(&pair_error(&path, &labels), &["cut-images.gz", "gzip"]);

    // Flipped bit in the CRC-32 trailer: decompresses fully but fails the check.
    let mut bad_crc = good.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 1;
    let path = write(tmp.path(), "crc-images.gz", &bad_crc);
    assert_mentions(
        &pair_error(&path, &labels),
        &["crc-images.gz", "corrupt or truncated gzip"],
    );
}

#[test]
fn every_truncation_of_a_small_gzip_file_errors_without_panicking() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = write(tmp.path(), "l", &idx_labels(&[1]));
    let good = gzip(&valid_digits(1));
    for cut in 0..good.len() {
        let path = write(tmp.path(), "cut.gz", &good[..cut]);
        let msg = pair_error(&path, &labels);
        assert!(msg.contains("cut.gz"), "cut at {cut}: {msg}");
    }
}

// ---------------------------------------------------------------- fetching

/// `fetch-mnist` (the `fetch` feature).
#[cfg(feature = "fetch")]
mod fetching {
    use super::*;
    use std::collections::HashMap;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    /// A minimal HTTP/1.1 server on 127.0.0.1 (port chosen by the OS) that serves
    /// `files` under `/mnist/NAME` and 404 otherwise. It handles a bounded number
    /// of connections, one at a time, and lives in a detached thread.
    fn serve(files: HashMap<String, Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/mnist/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            // `take` before `flatten`: failed accepts count towards the bound too.
            for stream in listener.incoming().take(64).flatten() {
                let _ = answer(stream, &files);
            }
        });
        base
    }

    fn answer(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            request.extend_from_slice(&buf[..n]);
        }
        let request = String::from_utf8_lossy(&request);
        let path = request
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("");
        let (status, body) = match path.strip_prefix("/mnist/").and_then(|name| files.get(name)) {
            Some(body) => ("200 OK", body.as_slice()),
            None => ("404 Not Found", &b"not found"[..]),
        };
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        stream.write_all(body)?;
        stream.flush()
    }

    /// The four shared `.gz` files, keyed by file name.
    fn shared_gz_files() -> HashMap<String, Vec<u8>> {
        FILES
            .iter()
            .map(|name| {
                let gz = format!("{name}.gz");
                let bytes = std::fs::read(common::shared("mnist").join(&gz)).unwrap();
                (gz, bytes)
            })
            .collect()
    }

    /// A loopback URL where nothing listens: connection refused at once.
    fn dead_mirror() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}/mnist/")
    }

    fn dir_entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn fetch_downloads_verifies_and_loads_then_skips_present_files() {
        let base = serve(shared_gz_files());
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("new/subdir");
        mnist::fetch(&out, &[&base]).unwrap();
        let mut expected: Vec<String> = FILES.iter().map(|n| format!("{n}.gz")).collect();
        expected.sort();
        assert_eq!(dir_entries(&out), expected);
        let (train, test) = mnist::load_dir(&out).unwrap();
        assert_eq!((train.len(), test.len()), (60_000, 10_000));

        // Everything is present and valid: no mirror is contacted at all.
        mnist::fetch(&out, &[&dead_mirror()]).unwrap();
        assert_eq!(dir_entries(&out), expected);
    }

    /// A run that fails removes the directories it made (issue 30: an
    /// empty directory was left behind); one that was there stays.
    #[test]
    fn a_failed_fetch_leaves_no_directory_it_made() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("a").join("mnist");
        // Nothing listens on port 9 of loopback: every download fails.
        let err = mnist::fetch(&out, &["http://127.0.0.1:9"]).unwrap_err();
        assert!(format!("{err:#}").contains("no mirror gave a valid copy"), "{err:#}");
        assert!(!tmp.path().join("a").exists(), "the directories it made are gone");
        let mine = tmp.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        assert!(mnist::fetch(&mine, &["http://127.0.0.1:9"]).is_err());
        assert!(mine.is_dir(), "a directory the user made stays");
    }

    #[test]
    fn fetch_rejects_a_corrupted_file_and_leaves_nothing_behind() {
        let mut files = shared_gz_files();
        let name = "t10k-labels-idx1-ubyte";
        // Valid gzip, valid IDX, one label changed: only the checksum can tell.
        let mut idx = gunzip(&files[&format!("{name}.gz")]);
        idx[8] = (idx[8] + 1) % 10;
        files.insert(format!("{name}.gz"), gzip(&idx));
        let base = serve(files);
        let tmp = tempfile::tempdir().unwrap();
        let err = mnist::fetch(tmp.path(), &[&base]).unwrap_err();
        let msg = format!("{err:#}");
        assert_mentions(
            &msg,
            &[
                name,
                "checksum mismatch",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ],
        );
        // The three good files were kept; no trace of the bad one, no temp file.
        let entries = dir_entries(tmp.path());
        assert_eq!(
            entries,
            [
                "t10k-images-idx3-ubyte.gz",
                "train-images-idx3-ubyte.gz",
                "train-labels-idx1-ubyte.gz"
            ],
            "{entries:?}"
        );
    }

    #[test]
    fn fetch_falls_back_to_the_next_mirror_when_the_first_is_down() {
        let base = serve(shared_gz_files());
        let tmp = tempfile::tempdir().unwrap();
        mnist::fetch(tmp.path(), &[&dead_mirror(), &base]).unwrap();
        assert_eq!(dir_entries(tmp.path()).len(), 4);
        let (_, test) = mnist::load_dir(tmp.path()).unwrap();
        assert_eq!(test.len(), 10_000);
    }

    #[test]
    fn fetch_with_no_working_mirror_names_the_file_and_every_mirror() {
        let missing = serve(HashMap::new());
        let dead = dead_mirror();
        let tmp = tempfile::tempdir().unwrap();
        let msg = format!("{:#}", mnist::fetch(tmp.path(), &[&dead, &missing]).unwrap_err());
        assert_mentions(&msg, &["train-images-idx3-ubyte.gz", &dead, &missing, "404"]);
        assert!(dir_entries(tmp.path()).is_empty());
    }

    #[test]
    fn fetch_replaces_a_present_but_corrupt_file() {
        let base = serve(shared_gz_files());
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "t10k-labels-idx1-ubyte.gz", &gzip(&idx_labels(&[1, 2, 3])));
        mnist::fetch(tmp.path(), &[&base]).unwrap();
        let (_, test) = mnist::load_dir(tmp.path()).unwrap();
        assert_eq!(test.len(), 10_000);
    }

    /// `train` and `eval` without `--data` (issue 30): MNIST is fetched into
    /// the cache directory once, with a line saying where, then read there.
    #[test]
    fn train_and_eval_without_data_fetch_mnist_into_the_cache_once() {
        let base = serve(shared_gz_files());
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let mnist_dir = cache.join("stdp").join("mnist");
        let model = tmp.path().join("m.model");
        let model = model.to_str().unwrap();
        let run = |args: &[&str], mirror: &str| {
            let o = common::host_sim_cmd(args)
                .env_remove("STDP_DATA_DIR")
                .env("XDG_CACHE_HOME", &cache)
                .env("HOME", tmp.path())
                .env("STDP_MNIST_MIRRORS", mirror)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            assert!(o.status.success(), "host-sim {}: {stderr}", args.join(" "));
            stderr
        };
        let train = [
            "train",
            "--neurons",
            "10",
            "--limit",
            "20",
            "--assign",
            "20",
            "--quiet",
            "--out",
            model,
        ];
        let log = run(&train, &base);
        let first = log.lines().next().unwrap_or_default();
        assert!(
            first.contains(&*mnist_dir.to_string_lossy()) && first.contains("downloading"),
            "{log}"
        );
        let mut expected: Vec<String> = FILES.iter().map(|n| format!("{n}.gz")).collect();
        expected.sort();
        assert_eq!(dir_entries(&mnist_dir), expected);
        // Present now: nothing is downloaded (the mirror is dead).
        let log = run(&["eval", "--model", model, "--limit", "20"], &dead_mirror());
        assert!(!log.contains("downloading"), "{log}");
    }

    #[test]
    fn mirror_list_is_https() {
        assert!(!mnist::MIRRORS.is_empty());
        assert!(mnist::MIRRORS
            .iter()
            .all(|m| m.starts_with("https://") && m.ends_with('/')));
    }
}
