//! The JSON API behind the pages (described in `openapi.yaml`).
//!
//! Reads are `GET` with query filters; the one write,
//! `POST /api/alerts/{id}/status`, needs the session's CSRF token in the
//! `X-CSRF-Token` header (or bearer authentication).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use ward_store::{
    AlertQuery, AlertRow, AlertStatus, DeviceDetail, DeviceQuery, DeviceRow, DeviceSort,
    FindingQuery, FindingRow, Overview, Suppression,
};

use crate::{AppError, AppState, Authed};

/// The header carrying the CSRF token on JSON writes.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Longest note accepted with a status change.
const MAX_NOTE: usize = 500;

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, msg)
}

/// Inventory filters (`/api/devices` and `/devices`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DeviceParams {
    pub q: Option<String>,
    pub category: Option<String>,
    pub min_risk: Option<String>,
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl DeviceParams {
    pub fn to_query(&self) -> Result<DeviceQuery, AppError> {
        let sort = match nonempty(&self.sort) {
            Some(s) => DeviceSort::parse(&s).ok_or_else(|| {
                bad(format!(
                    "unknown sort `{}`",
                    s.chars().take(20).collect::<String>()
                ))
            })?,
            None => DeviceSort::Risk,
        };
        let descending = match nonempty(&self.order).as_deref() {
            None => matches!(
                sort,
                DeviceSort::Risk | DeviceSort::LastSeen | DeviceSort::Traffic
            ),
            Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(bad("order is `asc` or `desc`")),
        };
        let min_risk = match nonempty(&self.min_risk) {
            Some(r) => Some(r.parse().map_err(|_| bad("min_risk is a number 0-100"))?),
            None => None,
        };
        Ok(DeviceQuery {
            search: nonempty(&self.q),
            category: nonempty(&self.category),
            min_risk,
            sort,
            descending,
            limit: self.limit.unwrap_or(200),
            offset: self.offset.unwrap_or(0),
        })
    }
}

/// Alert filters (`/api/alerts` and `/alerts`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AlertParams {
    /// Comma-separated statuses, `active` (open + acknowledged) or `all`.
    pub status: Option<String>,
    pub category: Option<String>,
    pub max_severity: Option<u8>,
    pub signature: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl AlertParams {
    pub fn to_query(&self, default_status: &str) -> Result<AlertQuery, AppError> {
        let status = nonempty(&self.status).unwrap_or_else(|| default_status.to_string());
        let statuses = match status.as_str() {
            "all" => Vec::new(),
            "active" => vec![AlertStatus::Open, AlertStatus::Acknowledged],
            list => list
                .split(',')
                .map(|s| AlertStatus::parse(s.trim()))
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?,
        };
        Ok(AlertQuery {
            statuses,
            category: nonempty(&self.category),
            max_severity: self.max_severity,
            signature: nonempty(&self.signature),
            limit: self.limit.unwrap_or(200),
            offset: self.offset.unwrap_or(0),
        })
    }
}

/// Finding filters.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FindingParams {
    pub kind: Option<String>,
    pub device: Option<String>,
    pub max_severity: Option<u8>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl FindingParams {
    pub fn to_query(&self) -> FindingQuery {
        FindingQuery {
            kind: nonempty(&self.kind),
            device: nonempty(&self.device),
            max_severity: self.max_severity,
            limit: self.limit.unwrap_or(500),
            offset: self.offset.unwrap_or(0),
        }
    }
}

#[derive(Serialize)]
pub struct DeviceList {
    pub count: usize,
    pub devices: Vec<DeviceRow>,
}

#[derive(Serialize)]
pub struct AlertList {
    pub count: usize,
    pub alerts: Vec<AlertRow>,
}

#[derive(Serialize)]
pub struct FindingList {
    pub count: usize,
    pub findings: Vec<FindingRow>,
}

#[derive(Serialize)]
pub struct SessionInfo {
    /// Send as `X-CSRF-Token` with JSON writes.
    pub csrf_token: String,
}

pub async fn session(auth: Authed) -> Json<SessionInfo> {
    Json(SessionInfo {
        csrf_token: auth.csrf,
    })
}

pub async fn devices(
    _auth: Authed,
    State(st): State<AppState>,
    Query(p): Query<DeviceParams>,
) -> Result<Json<DeviceList>, AppError> {
    let q = p.to_query()?;
    let devices = st.db(move |s| s.devices(&q)).await?;
    Ok(Json(DeviceList {
        count: devices.len(),
        devices,
    }))
}

pub async fn device(
    _auth: Authed,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DeviceDetail>, AppError> {
    st.db(move |s| s.device_detail(&id))
        .await?
        .map(Json)
        .ok_or_else(|| AppError::not_found("device"))
}

pub async fn alerts(
    _auth: Authed,
    State(st): State<AppState>,
    Query(p): Query<AlertParams>,
) -> Result<Json<AlertList>, AppError> {
    let q = p.to_query("all")?;
    let alerts = st.db(move |s| s.alerts(&q)).await?;
    Ok(Json(AlertList {
        count: alerts.len(),
        alerts,
    }))
}

pub async fn findings(
    _auth: Authed,
    State(st): State<AppState>,
    Query(p): Query<FindingParams>,
) -> Result<Json<FindingList>, AppError> {
    let q = p.to_query();
    let findings = st.db(move |s| s.findings(&q)).await?;
    Ok(Json(FindingList {
        count: findings.len(),
        findings,
    }))
}

pub async fn stats(_auth: Authed, State(st): State<AppState>) -> Result<Json<Overview>, AppError> {
    Ok(Json(st.db(|s| s.overview()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `open`, `acknowledged`, `muted` or `normal` ("this is normal": also
    /// adds a suppression rule for repeats).
    pub status: String,
    pub note: Option<String>,
}

/// Apply a status change (shared by the JSON API and the alert page's
/// buttons). Returns the alert as stored afterwards.
pub async fn change_alert_status(
    st: &AppState,
    id: i64,
    status: AlertStatus,
    note: Option<String>,
) -> Result<AlertRow, AppError> {
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(bad(format!("note longer than {MAX_NOTE} characters")));
    }
    let note = note.filter(|n| !n.trim().is_empty());
    let row = st
        .db(move |s| {
            let found = if status == AlertStatus::Normal {
                s.mark_normal(id, note.as_deref())?.is_some()
            } else {
                s.set_alert_status(id, status, note.as_deref())?
            };
            if found {
                s.alert(id)
            } else {
                Ok(None)
            }
        })
        .await?
        .ok_or_else(|| AppError::not_found("alert"))?;
    st.refresh_marker().await;
    Ok(row)
}

pub async fn set_alert_status(
    auth: Authed,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<StatusChange>,
) -> Result<Json<AlertRow>, AppError> {
    auth.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    let status = AlertStatus::parse(&body.status).map_err(|e| bad(e.to_string()))?;
    Ok(Json(change_alert_status(&st, id, status, body.note).await?))
}

#[derive(Serialize)]
pub struct SuppressionList {
    pub count: usize,
    pub suppressions: Vec<Suppression>,
}

pub async fn suppressions(
    _auth: Authed,
    State(st): State<AppState>,
) -> Result<Json<SuppressionList>, AppError> {
    let suppressions = st.db(|s| s.suppressions()).await?;
    Ok(Json(SuppressionList {
        count: suppressions.len(),
        suppressions,
    }))
}

pub async fn delete_suppression(
    auth: Authed,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    auth.check_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
    if st.db(move |s| s.remove_suppression(id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found("rule"))
    }
}
