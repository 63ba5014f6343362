//! ward's embedded store: what the engine said, kept in one SQLite file.
//!
//! The store ingests [`ward_core::Event`]s — the event contract is its only
//! interface to the engine — and answers the questions the dashboard and API
//! ask: which devices are there, what happened to each, which alerts are open.
//!
//! # Guarantees
//! * **Acknowledged means durable.** [`Store::ingest`] writes a batch in one
//!   transaction and returns only after the commit. The database runs in WAL
//!   mode with `synchronous=FULL`, so the commit has been fsynced to the WAL:
//!   a `kill -9` of the writer, an OS crash or a power cut after `ingest`
//!   returned loses nothing of that batch (with `NORMAL`, WAL mode survives a
//!   process crash but may drop the last commits on power loss; batching
//!   makes the extra fsync per batch cheap, so we take `FULL`). A batch that
//!   was not acknowledged is either wholly present or wholly absent.
//! * **Versioned schema.** Migrations in [`schema`] run in order inside one
//!   transaction each and record themselves in `schema_version`; opening a
//!   database written by a newer ward fails with [`StoreError::TooNew`]
//!   instead of guessing.
//! * **Bounded growth.** Traffic is summarised per device per minute; lists
//!   kept per row (IPs) are capped; [`Store::prune`] deletes what is older
//!   than the [`Retention`] settings.
//! * Readers (the dashboard) and one writer (`ward analyze --db`, later
//!   `ward watch`) may use the file at the same time; WAL lets readers go on
//!   while a batch is written, and a busy timeout covers the rest.
#![forbid(unsafe_code)]

mod ingest;
mod query;
pub mod schema;
mod sink;
mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

pub use query::{AlertQuery, DeviceQuery, DeviceSort, FindingQuery, MAX_LIMIT};
pub use sink::StoreSink;
pub use types::*;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database schema version {found} is newer than this ward understands ({known}); upgrade ward")]
    TooNew { found: i64, known: i64 },
    #[error("database integrity check failed: {0}")]
    Corrupt(String),
    #[error("unknown alert status `{0}` (open, acknowledged, muted, normal)")]
    BadStatus(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on one store file. Not `Sync`: share it behind a mutex, or open
/// one `Store` per thread (they coordinate through SQLite's locks).
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// How long a writer or reader waits for another connection's lock before
/// giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Open (creating if needed) the store at `path` and bring its schema up
    /// to date. Parent directories are created.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Self::setup(conn, path)
    }

    /// A private in-memory store (tests, dry runs). Same schema, no file.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        Self::setup(conn, PathBuf::from(":memory:"))
    }

    fn setup(conn: Connection, path: PathBuf) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // journal_mode returns the mode it ended in; in-memory databases stay
        // `memory`, which is fine for them.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        // FULL: see the module docs — an acknowledged batch survives power loss.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn, path };
        schema::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// The file this store lives in (`:memory:` for in-memory stores).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the database is at after opening.
    pub fn schema_version(&self) -> Result<i64> {
        schema::current_version(&self.conn)
    }

    /// Run `PRAGMA integrity_check`; `Ok(())` when SQLite says `ok`.
    pub fn integrity_check(&self) -> Result<()> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        if rows.len() == 1 && rows[0] == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt(rows.join("; ")))
        }
    }

    /// The stored hash for a named credential (`admin`), if any.
    pub fn credential(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT hash FROM credentials WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Store (or replace) a credential hash. Only hashes belong here; the
    /// caller hashes (argon2 in `ward-web`).
    pub fn set_credential(&mut self, name: &str, hash: &str, now_unix: i64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO credentials(name, hash, updated) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET hash = excluded.hash, updated = excluded.updated",
            rusqlite::params![name, hash, now_unix],
        )?;
        Ok(())
    }

    /// Record where a model's state lives (anomaly baselines, identification
    /// models), so a restarted `ward watch` finds it again.
    pub fn set_model_state(&mut self, m: &ModelState) -> Result<()> {
        self.conn.execute(
            "INSERT INTO model_state(name, path, version, updated) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET path = excluded.path,
               version = excluded.version, updated = excluded.updated",
            rusqlite::params![m.name, m.path, m.version, m.updated],
        )?;
        Ok(())
    }

    /// Every model state reference, by name.
    pub fn model_states(&self) -> Result<Vec<ModelState>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, path, version, updated FROM model_state ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ModelState {
                    name: r.get(0)?,
                    path: r.get(1)?,
                    version: r.get(2)?,
                    updated: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// The default store location: `$XDG_DATA_HOME/ward/ward.db`, else
/// `$HOME/.local/share/ward/ward.db`, else `./ward.db`.
pub fn default_path() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("ward").join("ward.db");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h)
            .join(".local")
            .join("share")
            .join("ward")
            .join("ward.db");
    }
    PathBuf::from("ward.db")
}
