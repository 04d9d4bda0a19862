//! fetch-nmnist (the `fetch` feature): N-MNIST's zips downloaded from a
//! loopback HTTP server, with resume, MD5 checks and a safe unpack. The zips
//! are built here from a few recordings of the shared sample.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Cursor, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::{Digest, Md5};
use stdp_host::formats::nmnist_fetch::{self, Options, Quiet, Split};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

mod common;

/// One recording: split, label, file name, bytes.
#[derive(Clone)]
struct Recording {
    split: &'static str,
    label: String,
    id: String,
    bytes: Vec<u8>,
}

impl Recording {
    fn entry(&self) -> String {
        format!("{}/{}/{}", self.split, self.label, self.id)
    }
}

/// The first `per_label` recordings of each of `labels` in the sample's `split`.
fn sample(split: &'static str, labels: &[&str], per_label: usize) -> Vec<Recording> {
    let mut out = Vec::new();
    for label in labels {
        let dir = common::shared("nmnist-sample").join(split).join(label);
        let mut ids: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".bin"))
            .collect();
        ids.sort();
        for id in ids.into_iter().take(per_label) {
            let bytes = std::fs::read(dir.join(&id)).unwrap();
            out.push(Recording {
                split,
                label: label.to_string(),
                id,
                bytes,
            });
        }
    }
    assert!(!out.is_empty());
    out
}

fn train_sample() -> Vec<Recording> {
    sample("Train", &["0", "1", "7"], 2)
}

fn test_sample() -> Vec<Recording> {
    sample("Test", &["3", "5"], 2)
}

/// A deflated zip as N-MNIST's: directory entries, the recordings, and a
/// little that is not a recording (which must not be unpacked).
fn nmnist_zip(recordings: &[Recording]) -> Vec<u8> {
    let mut extra = vec![("__MACOSX/x/._junk.bin".to_string(), b"junk".to_vec())];
    if let Some(r) = recordings.first() {
        extra.push((format!("{}/readme.txt", r.split), b"not a recording".to_vec()));
    }
    zip_of(recordings, &extra)
}

fn zip_of(recordings: &[Recording], extra: &[(String, Vec<u8>)]) -> Vec<u8> {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut dirs = BTreeSet::new();
    for r in recordings {
        for dir in [format!("{}/", r.split), format!("{}/{}/", r.split, r.label)] {
            if dirs.insert(dir.clone()) {
                zip.add_directory(dir, options).unwrap();
            }
        }
        zip.start_file(r.entry(), options).unwrap();
        zip.write_all(&r.bytes).unwrap();
    }
    for (name, bytes) in extra {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// File paths of the test server (as the published ones: a folder, then `file_downloaded`).
const TRAIN_FILE: &str = "train-file/file_downloaded";
const TEST_FILE: &str = "test-file/file_downloaded";

/// The two splits for zips `train` and `test`, with their MD5 sums.
fn splits<'a>(train_md5: &'a str, test_md5: &'a str) -> [Split<'a>; 2] {
    [
        Split {
            name: "Train",
            file: TRAIN_FILE,
            md5: train_md5,
        },
        Split {
            name: "Test",
            file: TEST_FILE,
            md5: test_md5,
        },
    ]
}

/// One request the server saw: path and Range header.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    path: String,
    range: Option<String>,
}

#[derive(Default)]
struct Behaviour {
    /// Body by path (after the `/nmnist/` prefix).
    files: HashMap<String, Vec<u8>>,
    /// The first response for this path is cut after this many body bytes
    /// (the full length announced, then the connection closed).
    cut_first: Option<(&'static str, usize)>,
    /// Answer 200 with the whole file even to a Range request.
    ignore_range: bool,
}

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 (port chosen by the OS) serving
/// `files` under `/nmnist/PATH`, with `Range: bytes=N-` (206, or 416 past
/// the end), 404 otherwise. A bounded number of connections, one at a time,
/// in a detached thread.
fn serve(behaviour: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/nmnist/", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut answered = HashSet::new();
        // `take` before `flatten`: failed accepts count towards the bound too.
        for stream in listener.incoming().take(64).flatten() {
            let _ = answer(stream, &behaviour, &log, &mut answered);
        }
    });
    Server { base, seen }
}

fn answer(
    mut stream: TcpStream,
    behaviour: &Behaviour,
    log: &Mutex<Vec<Seen>>,
    answered: &mut HashSet<String>,
) -> std::io::Result<()> {
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
    let mut lines = request.lines();
    let target = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_string();
    let range = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("range"))
        .map(|(_, v)| v.trim().to_string());
    log.lock().unwrap().push(Seen {
        path: target.clone(),
        range: range.clone(),
    });
    let path = target.strip_prefix("/nmnist/").unwrap_or("");
    let Some(file) = behaviour.files.get(path) else {
        return respond(&mut stream, "404 Not Found", "", b"not found", None);
    };
    let first = answered.insert(path.to_string());
    let cut = behaviour
        .cut_first
        .filter(|&(cut_path, _)| first && cut_path == path)
        .map(|(_, k)| k);
    let start = range
        .as_deref()
        .filter(|_| !behaviour.ignore_range)
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    match start {
        None => respond(&mut stream, "200 OK", "", file, cut),
        Some(n) if n < file.len() => {
            let extra = format!("Content-Range: bytes {n}-{}/{}\r\n", file.len() - 1, file.len());
            respond(&mut stream, "206 Partial Content", &extra, &file[n..], cut)
        }
        Some(_) => {
            let extra = format!("Content-Range: bytes */{}\r\n", file.len());
            respond(&mut stream, "416 Range Not Satisfiable", &extra, b"", None)
        }
    }
}

/// Sends the headers for all of `body`, then `body` or only its first `cut` bytes.
fn respond(stream: &mut TcpStream, status: &str, extra: &str, body: &[u8], cut: Option<usize>) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body[..cut.unwrap_or(body.len()).min(body.len())])?;
    stream.flush()
}

/// A loopback URL where nothing listens: connection refused at once.
fn dead_mirror() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/nmnist/")
}

/// Every file and directory under `dir`, relative, sorted (directories end in `/`).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &e.path(), out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// What `out` must hold after a complete fetch of `recordings` (the markers with `md5s`).
fn expected_tree(recordings: &[Recording]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for r in recordings {
        out.insert(format!("{}/", r.split));
        out.insert(format!("{}/{}/", r.split, r.label));
        out.insert(format!("{}/{}", r.split, nmnist_fetch::MARKER));
        out.insert(r.entry());
    }
    out.into_iter().collect()
}

fn assert_unpacked(out: &Path, recordings: &[Recording]) {
    assert_eq!(tree(out), expected_tree(recordings));
    for r in recordings {
        let got = std::fs::read(out.join(r.entry())).unwrap();
        assert!(got == r.bytes, "{} differs from the sample", r.entry());
    }
}

fn no_retry() -> Options {
    Options {
        retries: 0,
        retry_delay: Duration::ZERO,
    }
}

fn quick() -> Options {
    Options {
        retries: 3,
        retry_delay: Duration::ZERO,
    }
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for part in parts {
        assert!(msg.contains(part), "error {msg:?} does not mention {part:?}");
    }
}

/// Train and Test zips, their MD5s and recordings.
struct Zips {
    train: Vec<u8>,
    test: Vec<u8>,
    train_md5: String,
    test_md5: String,
    recordings: Vec<Recording>,
}

fn zips() -> Zips {
    let (train_r, test_r) = (train_sample(), test_sample());
    let (train, test) = (nmnist_zip(&train_r), nmnist_zip(&test_r));
    Zips {
        train_md5: md5_hex(&train),
        test_md5: md5_hex(&test),
        train,
        test,
        recordings: train_r.into_iter().chain(test_r).collect(),
    }
}

fn files(train: &[u8], test: &[u8]) -> HashMap<String, Vec<u8>> {
    HashMap::from([
        (TRAIN_FILE.to_string(), train.to_vec()),
        (TEST_FILE.to_string(), test.to_vec()),
    ])
}

#[test]
fn full_fetch_gives_the_layout_with_identical_bytes_and_a_second_run_downloads_nothing() {
    let z = zips();
    let server = serve(Behaviour {
        files: files(&z.train, &z.test),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("new/nmnist");
    let splits = splits(&z.train_md5, &z.test_md5);
    let reports = nmnist_fetch::fetch(&out, &[&server.base], &splits, &quick(), &mut Quiet).unwrap();
    assert_unpacked(&out, &z.recordings);
    assert_eq!(
        std::fs::read_to_string(out.join("Train").join(nmnist_fetch::MARKER))
            .unwrap()
            .trim(),
        z.train_md5
    );
    assert_eq!(reports.len(), 2);
    assert_eq!((reports[0].name.as_str(), reports[0].files), ("Train", 6));
    assert_eq!((reports[1].name.as_str(), reports[1].files), ("Test", 4));
    assert_eq!(reports[0].bytes_downloaded, z.train.len() as u64);
    assert!(reports.iter().all(|r| !r.already_complete && r.resumed_from == 0));
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|s| s.range.is_none()), "{seen:?}");

    // Everything is there: no request at all, nothing changes.
    let reports = nmnist_fetch::fetch(&out, &[&server.base], &splits, &quick(), &mut Quiet).unwrap();
    assert!(reports.iter().all(|r| r.already_complete && r.bytes_downloaded == 0));
    assert_eq!(server.seen().len(), 2);
    nmnist_fetch::fetch(&out, &[&dead_mirror()], &splits, &quick(), &mut Quiet).unwrap();
    assert_unpacked(&out, &z.recordings);
}

#[test]
fn an_interrupted_download_is_resumed_by_the_next_run_with_a_range_request() {
    let z = zips();
    let cut = z.train.len() / 3;
    let server = serve(Behaviour {
        files: files(&z.train, &z.test),
        cut_first: Some((TRAIN_FILE, cut)),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nmnist");
    let splits = splits(&z.train_md5, &z.test_md5);

    // No retry within the run: it stops with the first part kept.
    let msg = format!(
        "{:#}",
        nmnist_fetch::fetch(&out, &[&server.base], &splits, &no_retry(), &mut Quiet).unwrap_err()
    );
    let part = out.join(".download/Train.zip.part");
    assert_mentions(&msg, &["Train.zip", &server.base, "kept", &part.display().to_string()]);
    assert_eq!(std::fs::read(&part).unwrap(), z.train[..cut]);
    assert_eq!(tree(&out), [".download/", ".download/Train.zip.part"]);

    let reports = nmnist_fetch::fetch(&out, &[&server.base], &splits, &no_retry(), &mut Quiet).unwrap();
    assert_unpacked(&out, &z.recordings);
    assert_eq!(reports[0].resumed_from, cut as u64);
    assert_eq!(reports[0].bytes_downloaded, (z.train.len() - cut) as u64);
    let train_requests: Vec<Option<String>> = server
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with(TRAIN_FILE))
        .map(|s| s.range)
        .collect();
    assert_eq!(train_requests, [None, Some(format!("bytes={cut}-"))]);
}

#[test]
fn a_broken_connection_is_resumed_within_the_run() {
    let z = zips();
    let cut = 1000;
    let server = serve(Behaviour {
        files: files(&z.train, &z.test),
        cut_first: Some((TRAIN_FILE, cut)),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nmnist");
    let splits = splits(&z.train_md5, &z.test_md5);
    nmnist_fetch::fetch(&out, &[&server.base], &splits, &quick(), &mut Quiet).unwrap();
    assert_unpacked(&out, &z.recordings);
    let ranges: Vec<Option<String>> = server.seen().into_iter().map(|s| s.range).collect();
    assert_eq!(ranges, [None, Some(format!("bytes={cut}-")), None]);
}

#[test]
fn a_server_that_ignores_the_range_gets_a_fresh_start() {
    let z = zips();
    let server = serve(Behaviour {
        files: files(&z.train, &z.test),
        ignore_range: true,
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nmnist");
    // A part left by an earlier run, which the 200 answer must replace.
    std::fs::create_dir_all(out.join(".download")).unwrap();
    std::fs::write(out.join(".download/Train.zip.part"), vec![0xAB; 500]).unwrap();
    let splits = splits(&z.train_md5, &z.test_md5);
    nmnist_fetch::fetch(&out, &[&server.base], &splits, &quick(), &mut Quiet).unwrap();
    assert_unpacked(&out, &z.recordings);
    assert_eq!(server.seen()[0].range.as_deref(), Some("bytes=500-"));
}

#[test]
fn a_corrupted_zip_is_an_md5_error_and_nothing_is_unpacked() {
    let z = zips();
    let mut bad = z.train.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x40;
    let bad_md5 = md5_hex(&bad);
    let server = serve(Behaviour {
        files: files(&bad, &z.test),
        ..Behaviour::default()
    });
    let splits = splits(&z.train_md5, &z.test_md5);

    // Into a new directory: it is gone again afterwards.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a/nmnist");
    let msg = format!(
        "{:#}",
        nmnist_fetch::fetch(&out, &[&server.base], &splits, &quick(), &mut Quiet).unwrap_err()
    );
    assert_mentions(&msg, &["Train.zip", "MD5 mismatch", &z.train_md5, &bad_md5, "deleted"]);
    assert!(!tmp.path().join("a").exists(), "{:?}", tree(tmp.path()));

    // Over what an interrupted run left (the start of the good zip): the
    // resumed copy fails, then a whole new one; the directory goes too.
    std::fs::create_dir_all(out.join(".download")).unwrap();
    std::fs::write(out.join(".download/Train.zip.part"), &z.train[..at / 2]).unwrap();
    let msg = format!(
        "{:#}",
        nmnist_fetch::fetch(&out, &[&server.base], &splits, &quick(), &mut Quiet).unwrap_err()
    );
    assert_mentions(&msg, &["MD5 mismatch", &z.train_md5, &bad_md5]);
    assert!(!out.exists(), "{:?}", tree(tmp.path()));
    let ranges: Vec<Option<String>> = server.seen().into_iter().skip(1).map(|s| s.range).collect();
    assert_eq!(ranges, [Some(format!("bytes={}-", at / 2)), None]);

    // Into an existing directory, empty or not: left as it was.
    std::fs::create_dir(&out).unwrap();
    nmnist_fetch::fetch(&out, &[&server.base], &splits, &quick(), &mut Quiet).unwrap_err();
    assert_eq!(tree(tmp.path()), ["a/", "a/nmnist/"]);
    std::fs::remove_dir_all(tmp.path().join("a")).unwrap();
    std::fs::write(tmp.path().join("mine.txt"), b"keep").unwrap();
    nmnist_fetch::fetch(tmp.path(), &[&server.base], &splits, &quick(), &mut Quiet).unwrap_err();
    assert_eq!(tree(tmp.path()), ["mine.txt"]);
}

#[test]
fn a_zip_with_an_entry_outside_its_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let absolute = tmp.path().join("evil-absolute.bin").display().to_string();
    for evil in [
        "../evil.bin",
        "Train/../../evil.bin",
        "Train/0/../../../evil.bin",
        absolute.as_str(),
    ] {
        let train = train_sample();
        let zip = zip_of(&train, &[(evil.to_string(), b"evil".to_vec())]);
        let md5 = md5_hex(&zip);
        let server = serve(Behaviour {
            files: HashMap::from([(TRAIN_FILE.to_string(), zip)]),
            ..Behaviour::default()
        });
        let out = tmp.path().join("x/nmnist");
        let split = [splits(&md5, &md5)[0]];
        let msg = format!(
            "{:#}",
            nmnist_fetch::fetch(&out, &[&server.base], &split, &quick(), &mut Quiet).unwrap_err()
        );
        assert_mentions(&msg, &["refused", evil, "outside"]);
        // Nothing unpacked anywhere, and the refused zip is not kept.
        assert_eq!(tree(tmp.path()), Vec::<String>::new(), "{evil}");
    }
}

#[test]
fn a_verified_zip_left_by_a_killed_run_is_unpacked_without_a_download() {
    let z = zips();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    std::fs::create_dir_all(out.join(".download")).unwrap();
    std::fs::write(out.join(".download/Train.zip"), &z.train).unwrap();
    std::fs::write(out.join(".download/Test.zip"), &z.test).unwrap();
    // And a half unpack of a killed run.
    std::fs::create_dir_all(out.join(".Train.unpacking-abc123/Train/0")).unwrap();
    std::fs::write(out.join(".Train.unpacking-abc123/Train/0/00002.bin"), b"half").unwrap();
    let splits = splits(&z.train_md5, &z.test_md5);
    nmnist_fetch::fetch(out, &[&dead_mirror()], &splits, &quick(), &mut Quiet).unwrap();
    assert_unpacked(out, &z.recordings);
}

#[test]
fn an_existing_split_folder_without_the_marker_is_not_touched() {
    let z = zips();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("Train/0")).unwrap();
    std::fs::write(tmp.path().join("Train/0/00002.bin"), b"mine").unwrap();
    let splits = splits(&z.train_md5, &z.test_md5);
    let msg = format!(
        "{:#}",
        nmnist_fetch::fetch(tmp.path(), &[&dead_mirror()], &splits, &quick(), &mut Quiet).unwrap_err()
    );
    assert_mentions(&msg, &["Train", "not a completed fetch", nmnist_fetch::MARKER]);
    assert_eq!(tree(tmp.path()), ["Train/", "Train/0/", "Train/0/00002.bin"]);
}

#[test]
fn no_working_mirror_names_every_one_and_leaves_nothing() {
    let z = zips();
    let missing = serve(Behaviour::default());
    let dead = dead_mirror();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nmnist");
    let splits = splits(&z.train_md5, &z.test_md5);
    let msg = format!(
        "{:#}",
        nmnist_fetch::fetch(&out, &[&dead, &missing.base], &splits, &quick(), &mut Quiet).unwrap_err()
    );
    assert_mentions(&msg, &["Train.zip", &dead, &missing.base, "404"]);
    assert!(!out.exists(), "{:?}", tree(tmp.path()));
}

#[test]
fn the_cli_refuses_files_that_do_not_have_the_published_md5() {
    let z = zips();
    // The published paths, but not the published files.
    let server = serve(Behaviour {
        files: HashMap::from([
            (nmnist_fetch::TRAIN.file.to_string(), z.train.clone()),
            (nmnist_fetch::TEST.file.to_string(), z.test.clone()),
        ]),
        ..Behaviour::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nmnist");
    let run = common::host_sim_cmd(["fetch-nmnist", "--out"])
        .arg(&out)
        .args(["--mirror", &server.base])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("error: "), "{stderr}");
    assert_mentions(
        last,
        &["Train.zip", "MD5 mismatch", nmnist_fetch::TRAIN.md5, &z.train_md5],
    );
    assert!(!out.exists(), "{:?}", tree(tmp.path()));
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].path.ends_with(nmnist_fetch::TRAIN.file));
}

#[test]
fn published_urls_and_sums_are_tonics() {
    assert_eq!(
        nmnist_fetch::BASE_URL,
        "https://data.mendeley.com/public-files/datasets/468j46mzdv/files/"
    );
    assert_eq!(nmnist_fetch::SPLITS.map(|s| s.name), ["Train", "Test"]);
    assert_eq!(nmnist_fetch::TRAIN.md5, "20959b8e626244a1b502305a9e6e2031");
    assert_eq!(nmnist_fetch::TEST.md5, "69ca8762b2fe404d9b9bad1103e97832");
    assert_eq!(
        nmnist_fetch::TRAIN.file,
        "39c25547-014b-4137-a934-9d29fa53c7a0/file_downloaded"
    );
    assert_eq!(
        nmnist_fetch::TEST.file,
        "05a4d654-7e03-4c15-bdfa-9bb2bcbea494/file_downloaded"
    );
}
