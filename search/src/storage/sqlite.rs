//! SQLite studies: one file, embedded, no server (WAL mode; writers wait
//! up to a minute for the lock).

use std::time::Duration;

use anyhow::{ensure, Context, Result};

use super::*;

/// A SQLite study database in Optuna's schema (WAL mode; writers wait up
/// to a minute for the lock).
pub struct Sqlite {
    conn: rusqlite::Connection,
}

/// Optuna's tables as Optuna 5.1 (alembic revision v3.2.0.a) creates them
/// in SQLite (`.schema` of a database it made).
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

/// SQLite's side of a claim: times from the worker's clock (`now`), as
/// Optuna's own SQLite storage writes them.
struct SqliteClaim<'a, 'c> {
    tx: &'a rusqlite::Transaction<'c>,
    now: f64,
}

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

/// Whether `e` is SQLite's "database is busy/locked".
fn sqlite_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

fn sqlite_opt<T>(r: rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `lease` still holds its trial (inside a write transaction); if
/// so its heartbeat is renewed.
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

fn sqlite_beat(tx: &rusqlite::Transaction<'_>, trial: i64, now: f64) -> Result<()> {
    tx.execute(
        "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?1, ?2)
         ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
        rusqlite::params![trial, utc_datetime(now)],
    )?;
    Ok(())
}

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
fn sqlite_new_trial(tx: &rusqlite::Transaction<'_>, study: i64, state: &str, now: Option<f64>) -> Result<(i64, i64)> {
    let number: i64 = tx.query_row("SELECT COUNT(*) FROM trials WHERE study_id = ?1", [study], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO trials (number, study_id, state, datetime_start) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![number, study, state, now.map(utc_datetime)],
    )?;
    Ok((tx.last_insert_rowid(), number))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
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
