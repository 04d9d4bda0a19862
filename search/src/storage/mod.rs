//! Study storage: one [`StudyStore`] trait, backed by SQLite
//! (`sqlite:///relative.db`, embedded, no server) or PostgreSQL
//! (`postgresql://USER:PASS@HOST/DB`, for workers on several machines).
//!
//! # Schema: Optuna's
//!
//! Studies are stored in Optuna's own RDB schema (Optuna 3.2 to 5.x,
//! alembic revision `v3.2.0.a`, created here exactly as Optuna creates it),
//! so `optuna.load_study(study_name=..., storage="sqlite:///hpo.db")` and
//! `optuna-dashboard sqlite:///hpo.db` read them: `studies` (+ direction
//! `MAXIMIZE`; host-sim's settings in the study user attribute
//! `host_sim_settings`), `trials` (`WAITING`, `RUNNING`, `COMPLETE`,
//! `PRUNED`, `FAIL`; Optuna's numbering), `trial_params` (with Optuna
//! distributions), `trial_values` (validation accuracy; a pruned trial's
//! is its last intermediate value, as Optuna does), `trial_intermediate_values`
//! (running accuracy by examples trained), `trial_heartbeats`, the
//! `fixed_params` and `fail_reason` system attributes. What Optuna has no
//! column for sits beside it in `host_sim_trials` (`trial_id`, `worker`,
//! `attempt`, host-sim's `params` and `config` JSON, `duration_s`,
//! `train_s`, `examples`, `error`).
//!
//! # Concurrency
//!
//! A worker takes a trial with [`StudyStore::claim`], one transaction that
//! holds the study's write lock (SQLite: `BEGIN IMMEDIATE` on a WAL
//! database; PostgreSQL: `SELECT ... FOR UPDATE` on the study's row), so
//! two host-sim workers never get the same trial, and the trial count
//! never passes the target. In that transaction it first recovers the
//! trials of dead host-sim workers: a `RUNNING` trial whose heartbeat is
//! older than the lease goes back to `WAITING` with its parameters as
//! `fixed_params` (its intermediate values dropped) to be run again, or to
//! `FAIL` once it has had `max_attempts` attempts (Optuna workers' trials
//! are left to Optuna). Then it takes the lowest `WAITING` trial (also one
//! queued by `study.enqueue_trial`), else a new one if the study has fewer
//! than the target of complete + pruned + running trials. Failing that,
//! the worker is told to wait if fewer than the target have finished (a
//! running trial may yet be abandoned), else that the study is done.
//!
//! Every later write (parameters, heartbeat, intermediate value, result)
//! names the lease (`trial id`, `worker`, `attempt`) and changes nothing
//! unless the trial is still `RUNNING` under that lease: a worker that was
//! presumed dead cannot overwrite the trial's new attempt, and a result is
//! committed in one transaction before the worker claims the next trial.
//! Times are stored as Optuna stores them (naive UTC); PostgreSQL's come
//! from the server's clock.
//!
//! SQLite studies shared by several processes must be on a local disk (WAL
//! needs shared memory); across machines use PostgreSQL. PostgreSQL
//! connections are unencrypted (`NoTls`): use it on loopback or a trusted
//! network.

// What only the databases use (the claim's decision, host-sim's table, the
// rows both read) is unused in a build with neither.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use anyhow::{bail, ensure, Result};

#[cfg(feature = "postgres")]
pub use self::postgres::Postgres;
#[cfg(feature = "sqlite")]
pub use self::sqlite::Sqlite;
pub use super::space::OptunaParam;

/// A trial's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Queued (re-queued after its worker died, or enqueued), not running.
    Waiting,
    /// A worker holds its lease.
    Running,
    /// Finished with a validation accuracy.
    Complete,
    /// Stopped early by the pruner.
    Pruned,
    /// Failed (error, or its workers died `max_attempts` times).
    Failed,
}

impl TrialState {
    /// Name in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Waiting => "waiting",
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
        }
    }

    /// From the name in the database.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "waiting" => TrialState::Waiting,
            "running" => TrialState::Running,
            "complete" => TrialState::Complete,
            "pruned" => TrialState::Pruned,
            "failed" => TrialState::Failed,
            other => bail!("unknown trial state '{other}' in the database"),
        })
    }
}

/// A study's row.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRow {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Settings (JSON).
    pub settings: String,
    /// Creation time (Unix seconds).
    pub created: f64,
}

/// A worker's hold on a running trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Database id of the trial.
    pub trial_id: i64,
    /// Trial number in its study (0, 1, ...).
    pub number: i64,
    /// The worker.
    pub worker: String,
    /// Attempt (1 for the first run).
    pub attempt: i64,
}

/// A claimed trial.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The lease.
    pub lease: Lease,
    /// Parameters (JSON) if the trial already had them (re-queued or enqueued).
    pub params: Option<String>,
}

/// What [`StudyStore::claim`] found.
#[derive(Debug, Clone)]
pub enum Claim {
    /// A trial to run.
    Trial(Claimed),
    /// No trial to take, but fewer than the target have finished and other
    /// workers' trials are running (one may die and be re-queued).
    Wait {
        /// Trials running.
        running: u64,
    },
    /// The study has its trials.
    Done,
}

/// A trial taken from a dead worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// Trial number.
    pub number: i64,
    /// Re-queued (`waiting`) or given up (`failed`).
    pub state: TrialState,
}

/// When a running trial counts as abandoned.
#[derive(Debug, Clone, Copy)]
pub struct LeasePolicy {
    /// Seconds without a heartbeat.
    pub lease_s: f64,
    /// Attempts before an abandoned trial is marked failed instead of re-queued.
    pub max_attempts: i64,
}

/// How a trial ended.
#[derive(Debug, Clone)]
pub struct Finish {
    /// `Complete`, `Pruned` or `Failed`.
    pub state: TrialState,
    /// Validation accuracy (complete trials).
    pub value: Option<f64>,
    /// Wall-clock seconds of the trial.
    pub duration_s: f64,
    /// Seconds of the training loop.
    pub train_s: f64,
    /// Examples trained.
    pub examples: i64,
    /// Why it failed.
    pub error: Option<String>,
}

/// A trial's row with its intermediate values.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRow {
    /// Database id.
    pub id: i64,
    /// Number in its study.
    pub number: i64,
    /// State.
    pub state: TrialState,
    /// Parameters (JSON).
    pub params: Option<String>,
    /// The full `Config` (JSON).
    pub config: Option<String>,
    /// Validation accuracy.
    pub value: Option<f64>,
    /// Last worker.
    pub worker: Option<String>,
    /// Attempts so far.
    pub attempt: i64,
    /// Unix seconds.
    pub started: Option<f64>,
    /// Unix seconds.
    pub heartbeat: Option<f64>,
    /// Unix seconds.
    pub finished: Option<f64>,
    /// Wall-clock seconds.
    pub duration_s: Option<f64>,
    /// Seconds of the training loop.
    pub train_s: Option<f64>,
    /// Examples trained.
    pub examples: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// `(step, value)`: running accuracy after `step` examples.
    pub intermediate: Vec<(i64, f64)>,
}

/// A study database. Every method is one transaction.
pub trait StudyStore: Send {
    /// The study named `name`, created with `settings` if it does not exist
    /// (returns whether it was created).
    fn get_or_create_study(&mut self, name: &str, settings: &str) -> Result<(StudyRow, bool)>;
    /// All studies.
    fn studies(&mut self) -> Result<Vec<StudyRow>>;
    /// Adds a `waiting` trial with the given parameters (JSON); returns its number.
    fn enqueue(&mut self, study: i64, params: &str) -> Result<i64>;
    /// Recovers abandoned trials and takes one for `worker` (see the module doc).
    fn claim(&mut self, study: i64, worker: &str, target: u64, policy: LeasePolicy) -> Result<(Claim, Vec<Recovered>)>;
    /// Stores the parameters (host-sim's JSON, and as Optuna's rows) and
    /// the `Config` (JSON) of a trial; false if the lease is lost.
    fn set_params(&mut self, lease: &Lease, params: &str, optuna: &[OptunaParam], config: &str) -> Result<bool>;
    /// Renews the lease; false if it is lost.
    fn heartbeat(&mut self, lease: &Lease) -> Result<bool>;
    /// Stores an intermediate value and renews the lease; false if it is lost.
    fn report(&mut self, lease: &Lease, step: i64, value: f64) -> Result<bool>;
    /// Ends the trial; false (and nothing written) if the lease is lost.
    fn finish(&mut self, lease: &Lease, f: &Finish) -> Result<bool>;
    /// Intermediate values at `step` of the study's complete trials.
    fn completed_values_at(&mut self, study: i64, step: i64) -> Result<Vec<f64>>;
    /// The study's trials in number order, with their intermediate values.
    fn trials(&mut self, study: i64) -> Result<Vec<TrialRow>>;
}

/// Opens the study database at `url`: `sqlite:PATH` (also `sqlite:///abs/path`)
/// or `postgres://USER:PASS@HOST[:PORT]/DB` (`postgresql://` too).
pub fn open(url: &str) -> Result<Box<dyn StudyStore>> {
    if let Some(path) = sqlite_path(url)? {
        #[cfg(feature = "sqlite")]
        return Ok(Box::new(Sqlite::open(path)?));
        #[cfg(not(feature = "sqlite"))]
        bail!("study {path}: this host-sim was built without the `sqlite` feature");
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(Postgres::connect(url)?));
        #[cfg(not(feature = "postgres"))]
        bail!(
            "study {}: this host-sim was built without the `postgres` feature",
            redact(url)
        );
    } else {
        bail!("study URL '{url}': use sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://USER:PASSWORD@HOST/DATABASE")
    }
}

/// The file of a SQLite study URL, spelt as SQLAlchemy and Optuna spell it
/// (`sqlite:///relative.db`, `sqlite:////absolute/path.db`) or as earlier
/// host-sim did (`sqlite:PATH`); `None` if the URL is not SQLite's.
pub fn sqlite_path(url: &str) -> Result<Option<&str>> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(None);
    };
    let path = match rest.strip_prefix("//") {
        // sqlite:///x: SQLAlchemy's empty host, then the path (relative
        // unless it starts with another slash).
        Some(after) => match after.strip_prefix('/') {
            Some(path) => path,
            None if after.is_empty() => {
                bail!("study URL '{url}' is an in-memory database, lost when the worker ends; name a file: sqlite:///study.db")
            }
            None => bail!(
                "study URL '{url}': a host is not allowed in a SQLite URL; use sqlite:///{after} (relative) or sqlite:////{after} (absolute)"
            ),
        },
        None => rest,
    };
    ensure!(!path.is_empty(), "study URL '{url}': no file name (sqlite:///study.db)");
    Ok(Some(path))
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn lost_message(lease_s: f64, max_attempts: i64) -> String {
    format!("worker stopped sending heartbeats (lease {lease_s} s); re-queued up to {max_attempts} attempts")
}

// ---------------------------------------------------------------------------
// Optuna's schema, shared by both databases

/// Optuna's alembic revision of the schema below (Optuna 3.2 to 5.x check
/// that `alembic_version` holds it).
pub const OPTUNA_ALEMBIC_REVISION: &str = "v3.2.0.a";
/// Optuna's `version_info.schema_version` of that revision.
pub const OPTUNA_SCHEMA_VERSION: i64 = 12;

/// The state names Optuna stores.
fn optuna_state(s: TrialState) -> &'static str {
    match s {
        TrialState::Waiting => "WAITING",
        TrialState::Running => "RUNNING",
        TrialState::Complete => "COMPLETE",
        TrialState::Pruned => "PRUNED",
        TrialState::Failed => "FAIL",
    }
}

fn from_optuna_state(s: &str) -> Result<TrialState> {
    Ok(match s {
        "WAITING" => TrialState::Waiting,
        "RUNNING" => TrialState::Running,
        "COMPLETE" => TrialState::Complete,
        "PRUNED" => TrialState::Pruned,
        "FAIL" => TrialState::Failed,
        other => bail!("unknown trial state '{other}' in the database"),
    })
}

/// Study user attribute holding host-sim's settings (JSON object).
const SETTINGS_KEY: &str = "host_sim_settings";
/// Study system attribute: creation time (Unix seconds).
const CREATED_KEY: &str = "host_sim:created";

fn old_schema_error() -> anyhow::Error {
    anyhow::anyhow!(
        "this study database uses host-sim's own schema of before (tables hpo_studies, hpo_trials), \
         which optuna cannot read; start the study in a new database (its trials would be run again), \
         or read the old one with `hpo report` of host-sim before this change"
    )
}

/// `unix` seconds as Optuna's SQLite datetimes (naive UTC,
/// `YYYY-MM-DD HH:MM:SS.ffffff`; SQLAlchemy's format, which sorts as time).
pub fn utc_datetime(unix: f64) -> String {
    let mut secs = unix.floor() as i64;
    let mut micros = ((unix - secs as f64) * 1e6).round() as i64;
    if micros >= 1_000_000 {
        secs += 1;
        micros -= 1_000_000;
    }
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{micros:06}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// The inverse of [`utc_datetime`] (also without the fraction, or with
/// fewer digits, as other writers may store it).
pub fn parse_utc_datetime(s: &str) -> Option<f64> {
    let (date, time) = s.trim().split_once([' ', 'T'])?;
    let mut dp = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, d) = (dp.next()??, dp.next()??, dp.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut tp = hms.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (tp.next()??, tp.next()??, tp.next()??);
    let frac: f64 = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse().ok()?
    };
    // Howard Hinnant's days_from_civil.
    let y = y - (m <= 2) as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as f64 + frac)
}

/// A trial's parameters as host-sim holds them: host-sim's own JSON if it
/// ran the trial, else rebuilt from Optuna's `trial_params` (a trial of an
/// Optuna worker), else the `fixed_params` of a queued trial.
fn params_of(own: Option<String>, optuna: &[(String, f64, String)], fixed: Option<String>) -> Result<Option<String>> {
    if own.is_some() {
        return Ok(own);
    }
    if !optuna.is_empty() {
        let mut p = super::space::Params::new();
        for (name, value, dist) in optuna {
            p.insert(name.clone(), super::space::from_optuna(*value, dist)?);
        }
        return Ok(Some(serde_json::to_string(&p)?));
    }
    Ok(fixed)
}

// ---------------------------------------------------------------------------
// Shared by both databases

/// host-sim's table beside Optuna's (both databases).
const HOST_SIM_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS host_sim_trials (
    trial_id INTEGER PRIMARY KEY REFERENCES trials (trial_id),
    worker TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    params TEXT,
    config TEXT,
    duration_s DOUBLE PRECISION,
    train_s DOUBLE PRECISION,
    examples BIGINT,
    error TEXT
);
";

/// A running host-sim trial whose heartbeat is older than the lease:
/// (trial id, number, attempt, the parameters it ran with).
type Stale = (i64, i64, i64, Option<String>);
/// The first waiting trial: (trial id, number, its fixed parameters, the
/// attempts it had).
type Waiting = (i64, i64, Option<String>, Option<i64>);

/// What a claim does to the database, one call per statement (or group of
/// statements), inside the caller's write transaction: the seam between
/// [`claim_with`]'s decision and each database's SQL.
trait ClaimDialect {
    /// host-sim's running trials of `study` without a heartbeat for
    /// `lease_s` seconds (Optuna workers' trials are theirs to recover).
    fn stale(&mut self, study: i64, lease_s: f64) -> Result<Vec<Stale>>;
    /// Marks trial `id` failed, with `msg` as Optuna's `fail_reason`.
    fn fail(&mut self, id: i64, msg: &str) -> Result<()>;
    /// Puts trial `id` back in the queue with its parameters (as Optuna's
    /// enqueued trials carry theirs), the dead attempt's values gone.
    fn requeue(&mut self, id: i64, params: Option<&str>) -> Result<()>;
    /// Records why trial `id` was taken from its worker.
    fn note_error(&mut self, id: i64, msg: &str) -> Result<()>;
    /// The waiting trial of `study` with the lowest number.
    fn first_waiting(&mut self, study: i64) -> Result<Option<Waiting>>;
    /// Trial `id` runs now, for `worker`, attempt `attempt`, heartbeat now.
    fn take(&mut self, id: i64, worker: &str, attempt: i64) -> Result<()>;
    /// (finished: complete or pruned, running) trials of `study`.
    fn counts(&mut self, study: i64) -> Result<(i64, i64)>;
    /// A new running trial of `study`: (trial id, number).
    fn new_running(&mut self, study: i64) -> Result<(i64, i64)>;
}

/// The claim decision, the same for every database: recover the trials of
/// dead workers (re-queue them, or fail them after `max_attempts`), then
/// take the first waiting trial, else start a new one while fewer than
/// `target` are finished or running, else wait for the running ones, else
/// the study is done.
fn claim_with(
    d: &mut impl ClaimDialect,
    study: i64,
    worker: &str,
    target: u64,
    policy: LeasePolicy,
) -> Result<(Claim, Vec<Recovered>)> {
    let msg = lost_message(policy.lease_s, policy.max_attempts);
    let mut recovered = Vec::new();
    for (id, number, attempt, params) in d.stale(study, policy.lease_s)? {
        let state = if attempt >= policy.max_attempts {
            d.fail(id, &msg)?;
            TrialState::Failed
        } else {
            d.requeue(id, params.as_deref())?;
            TrialState::Waiting
        };
        d.note_error(id, &msg)?;
        recovered.push(Recovered { number, state });
    }
    let lease = |trial_id, number, attempt| Lease {
        trial_id,
        number,
        worker: worker.to_string(),
        attempt,
    };
    let claim = if let Some((id, number, params, attempt)) = d.first_waiting(study)? {
        let attempt = attempt.unwrap_or(0) + 1;
        d.take(id, worker, attempt)?;
        Claim::Trial(Claimed {
            lease: lease(id, number, attempt),
            params,
        })
    } else {
        let (finished, running) = d.counts(study)?;
        if ((finished + running) as u64) < target {
            let (id, number) = d.new_running(study)?;
            d.take(id, worker, 1)?;
            Claim::Trial(Claimed {
                lease: lease(id, number, 1),
                params: None,
            })
        } else if (finished as u64) < target {
            Claim::Wait {
                running: running as u64,
            }
        } else {
            Claim::Done
        }
    };
    Ok((claim, recovered))
}

/// The rows of [`StudyStore::trials`] from what both databases read: the
/// trial, its state name, host-sim's parameters, `fixed_params`,
/// `fail_reason`; and Optuna's parameter rows.
#[allow(clippy::type_complexity)]
fn assemble(
    raw: Vec<(
        TrialRow,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    )>,
    optuna_params: Vec<(i64, String, f64, String)>,
) -> Result<Vec<TrialRow>> {
    let mut by_trial: std::collections::HashMap<i64, Vec<(String, f64, String)>> = Default::default();
    for (id, name, value, dist) in optuna_params {
        by_trial.entry(id).or_default().push((name, value, dist));
    }
    let mut out = Vec::with_capacity(raw.len());
    for (mut t, state, own, fixed, fail, _) in raw {
        t.state = from_optuna_state(&state)?;
        t.params = params_of(own, by_trial.get(&t.id).map_or(&[][..], |v| &v[..]), fixed)?;
        // host-sim's value is the validation accuracy of a complete trial
        // (Optuna also gives pruned trials their last intermediate value).
        if t.state != TrialState::Complete {
            t.value = None;
        }
        if t.error.is_none() {
            t.error = fail.and_then(|f| serde_json::from_str::<String>(&f).ok());
        }
        out.push(t);
    }
    Ok(out)
}

fn attach_intermediate(trials: &mut [TrialRow], values: Vec<(i64, i64, f64)>) {
    let index: std::collections::HashMap<i64, usize> = trials.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    for (id, step, v) in values {
        if let Some(&i) = index.get(&id) {
            trials[i].intermediate.push((step, v));
        }
    }
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(x) => x,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:x.db"), "sqlite:x.db");
    }

    #[test]
    fn unknown_url_schemes_are_rejected() {
        let e = open("mysql://x").err().unwrap().to_string();
        assert!(e.contains("sqlite:///relative.db"), "{e}");
        assert!(open("sqlite:").is_err());
    }

    #[test]
    fn sqlite_urls_are_read_as_sqlalchemy_and_optuna_read_them() {
        let table: &[(&str, Result<Option<&str>, &str>)] = &[
            ("sqlite:///hpo.db", Ok(Some("hpo.db"))),
            ("sqlite:///runs/hpo.db", Ok(Some("runs/hpo.db"))),
            ("sqlite:////tmp/hpo.db", Ok(Some("/tmp/hpo.db"))),
            ("sqlite:hpo.db", Ok(Some("hpo.db"))),
            ("sqlite:/tmp/hpo.db", Ok(Some("/tmp/hpo.db"))),
            ("postgresql://u:p@h/db", Ok(None)),
            ("sqlite://", Err("in-memory database")),
            (
                "sqlite://hpo.db",
                Err("use sqlite:///hpo.db (relative) or sqlite:////hpo.db (absolute)"),
            ),
            ("sqlite:///", Err("no file name")),
            ("sqlite:", Err("no file name")),
        ];
        for (url, want) in table {
            match (sqlite_path(url), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, *w, "{url}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{url}: `{e}` does not say `{w}`"),
                (got, _) => panic!("{url}: {:?}", got.map_err(|e| e.to_string())),
            }
        }
    }

    #[test]
    fn optuna_datetimes_round_trip_and_sort_as_time() {
        assert_eq!(utc_datetime(0.0), "1970-01-01 00:00:00.000000");
        assert_eq!(utc_datetime(1_796_169_600.25), "2026-12-02 00:00:00.250000");
        assert_eq!(utc_datetime(951_782_400.0), "2000-02-29 00:00:00.000000");
        for t in [0.0, 1.5, 951_782_399.999_999, 1_796_250_123.456_789, 4_102_444_800.0] {
            let back = parse_utc_datetime(&utc_datetime(t)).unwrap();
            assert!((back - t).abs() < 1e-6, "{t} -> {back}");
        }
        assert!(utc_datetime(1e9) < utc_datetime(1e9 + 0.5) && utc_datetime(1e9 + 0.5) < utc_datetime(2e9));
        assert_eq!(parse_utc_datetime("2026-12-02 15:30:37"), Some(1_796_225_437.0));
        assert_eq!(parse_utc_datetime("not a time"), None);
    }
}
