//! EVE NDJSON file with size-based rotation.
//!
//! Lines are appended whole (an existing file is continued, not
//! truncated: a restarted service keeps its history). Before a line would
//! take the file past `max_bytes`, the file is rotated: `eve.json.N` is
//! deleted, `eve.json.i` becomes `eve.json.i+1`, `eve.json` becomes
//! `eve.json.1`, and a new `eve.json` is started. So at most `keep + 1`
//! files exist, each at most `max_bytes` (a single longer line still gets
//! a file of its own). Buffers are flushed whenever the queue runs empty.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ward_core::Event;

use crate::config::EveConfig;
use crate::queue::{Deliver, DeliverError};
use crate::SinkError;

pub struct EveFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    out: Option<BufWriter<File>>,
    size: u64,
}

fn open_append(path: &Path) -> std::io::Result<(BufWriter<File>, u64)> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    let size = f.metadata()?.len();
    Ok((BufWriter::with_capacity(1 << 16, f), size))
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl EveFile {
    /// Opens (creates) the file now, so a bad path is reported at start-up.
    pub fn open(cfg: &EveConfig) -> Result<EveFile, SinkError> {
        let (out, size) = open_append(&cfg.path).map_err(|e| {
            SinkError::Start(format!("cannot open EVE file {}: {e}", cfg.path.display()))
        })?;
        Ok(EveFile {
            path: cfg.path.clone(),
            max_bytes: cfg.max_bytes,
            keep: cfg.keep,
            out: Some(out),
            size,
        })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if let Some(mut w) = self.out.take() {
            w.flush()?;
        }
        if self.keep == 0 {
            std::fs::remove_file(&self.path).or_else(ignore_missing)?;
        } else {
            std::fs::remove_file(numbered(&self.path, self.keep)).or_else(ignore_missing)?;
            for i in (1..self.keep).rev() {
                std::fs::rename(numbered(&self.path, i), numbered(&self.path, i + 1))
                    .or_else(ignore_missing)?;
            }
            std::fs::rename(&self.path, numbered(&self.path, 1)).or_else(ignore_missing)?;
        }
        let (out, size) = open_append(&self.path)?;
        self.out = Some(out);
        self.size = size;
        Ok(())
    }
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

impl Deliver for EveFile {
    fn deliver(&mut self, event: &Event) -> Result<(), DeliverError> {
        let mut line = event.to_json();
        line.push('\n');
        let len = line.len() as u64;
        let shown = self.path.display().to_string();
        let retry =
            |what: &str, e: std::io::Error| DeliverError::Retry(format!("{what} {shown}: {e}"));
        if self.out.is_none()
            || (self.max_bytes > 0 && self.size > 0 && self.size + len > self.max_bytes)
        {
            self.rotate().map_err(|e| retry("rotating", e))?;
        }
        let Some(out) = self.out.as_mut() else {
            return Err(DeliverError::Retry(format!(
                "{} is not open",
                self.path.display()
            )));
        };
        if let Err(e) = out.write_all(line.as_bytes()) {
            // A partial line may be in the buffer or file: start a fresh
            // file on the next try rather than append to a torn line.
            self.out = None;
            return Err(retry("writing", e));
        }
        self.size += len;
        Ok(())
    }

    fn idle(&mut self) {
        if let Some(w) = self.out.as_mut() {
            let _ = w.flush();
        }
    }

    fn close(&mut self) {
        self.idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_core::{EventType, Timestamp};

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ward-sinks-eve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn rotates_by_size_and_keeps_n_files() {
        let dir = tmpdir("rot");
        let path = dir.join("eve.json");
        let line_len = Event::new(Timestamp::from_secs(1), EventType::Stats)
            .to_json()
            .len() as u64
            + 1;
        let mut f = EveFile::open(&EveConfig {
            path: path.clone(),
            max_bytes: line_len * 3,
            keep: 2,
        })
        .unwrap();
        for n in 0..10 {
            f.deliver(&Event::new(
                Timestamp::from_secs(1_000_000_000 + n),
                EventType::Stats,
            ))
            .unwrap();
        }
        f.close();
        let lines = |p: &Path| -> Vec<String> {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(String::from)
                .collect()
        };
        // 10 lines, 3 per file: [0,1,2] [3,4,5] [6,7,8] [9]; the oldest is gone.
        assert_eq!(lines(&path).len(), 1);
        assert_eq!(lines(&numbered(&path, 1)).len(), 3);
        assert_eq!(lines(&numbered(&path, 2)).len(), 3);
        assert!(!numbered(&path, 3).exists());
        let newest: Event = serde_json::from_str(&lines(&path)[0]).unwrap();
        assert_eq!(newest.timestamp, Timestamp::from_secs(1_000_000_009));
        let oldest_kept: Event = serde_json::from_str(&lines(&numbered(&path, 2))[0]).unwrap();
        assert_eq!(oldest_kept.timestamp, Timestamp::from_secs(1_000_000_003));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn appends_to_an_existing_file() {
        let dir = tmpdir("app");
        let path = dir.join("eve.json");
        std::fs::write(&path, "{\"old\":1}\n").unwrap();
        let mut f = EveFile::open(&EveConfig {
            path: path.clone(),
            max_bytes: 0,
            keep: 1,
        })
        .unwrap();
        f.deliver(&Event::new(Timestamp::from_secs(5), EventType::Stats))
            .unwrap();
        f.close();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\"old\":1}\n"));
        assert_eq!(text.lines().count(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_path_fails_at_start() {
        let r = EveFile::open(&EveConfig {
            path: "/nonexistent-dir/ward/eve.json".into(),
            max_bytes: 0,
            keep: 1,
        });
        assert!(r.is_err());
    }
}
