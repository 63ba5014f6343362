//! `/metrics` in the Prometheus text format (prometheus-client).
//!
//! Gauges are read from the store on each scrape, so several `ward serve`
//! processes over one store agree. Label values come from closed sets:
//! alert categories and severities, finding kinds, and device categories
//! reduced to `[a-z0-9_]{1,32}` and at most [`MAX_CATEGORIES`] distinct
//! values (the rest are summed under `other`). No address ever becomes a
//! label, so the number of series stays bounded whatever the network does.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::{lock, AppError, AppState, Authed};

const MAX_CATEGORIES: usize = 32;

type Labels = Vec<(String, String)>;

fn label_value(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        s.to_string()
    } else {
        "other".into()
    }
}

/// A device category as a label value: lower-case letters and digits,
/// anything else as `_` (`TV/media` → `tv_media`), at most 32 characters.
fn category_label(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.len() >= 32 {
            break;
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_');
    if out.is_empty() {
        "other".into()
    } else {
        out.to_string()
    }
}

struct Snapshot {
    categories: Vec<(String, u64)>,
    alerts: BTreeMap<(String, u8), i64>,
    findings: BTreeMap<String, i64>,
    score: i64,
    batches: u64,
}

pub async fn metrics(_auth: Authed, State(st): State<AppState>) -> Result<Response, AppError> {
    let snap = st
        .db(|s| {
            let overview = s.overview()?;
            let mut alerts = BTreeMap::new();
            for (cat, sev, n) in s.active_alert_counts()? {
                *alerts.entry((label_value(&cat), sev)).or_insert(0) += n as i64;
            }
            let mut findings = BTreeMap::new();
            for (kind, n) in s.finding_counts()? {
                *findings.entry(label_value(&kind)).or_insert(0) += n as i64;
            }
            Ok(Snapshot {
                categories: overview.devices_by_category,
                alerts,
                findings,
                score: i64::from(overview.score),
                batches: overview.batches,
            })
        })
        .await?;
    let (failures, refused) = {
        let l = lock(&st.0.limiter);
        (l.failures_total, l.refused_total)
    };
    let sessions = lock(&st.0.sessions).len();

    let mut reg = Registry::default();
    let devices = Family::<Labels, Gauge>::default();
    let mut other = 0u64;
    let mut seen = 0usize;
    let mut by_cat: BTreeMap<String, u64> = BTreeMap::new();
    for (cat, n) in &snap.categories {
        let v = category_label(cat);
        if seen >= MAX_CATEGORIES || v == "other" {
            other += n;
        } else {
            seen += 1;
            *by_cat.entry(v).or_insert(0) += n;
        }
    }
    if other > 0 {
        *by_cat.entry("other".into()).or_insert(0) += other;
    }
    for (cat, n) in by_cat {
        devices
            .get_or_create(&vec![("category".into(), cat)])
            .set(n as i64);
    }
    reg.register(
        "ward_devices",
        "Devices in the inventory, by category",
        devices,
    );
    let alerts = Family::<Labels, Gauge>::default();
    for ((cat, sev), n) in &snap.alerts {
        alerts
            .get_or_create(&vec![
                ("category".into(), cat.clone()),
                ("severity".into(), sev.to_string()),
            ])
            .set(*n);
    }
    reg.register(
        "ward_alerts_open",
        "Open or acknowledged alerts, by category and severity (1 highest)",
        alerts,
    );
    let findings = Family::<Labels, Gauge>::default();
    for (kind, n) in &snap.findings {
        findings
            .get_or_create(&vec![("kind".into(), kind.clone())])
            .set(*n);
    }
    reg.register("ward_findings_open", "Findings, by kind", findings);
    let score = Gauge::<i64, AtomicI64>::default();
    score.set(snap.score);
    reg.register(
        "ward_security_score",
        "Network security score 0-100 (see docs/dashboard.md)",
        score,
    );
    let batches = Counter::<u64, AtomicU64>::default();
    batches.inc_by(snap.batches);
    reg.register(
        "ward_store_batches",
        "Event batches committed to the store",
        batches,
    );
    let f = Counter::<u64, AtomicU64>::default();
    f.inc_by(failures);
    reg.register(
        "ward_web_login_failures",
        "Failed sign-ins and bearer tokens since the server started",
        f,
    );
    let r = Counter::<u64, AtomicU64>::default();
    r.inc_by(refused);
    reg.register(
        "ward_web_login_refused",
        "Sign-in attempts refused by the rate limiter since the server started",
        r,
    );
    let s = Gauge::<i64, AtomicI64>::default();
    s.set(sessions as i64);
    reg.register("ward_web_sessions", "Signed-in browser sessions", s);

    let mut out = String::new();
    encode(&mut out, &reg).map_err(AppError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

use std::sync::atomic::AtomicI64;

#[cfg(test)]
mod tests {
    use super::{category_label, label_value};

    #[test]
    fn label_values_are_closed() {
        assert_eq!(label_value("camera"), "camera");
        assert_eq!(label_value("new-device"), "new-device");
        assert_eq!(label_value("192.168.1.1"), "other");
        assert_eq!(label_value("Camera"), "other");
        assert_eq!(label_value(&"a".repeat(40)), "other");
        assert_eq!(category_label("TV/media"), "tv_media");
        assert_eq!(category_label("network equipment"), "network_equipment");
        assert_eq!(category_label("<script>"), "script");
        assert_eq!(category_label("///"), "other");
        assert!(category_label(&"x".repeat(100)).len() <= 32);
    }
}
