//! Alert delivery for ward: the engine's events sent on to the places
//! people look — an EVE file with rotation, a webhook, an MQTT broker,
//! a syslog collector.
//!
//! # Guarantees
//! * **Detection never waits for delivery.** Each sink is a
//!   [`QueuedSink`]: a bounded queue and its own worker thread. Emitting
//!   an event takes a lock and a push; a slow, failing or unreachable
//!   receiver fills only its own queue, whose overflow is dropped and
//!   counted (see [`queue`]).
//! * **Counted, not lost silently.** Every event a sink accepts ends up
//!   sent, failed (after bounded retries with exponential backoff and
//!   jitter) or dropped, and the totals are readable at any time
//!   ([`SinkSet::reports`]) and exported to Prometheus ([`SinkMetrics`]).
//! * **Strict configuration.** `[[sinks]]` entries are checked when ward
//!   starts ([`config::parse_sinks`]); unknown keys are errors.
//!
//! The engine and its crate know nothing of this: [`SinkSet`] is just
//! another [`ward_core::EventSink`].
#![forbid(unsafe_code)]

pub mod config;
pub mod eve;
pub mod metrics;
pub mod mqtt;
pub mod queue;
pub mod syslog;
mod tls;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use ward_core::{Event, EventSink};

pub use config::{parse_sinks, KindConfig, SinkSpec};
pub use metrics::SinkMetrics;
pub use queue::{Deliver, DeliverError, QueuedSink, SinkReport};

/// Everything that can go wrong setting sinks up (delivery errors are
/// counted per sink, not returned).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Start(String),
}

/// Start the sink described by `spec`.
pub fn start(spec: &SinkSpec) -> Result<QueuedSink, SinkError> {
    let deliver: Box<dyn Deliver> = match &spec.kind {
        KindConfig::Webhook(c) => Box::new(webhook::Webhook::open(c)?),
        KindConfig::Mqtt(c) => Box::new(mqtt::Mqtt::open(c)?),
        KindConfig::Syslog(c) => Box::new(syslog::Syslog::open(c)?),
        KindConfig::Eve(c) => Box::new(eve::EveFile::open(c)?),
    };
    QueuedSink::spawn(
        &spec.name,
        spec.kind.type_name(),
        spec.filter.clone(),
        &spec.common,
        deliver,
    )
}

/// Every configured sink, fed as one [`EventSink`].
#[derive(Default)]
pub struct SinkSet {
    sinks: Vec<QueuedSink>,
}

impl SinkSet {
    /// Parse the config's `[[sinks]]` entries and start each sink.
    pub fn from_config(values: &[serde_json::Value]) -> Result<SinkSet, SinkError> {
        let mut set = SinkSet::default();
        for spec in parse_sinks(values)? {
            set.push(start(&spec)?);
        }
        Ok(set)
    }

    pub fn push(&mut self, sink: QueuedSink) {
        self.sinks.push(sink);
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    /// Counters of every sink now.
    pub fn reports(&self) -> Vec<SinkReport> {
        self.sinks.iter().map(QueuedSink::report).collect()
    }

    /// A Prometheus collector over these sinks' counters.
    pub fn metrics(&self) -> SinkMetrics {
        SinkMetrics {
            sinks: self
                .sinks
                .iter()
                .map(|s| (s.name().to_string(), s.kind(), s.shared.clone()))
                .collect(),
        }
    }

    /// Deliver what is queued (each sink for at most `grace`, all in
    /// parallel) and stop; the final counters.
    pub fn finish(self, grace: Duration) -> Vec<SinkReport> {
        let handles: Vec<_> = self
            .sinks
            .into_iter()
            .map(|s| std::thread::spawn(move || s.finish(grace)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    }
}

impl EventSink for SinkSet {
    fn emit(&mut self, event: &Event) {
        // One copy of the event, shared by every sink that wants it.
        let mut shared: Option<Arc<Event>> = None;
        for s in &self.sinks {
            if s.accepts(event) {
                let e = shared.get_or_insert_with(|| Arc::new(event.clone()));
                s.offer(e);
            }
        }
    }
}
