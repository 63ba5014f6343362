//! The `ward` command. Thin by design: it parses arguments, wires inputs,
//! the engine and outputs together, and turns errors into one clear sentence
//! and an exit code. Everything that decides anything lives in the library
//! crates.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
// The engine's wiring is in the library target, shared with `stage-bench`.
use ward_cli::pipeline;

mod analyze;
mod cmd_audit;
mod cmd_devices;
mod cmd_eval;
mod cmd_report;
mod cmd_serve;
mod cmd_train;
mod cmd_watch;
mod eve;
mod summary;

/// ward watches an IoT network's traffic and tells you which devices are on
/// it, what they normally do, and when something attacks them or they start
/// attacking others.
#[derive(Parser, Debug)]
#[command(name = "ward", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse capture files (pcap or pcapng): devices, alerts, findings, flows.
    Analyze(analyze::AnalyzeArgs),
    /// The device inventory (identified devices) as a table or JSON.
    Devices(cmd_devices::DevicesArgs),
    /// Train models (`ward train identify`).
    Train(cmd_train::TrainArgs),
    /// Score ward's alerts, identification and anomaly scores against labelled traffic.
    Eval(cmd_eval::EvalArgs),
    /// Actively check devices you own: open IoT ports, banners, factory-default logins.
    Audit(cmd_audit::AuditArgs),
    /// Turn EVE events into a security report (report.html, report.json) with risk scores.
    Report(cmd_report::ReportArgs),
    /// Serve the web dashboard and JSON API over a store (see `ward analyze --db`).
    Serve(cmd_serve::ServeArgs),
    /// Watch a network interface live: events to EVE, the store and configured sinks.
    Watch(cmd_watch::WatchArgs),
}

/// Exit codes: 0 success; 1 nothing could be done (bad arguments, unreadable
/// input, unwritable output); 2 the run completed but some input was damaged.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Devices(args) => cmd_devices::run(args),
        Command::Train(args) => cmd_train::run(args),
        Command::Eval(args) => cmd_eval::run(args),
        Command::Audit(args) => cmd_audit::run(args),
        Command::Report(args) => cmd_report::run(args),
        Command::Serve(args) => cmd_serve::run(args),
        Command::Watch(args) => cmd_watch::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // One sentence: the error and its causes on one line.
            let mut msg = format!("ward: error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!(": {cause}"));
            }
            eprintln!("{msg}");
            ExitCode::from(1)
        }
    }
}
