//! The machinery every sink shares: a bounded queue in front of a worker
//! thread that delivers, retries and counts.
//!
//! # Guarantees
//! * [`QueuedSink::offer`] never blocks on I/O: it takes a short lock,
//!   pushes, and returns. When the queue is full one event is dropped
//!   (the oldest or the new one, per [`Overflow`]) and counted, so memory
//!   stays bounded by `queue` events per sink whatever the network does.
//! * Each event is tried at most `max_attempts` times; between tries the
//!   worker waits `backoff_ms · 2ⁿ` (capped at `backoff_max_ms`) times a
//!   random factor in [0.5, 1.5), so many wards restarting together do not
//!   hammer a receiver in step. A [`DeliverError::Permanent`] error (e.g.
//!   HTTP 400) is not retried.
//! * [`QueuedSink::finish`] delivers what is queued until a grace period
//!   ends; events still queued then are counted as dropped, an event whose
//!   retries are cut short as failed. Every event offered ends up in
//!   exactly one of sent, failed or dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ward_core::Event;

use crate::config::{Common, EventFilter, Overflow};
use crate::SinkError;

/// Why one delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliverError {
    /// Worth trying again (connection refused, timeout, HTTP 503).
    Retry(String),
    /// Trying again cannot help (HTTP 400, a message the receiver refuses).
    Permanent(String),
}

impl std::fmt::Display for DeliverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliverError::Retry(m) | DeliverError::Permanent(m) => f.write_str(m),
        }
    }
}

/// One way of delivering events; runs on the sink's own thread.
pub trait Deliver: Send + 'static {
    fn deliver(&mut self, event: &Event) -> Result<(), DeliverError>;
    /// The queue ran empty: a good moment to flush buffers.
    fn idle(&mut self) {}
    /// No more events will come.
    fn close(&mut self) {}
}

/// Per-sink totals, readable at any time.
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Delivered (acknowledged by the receiver where the protocol has acks).
    pub sent: AtomicU64,
    /// Given up on after the last try, or refused for good.
    pub failed: AtomicU64,
    /// Tries after the first.
    pub retried: AtomicU64,
    /// Never tried: the queue was full, or still full at shutdown.
    pub dropped: AtomicU64,
}

/// A snapshot of one sink's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkReport {
    pub name: String,
    pub kind: &'static str,
    pub sent: u64,
    pub failed: u64,
    pub retried: u64,
    pub dropped: u64,
    pub queued: u64,
    pub last_error: Option<String>,
}

struct State {
    queue: VecDeque<Arc<Event>>,
    closing: bool,
    /// After this instant the worker stops trying (set by `finish`).
    deadline: Option<Instant>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    pub(crate) counters: SinkCounters,
    last_error: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a deliverer must not take detection down with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn queued(&self) -> u64 {
        lock(&self.state).queue.len() as u64
    }
}

/// A sink behind a bounded queue and a worker thread.
pub struct QueuedSink {
    name: String,
    kind: &'static str,
    filter: EventFilter,
    capacity: usize,
    overflow: Overflow,
    pub(crate) shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

struct Retry {
    max_attempts: u32,
    backoff: Duration,
    backoff_max: Duration,
}

impl QueuedSink {
    /// Start the worker thread for `deliver`.
    pub fn spawn(
        name: &str,
        kind: &'static str,
        filter: EventFilter,
        common: &Common,
        deliver: Box<dyn Deliver>,
    ) -> Result<QueuedSink, SinkError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(common.queue.min(4096)),
                closing: false,
                deadline: None,
            }),
            wake: Condvar::new(),
            counters: SinkCounters::default(),
            last_error: Mutex::new(None),
        });
        let (backoff, backoff_max) = common.backoff();
        let retry = Retry {
            max_attempts: common.max_attempts.max(1),
            backoff,
            backoff_max,
        };
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name(format!("sink-{name}"))
            .spawn(move || run_worker(&worker_shared, deliver, &retry))
            .map_err(|e| SinkError::Start(format!("{name}: cannot start thread: {e}")))?;
        Ok(QueuedSink {
            name: name.to_string(),
            kind,
            filter,
            capacity: common.queue.max(1),
            overflow: common.overflow,
            shared,
            worker: Some(worker),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Whether this sink wants `event` (its filter).
    pub fn accepts(&self, event: &Event) -> bool {
        self.filter.accepts(event)
    }

    /// Queue `event` for delivery without waiting (the filter is not applied here).
    pub fn offer(&self, event: &Arc<Event>) {
        let mut st = lock(&self.shared.state);
        if st.closing {
            self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if st.queue.len() >= self.capacity {
            self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
            match self.overflow {
                Overflow::DropNew => return,
                Overflow::DropOldest => {
                    st.queue.pop_front();
                }
            }
        }
        st.queue.push_back(event.clone());
        drop(st);
        self.shared.wake.notify_one();
    }

    pub fn report(&self) -> SinkReport {
        let c = &self.shared.counters;
        SinkReport {
            name: self.name.clone(),
            kind: self.kind,
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            queued: self.shared.queued(),
            last_error: lock(&self.shared.last_error).clone(),
        }
    }

    /// Deliver what is queued, for at most `grace`, then stop the worker.
    pub fn finish(mut self, grace: Duration) -> SinkReport {
        self.shutdown(grace);
        self.report()
    }

    fn shutdown(&mut self, grace: Duration) {
        {
            let mut st = lock(&self.shared.state);
            st.closing = true;
            st.deadline = Some(Instant::now() + grace);
        }
        self.shared.wake.notify_all();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Drop for QueuedSink {
    fn drop(&mut self) {
        if self.worker.is_some() {
            self.shutdown(Duration::from_secs(2));
        }
    }
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

fn run_worker(shared: &Shared, mut deliver: Box<dyn Deliver>, retry: &Retry) {
    let mut rng = Jitter::new();
    loop {
        let event = {
            let mut st = lock(&shared.state);
            loop {
                if past(st.deadline) {
                    let left = st.queue.len() as u64;
                    st.queue.clear();
                    shared.counters.dropped.fetch_add(left, Ordering::Relaxed);
                    break None;
                }
                if let Some(e) = st.queue.pop_front() {
                    break Some(e);
                }
                if st.closing {
                    break None;
                }
                drop(st);
                // The queue is empty: flush before waiting.
                deliver.idle();
                st = lock(&shared.state);
                if st.queue.is_empty() && !st.closing {
                    st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            }
        };
        let Some(event) = event else { break };
        deliver_with_retry(shared, deliver.as_mut(), &event, retry, &mut rng);
    }
    deliver.idle();
    deliver.close();
}

fn deliver_with_retry(
    shared: &Shared,
    deliver: &mut dyn Deliver,
    event: &Event,
    retry: &Retry,
    rng: &mut Jitter,
) {
    let c = &shared.counters;
    let mut attempt = 1u32;
    loop {
        match deliver.deliver(event) {
            Ok(()) => {
                c.sent.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                let last = matches!(e, DeliverError::Permanent(_)) || attempt >= retry.max_attempts;
                *lock(&shared.last_error) = Some(e.to_string());
                if last {
                    c.failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                let exp = retry
                    .backoff
                    .saturating_mul(1u32 << (attempt - 1).min(20))
                    .min(retry.backoff_max);
                let wait = exp.mul_f64(rng.factor());
                if !sleep_unless_deadline(shared, wait) {
                    c.failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                c.retried.fetch_add(1, Ordering::Relaxed);
                attempt += 1;
            }
        }
    }
}

/// Sleep for `d`, waking early (and returning false) if the shutdown
/// deadline passes first.
fn sleep_unless_deadline(shared: &Shared, d: Duration) -> bool {
    let until = Instant::now() + d;
    let mut st = lock(&shared.state);
    loop {
        if past(st.deadline) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        let mut wait = until - now;
        if let Some(dl) = st.deadline {
            wait = wait.min(dl.saturating_duration_since(now));
        }
        st = shared
            .wake
            .wait_timeout(st, wait)
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
    }
}

/// xorshift64*: jitter needs to differ between processes, not be secret.
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(std::process::id() as u64);
        Jitter(h.finish() | 1)
    }

    /// Uniform in [0.5, 1.5).
    fn factor(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        0.5 + (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use ward_core::{EventType, Timestamp};

    fn ev(n: i64) -> Arc<Event> {
        Arc::new(Event::new(Timestamp::from_secs(n), EventType::Stats))
    }

    fn all_types() -> EventFilter {
        EventFilter {
            event_types: vec![EventType::Stats],
            min_severity: 4,
            categories: vec![],
        }
    }

    /// Records what it gets; blocks while `gate` is closed; fails the
    /// first `fail_first` tries.
    struct Probe {
        seen: Arc<Mutex<Vec<i64>>>,
        gate: Arc<AtomicBool>,
        fail_first: u32,
        permanent: bool,
    }

    impl Deliver for Probe {
        fn deliver(&mut self, e: &Event) -> Result<(), DeliverError> {
            while !self.gate.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(2));
            }
            if self.fail_first > 0 {
                self.fail_first -= 1;
                return Err(if self.permanent {
                    DeliverError::Permanent("no".into())
                } else {
                    DeliverError::Retry("later".into())
                });
            }
            lock(&self.seen).push(e.timestamp.micros() / 1_000_000);
            Ok(())
        }
    }

    fn probe(
        fail_first: u32,
        permanent: bool,
        open: bool,
    ) -> (Probe, Arc<Mutex<Vec<i64>>>, Arc<AtomicBool>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(AtomicBool::new(open));
        (
            Probe {
                seen: seen.clone(),
                gate: gate.clone(),
                fail_first,
                permanent,
            },
            seen,
            gate,
        )
    }

    fn common(queue: usize, overflow: Overflow) -> Common {
        Common {
            queue,
            overflow,
            backoff_ms: 5,
            backoff_max_ms: 20,
            ..Common::default()
        }
    }

    #[test]
    fn a_blocked_sink_never_blocks_the_caller_and_drops_oldest() {
        let (p, seen, gate) = probe(0, false, false);
        let s = QueuedSink::spawn(
            "t",
            "test",
            all_types(),
            &common(3, Overflow::DropOldest),
            Box::new(p),
        )
        .unwrap();
        let t0 = Instant::now();
        for n in 0..100 {
            s.offer(&ev(n));
        }
        assert!(
            t0.elapsed() < Duration::from_millis(500),
            "offer must not wait for delivery"
        );
        gate.store(true, Ordering::SeqCst);
        let r = s.finish(Duration::from_secs(5));
        let got = lock(&seen).clone();
        // The worker may have taken event 0 before the gate opened; after
        // that only the newest three survive.
        assert_eq!(&got[got.len() - 3..], &[97, 98, 99], "{got:?}");
        assert_eq!(r.sent + r.dropped, 100, "{r:?}");
        assert_eq!(r.sent as usize, got.len());
    }

    #[test]
    fn drop_new_keeps_the_first_events() {
        let (p, seen, gate) = probe(0, false, false);
        let s = QueuedSink::spawn(
            "t",
            "test",
            all_types(),
            &common(3, Overflow::DropNew),
            Box::new(p),
        )
        .unwrap();
        for n in 0..50 {
            s.offer(&ev(n));
        }
        gate.store(true, Ordering::SeqCst);
        let r = s.finish(Duration::from_secs(5));
        let got = lock(&seen).clone();
        assert!(got.len() <= 4 && got.starts_with(&[0, 1, 2]), "{got:?}");
        assert_eq!(r.sent + r.dropped, 50);
    }

    #[test]
    fn retries_then_succeeds() {
        let (p, seen, _) = probe(2, false, true);
        let s = QueuedSink::spawn(
            "t",
            "test",
            all_types(),
            &common(10, Overflow::DropOldest),
            Box::new(p),
        )
        .unwrap();
        s.offer(&ev(7));
        let r = s.finish(Duration::from_secs(5));
        assert_eq!((r.sent, r.retried, r.failed), (1, 2, 0), "{r:?}");
        assert_eq!(*lock(&seen), vec![7]);
        assert_eq!(r.last_error.as_deref(), Some("later"));
    }

    #[test]
    fn gives_up_after_max_attempts_and_not_at_all_on_permanent_errors() {
        let (p, _, _) = probe(100, false, true);
        let mut c = common(10, Overflow::DropOldest);
        c.max_attempts = 3;
        let s = QueuedSink::spawn("t", "test", all_types(), &c, Box::new(p)).unwrap();
        s.offer(&ev(1));
        let r = s.finish(Duration::from_secs(5));
        assert_eq!((r.sent, r.retried, r.failed), (0, 2, 1), "{r:?}");

        let (p, _, _) = probe(100, true, true);
        let s = QueuedSink::spawn(
            "t",
            "test",
            all_types(),
            &common(10, Overflow::DropOldest),
            Box::new(p),
        )
        .unwrap();
        s.offer(&ev(1));
        let r = s.finish(Duration::from_secs(5));
        assert_eq!((r.sent, r.retried, r.failed), (0, 0, 1), "{r:?}");
    }

    #[test]
    fn shutdown_grace_bounds_the_wait_and_accounts_for_everything() {
        let (p, _, _) = probe(u32::MAX, false, true);
        let mut c = common(100, Overflow::DropOldest);
        c.max_attempts = 100;
        c.backoff_ms = 200;
        c.backoff_max_ms = 200;
        let s = QueuedSink::spawn("t", "test", all_types(), &c, Box::new(p)).unwrap();
        for n in 0..10 {
            s.offer(&ev(n));
        }
        let t0 = Instant::now();
        let r = s.finish(Duration::from_millis(300));
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert_eq!(r.sent + r.failed + r.dropped, 10, "{r:?}");
        assert_eq!(r.failed, 1, "one event was being retried: {r:?}");
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut j = Jitter::new();
        for _ in 0..10_000 {
            let f = j.factor();
            assert!((0.5..1.5).contains(&f), "{f}");
        }
    }
}
