//! Replay a fuzz corpus through the parsers and print one digest per input.
//!
//! ```sh
//! cargo run --release -p ward-proto --example replay_corpus -- fuzz/corpus/app_parsers > digests.txt
//! ```
//!
//! Each input is decoded exactly as `fuzz/fuzz_targets/app_parsers.rs` does
//! (transport and ports, then `[direction][len lo][len hi][bytes]` records),
//! and the line printed is the file name, the protocol picked, the chunk
//! after which the parser asked for no more data, and the SHA-256 of the
//! `Debug` text of every event reported (after each chunk and at `finish`).
//! Two builds of the parsers that print the same lines report the same
//! events on every input of the corpus: this is how a change meant to make
//! the parsers cheaper is checked not to change what they say.
//! `--full NAME` prints the events of one input instead. `--before-body`
//! prints what the parsers reported before `HttpRequest::content_type` and
//! `AppEvent::HttpRequestBody` existed (requests without the field, no body
//! events), to compare with builds from before them.

use std::fmt::Write as _;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};
use ward_proto::{detect, AppEvent, Direction, Transport};

fn records(mut rest: &[u8]) -> impl Iterator<Item = (Direction, &[u8])> {
    std::iter::from_fn(move || {
        let [dir, lo, hi, tail @ ..] = rest else {
            return None;
        };
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (data, next) = tail.split_at(len);
        rest = next;
        let dir = if dir & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        Some((dir, data))
    })
}

/// One event as `Debug` writes it; with `before_body`, as builds before
/// `content_type` and `HttpRequestBody` wrote it (`None` for a body event).
fn event_text(e: &AppEvent, before_body: bool) -> Option<String> {
    match e {
        AppEvent::HttpRequestBody(_) if before_body => None,
        AppEvent::HttpRequest(r) if before_body => Some(format!(
            "HttpRequest(HttpRequest {{ method: {:?}, uri: {:?}, host: {:?}, user_agent: {:?}, body_prefix: {:?} }})",
            r.method, r.uri, r.host, r.user_agent, r.body_prefix
        )),
        e => Some(format!("{e:?}")),
    }
}

/// The events one input produces, as text, or `None` if no parser took it.
fn replay(data: &[u8], before_body: bool) -> Option<(String, String)> {
    let [flags, sp0, sp1, dp0, dp1, rest @ ..] = data else {
        return None;
    };
    let transport = if flags & 1 == 0 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let src_port = u16::from_be_bytes([*sp0, *sp1]);
    let dst_port = u16::from_be_bytes([*dp0, *dp1]);
    let mut chunks = records(rest).filter(|(_, d)| !d.is_empty());
    let (first_dir, first) = chunks.next()?;
    let mut parser = detect(transport, src_port, dst_port, first, first_dir)?;
    let mut text = String::new();
    let mut out: Vec<AppEvent> = Vec::new();
    let mut stopped = None;
    for (n, (dir, piece)) in std::iter::once((first_dir, first))
        .chain(chunks)
        .enumerate()
    {
        let more = parser.feed(dir, piece, &mut out);
        for e in out.drain(..) {
            if let Some(e) = event_text(&e, before_body) {
                let _ = writeln!(text, "{n}: {e}");
            }
        }
        if !more {
            stopped = Some(n);
            break;
        }
    }
    parser.finish(&mut out);
    for e in out.drain(..) {
        if let Some(e) = event_text(&e, before_body) {
            let _ = writeln!(text, "finish: {e}");
        }
    }
    let head = format!("{} stop={stopped:?}", parser.protocol().as_str());
    Some((head, text))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: replay_corpus CORPUS_DIR [--before-body] [--full NAME]");
        std::process::exit(2);
    };
    let mut full = None;
    let mut before_body = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--before-body" => before_body = true,
            "--full" => full = args.next(),
            _ => {
                eprintln!("unknown argument {a}");
                std::process::exit(2);
            }
        }
    }
    let mut names: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            std::process::exit(1);
        }
    };
    names.sort();
    let mut taken = 0usize;
    for name in &names {
        if full.as_ref().is_some_and(|f| f != name) {
            continue;
        }
        let Ok(data) = std::fs::read(dir.join(name)) else {
            continue;
        };
        match replay(&data, before_body) {
            None => println!("{name} -"),
            Some((head, text)) => {
                taken += 1;
                if full.is_some() {
                    println!("{head}\n{text}");
                } else {
                    let digest = Sha256::digest(text.as_bytes());
                    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
                    println!("{name} {head} {hex}");
                }
            }
        }
    }
    eprintln!("{} inputs, {taken} taken by a parser", names.len());
}
