//! Helpers shared by host-sim's test files: the shared data's path (and
//! the MNIST set there), the command-line runner, and the Python the tests
//! of the real packages use. Each test binary uses a part of them.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stdp_host::formats::mnist::{self, Dataset};

/// `../shared/data/NAME` beside the repository (read there, never copied).
pub fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(name)
}

/// The shared MNIST set (`../shared/data/mnist`): training and test digits.
pub fn mnist() -> (Dataset, Dataset) {
    mnist::load_dir(&shared("mnist")).expect("the shared MNIST set at ../shared/data/mnist")
}

/// The `host-sim` binary with `args`, to add paths, environment variables
/// or stdin to, then run, spawn or take the status of.
pub fn host_sim_cmd<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(env!("CARGO_BIN_EXE_host-sim"));
    c.args(args);
    c
}

/// Runs the `host-sim` binary with `args`.
pub fn host_sim(args: &[&str]) -> Output {
    host_sim_cmd(args).output().expect("host-sim runs")
}

/// Runs `host-sim` with `args`, which must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    assert_ok(&host_sim(args), &format!("host-sim {}", args.join(" ")))
}

/// `o`, the output of a run `what`, must be a success; its stdout.
pub fn assert_ok(o: &Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Prints past the test harness's capture, so a skip shows in every run.
pub fn say(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// A Python that imports every module of `modules` (comma-separated):
/// `STDP_TEST_PYTHON`, else `python3`. `None` (the reason printed) when it
/// cannot, unless `CI` is set: then the test fails, so CI cannot silently
/// stop testing against the real packages.
pub fn python(modules: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os("STDP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&candidate)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} cannot import {modules}: .ci/run must make the virtual environment and export STDP_TEST_PYTHON",
        candidate.display()
    );
    say(&format!(
        "SKIPPED: {} cannot import {modules} (set STDP_TEST_PYTHON to a Python that has them)",
        candidate.display()
    ));
    None
}
