//! [`StoreSink`]: the engine's [`EventSink`] in front of a [`Store`].
//!
//! The engine emits events one at a time and must never block on I/O per
//! event, so the sink buffers them and commits a batch every
//! [`StoreSink::BATCH_EVENTS`] events or [`StoreSink::BATCH_INTERVAL`] of
//! wall time, whichever comes first, and at [`StoreSink::finish`]. What a
//! crash can lose is therefore bounded: at most the events of the batch not
//! yet committed. The first error is kept and reported by `finish`; after
//! it, events are counted as dropped rather than buffered without bound.

use std::time::{Duration, Instant};

use ward_core::{Event, EventSink};

use crate::{IngestReport, Result, Store, StoreError};

pub struct StoreSink {
    store: Store,
    buf: Vec<Event>,
    last_commit: Instant,
    error: Option<StoreError>,
    /// Totals over every committed batch.
    pub totals: IngestReport,
    /// Batches committed.
    pub batches: u64,
    /// Events not stored because of an earlier error.
    pub dropped: u64,
}

impl StoreSink {
    /// Commit after this many buffered events.
    pub const BATCH_EVENTS: usize = 500;
    /// Commit at least this often while events arrive.
    pub const BATCH_INTERVAL: Duration = Duration::from_secs(1);

    pub fn new(store: Store) -> StoreSink {
        StoreSink {
            store,
            buf: Vec::with_capacity(Self::BATCH_EVENTS),
            last_commit: Instant::now(),
            error: None,
            totals: IngestReport::default(),
            batches: 0,
            dropped: 0,
        }
    }

    /// Commit what is buffered now.
    pub fn flush(&mut self) {
        self.last_commit = Instant::now();
        if self.buf.is_empty() || self.error.is_some() {
            return;
        }
        match self.store.ingest(&self.buf) {
            Ok(r) => {
                self.batches += 1;
                let t = &mut self.totals;
                t.batch_id = r.batch_id;
                t.events += r.events;
                t.devices += r.devices;
                t.alerts_new += r.alerts_new;
                t.alerts_updated += r.alerts_updated;
                t.alerts_suppressed += r.alerts_suppressed;
                t.findings += r.findings;
                t.flows += r.flows;
                t.stats += r.stats;
            }
            Err(e) => {
                self.dropped += self.buf.len() as u64;
                self.error = Some(e);
            }
        }
        self.buf.clear();
    }

    /// Commit if the batch interval has passed. A live runner calls this on
    /// a timer, so a quiet network does not leave events waiting for the
    /// next one to arrive.
    pub fn flush_if_due(&mut self) {
        if self.last_commit.elapsed() >= Self::BATCH_INTERVAL {
            self.flush();
        }
    }

    /// Commit the rest and hand back the store and the totals, or the first
    /// error (events from then on were dropped).
    pub fn finish(mut self) -> Result<(Store, IngestReport)> {
        self.flush();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok((self.store, self.totals)),
        }
    }

    /// The store, for reads between batches.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl EventSink for StoreSink {
    fn emit(&mut self, event: &Event) {
        if self.error.is_some() {
            self.dropped += 1;
            return;
        }
        self.buf.push(event.clone());
        if self.buf.len() >= Self::BATCH_EVENTS
            || self.last_commit.elapsed() >= Self::BATCH_INTERVAL
        {
            self.flush();
        }
    }
}
