//! MQTT: alerts to `<prefix>/alerts/<category>`, findings to
//! `<prefix>/findings/<kind>`, other events to `<prefix>/<event_type>`,
//! published at QoS 1 with the EVE JSON as payload.
//!
//! "Sent" means the broker acknowledged (PUBACK): the sink publishes one
//! event at a time and waits for the acknowledgement of that packet id,
//! so a broker that is down or slow shows up as retries and failures, not
//! as silently buffered messages. While disconnected nothing is published
//! (rumqttc would hold it and send it again after reconnecting, which
//! with our own retry would duplicate it); the event is retried instead.
//! rumqttc reconnects by itself on its connection thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rumqttc::{Client, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport};
use ward_core::{Event, EventType};

use crate::config::MqttConfig;
use crate::queue::{Deliver, DeliverError};
use crate::SinkError;

enum Note {
    Published(u16),
    Acked(u16),
}

pub struct Mqtt {
    client: Client,
    prefix: String,
    retain: bool,
    timeout: Duration,
    connected: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    notes: Receiver<Note>,
    pump: Option<JoinHandle<()>>,
}

/// The topic an event is published to.
pub fn topic(prefix: &str, e: &Event) -> String {
    if let Some(a) = &e.alert {
        format!("{prefix}/alerts/{}", a.category.as_str())
    } else if let Some(f) = &e.finding {
        format!("{prefix}/findings/{}", f.kind.as_str())
    } else {
        let t = match e.event_type {
            EventType::Flow => "flow",
            EventType::Device => "device",
            EventType::Alert => "alert",
            EventType::Finding => "finding",
            EventType::Stats => "stats",
        };
        format!("{prefix}/{t}")
    }
}

impl Mqtt {
    pub fn open(cfg: &MqttConfig) -> Result<Mqtt, SinkError> {
        let port = cfg.port.unwrap_or(if cfg.tls { 8883 } else { 1883 });
        let mut opts = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), port);
        opts.set_keep_alive(Duration::from_secs(30));
        if let Some(u) = &cfg.username {
            opts.set_credentials(u.clone(), cfg.password.clone().unwrap_or_default());
        }
        if cfg.tls {
            let tls = crate::tls::client_config(cfg.ca_file.as_deref())?;
            opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(tls),
            )));
        }
        let (client, mut connection) = Client::new(opts, 16);
        let connected = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, notes) = mpsc::channel();
        let (c2, s2) = (connected.clone(), stop.clone());
        let pump = std::thread::Builder::new()
            .name("sink-mqtt-conn".into())
            .spawn(move || {
                for n in connection.iter() {
                    if s2.load(Ordering::SeqCst) {
                        break;
                    }
                    match n {
                        Ok(rumqttc::Event::Incoming(Packet::ConnAck(_))) => {
                            c2.store(true, Ordering::SeqCst)
                        }
                        Ok(rumqttc::Event::Incoming(Packet::PubAck(a))) => {
                            let _ = tx.send(Note::Acked(a.pkid));
                        }
                        Ok(rumqttc::Event::Outgoing(Outgoing::Publish(pkid))) => {
                            let _ = tx.send(Note::Published(pkid));
                        }
                        Ok(_) => {}
                        Err(_) => {
                            c2.store(false, Ordering::SeqCst);
                            // rumqttc reconnects on the next poll; don't spin.
                            std::thread::sleep(Duration::from_secs(1));
                        }
                    }
                }
            })
            .map_err(|e| SinkError::Start(format!("mqtt: cannot start thread: {e}")))?;
        Ok(Mqtt {
            client,
            prefix: cfg.topic_prefix.trim_end_matches('/').to_string(),
            retain: cfg.retain,
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
            connected,
            stop,
            notes,
            pump: Some(pump),
        })
    }

    /// Wait (until `deadline`) for the note `want` picks out.
    fn wait_for(
        &self,
        deadline: Instant,
        want: impl Fn(&Note) -> Option<u16>,
    ) -> Result<u16, DeliverError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.notes.recv_timeout(left) {
                Ok(n) => {
                    if let Some(id) = want(&n) {
                        return Ok(id);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(DeliverError::Retry(
                        "mqtt: no PUBACK from the broker in time".into(),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(DeliverError::Retry("mqtt: connection thread ended".into()))
                }
            }
        }
    }
}

impl Deliver for Mqtt {
    fn deliver(&mut self, event: &Event) -> Result<(), DeliverError> {
        if !self.connected.load(Ordering::SeqCst) {
            // Right after start the connection may still be on its way.
            let t0 = Instant::now();
            while !self.connected.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !self.connected.load(Ordering::SeqCst) {
                return Err(DeliverError::Retry(
                    "mqtt: not connected to the broker".into(),
                ));
            }
        }
        // Acknowledgements of earlier, timed-out tries are stale now.
        while self.notes.try_recv().is_ok() {}
        let topic = topic(&self.prefix, event);
        self.client
            .try_publish(
                topic,
                QoS::AtLeastOnce,
                self.retain,
                event.to_json().into_bytes(),
            )
            .map_err(|e| DeliverError::Retry(format!("mqtt: {e}")))?;
        let deadline = Instant::now() + self.timeout;
        let pkid = self.wait_for(deadline, |n| match n {
            Note::Published(id) => Some(*id),
            Note::Acked(_) => None,
        })?;
        self.wait_for(deadline, |n| match n {
            Note::Acked(id) if *id == pkid => Some(*id),
            _ => None,
        })
        .map(drop)
    }

    fn close(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.client.try_disconnect();
        if let Some(p) = self.pump.take() {
            // The pump sees `stop` at its next notification (the outgoing
            // DISCONNECT, or the reconnect attempt every second).
            let _ = p.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use ward_core::{Alert, AlertCategory, Timestamp};

    #[test]
    fn topics_by_kind() {
        let a = Event::alert(
            Timestamp::ZERO,
            Alert {
                category: AlertCategory::NewDevice,
                signature: "new-device".into(),
                severity: 3,
                confidence: 1.0,
                summary: "s".into(),
                evidence: BTreeMap::new(),
                devices: vec![],
                attacker: None,
                victims: vec![],
                first_seen: Timestamp::ZERO,
                last_seen: Timestamp::ZERO,
                count: 1,
                detector: "d".into(),
            },
        );
        assert_eq!(topic("ward", &a), "ward/alerts/new-device");
        let s = Event::new(Timestamp::ZERO, EventType::Stats);
        assert_eq!(topic("home/ward", &s), "home/ward/stats");
    }
}
