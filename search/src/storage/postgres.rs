//! PostgreSQL studies: workers on several machines share one server
//! (synchronous client, no TLS).

use anyhow::{ensure, Context, Result};

use super::*;

/// PostgreSQL's side of a claim: times from the server's clock; the
/// caller holds the study's row lock.
struct PgClaim<'a, 'c> {
    tx: &'a mut ::postgres::Transaction<'c>,
}

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

/// A PostgreSQL study database in Optuna's schema (synchronous client, no TLS).
pub struct Postgres {
    client: ::postgres::Client,
}

/// Optuna's tables as SQLAlchemy creates them for Optuna 5.1 (alembic
/// revision v3.2.0.a) in PostgreSQL: the same types, enums, sequences and
/// constraint names as `pg_dump -s` shows of a database Optuna made.
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
const PG_NOW: &str = "(clock_timestamp() AT TIME ZONE 'UTC')";

/// Key of the advisory lock that serialises schema creation (concurrent
/// `CREATE TABLE IF NOT EXISTS` can fail in PostgreSQL).
const PG_SCHEMA_LOCK: i64 = 0x6870_6f5f_7363_6831;

impl Postgres {
    /// Connects and creates the tables if needed.
    pub fn connect(url: &str) -> Result<Self> {
        let client = ::postgres::Client::connect(url, ::postgres::NoTls)
            .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
        let mut s = Postgres { client };
        s.init()
            .with_context(|| format!("PostgreSQL study database {}", redact(url)))?;
        Ok(s)
    }

    fn init(&mut self) -> Result<()> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_SCHEMA_LOCK])?;
        let has = |tx: &mut ::postgres::Transaction<'_>, t: &str| -> Result<bool> {
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

fn pg_owns(tx: &mut ::postgres::Transaction<'_>, lease: &Lease) -> Result<bool> {
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

fn pg_beat(tx: &mut ::postgres::Transaction<'_>, trial: i64) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES ($1::int8, {PG_NOW})
             ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat"
        ),
        &[&trial],
    )?;
    Ok(())
}

fn pg_set_system_attr(tx: &mut ::postgres::Transaction<'_>, trial: i64, key: &str, json: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES ($1::int8, $2, $3)
         ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json",
        &[&trial, &key, &json],
    )?;
    Ok(())
}

fn pg_new_trial(tx: &mut ::postgres::Transaction<'_>, study: i64, state: TrialState) -> Result<(i64, i64)> {
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

fn pg_study_row(tx: &mut ::postgres::Transaction<'_>, id: i64, name: &str) -> Result<StudyRow> {
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
            .isolation_level(::postgres::IsolationLevel::RepeatableRead)
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
