//! Versioned schema migrations.
//!
//! [`MIGRATIONS`] is append-only: migration *n* (1-based) takes the database
//! from version *n − 1* to *n*. Each runs in its own transaction together
//! with the update of `schema_version`, so a crash mid-migration leaves the
//! previous version intact. Never edit a migration that has shipped; add one.
//!
//! Times are integers: packet time in microseconds since the Unix epoch
//! (the event contract's resolution) for everything the engine reported,
//! wall-clock Unix seconds for what people did (`status_changed`, `created`).

use rusqlite::{Connection, OptionalExtension};

use crate::{Result, StoreError};

/// Ordered migrations. Index 0 is version 1.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
CREATE TABLE devices (
    id             TEXT PRIMARY KEY,      -- MAC (aa:bb:..) or, for layer-3-only devices, the IP
    mac            TEXT,
    vendor         TEXT,
    hostname       TEXT,
    category       TEXT,
    model          TEXT,
    confidence     REAL,
    evidence       TEXT NOT NULL DEFAULT '[]',   -- JSON [{source, value}]
    ips            TEXT NOT NULL DEFAULT '[]',   -- JSON [ip], newest first, capped
    services       TEXT NOT NULL DEFAULT '[]',
    protocols      TEXT NOT NULL DEFAULT '[]',
    random_mac     INTEGER NOT NULL DEFAULT 0,
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    pkts_sent      INTEGER NOT NULL DEFAULT 0,
    bytes_sent     INTEGER NOT NULL DEFAULT 0,
    pkts_received  INTEGER NOT NULL DEFAULT 0,
    bytes_received INTEGER NOT NULL DEFAULT 0,
    risk           INTEGER NOT NULL DEFAULT 0    -- 0..100, recomputed on ingest
);
CREATE INDEX devices_category ON devices(category);
CREATE INDEX devices_last_seen ON devices(last_seen);

CREATE TABLE device_history (
    id        INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    field     TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX device_history_device ON device_history(device_id, ts);

CREATE TABLE alerts (
    id             INTEGER PRIMARY KEY,
    ts             INTEGER NOT NULL,
    category       TEXT NOT NULL,
    signature      TEXT NOT NULL,
    severity       INTEGER NOT NULL,
    confidence     REAL NOT NULL,
    summary        TEXT NOT NULL,
    evidence       TEXT NOT NULL DEFAULT '{}',
    devices        TEXT NOT NULL DEFAULT '[]',
    attacker       TEXT,
    victims        TEXT NOT NULL DEFAULT '[]',
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    count          INTEGER NOT NULL DEFAULT 0,
    detector       TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'acknowledged', 'muted', 'normal')),
    note           TEXT,
    status_changed INTEGER,
    suppression_id INTEGER
);
CREATE INDEX alerts_status ON alerts(status, severity);
CREATE INDEX alerts_incident ON alerts(signature, detector, attacker, first_seen);
CREATE INDEX alerts_last_seen ON alerts(last_seen);

-- Which devices (ids, and the attacker/victim IPs) an alert involves, for
-- the device page.
CREATE TABLE alert_devices (
    alert_id  INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    PRIMARY KEY (alert_id, device_id)
) WITHOUT ROWID;
CREATE INDEX alert_devices_device ON alert_devices(device_id);

CREATE TABLE findings (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    device          TEXT NOT NULL DEFAULT '',
    protocol        TEXT NOT NULL,
    username        TEXT NOT NULL DEFAULT '',
    severity        INTEGER NOT NULL,
    summary         TEXT NOT NULL,
    outcome         TEXT,
    secret_redacted INTEGER NOT NULL DEFAULT 0,
    evidence        TEXT NOT NULL DEFAULT '{}',
    remedy          TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    count           INTEGER NOT NULL DEFAULT 1,
    UNIQUE (kind, device, protocol, username)
);
CREATE INDEX findings_device ON findings(device);

-- Per device, per minute of packet time.
CREATE TABLE traffic (
    device_id TEXT NOT NULL,
    minute    INTEGER NOT NULL,               -- Unix minutes
    pkts      INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    PRIMARY KEY (device_id, minute)
) WITHOUT ROWID;
CREATE INDEX traffic_minute ON traffic(minute);

CREATE TABLE stats (
    id   INTEGER PRIMARY KEY,
    ts   INTEGER NOT NULL,
    body TEXT NOT NULL                         -- the `stats` body as JSON
);
CREATE INDEX stats_ts ON stats(ts);

CREATE TABLE suppressions (
    id        INTEGER PRIMARY KEY,
    signature TEXT NOT NULL,
    subject   TEXT NOT NULL DEFAULT '',         -- attacker IP or device id; '' = anyone
    note      TEXT,
    created   INTEGER NOT NULL,
    UNIQUE (signature, subject)
);

CREATE TABLE model_state (
    name    TEXT PRIMARY KEY,
    path    TEXT NOT NULL,
    version TEXT NOT NULL,
    updated INTEGER NOT NULL
);

CREATE TABLE credentials (
    name    TEXT PRIMARY KEY,
    hash    TEXT NOT NULL,
    updated INTEGER NOT NULL
);

-- One row per acknowledged ingest batch.
CREATE TABLE ingest_log (
    id        INTEGER PRIMARY KEY,
    wall      INTEGER NOT NULL,                 -- Unix seconds
    events    INTEGER NOT NULL,
    last_ts   INTEGER                           -- newest packet time in the batch
);
"#,
    // 2: every address a device is known by (its id and its IPs), so alerts
    // and findings that name a device by IP are found through an index
    // instead of parsing every device's IP list.
    r#"
CREATE TABLE device_addrs (
    addr      TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (addr, device_id)
) WITHOUT ROWID;
CREATE INDEX device_addrs_device ON device_addrs(device_id);
INSERT OR IGNORE INTO device_addrs(addr, device_id) SELECT id, id FROM devices;
INSERT OR IGNORE INTO device_addrs(addr, device_id)
    SELECT j.value, d.id FROM devices d, json_each(d.ips) j;
"#,
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub(crate) fn current_version(conn: &Connection) -> Result<i64> {
    let v: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(v.unwrap_or(0))
}

/// Bring `conn` to [`latest_version`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER PRIMARY KEY,
             applied INTEGER NOT NULL
         )",
    )?;
    let found = current_version(conn)?;
    let known = latest_version();
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i64 + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version(version, applied) VALUES (?1, strftime('%s','now'))",
            [version],
        )?;
        tx.commit()?;
    }
    Ok(())
}
