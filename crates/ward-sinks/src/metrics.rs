//! Sink counters for Prometheus (`/metrics`).
//!
//! Two families, labelled by the sink's configured name (bounded: names
//! come from the config file and are checked to be short identifiers) and
//! type, and for the counter by one of four outcomes:
//!
//! ```text
//! ward_sink_events_total{sink="ha",type="webhook",outcome="sent"} 12
//! ward_sink_queue_depth{sink="ha",type="webhook"} 0
//! ```

use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::queue::Shared;

/// Reads the counters of a [`crate::SinkSet`] at each scrape. Register it
/// with `Registry::register_collector(Box::new(set.metrics()))`.
#[derive(Clone)]
pub struct SinkMetrics {
    pub(crate) sinks: Vec<(String, &'static str, Arc<Shared>)>,
}

impl std::fmt::Debug for SinkMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkMetrics")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl Collector for SinkMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "ward_sink_events",
            "Events per alert sink by outcome: sent, failed, retried (extra tries), dropped (queue full)",
            None,
            MetricType::Counter,
        )?;
        for (name, kind, shared) in &self.sinks {
            let c = &shared.counters;
            for (outcome, v) in [
                ("sent", &c.sent),
                ("failed", &c.failed),
                ("retried", &c.retried),
                ("dropped", &c.dropped),
            ] {
                let labels = vec![
                    ("sink".to_string(), name.clone()),
                    ("type".to_string(), kind.to_string()),
                    ("outcome".to_string(), outcome.to_string()),
                ];
                ConstCounter::new(v.load(Ordering::Relaxed))
                    .encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "ward_sink_queue_depth",
            "Events waiting in an alert sink's queue",
            None,
            MetricType::Gauge,
        )?;
        for (name, kind, shared) in &self.sinks {
            let labels = vec![
                ("sink".to_string(), name.clone()),
                ("type".to_string(), kind.to_string()),
            ];
            ConstGauge::new(shared.queued() as i64).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
