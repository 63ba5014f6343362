//! The EVE NDJSON writer: one event per line to a file or standard output.
//!
//! Lines are written whole through a buffer that is flushed at least every
//! `FLUSH_EVERY` (wall time) and at the end, so an interrupted run keeps
//! everything up to the last flush and never a half line. A write error
//! (disk full, closed pipe) is kept and reported once at the end; the
//! engine is never blocked by it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use ward_core::{Event, EventSink};

const FLUSH_EVERY: Duration = Duration::from_millis(500);

pub struct EveWriter {
    out: BufWriter<Box<dyn Write + Send>>,
    last_flush: Instant,
    error: Option<io::Error>,
    /// Write `flow` events.
    pub flows: bool,
    pub written: u64,
}

impl EveWriter {
    /// `-` is standard output.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let w: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            Box::new(
                File::create(path)
                    .with_context(|| format!("cannot create EVE file {}", path.display()))?,
            )
        };
        Ok(EveWriter {
            out: BufWriter::with_capacity(1 << 16, w),
            last_flush: Instant::now(),
            error: None,
            flows: true,
            written: 0,
        })
    }

    pub fn flush(&mut self) {
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
        }
        self.last_flush = Instant::now();
    }

    /// Flush and report the first write error, if any.
    pub fn finish(mut self) -> io::Result<u64> {
        self.flush();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.written),
        }
    }
}

impl EventSink for EveWriter {
    fn emit(&mut self, event: &Event) {
        if self.error.is_some() || (!self.flows && event.flow.is_some()) {
            return;
        }
        let mut line = event.to_json();
        line.push('\n');
        if let Err(e) = self.out.write_all(line.as_bytes()) {
            self.error = Some(e);
            return;
        }
        self.written += 1;
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
    }
}

/// Events a batch carries to the writer thread.
const BATCH: usize = 256;
/// Batches that may wait for the writer thread (≈ 2 000 events).
const DEPTH: usize = 8;

/// An [`EveWriter`] on a thread of its own, for runs over capture files:
/// the engine's thread only copies each event into a batch, and turning
/// events into JSON (about a third of `ward analyze --eve`'s time) happens
/// beside it. Lines come out in the order the events were emitted, exactly
/// as the writer on the caller's thread writes them.
///
/// The engine waits when [`DEPTH`] batches are queued, so memory stays
/// bounded. Events not yet handed over sit in one batch on the caller's
/// side until [`BackgroundEve::finish`] (called on every exit path of a
/// run, Ctrl-C included) sends them. Runs over streams (standard input,
/// `ward watch`) keep the plain writer: see [`EveOut`].
pub struct BackgroundEve {
    tx: Option<std::sync::mpsc::SyncSender<Vec<Event>>>,
    recycled: std::sync::mpsc::Receiver<Vec<Event>>,
    batch: Vec<Event>,
    flows: bool,
    thread: Option<std::thread::JoinHandle<io::Result<u64>>>,
}

impl BackgroundEve {
    /// Start a writer thread for `w` (its `flows` setting is kept).
    pub fn start(w: EveWriter) -> anyhow::Result<Self> {
        let flows = w.flows;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Event>>(DEPTH);
        let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<Vec<Event>>(DEPTH + 2);
        let thread = std::thread::Builder::new()
            .name("ward-eve".into())
            .spawn(move || {
                let mut w = w;
                for mut batch in rx {
                    for e in batch.drain(..) {
                        w.emit(&e);
                    }
                    let _ = back_tx.try_send(batch);
                }
                w.finish()
            })
            .context("cannot start the EVE writer thread")?;
        Ok(BackgroundEve {
            tx: Some(tx),
            recycled: back_rx,
            batch: Vec::with_capacity(BATCH),
            flows,
            thread: Some(thread),
        })
    }

    fn send(&mut self) {
        let next = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batch, next);
        if let Some(tx) = &self.tx {
            if tx.send(full).is_err() {
                // The writer thread is gone (it does not panic; if it did,
                // `finish` reports it). Stop copying events for it.
                self.tx = None;
            }
        }
    }

    /// Hand over what is left, wait for the writer to flush, and report the
    /// first write error, if any (as [`EveWriter::finish`]).
    pub fn finish(mut self) -> io::Result<u64> {
        if !self.batch.is_empty() {
            self.send();
        }
        self.tx = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err(io::Error::other("the EVE writer thread stopped")),
        }
    }
}

impl EventSink for BackgroundEve {
    fn emit(&mut self, event: &Event) {
        if self.tx.is_none() || (!self.flows && event.flow.is_some()) {
            return;
        }
        self.batch.push(event.clone());
        if self.batch.len() >= BATCH {
            self.send();
        }
    }
}

/// The EVE output of a run over captures: on its own thread when every
/// input is a regular file ([`crate::pipeline::all_regular_files`]), on the
/// engine's thread when packets stream in (a live alert must not wait for a
/// batch to fill).
pub enum EveOut {
    Plain(EveWriter),
    Background(BackgroundEve),
}

impl EveOut {
    pub fn new(w: EveWriter, background: bool) -> anyhow::Result<Self> {
        Ok(if background {
            EveOut::Background(BackgroundEve::start(w)?)
        } else {
            EveOut::Plain(w)
        })
    }

    /// Flush and report the first write error, if any.
    pub fn finish(self) -> io::Result<u64> {
        match self {
            EveOut::Plain(w) => w.finish(),
            EveOut::Background(w) => w.finish(),
        }
    }
}

impl EventSink for EveOut {
    fn emit(&mut self, event: &Event) {
        match self {
            EveOut::Plain(w) => w.emit(event),
            EveOut::Background(w) => w.emit(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use ward_core::VecSink;

    /// Every event of a real run (the demo capture, flow events included).
    fn demo_events() -> Vec<Event> {
        let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/home-lab.pcap");
        let mut config = ward_core::Config::default();
        config.engine.emit_flows = Some(true);
        let mut sink = VecSink::default();
        let (_, outcome) = crate::pipeline::run_paths(
            &[demo],
            &config,
            &crate::pipeline::RunOptions {
                scores: None,
                state: None,
                model: None,
                live: false,
            },
            &mut sink,
        )
        .expect("the demo capture runs");
        assert!(outcome.errors.is_empty());
        sink.0
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ward-eve-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn the_background_writer_writes_the_same_bytes_as_the_plain_one() {
        let events = demo_events();
        assert!(events.len() > 3 * BATCH, "{} events", events.len());
        assert!(events.iter().any(|e| e.flow.is_some()));
        let dir = scratch("same");
        for flows in [true, false] {
            let (a, b) = (dir.join(format!("a{flows}")), dir.join(format!("b{flows}")));
            let mut plain = EveWriter::create(&a).expect("create");
            plain.flows = flows;
            let mut bg = EveWriter::create(&b).expect("create");
            bg.flows = flows;
            let mut bg = BackgroundEve::start(bg).expect("thread");
            for e in &events {
                plain.emit(e);
                bg.emit(e);
            }
            let (na, nb) = (plain.finish().expect("plain"), bg.finish().expect("bg"));
            assert_eq!(na, nb);
            let (ta, tb) = (std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
            assert_eq!(ta, tb, "flows = {flows}");
            let lines = ta.iter().filter(|&&c| c == b'\n').count() as u64;
            assert_eq!(lines, na);
            let want = events.iter().filter(|e| flows || e.flow.is_none()).count() as u64;
            assert_eq!(na, want);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_write_error_is_reported_at_the_end_and_the_run_goes_on() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            eprintln!("skipped: no /dev/full here");
            return;
        }
        let events = demo_events();
        let mut bg = BackgroundEve::start(EveWriter::create(full).expect("open")).expect("thread");
        for e in &events {
            bg.emit(e);
        }
        let err = bg.finish().expect_err("a full disk is an error");
        assert_eq!(err.raw_os_error(), Some(28), "{err}"); // ENOSPC
    }
}
