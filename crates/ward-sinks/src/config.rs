//! The `[[sinks]]` array of ward's configuration file.
//!
//! ward-core keeps each entry as a JSON value (it has no business knowing
//! sink types); this module turns one into a typed [`SinkSpec`], strictly:
//! an unknown key, type, category or event type is an error naming it, so a
//! typo never silently disables alert delivery.
//!
//! Every sink takes the common keys ([`Common`]) plus those of its type:
//!
//! ```toml
//! [[sinks]]
//! type = "webhook"                 # webhook | mqtt | syslog | eve
//! url = "https://hooks.example/ward"
//! min_severity = 2                 # alerts/findings of severity 1-2 only
//! categories = ["bruteforce", "botnet"]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use ward_core::{AlertCategory, EventType};

use crate::SinkError;

/// What happens to a new event when a sink's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    /// Drop the oldest queued event: the newest news matters most.
    #[default]
    DropOldest,
    /// Drop the new event: keep what was queued first.
    DropNew,
}

/// Keys every sink accepts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Common {
    /// Name in logs and metrics (default `<type>-<index>`). Letters, digits, `-`, `_`.
    pub name: Option<String>,
    /// Deliver alerts and findings of this severity or more urgent (1 highest … 4).
    pub min_severity: u8,
    /// Deliver only alerts of these categories (empty: all). Findings are not affected.
    pub categories: Vec<String>,
    /// Event types to deliver (default: `alert` and `finding`; every type for `eve`).
    pub event_types: Option<Vec<EventType>>,
    /// Events waiting for delivery at most; more are dropped (and counted).
    pub queue: usize,
    pub overflow: Overflow,
    /// Tries per event, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each time, with ±50 % jitter.
    pub backoff_ms: u64,
    /// Longest wait between two tries.
    pub backoff_max_ms: u64,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            name: None,
            min_severity: 4,
            categories: Vec::new(),
            event_types: None,
            queue: 1024,
            overflow: Overflow::DropOldest,
            max_attempts: 5,
            backoff_ms: 500,
            backoff_max_ms: 30_000,
        }
    }
}

const COMMON_KEYS: &[&str] = &[
    "name",
    "min_severity",
    "categories",
    "event_types",
    "queue",
    "overflow",
    "max_attempts",
    "backoff_ms",
    "backoff_max_ms",
];

/// `type = "webhook"`: each event is POSTed as one JSON object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Extra request headers (e.g. `Authorization`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Per request, connect included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// PEM file with the CA certificates to trust (default: the system's).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// `type = "mqtt"`: alerts go to `<topic_prefix>/alerts/<category>`,
/// findings to `<topic_prefix>/findings/<kind>`, other events to
/// `<topic_prefix>/<event_type>`, at QoS 1.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    pub host: String,
    /// Default 1883, or 8883 with `tls`.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    #[serde(default = "default_client_id")]
    pub client_id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub tls: bool,
    /// PEM file with the CA certificates to trust (default: the system's).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Publish retained messages (a dashboard then sees the last alert per topic).
    #[serde(default)]
    pub retain: bool,
    /// How long to wait for the broker's PUBACK before retrying.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

/// Transport for syslog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SyslogTransport {
    /// RFC 5426: one message per datagram.
    #[default]
    Udp,
    /// RFC 6587 octet counting: `LEN SP MESSAGE`.
    Tcp,
}

/// `type = "syslog"`: RFC 5424 messages.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// `host:port` of the collector.
    pub address: String,
    #[serde(default)]
    pub transport: SyslogTransport,
    /// `kern`, `user`, `daemon`, `auth`, `local0` … `local7` (default `local0`).
    #[serde(default = "default_facility")]
    pub facility: String,
    /// HOSTNAME field (default: this machine's name).
    #[serde(default)]
    pub hostname: Option<String>,
}

/// `type = "eve"`: NDJSON file, rotated by size.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EveConfig {
    pub path: PathBuf,
    /// Rotate when the file would grow past this (0: never).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept (`eve.json.1` … `eve.json.N`).
    #[serde(default = "default_keep")]
    pub keep: u32,
}

fn default_timeout_secs() -> u64 {
    10
}
fn default_topic_prefix() -> String {
    "ward".into()
}
fn default_client_id() -> String {
    "ward".into()
}
fn default_facility() -> String {
    "local0".into()
}
fn default_max_bytes() -> u64 {
    100 << 20
}
fn default_keep() -> u32 {
    5
}

/// The type-specific part.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum KindConfig {
    Webhook(WebhookConfig),
    Mqtt(MqttConfig),
    Syslog(SyslogConfig),
    Eve(EveConfig),
}

impl KindConfig {
    pub fn type_name(&self) -> &'static str {
        match self {
            KindConfig::Webhook(_) => "webhook",
            KindConfig::Mqtt(_) => "mqtt",
            KindConfig::Syslog(_) => "syslog",
            KindConfig::Eve(_) => "eve",
        }
    }
}

/// One validated `[[sinks]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkSpec {
    pub name: String,
    pub common: Common,
    pub kind: KindConfig,
    pub filter: EventFilter,
}

/// Which events a sink takes.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    pub event_types: Vec<EventType>,
    pub min_severity: u8,
    /// Empty: every category.
    pub categories: Vec<AlertCategory>,
}

impl EventFilter {
    pub fn accepts(&self, e: &ward_core::Event) -> bool {
        if !self.event_types.contains(&e.event_type) {
            return false;
        }
        if let Some(a) = &e.alert {
            if a.severity > self.min_severity {
                return false;
            }
            if !self.categories.is_empty() && !self.categories.contains(&a.category) {
                return false;
            }
        }
        if let Some(f) = &e.finding {
            if f.severity > self.min_severity {
                return false;
            }
        }
        true
    }
}

impl Common {
    pub(crate) fn backoff(&self) -> (Duration, Duration) {
        (
            Duration::from_millis(self.backoff_ms),
            Duration::from_millis(self.backoff_max_ms.max(self.backoff_ms)),
        )
    }
}

/// Parse and check every `[[sinks]]` entry.
pub fn parse_sinks(values: &[serde_json::Value]) -> Result<Vec<SinkSpec>, SinkError> {
    let mut specs: Vec<SinkSpec> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let spec = parse_one(i, v)?;
        if specs.iter().any(|s| s.name == spec.name) {
            return Err(SinkError::Config(format!(
                "[[sinks]] #{}: name `{}` is used twice",
                i + 1,
                spec.name
            )));
        }
        specs.push(spec);
    }
    Ok(specs)
}

fn parse_one(i: usize, v: &serde_json::Value) -> Result<SinkSpec, SinkError> {
    let at = |msg: String| SinkError::Config(format!("[[sinks]] #{}: {msg}", i + 1));
    let obj = v.as_object().ok_or_else(|| at("must be a table".into()))?;
    // Common keys and type-specific keys are split so that both halves can
    // be parsed with deny_unknown_fields (serde cannot combine that with
    // flatten).
    let (common, specific): (serde_json::Map<_, _>, serde_json::Map<_, _>) = obj
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| COMMON_KEYS.contains(&k.as_str()));
    if !specific.contains_key("type") {
        return Err(at("missing `type` (webhook, mqtt, syslog or eve)".into()));
    }
    let kind: KindConfig = serde_json::from_value(serde_json::Value::Object(specific))
        .map_err(|e| at(e.to_string()))?;
    let common: Common =
        serde_json::from_value(serde_json::Value::Object(common)).map_err(|e| at(e.to_string()))?;
    let ty = kind.type_name();
    let name = common
        .name
        .clone()
        .unwrap_or_else(|| format!("{ty}-{}", i + 1));
    let name_ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(at(format!(
            "name `{name}`: use 1-32 letters, digits, `-` or `_`"
        )));
    }
    if !(1..=4).contains(&common.min_severity) {
        return Err(at(format!("min_severity {} (1 … 4)", common.min_severity)));
    }
    if common.queue == 0 || common.queue > 1_000_000 {
        return Err(at(format!("queue {} (1 … 1000000)", common.queue)));
    }
    if common.max_attempts == 0 || common.max_attempts > 100 {
        return Err(at(format!(
            "max_attempts {} (1 … 100)",
            common.max_attempts
        )));
    }
    let mut categories = Vec::new();
    for c in &common.categories {
        categories.push(
            AlertCategory::parse(c).ok_or_else(|| at(format!("unknown alert category `{c}`")))?,
        );
    }
    let event_types = common.event_types.clone().unwrap_or_else(|| match kind {
        KindConfig::Eve(_) => vec![
            EventType::Flow,
            EventType::Device,
            EventType::Alert,
            EventType::Finding,
            EventType::Stats,
        ],
        _ => vec![EventType::Alert, EventType::Finding],
    });
    match &kind {
        KindConfig::Webhook(w) => {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return Err(at(format!(
                    "url `{}` must start with http:// or https://",
                    w.url
                )));
            }
        }
        KindConfig::Syslog(s) => {
            crate::syslog::facility_code(&s.facility)
                .ok_or_else(|| at(format!("unknown syslog facility `{}`", s.facility)))?;
        }
        KindConfig::Mqtt(m) => {
            if m.topic_prefix.contains(['+', '#']) || m.topic_prefix.is_empty() {
                return Err(at(format!(
                    "topic_prefix `{}` must be non-empty, without + or #",
                    m.topic_prefix
                )));
            }
        }
        KindConfig::Eve(_) => {}
    }
    Ok(SinkSpec {
        name,
        filter: EventFilter {
            event_types,
            min_severity: common.min_severity,
            categories,
        },
        common,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Vec<SinkSpec>, SinkError> {
        #[derive(Deserialize)]
        struct File {
            sinks: Vec<serde_json::Value>,
        }
        let f: File = toml::from_str(toml_text).expect("valid TOML");
        parse_sinks(&f.sinks)
    }

    #[test]
    fn parses_every_type_with_common_keys() {
        let specs = parse(
            r#"
            [[sinks]]
            type = "webhook"
            url = "http://127.0.0.1:9/hook"
            headers = { Authorization = "Bearer x" }
            min_severity = 2
            categories = ["bruteforce", "new-device"]
            [[sinks]]
            type = "mqtt"
            host = "127.0.0.1"
            name = "broker"
            overflow = "drop-new"
            [[sinks]]
            type = "syslog"
            address = "127.0.0.1:514"
            transport = "tcp"
            event_types = ["alert"]
            [[sinks]]
            type = "eve"
            path = "/tmp/eve.json"
            keep = 2
            "#,
        )
        .unwrap();
        assert_eq!(specs.len(), 4);
        assert_eq!(specs[0].name, "webhook-1");
        assert_eq!(specs[0].filter.min_severity, 2);
        assert_eq!(
            specs[0].filter.categories,
            vec![AlertCategory::Bruteforce, AlertCategory::NewDevice]
        );
        assert_eq!(specs[1].name, "broker");
        assert_eq!(specs[1].common.overflow, Overflow::DropNew);
        assert_eq!(specs[2].filter.event_types, vec![EventType::Alert]);
        assert_eq!(specs[3].filter.event_types.len(), 5, "eve takes everything");
        match &specs[3].kind {
            KindConfig::Eve(e) => assert_eq!((e.keep, e.max_bytes), (2, 100 << 20)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typos_are_errors_that_name_the_key() {
        let e = parse("[[sinks]]\ntype = \"webhook\"\nurl = \"http://x\"\nmin_severty = 2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("min_severty"), "{e}");
        let e = parse("[[sinks]]\ntype = \"webhok\"\nurl = \"http://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("webhok"), "{e}");
        let e = parse("[[sinks]]\ntype = \"eve\"\npath = \"x\"\ncategories = [\"botnett\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("botnett"), "{e}");
        let e = parse("[[sinks]]\nurl = \"http://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing `type`"), "{e}");
        assert!(
            parse("[[sinks]]\ntype = \"syslog\"\naddress = \"x:1\"\nfacility = \"local9\"\n")
                .is_err()
        );
        assert!(parse("[[sinks]]\ntype = \"webhook\"\nurl = \"ftp://x\"\n").is_err());
        assert!(parse("[[sinks]]\ntype = \"eve\"\npath = \"x\"\nmin_severity = 0\n").is_err());
        assert!(parse("[[sinks]]\ntype = \"eve\"\npath = \"a\"\nname = \"x\"\n[[sinks]]\ntype = \"eve\"\npath = \"b\"\nname = \"x\"\n").is_err());
        assert!(
            parse("[[sinks]]\ntype = \"mqtt\"\nhost = \"h\"\ntopic_prefix = \"a/#\"\n").is_err()
        );
    }
}
