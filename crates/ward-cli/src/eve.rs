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
