//! `ward report`: EVE events in (from `ward analyze --eve` and/or
//! `ward audit --eve`), `report.html` and `report.json` out. The event
//! contract is the interface: each line is parsed into a
//! `ward_core::Event`; the report itself is built by
//! `ward_hygiene::report`.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ward_core::Event;
use ward_hygiene::report::ReportBuilder;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    ward analyze --eve events.json home.pcap && ward report --eve events.json\n  \
    ward report --eve events.json --eve audit.json --out report/\n\n\
Exit status: 0 report written; 1 input unreadable or output not writable; 2 written, but some lines were not events.")]
pub struct ReportArgs {
    /// EVE NDJSON files to read (repeatable; `-` is standard input).
    #[arg(long, required = true, value_name = "EVENTS.json")]
    pub eve: Vec<PathBuf>,
    /// Directory for report.html and report.json (created if missing).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let mut builder = ReportBuilder::new();
    let mut bad_lines: u64 = 0;
    for path in &args.eve {
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::BufReader::new(std::io::stdin()))
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            ))
        };
        for line in reader.lines() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Event>(&line) {
                Ok(e) => builder.add(&e),
                Err(_) => bad_lines += 1,
            }
        }
    }
    let report = builder.build();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let html = args.out.join("report.html");
    let json = args.out.join("report.json");
    std::fs::write(&html, report.to_html())
        .with_context(|| format!("cannot write {}", html.display()))?;
    std::fs::write(&json, report.to_json())
        .with_context(|| format!("cannot write {}", json.display()))?;
    let n = &report.network;
    println!(
        "Network security score {}/100 ({} devices, {} at risk)",
        n.score, n.devices, n.devices_at_risk
    );
    for d in report.devices.iter().take(10).filter(|d| d.risk.score > 0) {
        println!(
            "  risk {:>3} {:<9} {:<20} {}",
            d.risk.score,
            d.risk.grade,
            d.label,
            d.risk
                .reasons
                .first()
                .map(|r| r.summary.as_str())
                .unwrap_or("")
        );
    }
    println!("Wrote {} and {}", html.display(), json.display());
    if bad_lines > 0 {
        eprintln!("ward: warning: {bad_lines} lines were not ward events and were skipped");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
