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

#[cfg(feature = "sqlite")]
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};

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
// SQLite

/// A SQLite study database in Optuna's schema (WAL mode; writers wait up
/// to a minute for the lock).
#[cfg(feature = "sqlite")]
pub struct Sqlite {
    conn: rusqlite::Connection,
}

/// Optuna's tables as Optuna 5.1 (alembic revision v3.2.0.a) creates them
/// in SQLite (`.schema` of a database it made).
#[cfg(feature = "sqlite")]
const SQLITE_OPTUNA_SCHEMA: &str = r#"
CREATE TABLE studies (
	study_id INTEGER NOT NULL,
	study_name VARCHAR(512) NOT NULL,
	PRIMARY KEY (study_id)
);
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE TABLE version_info (
	version_info_id INTEGER NOT NULL,
	schema_version INTEGER,
	library_version VARCHAR(256),
	PRIMARY KEY (version_info_id),
	CHECK (version_info_id=1)
);
CREATE TABLE study_directions (
	study_direction_id INTEGER NOT NULL,
	direction VARCHAR(8) NOT NULL,
	study_id INTEGER NOT NULL,
	objective INTEGER NOT NULL,
	PRIMARY KEY (study_direction_id),
	UNIQUE (study_id, objective),
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE study_user_attributes (
	study_user_attribute_id INTEGER NOT NULL,
	study_id INTEGER,
	"key" VARCHAR(512),
	value_json TEXT,
	PRIMARY KEY (study_user_attribute_id),
	UNIQUE (study_id, "key"),
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE study_system_attributes (
	study_system_attribute_id INTEGER NOT NULL,
	study_id INTEGER,
	"key" VARCHAR(512),
	value_json TEXT,
	PRIMARY KEY (study_system_attribute_id),
	UNIQUE (study_id, "key"),
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE trials (
	trial_id INTEGER NOT NULL,
	number INTEGER,
	study_id INTEGER,
	state VARCHAR(8) NOT NULL,
	datetime_start DATETIME,
	datetime_complete DATETIME,
	PRIMARY KEY (trial_id),
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE INDEX ix_trials_study_id ON trials (study_id);
CREATE TABLE trial_user_attributes (
	trial_user_attribute_id INTEGER NOT NULL,
	trial_id INTEGER,
	"key" VARCHAR(512),
	value_json TEXT,
	PRIMARY KEY (trial_user_attribute_id),
	UNIQUE (trial_id, "key"),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_system_attributes (
	trial_system_attribute_id INTEGER NOT NULL,
	trial_id INTEGER,
	"key" VARCHAR(512),
	value_json TEXT,
	PRIMARY KEY (trial_system_attribute_id),
	UNIQUE (trial_id, "key"),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_params (
	param_id INTEGER NOT NULL,
	trial_id INTEGER,
	param_name VARCHAR(512),
	param_value FLOAT,
	distribution_json TEXT,
	PRIMARY KEY (param_id),
	UNIQUE (trial_id, param_name),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_values (
	trial_value_id INTEGER NOT NULL,
	trial_id INTEGER NOT NULL,
	objective INTEGER NOT NULL,
	value FLOAT,
	value_type VARCHAR(7) NOT NULL,
	PRIMARY KEY (trial_value_id),
	UNIQUE (trial_id, objective),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_intermediate_values (
	trial_intermediate_value_id INTEGER NOT NULL,
	trial_id INTEGER NOT NULL,
	step INTEGER NOT NULL,
	intermediate_value FLOAT,
	intermediate_value_type VARCHAR(7) NOT NULL,
	PRIMARY KEY (trial_intermediate_value_id),
	UNIQUE (trial_id, step),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL,
	trial_id INTEGER NOT NULL,
	heartbeat DATETIME NOT NULL,
	PRIMARY KEY (trial_heartbeat_id),
	UNIQUE (trial_id),
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
"#;

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

#[cfg(feature = "sqlite")]
impl Sqlite {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &str) -> Result<Self> {
        let conn = rusqlite::Connection::open(path).with_context(|| format!("cannot open SQLite study {path}"))?;
        conn.busy_timeout(Duration::from_secs(60))?;
        let mut s = Sqlite { conn };
        // Workers that open a new file at the same moment race for its
        // first locks (switching to WAL needs an exclusive one), and SQLite
        // answers such a race with SQLITE_BUSY at once, without waiting in
        // the busy handler, to avoid a deadlock. Setting up is idempotent,
        // so it is tried again, for up to a minute.
        let t0 = std::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match s.init() {
                Ok(()) => return Ok(s),
                Err(e) if sqlite_busy(&e) && t0.elapsed() < Duration::from_secs(60) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(e.context(format!("SQLite study {path}"))),
            }
        }
    }

    fn init(&mut self) -> Result<()> {
        let mode: String = self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "cannot switch to WAL mode (got '{mode}'); is the file on a network disk?"
        );
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let has = |t: &str| -> rusqlite::Result<bool> {
            tx.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [t],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
        };
        if has("hpo_studies")? {
            return Err(old_schema_error());
        }
        if !has("studies")? {
            tx.execute_batch(SQLITE_OPTUNA_SCHEMA)?;
            tx.execute(
                "INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, ?1, ?2)",
                rusqlite::params![OPTUNA_SCHEMA_VERSION, format!("host-sim {}", env!("CARGO_PKG_VERSION"))],
            )?;
            tx.execute(
                "INSERT INTO alembic_version (version_num) VALUES (?1)",
                [OPTUNA_ALEMBIC_REVISION],
            )?;
        }
        let rev: Option<String> = tx
            .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        ensure!(
            rev.as_deref() == Some(OPTUNA_ALEMBIC_REVISION),
            "the database has Optuna schema revision {rev:?}; host-sim writes {OPTUNA_ALEMBIC_REVISION} \
             (`optuna storage upgrade --storage URL` brings an older one up to date)"
        );
        tx.execute_batch(HOST_SIM_SCHEMA)?;
        tx.commit()?;
        self.conn.execute_batch("PRAGMA foreign_keys = ON")?;
        Ok(())
    }

    fn write_tx(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }
}

/// A running host-sim trial whose heartbeat is older than the lease:
/// (trial id, number, attempt, the parameters it ran with).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
type Stale = (i64, i64, i64, Option<String>);
/// The first waiting trial: (trial id, number, its fixed parameters, the
/// attempts it had).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
type Waiting = (i64, i64, Option<String>, Option<i64>);

/// What a claim does to the database, one call per statement (or group of
/// statements), inside the caller's write transaction: the seam between
/// [`claim_with`]'s decision and each database's SQL.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
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
#[cfg(any(feature = "sqlite", feature = "postgres"))]
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

/// SQLite's side of a claim: times from the worker's clock (`now`), as
/// Optuna's own SQLite storage writes them.
#[cfg(feature = "sqlite")]
struct SqliteClaim<'a, 'c> {
    tx: &'a rusqlite::Transaction<'c>,
    now: f64,
}

#[cfg(feature = "sqlite")]
impl ClaimDialect for SqliteClaim<'_, '_> {
    fn stale(&mut self, study: i64, lease_s: f64) -> Result<Vec<Stale>> {
        let mut st = self.tx.prepare(
            "SELECT t.trial_id, t.number, h.attempt, h.params FROM trials t
             JOIN host_sim_trials h ON h.trial_id = t.trial_id
             JOIN trial_heartbeats b ON b.trial_id = t.trial_id
             WHERE t.study_id = ?1 AND t.state = 'RUNNING' AND b.heartbeat < ?2",
        )?;
        let rows = st.query_map(rusqlite::params![study, utc_datetime(self.now - lease_s)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
    fn fail(&mut self, id: i64, msg: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE trials SET state = 'FAIL', datetime_complete = ?2 WHERE trial_id = ?1",
            rusqlite::params![id, utc_datetime(self.now)],
        )?;
        sqlite_set_system_attr(self.tx, id, "fail_reason", &serde_json::to_string(msg)?)
    }
    fn requeue(&mut self, id: i64, params: Option<&str>) -> Result<()> {
        self.tx.execute(
            "UPDATE trials SET state = 'WAITING', datetime_start = NULL WHERE trial_id = ?1",
            [id],
        )?;
        for table in ["trial_intermediate_values", "trial_params", "trial_heartbeats"] {
            self.tx
                .execute(&format!("DELETE FROM {table} WHERE trial_id = ?1"), [id])?;
        }
        match params {
            Some(p) => sqlite_set_system_attr(self.tx, id, "fixed_params", p),
            None => Ok(()),
        }
    }
    fn note_error(&mut self, id: i64, msg: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE host_sim_trials SET error = ?2 WHERE trial_id = ?1",
            rusqlite::params![id, msg],
        )?;
        Ok(())
    }
    fn first_waiting(&mut self, study: i64) -> Result<Option<Waiting>> {
        Ok(sqlite_opt(self.tx.query_row(
            "SELECT t.trial_id, t.number, f.value_json, h.attempt FROM trials t
             LEFT JOIN trial_system_attributes f ON f.trial_id = t.trial_id AND f.key = 'fixed_params'
             LEFT JOIN host_sim_trials h ON h.trial_id = t.trial_id
             WHERE t.study_id = ?1 AND t.state = 'WAITING' ORDER BY t.number, t.trial_id LIMIT 1",
            [study],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        ))?)
    }
    fn take(&mut self, id: i64, worker: &str, attempt: i64) -> Result<()> {
        self.tx.execute(
            "UPDATE trials SET state = 'RUNNING', datetime_start = ?2 WHERE trial_id = ?1",
            rusqlite::params![id, utc_datetime(self.now)],
        )?;
        self.tx.execute(
            "INSERT INTO host_sim_trials (trial_id, worker, attempt) VALUES (?1, ?2, ?3)
             ON CONFLICT (trial_id) DO UPDATE SET worker = excluded.worker, attempt = excluded.attempt,
                 error = NULL",
            rusqlite::params![id, worker, attempt],
        )?;
        sqlite_beat(self.tx, id, self.now)
    }
    fn counts(&mut self, study: i64) -> Result<(i64, i64)> {
        Ok(self.tx.query_row(
            "SELECT COALESCE(SUM(state IN ('COMPLETE', 'PRUNED')), 0), COALESCE(SUM(state = 'RUNNING'), 0)
             FROM trials WHERE study_id = ?1",
            [study],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }
    fn new_running(&mut self, study: i64) -> Result<(i64, i64)> {
        sqlite_new_trial(self.tx, study, "RUNNING", Some(self.now))
    }
}

/// PostgreSQL's side of a claim: times from the server's clock; the
/// caller holds the study's row lock.
#[cfg(feature = "postgres")]
struct PgClaim<'a, 'c> {
    tx: &'a mut postgres::Transaction<'c>,
}

#[cfg(feature = "postgres")]
impl ClaimDialect for PgClaim<'_, '_> {
    fn stale(&mut self, study: i64, lease_s: f64) -> Result<Vec<Stale>> {
        Ok(self
            .tx
            .query(
                &format!(
                    "SELECT t.trial_id::int8, t.number::int8, h.attempt::int8, h.params FROM trials t
                     JOIN host_sim_trials h ON h.trial_id = t.trial_id
                     JOIN trial_heartbeats b ON b.trial_id = t.trial_id
                     WHERE t.study_id = $1::int8 AND t.state = 'RUNNING'
                       AND b.heartbeat < {PG_NOW} - make_interval(secs => $2::float8)"
                ),
                &[&study, &lease_s],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    }
    fn fail(&mut self, id: i64, msg: &str) -> Result<()> {
        self.tx.execute(
            &format!("UPDATE trials SET state = 'FAIL', datetime_complete = {PG_NOW} WHERE trial_id = $1::int8"),
            &[&id],
        )?;
        pg_set_system_attr(self.tx, id, "fail_reason", &serde_json::to_string(msg)?)
    }
    fn requeue(&mut self, id: i64, params: Option<&str>) -> Result<()> {
        self.tx.execute(
            "UPDATE trials SET state = 'WAITING', datetime_start = NULL WHERE trial_id = $1::int8",
            &[&id],
        )?;
        for table in ["trial_intermediate_values", "trial_params", "trial_heartbeats"] {
            self.tx
                .execute(&format!("DELETE FROM {table} WHERE trial_id = $1::int8"), &[&id])?;
        }
        match params {
            Some(p) => pg_set_system_attr(self.tx, id, "fixed_params", p),
            None => Ok(()),
        }
    }
    fn note_error(&mut self, id: i64, msg: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE host_sim_trials SET error = $2 WHERE trial_id = $1::int8",
            &[&id, &msg],
        )?;
        Ok(())
    }
    fn first_waiting(&mut self, study: i64) -> Result<Option<Waiting>> {
        Ok(self
            .tx
            .query_opt(
                "SELECT t.trial_id::int8, t.number::int8, f.value_json, h.attempt::int8 FROM trials t
                 LEFT JOIN trial_system_attributes f ON f.trial_id = t.trial_id AND f.key = 'fixed_params'
                 LEFT JOIN host_sim_trials h ON h.trial_id = t.trial_id
                 WHERE t.study_id = $1::int8 AND t.state = 'WAITING' ORDER BY t.number, t.trial_id LIMIT 1
                 FOR UPDATE OF t SKIP LOCKED",
                &[&study],
            )?
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))))
    }
    fn take(&mut self, id: i64, worker: &str, attempt: i64) -> Result<()> {
        self.tx.execute(
            &format!("UPDATE trials SET state = 'RUNNING', datetime_start = {PG_NOW} WHERE trial_id = $1::int8"),
            &[&id],
        )?;
        self.tx.execute(
            "INSERT INTO host_sim_trials (trial_id, worker, attempt) VALUES ($1::int8, $2, $3::int8)
             ON CONFLICT (trial_id) DO UPDATE SET worker = excluded.worker, attempt = excluded.attempt,
                 error = NULL",
            &[&id, &worker, &attempt],
        )?;
        pg_beat(self.tx, id)
    }
    fn counts(&mut self, study: i64) -> Result<(i64, i64)> {
        let r = self.tx.query_one(
            "SELECT COUNT(*) FILTER (WHERE state IN ('COMPLETE', 'PRUNED'))::int8,
                    COUNT(*) FILTER (WHERE state = 'RUNNING')::int8
             FROM trials WHERE study_id = $1::int8",
            &[&study],
        )?;
        Ok((r.get(0), r.get(1)))
    }
    fn new_running(&mut self, study: i64) -> Result<(i64, i64)> {
        pg_new_trial(self.tx, study, TrialState::Running)
    }
}

/// Whether `e` is SQLite's "database is busy/locked".
#[cfg(feature = "sqlite")]
fn sqlite_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

#[cfg(feature = "sqlite")]
fn sqlite_opt<T>(r: rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `lease` still holds its trial (inside a write transaction); if
/// so its heartbeat is renewed.
#[cfg(feature = "sqlite")]
fn sqlite_owns(tx: &rusqlite::Transaction<'_>, lease: &Lease) -> Result<bool> {
    let owns: i64 = tx.query_row(
        "SELECT COUNT(*) FROM trials t JOIN host_sim_trials h ON h.trial_id = t.trial_id
         WHERE t.trial_id = ?1 AND t.state = 'RUNNING' AND h.worker = ?2 AND h.attempt = ?3",
        rusqlite::params![lease.trial_id, lease.worker, lease.attempt],
        |r| r.get(0),
    )?;
    if owns == 1 {
        sqlite_beat(tx, lease.trial_id, unix_now())?;
    }
    Ok(owns == 1)
}

#[cfg(feature = "sqlite")]
fn sqlite_beat(tx: &rusqlite::Transaction<'_>, trial: i64, now: f64) -> Result<()> {
    tx.execute(
        "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?1, ?2)
         ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
        rusqlite::params![trial, utc_datetime(now)],
    )?;
    Ok(())
}

#[cfg(feature = "sqlite")]
fn sqlite_set_system_attr(tx: &rusqlite::Transaction<'_>, trial: i64, key: &str, json: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES (?1, ?2, ?3)
         ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json",
        rusqlite::params![trial, key, json],
    )?;
    Ok(())
}

/// A new trial of `study` in `state` (Optuna numbers trials 0, 1, ... in
/// the order they were made); returns (trial id, number).
#[cfg(feature = "sqlite")]
fn sqlite_new_trial(tx: &rusqlite::Transaction<'_>, study: i64, state: &str, now: Option<f64>) -> Result<(i64, i64)> {
    let number: i64 = tx.query_row("SELECT COUNT(*) FROM trials WHERE study_id = ?1", [study], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO trials (number, study_id, state, datetime_start) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![number, study, state, now.map(utc_datetime)],
    )?;
    Ok((tx.last_insert_rowid(), number))
}

#[cfg(feature = "sqlite")]
impl StudyStore for Sqlite {
    fn get_or_create_study(&mut self, name: &str, settings: &str) -> Result<(StudyRow, bool)> {
        let tx = self.write_tx()?;
        let created = tx.execute(
            "INSERT INTO studies (study_name) VALUES (?1) ON CONFLICT (study_name) DO NOTHING",
            [name],
        )? == 1;
        let id: i64 = tx.query_row("SELECT study_id FROM studies WHERE study_name = ?1", [name], |r| {
            r.get(0)
        })?;
        if created {
            tx.execute(
                "INSERT INTO study_directions (direction, study_id, objective) VALUES ('MAXIMIZE', ?1, 0)",
                [id],
            )?;
            tx.execute(
                "INSERT INTO study_user_attributes (study_id, key, value_json) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, SETTINGS_KEY, settings],
            )?;
            tx.execute(
                "INSERT INTO study_system_attributes (study_id, key, value_json) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, CREATED_KEY, unix_now().to_string()],
            )?;
        }
        let row = sqlite_study_row(&tx, id, name)?;
        tx.commit()?;
        Ok((row, created))
    }

    fn studies(&mut self) -> Result<Vec<StudyRow>> {
        let tx = self.conn.transaction()?;
        let ids: Vec<(i64, String)> = {
            let mut st = tx.prepare("SELECT study_id, study_name FROM studies ORDER BY study_id")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::new();
        for (id, name) in ids {
            out.push(sqlite_study_row(&tx, id, &name)?);
        }
        tx.commit()?;
        // Studies of Optuna workers alone carry no host-sim settings.
        Ok(out.into_iter().filter(|s| !s.settings.is_empty()).collect())
    }

    fn enqueue(&mut self, study: i64, params: &str) -> Result<i64> {
        let tx = self.write_tx()?;
        let (id, number) = sqlite_new_trial(&tx, study, "WAITING", None)?;
        sqlite_set_system_attr(&tx, id, "fixed_params", params)?;
        tx.commit()?;
        Ok(number)
    }

    fn claim(&mut self, study: i64, worker: &str, target: u64, policy: LeasePolicy) -> Result<(Claim, Vec<Recovered>)> {
        let tx = self.write_tx()?;
        let mut sql = SqliteClaim {
            tx: &tx,
            now: unix_now(),
        };
        let r = claim_with(&mut sql, study, worker, target, policy)?;
        tx.commit()?;
        Ok(r)
    }

    fn set_params(&mut self, lease: &Lease, params: &str, optuna: &[OptunaParam], config: &str) -> Result<bool> {
        let tx = self.write_tx()?;
        if !sqlite_owns(&tx, lease)? {
            return Ok(false);
        }
        tx.execute(
            "UPDATE host_sim_trials SET params = ?2, config = ?3 WHERE trial_id = ?1",
            rusqlite::params![lease.trial_id, params, config],
        )?;
        tx.execute("DELETE FROM trial_params WHERE trial_id = ?1", [lease.trial_id])?;
        for p in optuna {
            tx.execute(
                "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![lease.trial_id, p.name, p.value, p.distribution],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn heartbeat(&mut self, lease: &Lease) -> Result<bool> {
        let tx = self.write_tx()?;
        let ok = sqlite_owns(&tx, lease)?;
        tx.commit()?;
        Ok(ok)
    }

    fn report(&mut self, lease: &Lease, step: i64, value: f64) -> Result<bool> {
        let tx = self.write_tx()?;
        if !sqlite_owns(&tx, lease)? {
            return Ok(false);
        }
        let (v, kind) = if value.is_nan() {
            (None, "NAN")
        } else {
            (Some(value), "FINITE")
        };
        tx.execute(
            "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value = excluded.intermediate_value,
                 intermediate_value_type = excluded.intermediate_value_type",
            rusqlite::params![lease.trial_id, step, v, kind],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn finish(&mut self, lease: &Lease, f: &Finish) -> Result<bool> {
        let tx = self.write_tx()?;
        if !sqlite_owns(&tx, lease)? {
            return Ok(false);
        }
        let id = lease.trial_id;
        tx.execute(
            "UPDATE trials SET state = ?2, datetime_complete = ?3 WHERE trial_id = ?1",
            rusqlite::params![id, optuna_state(f.state), utc_datetime(unix_now())],
        )?;
        // Optuna's value of a pruned trial is its last intermediate value.
        let value = match (f.state, f.value) {
            (_, Some(v)) => Some(v),
            (TrialState::Pruned, None) => sqlite_opt(tx.query_row(
                "SELECT intermediate_value FROM trial_intermediate_values WHERE trial_id = ?1
                 AND intermediate_value_type = 'FINITE' ORDER BY step DESC LIMIT 1",
                [id],
                |r| r.get::<_, f64>(0),
            ))?,
            _ => None,
        };
        if let Some(v) = value.filter(|v| v.is_finite()) {
            tx.execute(
                "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?1, 0, ?2, 'FINITE')
                 ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value",
                rusqlite::params![id, v],
            )?;
        }
        if let Some(e) = &f.error {
            sqlite_set_system_attr(&tx, id, "fail_reason", &serde_json::to_string(e)?)?;
        }
        tx.execute(
            "UPDATE host_sim_trials SET duration_s = ?2, train_s = ?3, examples = ?4, error = ?5 WHERE trial_id = ?1",
            rusqlite::params![id, f.duration_s, f.train_s, f.examples, f.error],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn completed_values_at(&mut self, study: i64, step: i64) -> Result<Vec<f64>> {
        let mut st = self.conn.prepare_cached(
            "SELECT i.intermediate_value FROM trial_intermediate_values i JOIN trials t ON t.trial_id = i.trial_id
             WHERE t.study_id = ?1 AND t.state = 'COMPLETE' AND i.step = ?2 AND i.intermediate_value_type = 'FINITE'",
        )?;
        let v = st
            .query_map(rusqlite::params![study, step], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<f64>>>()?;
        Ok(v)
    }

    fn trials(&mut self, study: i64) -> Result<Vec<TrialRow>> {
        // One read transaction: trials and their values from one snapshot.
        let tx = self.conn.transaction()?;
        type Raw = (
            TrialRow,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let raw: Vec<Raw> = {
            let mut st = tx.prepare(
                "SELECT t.trial_id, t.number, t.state, t.datetime_start, t.datetime_complete, b.heartbeat, v.value,
                        h.worker, h.attempt, h.params, h.config, h.duration_s, h.train_s, h.examples, h.error,
                        f.value_json, r.value_json
                 FROM trials t
                 LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0
                 LEFT JOIN trial_heartbeats b ON b.trial_id = t.trial_id
                 LEFT JOIN host_sim_trials h ON h.trial_id = t.trial_id
                 LEFT JOIN trial_system_attributes f ON f.trial_id = t.trial_id AND f.key = 'fixed_params'
                 LEFT JOIN trial_system_attributes r ON r.trial_id = t.trial_id AND r.key = 'fail_reason'
                 WHERE t.study_id = ?1 ORDER BY t.number, t.trial_id",
            )?;
            let rows = st.query_map([study], |r| {
                let (start, done, beat): (Option<String>, Option<String>, Option<String>) =
                    (r.get(3)?, r.get(4)?, r.get(5)?);
                Ok((
                    TrialRow {
                        id: r.get(0)?,
                        number: r.get(1)?,
                        state: TrialState::Waiting,
                        params: None,
                        config: r.get(10)?,
                        value: r.get(6)?,
                        worker: r.get(7)?,
                        attempt: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
                        started: start.as_deref().and_then(parse_utc_datetime),
                        heartbeat: beat.as_deref().and_then(parse_utc_datetime),
                        finished: done.as_deref().and_then(parse_utc_datetime),
                        duration_s: r.get(11)?,
                        train_s: r.get(12)?,
                        examples: r.get(13)?,
                        error: r.get(14)?,
                        intermediate: Vec::new(),
                    },
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<String>>(15)?,
                    r.get::<_, Option<String>>(16)?,
                    None,
                ))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let optuna_params: Vec<(i64, String, f64, String)> = {
            let mut st = tx.prepare(
                "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json FROM trial_params p
                 JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = ?1 ORDER BY p.trial_id, p.param_name",
            )?;
            let rows = st.query_map([study], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let values: Vec<(i64, i64, f64)> = {
            let mut st = tx.prepare(
                "SELECT i.trial_id, i.step, i.intermediate_value FROM trial_intermediate_values i
                 JOIN trials t ON t.trial_id = i.trial_id
                 WHERE t.study_id = ?1 AND i.intermediate_value_type = 'FINITE' ORDER BY i.trial_id, i.step",
            )?;
            let rows = st.query_map([study], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        tx.commit()?;
        let mut trials = assemble(raw, optuna_params)?;
        attach_intermediate(&mut trials, values);
        Ok(trials)
    }
}

#[cfg(feature = "sqlite")]
fn sqlite_study_row(tx: &rusqlite::Transaction<'_>, id: i64, name: &str) -> Result<StudyRow> {
    let settings: Option<String> = sqlite_opt(tx.query_row(
        "SELECT value_json FROM study_user_attributes WHERE study_id = ?1 AND key = ?2",
        rusqlite::params![id, SETTINGS_KEY],
        |r| r.get(0),
    ))?;
    let created: Option<String> = sqlite_opt(tx.query_row(
        "SELECT value_json FROM study_system_attributes WHERE study_id = ?1 AND key = ?2",
        rusqlite::params![id, CREATED_KEY],
        |r| r.get(0),
    ))?;
    Ok(StudyRow {
        id,
        name: name.to_string(),
        settings: settings.unwrap_or_default(),
        created: created.and_then(|c| c.parse().ok()).unwrap_or(0.0),
    })
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

// ---------------------------------------------------------------------------
// PostgreSQL

/// A PostgreSQL study database in Optuna's schema (synchronous client, no TLS).
#[cfg(feature = "postgres")]
pub struct Postgres {
    client: postgres::Client,
}

/// Optuna's tables as SQLAlchemy creates them for Optuna 5.1 (alembic
/// revision v3.2.0.a) in PostgreSQL: the same types, enums, sequences and
/// constraint names as `pg_dump -s` shows of a database Optuna made.
#[cfg(feature = "postgres")]
const PG_OPTUNA_SCHEMA: &str = "
CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE');
CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN');
CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING');
CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG');
CREATE TABLE studies (
    study_id SERIAL NOT NULL,
    study_name VARCHAR(512) NOT NULL,
    PRIMARY KEY (study_id)
);
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE TABLE version_info (
    version_info_id INTEGER NOT NULL,
    schema_version INTEGER,
    library_version VARCHAR(256),
    PRIMARY KEY (version_info_id),
    CHECK (version_info_id = 1)
);
CREATE TABLE study_directions (
    study_direction_id SERIAL NOT NULL,
    direction studydirection NOT NULL,
    study_id INTEGER NOT NULL,
    objective INTEGER NOT NULL,
    PRIMARY KEY (study_direction_id),
    UNIQUE (study_id, objective),
    FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE study_user_attributes (
    study_user_attribute_id SERIAL NOT NULL,
    study_id INTEGER,
    key VARCHAR(512),
    value_json TEXT,
    PRIMARY KEY (study_user_attribute_id),
    UNIQUE (study_id, key),
    FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE study_system_attributes (
    study_system_attribute_id SERIAL NOT NULL,
    study_id INTEGER,
    key VARCHAR(512),
    value_json TEXT,
    PRIMARY KEY (study_system_attribute_id),
    UNIQUE (study_id, key),
    FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE trials (
    trial_id SERIAL NOT NULL,
    number INTEGER,
    study_id INTEGER,
    state trialstate NOT NULL,
    datetime_start TIMESTAMP WITHOUT TIME ZONE,
    datetime_complete TIMESTAMP WITHOUT TIME ZONE,
    PRIMARY KEY (trial_id),
    FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE INDEX ix_trials_study_id ON trials (study_id);
CREATE TABLE trial_user_attributes (
    trial_user_attribute_id SERIAL NOT NULL,
    trial_id INTEGER,
    key VARCHAR(512),
    value_json TEXT,
    PRIMARY KEY (trial_user_attribute_id),
    UNIQUE (trial_id, key),
    FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_system_attributes (
    trial_system_attribute_id SERIAL NOT NULL,
    trial_id INTEGER,
    key VARCHAR(512),
    value_json TEXT,
    PRIMARY KEY (trial_system_attribute_id),
    UNIQUE (trial_id, key),
    FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_params (
    param_id SERIAL NOT NULL,
    trial_id INTEGER,
    param_name VARCHAR(512),
    param_value DOUBLE PRECISION,
    distribution_json TEXT,
    PRIMARY KEY (param_id),
    UNIQUE (trial_id, param_name),
    FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_values (
    trial_value_id SERIAL NOT NULL,
    trial_id INTEGER NOT NULL,
    objective INTEGER NOT NULL,
    value DOUBLE PRECISION,
    value_type trialvaluetype NOT NULL,
    PRIMARY KEY (trial_value_id),
    UNIQUE (trial_id, objective),
    FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_intermediate_values (
    trial_intermediate_value_id SERIAL NOT NULL,
    trial_id INTEGER NOT NULL,
    step INTEGER NOT NULL,
    intermediate_value DOUBLE PRECISION,
    intermediate_value_type trialintermediatevaluetype NOT NULL,
    PRIMARY KEY (trial_intermediate_value_id),
    UNIQUE (trial_id, step),
    FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_heartbeats (
    trial_heartbeat_id SERIAL NOT NULL,
    trial_id INTEGER NOT NULL,
    heartbeat TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (trial_heartbeat_id),
    UNIQUE (trial_id),
    FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
";

/// The server's clock as Optuna stores times (naive UTC).
#[cfg(feature = "postgres")]
const PG_NOW: &str = "(clock_timestamp() AT TIME ZONE 'UTC')";

/// Key of the advisory lock that serialises schema creation (concurrent
/// `CREATE TABLE IF NOT EXISTS` can fail in PostgreSQL).
#[cfg(feature = "postgres")]
const PG_SCHEMA_LOCK: i64 = 0x6870_6f5f_7363_6831;

#[cfg(feature = "postgres")]
impl Postgres {
    /// Connects and creates the tables if needed.
    pub fn connect(url: &str) -> Result<Self> {
        let client = postgres::Client::connect(url, postgres::NoTls)
            .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
        let mut s = Postgres { client };
        s.init()
            .with_context(|| format!("PostgreSQL study database {}", redact(url)))?;
        Ok(s)
    }

    fn init(&mut self) -> Result<()> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_SCHEMA_LOCK])?;
        let has = |tx: &mut postgres::Transaction<'_>, t: &str| -> Result<bool> {
            Ok(tx
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&t])?
                .get::<_, bool>(0))
        };
        if has(&mut tx, "hpo_studies")? {
            return Err(old_schema_error());
        }
        if !has(&mut tx, "studies")? {
            tx.batch_execute(PG_OPTUNA_SCHEMA)?;
            tx.execute(
                "INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, $1::int8, $2)",
                &[
                    &OPTUNA_SCHEMA_VERSION,
                    &format!("host-sim {}", env!("CARGO_PKG_VERSION")),
                ],
            )?;
            tx.execute(
                "INSERT INTO alembic_version (version_num) VALUES ($1)",
                &[&OPTUNA_ALEMBIC_REVISION],
            )?;
        }
        let rev: Option<String> = tx
            .query_opt("SELECT version_num::text FROM alembic_version", &[])?
            .map(|r| r.get(0));
        ensure!(
            rev.as_deref() == Some(OPTUNA_ALEMBIC_REVISION),
            "the database has Optuna schema revision {rev:?}; host-sim writes {OPTUNA_ALEMBIC_REVISION} \
             (`optuna storage upgrade --storage URL` brings an older one up to date)"
        );
        tx.batch_execute(HOST_SIM_SCHEMA)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(feature = "postgres")]
fn pg_owns(tx: &mut postgres::Transaction<'_>, lease: &Lease) -> Result<bool> {
    let owns = tx
        .query_opt(
            "SELECT 1 FROM trials t JOIN host_sim_trials h ON h.trial_id = t.trial_id
             WHERE t.trial_id = $1::int8 AND t.state = 'RUNNING' AND h.worker = $2 AND h.attempt = $3::int8
             FOR UPDATE OF t",
            &[&lease.trial_id, &lease.worker, &lease.attempt],
        )?
        .is_some();
    if owns {
        pg_beat(tx, lease.trial_id)?;
    }
    Ok(owns)
}

#[cfg(feature = "postgres")]
fn pg_beat(tx: &mut postgres::Transaction<'_>, trial: i64) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES ($1::int8, {PG_NOW})
             ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat"
        ),
        &[&trial],
    )?;
    Ok(())
}

#[cfg(feature = "postgres")]
fn pg_set_system_attr(tx: &mut postgres::Transaction<'_>, trial: i64, key: &str, json: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES ($1::int8, $2, $3)
         ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json",
        &[&trial, &key, &json],
    )?;
    Ok(())
}

#[cfg(feature = "postgres")]
fn pg_new_trial(tx: &mut postgres::Transaction<'_>, study: i64, state: TrialState) -> Result<(i64, i64)> {
    let number: i64 = tx
        .query_one("SELECT COUNT(*)::int8 FROM trials WHERE study_id = $1::int8", &[&study])?
        .get(0);
    let start = if state == TrialState::Running { PG_NOW } else { "NULL" };
    let id: i64 = tx
        .query_one(
            &format!(
                "INSERT INTO trials (number, study_id, state, datetime_start)
                 VALUES ($1::int8, $2::int8, '{}', {start}) RETURNING trial_id::int8",
                optuna_state(state)
            ),
            &[&number, &study],
        )?
        .get(0);
    Ok((id, number))
}

#[cfg(feature = "postgres")]
fn pg_study_row(tx: &mut postgres::Transaction<'_>, id: i64, name: &str) -> Result<StudyRow> {
    let settings: Option<String> = tx
        .query_opt(
            "SELECT value_json FROM study_user_attributes WHERE study_id = $1::int8 AND key = $2",
            &[&id, &SETTINGS_KEY],
        )?
        .and_then(|r| r.get(0));
    let created: Option<String> = tx
        .query_opt(
            "SELECT value_json FROM study_system_attributes WHERE study_id = $1::int8 AND key = $2",
            &[&id, &CREATED_KEY],
        )?
        .and_then(|r| r.get(0));
    Ok(StudyRow {
        id,
        name: name.to_string(),
        settings: settings.unwrap_or_default(),
        created: created.and_then(|c| c.parse().ok()).unwrap_or(0.0),
    })
}

#[cfg(feature = "postgres")]
impl StudyStore for Postgres {
    fn get_or_create_study(&mut self, name: &str, settings: &str) -> Result<(StudyRow, bool)> {
        let mut tx = self.client.transaction()?;
        let inserted = tx.query_opt(
            "INSERT INTO studies (study_name) VALUES ($1) ON CONFLICT (study_name) DO NOTHING RETURNING study_id::int8",
            &[&name],
        )?;
        let created = inserted.is_some();
        let id: i64 = match inserted {
            Some(r) => r.get(0),
            None => tx
                .query_one("SELECT study_id::int8 FROM studies WHERE study_name = $1", &[&name])?
                .get(0),
        };
        if created {
            tx.execute(
                "INSERT INTO study_directions (direction, study_id, objective) VALUES ('MAXIMIZE', $1::int8, 0)",
                &[&id],
            )?;
            tx.execute(
                "INSERT INTO study_user_attributes (study_id, key, value_json) VALUES ($1::int8, $2, $3)",
                &[&id, &SETTINGS_KEY, &settings],
            )?;
            tx.execute(
                "INSERT INTO study_system_attributes (study_id, key, value_json) VALUES ($1::int8, $2, $3)",
                &[&id, &CREATED_KEY, &unix_now().to_string()],
            )?;
        }
        let row = pg_study_row(&mut tx, id, name)?;
        tx.commit()?;
        Ok((row, created))
    }

    fn studies(&mut self) -> Result<Vec<StudyRow>> {
        let mut tx = self.client.transaction()?;
        let ids: Vec<(i64, String)> = tx
            .query(
                "SELECT study_id::int8, study_name::text FROM studies ORDER BY study_id",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut out = Vec::new();
        for (id, name) in ids {
            out.push(pg_study_row(&mut tx, id, &name)?);
        }
        tx.commit()?;
        Ok(out.into_iter().filter(|s| !s.settings.is_empty()).collect())
    }

    fn enqueue(&mut self, study: i64, params: &str) -> Result<i64> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT 1 FROM studies WHERE study_id = $1::int8 FOR UPDATE", &[&study])?;
        let (id, number) = pg_new_trial(&mut tx, study, TrialState::Waiting)?;
        pg_set_system_attr(&mut tx, id, "fixed_params", params)?;
        tx.commit()?;
        Ok(number)
    }

    fn claim(&mut self, study: i64, worker: &str, target: u64, policy: LeasePolicy) -> Result<(Claim, Vec<Recovered>)> {
        let mut tx = self.client.transaction()?;
        // The study's lock: one claim at a time among host-sim's workers.
        tx.execute("SELECT 1 FROM studies WHERE study_id = $1::int8 FOR UPDATE", &[&study])?;
        let r = claim_with(&mut PgClaim { tx: &mut tx }, study, worker, target, policy)?;
        tx.commit()?;
        Ok(r)
    }

    fn set_params(&mut self, lease: &Lease, params: &str, optuna: &[OptunaParam], config: &str) -> Result<bool> {
        let mut tx = self.client.transaction()?;
        if !pg_owns(&mut tx, lease)? {
            return Ok(false);
        }
        tx.execute(
            "UPDATE host_sim_trials SET params = $2, config = $3 WHERE trial_id = $1::int8",
            &[&lease.trial_id, &params, &config],
        )?;
        tx.execute("DELETE FROM trial_params WHERE trial_id = $1::int8", &[&lease.trial_id])?;
        for p in optuna {
            tx.execute(
                "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
                 VALUES ($1::int8, $2, $3, $4)",
                &[&lease.trial_id, &p.name, &p.value, &p.distribution],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn heartbeat(&mut self, lease: &Lease) -> Result<bool> {
        let mut tx = self.client.transaction()?;
        let ok = pg_owns(&mut tx, lease)?;
        tx.commit()?;
        Ok(ok)
    }

    fn report(&mut self, lease: &Lease, step: i64, value: f64) -> Result<bool> {
        let mut tx = self.client.transaction()?;
        if !pg_owns(&mut tx, lease)? {
            return Ok(false);
        }
        let (v, kind) = if value.is_nan() {
            (None, "NAN")
        } else {
            (Some(value), "FINITE")
        };
        tx.execute(
            &format!(
                "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type)
                 VALUES ($1::int8, $2::int8, $3, '{kind}')
                 ON CONFLICT (trial_id, step) DO UPDATE SET intermediate_value = excluded.intermediate_value,
                     intermediate_value_type = excluded.intermediate_value_type"
            ),
            &[&lease.trial_id, &step, &v],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn finish(&mut self, lease: &Lease, f: &Finish) -> Result<bool> {
        let mut tx = self.client.transaction()?;
        if !pg_owns(&mut tx, lease)? {
            return Ok(false);
        }
        let id = lease.trial_id;
        tx.execute(
            &format!(
                "UPDATE trials SET state = '{}', datetime_complete = {PG_NOW} WHERE trial_id = $1::int8",
                optuna_state(f.state)
            ),
            &[&id],
        )?;
        let value = match (f.state, f.value) {
            (_, Some(v)) => Some(v),
            (TrialState::Pruned, None) => tx
                .query_opt(
                    "SELECT intermediate_value FROM trial_intermediate_values WHERE trial_id = $1::int8
                     AND intermediate_value_type = 'FINITE' ORDER BY step DESC LIMIT 1",
                    &[&id],
                )?
                .and_then(|r| r.get::<_, Option<f64>>(0)),
            _ => None,
        };
        if let Some(v) = value.filter(|v| v.is_finite()) {
            tx.execute(
                "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES ($1::int8, 0, $2, 'FINITE')
                 ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value",
                &[&id, &v],
            )?;
        }
        if let Some(e) = &f.error {
            pg_set_system_attr(&mut tx, id, "fail_reason", &serde_json::to_string(e)?)?;
        }
        tx.execute(
            "UPDATE host_sim_trials SET duration_s = $2, train_s = $3, examples = $4::int8, error = $5
             WHERE trial_id = $1::int8",
            &[&id, &f.duration_s, &f.train_s, &f.examples, &f.error],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn completed_values_at(&mut self, study: i64, step: i64) -> Result<Vec<f64>> {
        Ok(self
            .client
            .query(
                "SELECT i.intermediate_value FROM trial_intermediate_values i JOIN trials t ON t.trial_id = i.trial_id
                 WHERE t.study_id = $1::int8 AND t.state = 'COMPLETE' AND i.step = $2::int8
                   AND i.intermediate_value_type = 'FINITE'",
                &[&study, &step],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn trials(&mut self, study: i64) -> Result<Vec<TrialRow>> {
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let mut raw = Vec::new();
        for r in tx.query(
            "SELECT t.trial_id::int8, t.number::int8, t.state::text,
                    extract(epoch from t.datetime_start)::float8, extract(epoch from t.datetime_complete)::float8,
                    extract(epoch from b.heartbeat)::float8, v.value,
                    h.worker, h.attempt::int8, h.params, h.config, h.duration_s, h.train_s, h.examples::int8, h.error,
                    f.value_json, x.value_json
             FROM trials t
             LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0
             LEFT JOIN trial_heartbeats b ON b.trial_id = t.trial_id
             LEFT JOIN host_sim_trials h ON h.trial_id = t.trial_id
             LEFT JOIN trial_system_attributes f ON f.trial_id = t.trial_id AND f.key = 'fixed_params'
             LEFT JOIN trial_system_attributes x ON x.trial_id = t.trial_id AND x.key = 'fail_reason'
             WHERE t.study_id = $1::int8 ORDER BY t.number, t.trial_id",
            &[&study],
        )? {
            raw.push((
                TrialRow {
                    id: r.get(0),
                    number: r.get(1),
                    state: TrialState::Waiting,
                    params: None,
                    config: r.get(10),
                    value: r.get(6),
                    worker: r.get(7),
                    attempt: r.get::<_, Option<i64>>(8).unwrap_or(0),
                    started: r.get(3),
                    heartbeat: r.get(5),
                    finished: r.get(4),
                    duration_s: r.get(11),
                    train_s: r.get(12),
                    examples: r.get(13),
                    error: r.get(14),
                    intermediate: Vec::new(),
                },
                r.get::<_, String>(2),
                r.get::<_, Option<String>>(9),
                r.get::<_, Option<String>>(15),
                r.get::<_, Option<String>>(16),
                None,
            ));
        }
        let optuna_params: Vec<(i64, String, f64, String)> = tx
            .query(
                "SELECT p.trial_id::int8, p.param_name::text, p.param_value, p.distribution_json FROM trial_params p
                 JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = $1::int8 ORDER BY p.trial_id, p.param_name",
                &[&study],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let values: Vec<(i64, i64, f64)> = tx
            .query(
                "SELECT i.trial_id::int8, i.step::int8, i.intermediate_value FROM trial_intermediate_values i
                 JOIN trials t ON t.trial_id = i.trial_id
                 WHERE t.study_id = $1::int8 AND i.intermediate_value_type = 'FINITE' ORDER BY i.trial_id, i.step",
                &[&study],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        tx.commit()?;
        let mut trials = assemble(raw, optuna_params)?;
        attach_intermediate(&mut trials, values);
        Ok(trials)
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

    #[test]
    #[cfg(feature = "sqlite")]
    fn a_database_in_the_old_schema_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE hpo_studies (id INTEGER PRIMARY KEY, name TEXT)")
            .unwrap();
        let e = format!("{:#}", open(&format!("sqlite:{}", path.display())).err().unwrap());
        assert!(
            e.contains("host-sim's own schema of before") && e.contains("new database"),
            "{e}"
        );
    }

    #[test]
    #[cfg(feature = "sqlite")]
    fn a_trial_is_claimed_once_and_a_lost_lease_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("s.db").display());
        let mut a = open(&url).unwrap();
        let mut b = open(&url).unwrap();
        let (study, created) = a.get_or_create_study("s", "{}").unwrap();
        assert!(created);
        assert!(!b.get_or_create_study("s", "{\"other\":1}").unwrap().1);
        let policy = LeasePolicy {
            lease_s: 3600.0,
            max_attempts: 2,
        };
        let Claim::Trial(ta) = a.claim(study.id, "a", 2, policy).unwrap().0 else {
            panic!()
        };
        let Claim::Trial(tb) = b.claim(study.id, "b", 2, policy).unwrap().0 else {
            panic!()
        };
        assert_eq!((ta.lease.number, tb.lease.number), (0, 1));
        assert!(matches!(
            a.claim(study.id, "a", 2, policy).unwrap().0,
            Claim::Wait { running: 2 }
        ));
        // A lease that is not a's own changes nothing.
        let forged = Lease {
            worker: "b".into(),
            ..ta.lease.clone()
        };
        assert!(!b.report(&forged, 10, 0.5).unwrap());
        assert!(a.report(&ta.lease, 10, 0.5).unwrap());
        let fin = Finish {
            state: TrialState::Complete,
            value: Some(0.5),
            duration_s: 1.0,
            train_s: 0.5,
            examples: 10,
            error: None,
        };
        assert!(a.finish(&ta.lease, &fin).unwrap());
        assert!(
            !a.finish(&ta.lease, &fin).unwrap(),
            "a finished trial cannot be finished again"
        );
        assert_eq!(a.completed_values_at(study.id, 10).unwrap(), vec![0.5]);

        // b's worker dies: with a zero lease its trial is re-queued, then failed.
        let zero = LeasePolicy {
            lease_s: -1.0,
            max_attempts: 2,
        };
        let (c, rec) = a.claim(study.id, "a", 2, zero).unwrap();
        assert_eq!(
            rec,
            vec![Recovered {
                number: 1,
                state: TrialState::Waiting
            }]
        );
        let Claim::Trial(again) = c else { panic!() };
        assert_eq!((again.lease.number, again.lease.attempt), (1, 2));
        assert!(!b.heartbeat(&tb.lease).unwrap(), "the dead worker's lease is gone");
        let (c, rec) = a.claim(study.id, "a", 2, zero).unwrap();
        assert_eq!(rec[0].state, TrialState::Failed);
        let Claim::Trial(fresh) = c else { panic!() };
        assert_eq!(fresh.lease.number, 2, "a failed trial does not count toward the target");
        // Trial 2 is running; with one finished trial wanted the study is
        // done (nothing to wait for), with two it is not.
        assert!(matches!(a.claim(study.id, "b", 1, policy).unwrap().0, Claim::Done));
        assert!(matches!(
            a.claim(study.id, "b", 2, policy).unwrap().0,
            Claim::Wait { running: 1 }
        ));
        let trials = a.trials(study.id).unwrap();
        assert_eq!(trials.len(), 3);
        assert_eq!(trials[0].intermediate, vec![(10, 0.5)]);
        assert_eq!(trials[1].state, TrialState::Failed);
    }
}
