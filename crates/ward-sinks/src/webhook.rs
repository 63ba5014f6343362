//! Webhook: each event POSTed as one JSON object (the EVE line).
//!
//! 2xx is success. 408, 429 and 5xx, timeouts and connection errors are
//! retried (by the queue, with backoff); any other status is permanent —
//! the receiver has said it will not take this event.

use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use ureq::Agent;
use ward_core::Event;

use crate::config::WebhookConfig;
use crate::queue::{Deliver, DeliverError};
use crate::SinkError;

pub struct Webhook {
    agent: Agent,
    url: String,
    headers: Vec<(String, String)>,
}

impl Webhook {
    pub fn open(cfg: &WebhookConfig) -> Result<Webhook, SinkError> {
        let mut builder = Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(cfg.timeout_secs.max(1))))
            // Statuses are answers, not transport errors: we classify them.
            .http_status_as_error(false)
            .user_agent(concat!("ward/", env!("CARGO_PKG_VERSION")));
        if cfg.url.starts_with("https://") {
            let certs: Vec<Certificate<'static>> = crate::tls::roots(cfg.ca_file.as_deref())?
                .into_iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            builder = builder.tls_config(
                TlsConfig::builder()
                    .provider(TlsProvider::Rustls)
                    .unversioned_rustls_crypto_provider(crate::tls::provider())
                    .root_certs(RootCerts::Specific(Arc::new(certs)))
                    .build(),
            );
        }
        Ok(Webhook {
            agent: builder.build().into(),
            url: cfg.url.clone(),
            headers: cfg
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }
}

impl Deliver for Webhook {
    fn deliver(&mut self, event: &Event) -> Result<(), DeliverError> {
        let mut req = self.agent.post(&self.url).content_type("application/json");
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        match req.send(event.to_json()) {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match status {
                    200..=299 => Ok(()),
                    408 | 429 | 500..=599 => Err(DeliverError::Retry(format!(
                        "webhook answered HTTP {status}"
                    ))),
                    _ => Err(DeliverError::Permanent(format!(
                        "webhook answered HTTP {status}"
                    ))),
                }
            }
            Err(e) => Err(DeliverError::Retry(format!("webhook: {e}"))),
        }
    }
}
