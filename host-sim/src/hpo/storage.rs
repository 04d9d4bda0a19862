//! Study storage: one [`Storage`] trait, backed by SQLite (`sqlite:PATH`,
//! embedded, no server) or PostgreSQL (`postgres://USER:PASS@HOST/DB`, for
//! workers on several machines).
//!
//! # Schema (the same in both)
//!
//! | table | columns |
//! |---|---|
//! | `hpo_meta` | `key` (primary key), `value`: `schema_version` = 1 |
//! | `hpo_studies` | `id`, `name` (unique), `settings` (JSON: rule, split, seed, space, data fingerprint), `created` |
//! | `hpo_trials` | `id`, `study_id`, `number` (unique per study), `state` (`waiting`, `running`, `complete`, `pruned`, `failed`), `params` and `config` (JSON), `value` (validation accuracy), `worker`, `attempt`, `started`, `heartbeat`, `finished` (Unix seconds), `duration_s`, `train_s`, `examples` (trained), `error` |
//! | `hpo_intermediate` | `trial_id`, `step` (examples trained), `value` (running accuracy); primary key (`trial_id`, `step`) |
//!
//! # Concurrency
//!
//! A worker takes a trial with [`Storage::claim`], one transaction that
//! holds the study's write lock (SQLite: `BEGIN IMMEDIATE` on a WAL
//! database; PostgreSQL: `SELECT ... FOR UPDATE` on the study's row), so
//! two workers never get the same trial, and the trial count never passes
//! the target. In that transaction it first recovers the trials of dead
//! workers: a `running` trial whose heartbeat is older than the lease goes
//! back to `waiting` (its intermediate values dropped) to be run again, or
//! to `failed` once it has had `max_attempts` attempts. Then it takes the
//! lowest `waiting` trial, else a new number (max + 1) if the study has
//! fewer than the target of complete + pruned + running trials. Failing
//! that, the worker is told to wait if fewer than the target have finished
//! (a running trial may yet be abandoned), else that the study is done.
//!
//! Every later write (parameters, heartbeat, intermediate value, result)
//! names the lease (`trial id`, `worker`, `attempt`) and changes nothing
//! unless the trial is still `running` under that lease: a worker that was
//! presumed dead cannot overwrite the trial's new attempt, and a result is
//! committed in one transaction before the worker claims the next trial.
//! Times are the database's clock (PostgreSQL's `clock_timestamp()`, the
//! local clock for SQLite), so workers' clocks need not agree.
//!
//! SQLite studies shared by several processes must be on a local disk (WAL
//! needs shared memory); across machines use PostgreSQL. PostgreSQL
//! connections are unencrypted (`NoTls`): use it on loopback or a trusted
//! network.

#[cfg(feature = "sqlite")]
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};

/// Version of the schema above.
pub const SCHEMA_VERSION: i64 = 1;

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

/// What [`Storage::claim`] found.
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
pub trait Storage: Send {
    /// The study named `name`, created with `settings` if it does not exist
    /// (returns whether it was created).
    fn get_or_create_study(&mut self, name: &str, settings: &str) -> Result<(StudyRow, bool)>;
    /// All studies.
    fn studies(&mut self) -> Result<Vec<StudyRow>>;
    /// Adds a `waiting` trial with the given parameters (JSON); returns its number.
    fn enqueue(&mut self, study: i64, params: &str) -> Result<i64>;
    /// Recovers abandoned trials and takes one for `worker` (see the module doc).
    fn claim(&mut self, study: i64, worker: &str, target: u64, policy: LeasePolicy) -> Result<(Claim, Vec<Recovered>)>;
    /// Stores the parameters and `Config` (JSON) of a trial; false if the lease is lost.
    fn set_params(&mut self, lease: &Lease, params: &str, config: &str) -> Result<bool>;
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
pub fn open(url: &str) -> Result<Box<dyn Storage>> {
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

#[cfg(feature = "sqlite")]
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
// SQLite

#[cfg(feature = "sqlite")]
/// A SQLite study database (WAL mode; writers wait up to a minute for the lock).
pub struct Sqlite {
    conn: rusqlite::Connection,
}

#[cfg(feature = "sqlite")]
const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS hpo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hpo_studies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hpo_trials (
    id INTEGER PRIMARY KEY,
    study_id INTEGER NOT NULL REFERENCES hpo_studies(id),
    number INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'complete', 'pruned', 'failed')),
    params TEXT,
    config TEXT,
    value REAL,
    worker TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    started REAL,
    heartbeat REAL,
    finished REAL,
    duration_s REAL,
    train_s REAL,
    examples INTEGER,
    error TEXT,
    UNIQUE (study_id, number)
);
CREATE INDEX IF NOT EXISTS hpo_trials_state ON hpo_trials (study_id, state);
CREATE TABLE IF NOT EXISTS hpo_intermediate (
    trial_id INTEGER NOT NULL REFERENCES hpo_trials(id),
    step INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (trial_id, step)
);
";

const TRIAL_COLUMNS: &str = "id, number, state, params, config, value, worker, attempt, started, heartbeat, finished, \
     duration_s, train_s, examples, error";

#[cfg(feature = "sqlite")]
impl Sqlite {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &str) -> Result<Self> {
        let conn = rusqlite::Connection::open(path).with_context(|| format!("cannot open SQLite study {path}"))?;
        conn.busy_timeout(Duration::from_secs(60))?;
        let mut s = Sqlite { conn };
        s.init().with_context(|| format!("SQLite study {path}"))?;
        Ok(s)
    }

    fn init(&mut self) -> Result<()> {
        let mode: String = self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "cannot switch to WAL mode (got '{mode}'); is the file on a network disk?"
        );
        self.conn.execute_batch("PRAGMA foreign_keys = ON")?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(SQLITE_SCHEMA)?;
        tx.execute(
            "INSERT INTO hpo_meta (key, value) VALUES ('schema_version', ?1) ON CONFLICT (key) DO NOTHING",
            [SCHEMA_VERSION.to_string()],
        )?;
        let v: String = tx.query_row("SELECT value FROM hpo_meta WHERE key = 'schema_version'", [], |r| {
            r.get(0)
        })?;
        ensure!(
            v == SCHEMA_VERSION.to_string(),
            "the database has schema version {v}; this program knows {SCHEMA_VERSION}"
        );
        tx.commit()?;
        Ok(())
    }

    fn write_tx(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }
}

#[cfg(feature = "sqlite")]
fn sqlite_study(r: &rusqlite::Row<'_>) -> rusqlite::Result<StudyRow> {
    Ok(StudyRow {
        id: r.get(0)?,
        name: r.get(1)?,
        settings: r.get(2)?,
        created: r.get(3)?,
    })
}

#[cfg(feature = "sqlite")]
/// Whether `lease` still holds its trial (inside a write transaction).
fn sqlite_owns(tx: &rusqlite::Transaction<'_>, lease: &Lease, now: f64) -> Result<bool> {
    let n = tx.execute(
        "UPDATE hpo_trials SET heartbeat = ?1 WHERE id = ?2 AND state = 'running' AND worker = ?3 AND attempt = ?4",
        rusqlite::params![now, lease.trial_id, lease.worker, lease.attempt],
    )?;
    Ok(n == 1)
}

#[cfg(feature = "sqlite")]
fn sqlite_next_number(tx: &rusqlite::Transaction<'_>, study: i64) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT COALESCE(MAX(number) + 1, 0) FROM hpo_trials WHERE study_id = ?1",
        [study],
        |r| r.get(0),
    )?)
}

#[cfg(feature = "sqlite")]
impl Storage for Sqlite {
    fn get_or_create_study(&mut self, name: &str, settings: &str) -> Result<(StudyRow, bool)> {
        let tx = self.write_tx()?;
        let created = tx.execute(
            "INSERT INTO hpo_studies (name, settings, created) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
            rusqlite::params![name, settings, unix_now()],
        )? == 1;
        let row = tx.query_row(
            "SELECT id, name, settings, created FROM hpo_studies WHERE name = ?1",
            [name],
            sqlite_study,
        )?;
        tx.commit()?;
        Ok((row, created))
    }

    fn studies(&mut self) -> Result<Vec<StudyRow>> {
        let mut st = self
            .conn
            .prepare("SELECT id, name, settings, created FROM hpo_studies ORDER BY id")?;
        let rows = st.query_map([], sqlite_study)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn enqueue(&mut self, study: i64, params: &str) -> Result<i64> {
        let tx = self.write_tx()?;
        let number = sqlite_next_number(&tx, study)?;
        tx.execute(
            "INSERT INTO hpo_trials (study_id, number, state, params) VALUES (?1, ?2, 'waiting', ?3)",
            rusqlite::params![study, number, params],
        )?;
        tx.commit()?;
        Ok(number)
    }

    fn claim(&mut self, study: i64, worker: &str, target: u64, policy: LeasePolicy) -> Result<(Claim, Vec<Recovered>)> {
        let tx = self.write_tx()?;
        let now = unix_now();
        let mut recovered = Vec::new();
        {
            let mut st = tx.prepare(
                "UPDATE hpo_trials
                 SET state = CASE WHEN attempt >= ?3 THEN 'failed' ELSE 'waiting' END,
                     error = ?4,
                     finished = CASE WHEN attempt >= ?3 THEN ?1 ELSE NULL END
                 WHERE study_id = ?2 AND state = 'running' AND heartbeat < ?1 - ?5
                 RETURNING number, state",
            )?;
            let rows = st.query_map(
                rusqlite::params![
                    now,
                    study,
                    policy.max_attempts,
                    lost_message(policy.lease_s, policy.max_attempts),
                    policy.lease_s
                ],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )?;
            for row in rows {
                let (number, state) = row?;
                recovered.push(Recovered {
                    number,
                    state: TrialState::parse(&state)?,
                });
            }
        }
        tx.execute(
            "DELETE FROM hpo_intermediate WHERE trial_id IN
             (SELECT id FROM hpo_trials WHERE study_id = ?1 AND state = 'waiting')",
            [study],
        )?;
        let waiting: Option<(i64, i64, Option<String>, i64)> = tx
            .query_row(
                "SELECT id, number, params, attempt FROM hpo_trials
                 WHERE study_id = ?1 AND state = 'waiting' ORDER BY number LIMIT 1",
                [study],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let claim = if let Some((id, number, params, attempt)) = waiting {
            tx.execute(
                "UPDATE hpo_trials SET state = 'running', worker = ?2, attempt = ?3, started = ?4, heartbeat = ?4,
                 error = NULL WHERE id = ?1",
                rusqlite::params![id, worker, attempt + 1, now],
            )?;
            Claim::Trial(Claimed {
                lease: Lease {
                    trial_id: id,
                    number,
                    worker: worker.to_string(),
                    attempt: attempt + 1,
                },
                params,
            })
        } else {
            let (finished, running): (i64, i64) = tx.query_row(
                "SELECT COALESCE(SUM(state IN ('complete', 'pruned')), 0),
                        COALESCE(SUM(state = 'running'), 0)
                 FROM hpo_trials WHERE study_id = ?1",
                [study],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if ((finished + running) as u64) < target {
                let number = sqlite_next_number(&tx, study)?;
                tx.execute(
                    "INSERT INTO hpo_trials (study_id, number, state, worker, attempt, started, heartbeat)
                     VALUES (?1, ?2, 'running', ?3, 1, ?4, ?4)",
                    rusqlite::params![study, number, worker, now],
                )?;
                Claim::Trial(Claimed {
                    lease: Lease {
                        trial_id: tx.last_insert_rowid(),
                        number,
                        worker: worker.to_string(),
                        attempt: 1,
                    },
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
        tx.commit()?;
        Ok((claim, recovered))
    }

    fn set_params(&mut self, lease: &Lease, params: &str, config: &str) -> Result<bool> {
        let tx = self.write_tx()?;
        if !sqlite_owns(&tx, lease, unix_now())? {
            return Ok(false);
        }
        tx.execute(
            "UPDATE hpo_trials SET params = ?2, config = ?3 WHERE id = ?1",
            rusqlite::params![lease.trial_id, params, config],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn heartbeat(&mut self, lease: &Lease) -> Result<bool> {
        let tx = self.write_tx()?;
        let ok = sqlite_owns(&tx, lease, unix_now())?;
        tx.commit()?;
        Ok(ok)
    }

    fn report(&mut self, lease: &Lease, step: i64, value: f64) -> Result<bool> {
        let tx = self.write_tx()?;
        if !sqlite_owns(&tx, lease, unix_now())? {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO hpo_intermediate (trial_id, step, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value",
            rusqlite::params![lease.trial_id, step, value],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn finish(&mut self, lease: &Lease, f: &Finish) -> Result<bool> {
        let tx = self.write_tx()?;
        let n = tx.execute(
            "UPDATE hpo_trials SET state = ?4, value = ?5, finished = ?6, heartbeat = ?6, duration_s = ?7,
                 train_s = ?8, examples = ?9, error = ?10
             WHERE id = ?1 AND state = 'running' AND worker = ?2 AND attempt = ?3",
            rusqlite::params![
                lease.trial_id,
                lease.worker,
                lease.attempt,
                f.state.as_str(),
                f.value,
                unix_now(),
                f.duration_s,
                f.train_s,
                f.examples,
                f.error
            ],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    fn completed_values_at(&mut self, study: i64, step: i64) -> Result<Vec<f64>> {
        let mut st = self.conn.prepare_cached(
            "SELECT i.value FROM hpo_intermediate i JOIN hpo_trials t ON t.id = i.trial_id
             WHERE t.study_id = ?1 AND t.state = 'complete' AND i.step = ?2",
        )?;
        let v = st
            .query_map(rusqlite::params![study, step], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<f64>>>()?;
        Ok(v)
    }

    fn trials(&mut self, study: i64) -> Result<Vec<TrialRow>> {
        // One read transaction: trials and their values from one snapshot.
        let tx = self.conn.transaction()?;
        let mut trials = {
            let mut st = tx.prepare(&format!(
                "SELECT {TRIAL_COLUMNS} FROM hpo_trials WHERE study_id = ?1 ORDER BY number"
            ))?;
            let rows = st.query_map([study], |r| {
                Ok((
                    TrialRow {
                        id: r.get(0)?,
                        number: r.get(1)?,
                        state: TrialState::Waiting,
                        params: r.get(3)?,
                        config: r.get(4)?,
                        value: r.get(5)?,
                        worker: r.get(6)?,
                        attempt: r.get(7)?,
                        started: r.get(8)?,
                        heartbeat: r.get(9)?,
                        finished: r.get(10)?,
                        duration_s: r.get(11)?,
                        train_s: r.get(12)?,
                        examples: r.get(13)?,
                        error: r.get(14)?,
                        intermediate: Vec::new(),
                    },
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (mut t, state) = row?;
                t.state = TrialState::parse(&state)?;
                out.push(t);
            }
            out
        };
        let mut st = tx.prepare(
            "SELECT i.trial_id, i.step, i.value FROM hpo_intermediate i JOIN hpo_trials t ON t.id = i.trial_id
             WHERE t.study_id = ?1 ORDER BY i.trial_id, i.step",
        )?;
        let values = st
            .query_map([study], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, f64>(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(st);
        tx.commit()?;
        attach_intermediate(&mut trials, values);
        Ok(trials)
    }
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

#[cfg(feature = "postgres")]
/// A PostgreSQL study database (synchronous client, no TLS).
pub struct Postgres {
    client: postgres::Client,
}

#[cfg(feature = "postgres")]
const PG_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS hpo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hpo_studies (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS hpo_trials (
    id BIGSERIAL PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES hpo_studies(id),
    number BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'complete', 'pruned', 'failed')),
    params TEXT,
    config TEXT,
    value DOUBLE PRECISION,
    worker TEXT,
    attempt BIGINT NOT NULL DEFAULT 0,
    started DOUBLE PRECISION,
    heartbeat DOUBLE PRECISION,
    finished DOUBLE PRECISION,
    duration_s DOUBLE PRECISION,
    train_s DOUBLE PRECISION,
    examples BIGINT,
    error TEXT,
    UNIQUE (study_id, number)
);
CREATE INDEX IF NOT EXISTS hpo_trials_state ON hpo_trials (study_id, state);
CREATE TABLE IF NOT EXISTS hpo_intermediate (
    trial_id BIGINT NOT NULL REFERENCES hpo_trials(id),
    step BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (trial_id, step)
);
";

#[cfg(feature = "postgres")]
/// The server's clock in Unix seconds.
const PG_NOW: &str = "extract(epoch from clock_timestamp())::float8";

#[cfg(feature = "postgres")]
/// Key of the advisory lock that serialises schema creation (concurrent
/// `CREATE TABLE IF NOT EXISTS` can fail in PostgreSQL).
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
        tx.batch_execute(PG_SCHEMA)?;
        tx.execute(
            "INSERT INTO hpo_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING",
            &[&SCHEMA_VERSION.to_string()],
        )?;
        let v: String = tx
            .query_one("SELECT value FROM hpo_meta WHERE key = 'schema_version'", &[])?
            .get(0);
        ensure!(
            v == SCHEMA_VERSION.to_string(),
            "the database has schema version {v}; this program knows {SCHEMA_VERSION}"
        );
        tx.commit()?;
        Ok(())
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

#[cfg(feature = "postgres")]
fn pg_study(r: &postgres::Row) -> StudyRow {
    StudyRow {
        id: r.get(0),
        name: r.get(1),
        settings: r.get(2),
        created: r.get(3),
    }
}

#[cfg(feature = "postgres")]
fn pg_owns(tx: &mut postgres::Transaction<'_>, lease: &Lease) -> Result<bool> {
    let n = tx.execute(
        &format!(
            "UPDATE hpo_trials SET heartbeat = {PG_NOW}
             WHERE id = $1 AND state = 'running' AND worker = $2 AND attempt = $3"
        ),
        &[&lease.trial_id, &lease.worker, &lease.attempt],
    )?;
    Ok(n == 1)
}

#[cfg(feature = "postgres")]
fn pg_next_number(tx: &mut postgres::Transaction<'_>, study: i64) -> Result<i64> {
    Ok(tx
        .query_one(
            "SELECT COALESCE(MAX(number) + 1, 0) FROM hpo_trials WHERE study_id = $1",
            &[&study],
        )?
        .get(0))
}

#[cfg(feature = "postgres")]
/// Locks the study's row until the transaction ends (serialises claims).
fn pg_lock_study(tx: &mut postgres::Transaction<'_>, study: i64) -> Result<()> {
    let found = tx.query_opt("SELECT id FROM hpo_studies WHERE id = $1 FOR UPDATE", &[&study])?;
    ensure!(found.is_some(), "study {study} does not exist");
    Ok(())
}

#[cfg(feature = "postgres")]
impl Storage for Postgres {
    fn get_or_create_study(&mut self, name: &str, settings: &str) -> Result<(StudyRow, bool)> {
        let mut tx = self.client.transaction()?;
        let created = tx.execute(
            &format!(
                "INSERT INTO hpo_studies (name, settings, created) VALUES ($1, $2, {PG_NOW})
                 ON CONFLICT (name) DO NOTHING"
            ),
            &[&name, &settings],
        )? == 1;
        let row = tx.query_one(
            "SELECT id, name, settings, created FROM hpo_studies WHERE name = $1",
            &[&name],
        )?;
        tx.commit()?;
        Ok((pg_study(&row), created))
    }

    fn studies(&mut self) -> Result<Vec<StudyRow>> {
        let rows = self
            .client
            .query("SELECT id, name, settings, created FROM hpo_studies ORDER BY id", &[])?;
        Ok(rows.iter().map(pg_study).collect())
    }

    fn enqueue(&mut self, study: i64, params: &str) -> Result<i64> {
        let mut tx = self.client.transaction()?;
        pg_lock_study(&mut tx, study)?;
        let number = pg_next_number(&mut tx, study)?;
        tx.execute(
            "INSERT INTO hpo_trials (study_id, number, state, params) VALUES ($1, $2, 'waiting', $3)",
            &[&study, &number, &params],
        )?;
        tx.commit()?;
        Ok(number)
    }

    fn claim(&mut self, study: i64, worker: &str, target: u64, policy: LeasePolicy) -> Result<(Claim, Vec<Recovered>)> {
        let mut tx = self.client.transaction()?;
        pg_lock_study(&mut tx, study)?;
        let rows = tx.query(
            &format!(
                "UPDATE hpo_trials
                 SET state = CASE WHEN attempt >= $2 THEN 'failed' ELSE 'waiting' END,
                     error = $3,
                     finished = CASE WHEN attempt >= $2 THEN {PG_NOW} ELSE NULL END
                 WHERE study_id = $1 AND state = 'running' AND heartbeat < {PG_NOW} - $4
                 RETURNING number, state"
            ),
            &[
                &study,
                &policy.max_attempts,
                &lost_message(policy.lease_s, policy.max_attempts),
                &policy.lease_s,
            ],
        )?;
        let mut recovered = Vec::new();
        for r in rows {
            recovered.push(Recovered {
                number: r.get(0),
                state: TrialState::parse(r.get(1))?,
            });
        }
        tx.execute(
            "DELETE FROM hpo_intermediate WHERE trial_id IN
             (SELECT id FROM hpo_trials WHERE study_id = $1 AND state = 'waiting')",
            &[&study],
        )?;
        let waiting = tx.query_opt(
            "SELECT id, number, params, attempt FROM hpo_trials
             WHERE study_id = $1 AND state = 'waiting' ORDER BY number LIMIT 1",
            &[&study],
        )?;
        let claim = if let Some(w) = waiting {
            let (id, number, params, attempt): (i64, i64, Option<String>, i64) =
                (w.get(0), w.get(1), w.get(2), w.get(3));
            tx.execute(
                &format!(
                    "UPDATE hpo_trials SET state = 'running', worker = $2, attempt = $3, started = {PG_NOW},
                     heartbeat = {PG_NOW}, error = NULL WHERE id = $1"
                ),
                &[&id, &worker, &(attempt + 1)],
            )?;
            Claim::Trial(Claimed {
                lease: Lease {
                    trial_id: id,
                    number,
                    worker: worker.to_string(),
                    attempt: attempt + 1,
                },
                params,
            })
        } else {
            let r = tx.query_one(
                "SELECT COUNT(*) FILTER (WHERE state IN ('complete', 'pruned')),
                        COUNT(*) FILTER (WHERE state = 'running')
                 FROM hpo_trials WHERE study_id = $1",
                &[&study],
            )?;
            let (finished, running): (i64, i64) = (r.get(0), r.get(1));
            if ((finished + running) as u64) < target {
                let number = pg_next_number(&mut tx, study)?;
                let id: i64 = tx
                    .query_one(
                        &format!(
                            "INSERT INTO hpo_trials (study_id, number, state, worker, attempt, started, heartbeat)
                             VALUES ($1, $2, 'running', $3, 1, {PG_NOW}, {PG_NOW}) RETURNING id"
                        ),
                        &[&study, &number, &worker],
                    )?
                    .get(0);
                Claim::Trial(Claimed {
                    lease: Lease {
                        trial_id: id,
                        number,
                        worker: worker.to_string(),
                        attempt: 1,
                    },
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
        tx.commit()?;
        Ok((claim, recovered))
    }

    fn set_params(&mut self, lease: &Lease, params: &str, config: &str) -> Result<bool> {
        let mut tx = self.client.transaction()?;
        if !pg_owns(&mut tx, lease)? {
            return Ok(false);
        }
        tx.execute(
            "UPDATE hpo_trials SET params = $2, config = $3 WHERE id = $1",
            &[&lease.trial_id, &params, &config],
        )?;
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
        tx.execute(
            "INSERT INTO hpo_intermediate (trial_id, step, value) VALUES ($1, $2, $3)
             ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value",
            &[&lease.trial_id, &step, &value],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn finish(&mut self, lease: &Lease, f: &Finish) -> Result<bool> {
        let mut tx = self.client.transaction()?;
        let n = tx.execute(
            &format!(
                "UPDATE hpo_trials SET state = $4, value = $5, finished = {PG_NOW}, heartbeat = {PG_NOW},
                     duration_s = $6, train_s = $7, examples = $8, error = $9
                 WHERE id = $1 AND state = 'running' AND worker = $2 AND attempt = $3"
            ),
            &[
                &lease.trial_id,
                &lease.worker,
                &lease.attempt,
                &f.state.as_str(),
                &f.value,
                &f.duration_s,
                &f.train_s,
                &f.examples,
                &f.error,
            ],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    fn completed_values_at(&mut self, study: i64, step: i64) -> Result<Vec<f64>> {
        let rows = self.client.query(
            "SELECT i.value FROM hpo_intermediate i JOIN hpo_trials t ON t.id = i.trial_id
             WHERE t.study_id = $1 AND t.state = 'complete' AND i.step = $2",
            &[&study, &step],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn trials(&mut self, study: i64) -> Result<Vec<TrialRow>> {
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let rows = tx.query(
            &format!("SELECT {TRIAL_COLUMNS} FROM hpo_trials WHERE study_id = $1 ORDER BY number"),
            &[&study],
        )?;
        let mut trials = Vec::with_capacity(rows.len());
        for r in &rows {
            trials.push(TrialRow {
                id: r.get(0),
                number: r.get(1),
                state: TrialState::parse(r.get(2))?,
                params: r.get(3),
                config: r.get(4),
                value: r.get(5),
                worker: r.get(6),
                attempt: r.get(7),
                started: r.get(8),
                heartbeat: r.get(9),
                finished: r.get(10),
                duration_s: r.get(11),
                train_s: r.get(12),
                examples: r.get(13),
                error: r.get(14),
                intermediate: Vec::new(),
            });
        }
        let values = tx
            .query(
                "SELECT i.trial_id, i.step, i.value FROM hpo_intermediate i JOIN hpo_trials t ON t.id = i.trial_id
                 WHERE t.study_id = $1 ORDER BY i.trial_id, i.step",
                &[&study],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        tx.commit()?;
        attach_intermediate(&mut trials, values);
        Ok(trials)
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
