//! `ward serve`: the web dashboard over a store written by
//! `ward analyze --db` (and later `ward watch`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ward_store::Store;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    ward analyze --db ~/.local/share/ward/ward.db capture.pcap && ward serve\n  \
    ward serve --db ward.db --listen 127.0.0.1:8470\n  \
    ward serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem\n  \
    ward serve --reset-password\n\n\
On first start a random admin secret is printed once to standard error; only its hash is stored.")]
pub struct ServeArgs {
    /// Store file (created if missing) [default: $XDG_DATA_HOME/ward/ward.db, else ~/.local/share/ward/ward.db].
    #[arg(long, value_name = "FILE", env = "WARD_DB")]
    pub db: Option<PathBuf>,
    /// Address and port to listen on. Anything but loopback exposes the dashboard to the network.
    #[arg(long, value_name = "ADDR:PORT", default_value = ward_web::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// PEM certificate chain for HTTPS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Print a new admin secret (the old one stops working) and exit.
    #[arg(long)]
    pub reset_password: bool,
    /// Before serving, delete data older than the default retention
    /// (traffic and stats 14 days, closed alerts 90, everything else 365),
    /// counted back from the wall clock.
    #[arg(long)]
    pub prune: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let path = args.db.clone().unwrap_or_else(ward_store::default_path);
    let mut store =
        Store::open(&path).with_context(|| format!("cannot open store {}", path.display()))?;
    if args.reset_password {
        let secret = ward_web::auth::reset_admin_secret(&mut store)?;
        eprintln!("ward: new admin secret (shown only now; running servers keep their sessions until restarted):");
        eprintln!("\n    {secret}\n");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(secret) = ward_web::auth::ensure_admin_secret(&mut store)? {
        eprintln!("ward: no admin secret was set; here is a new one. It is shown only now;");
        eprintln!("      only its hash is stored. Lost it? `ward serve --reset-password`.");
        eprintln!("\n    {secret}\n");
    }
    if args.prune {
        let now = ward_core::Timestamp::from_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        );
        let r = store.prune(now, &ward_store::Retention::default())?;
        eprintln!(
            "ward: pruned {} traffic rows, {} stats, {} alerts, {} findings, {} history rows",
            r.traffic, r.stats, r.alerts, r.findings, r.history
        );
    }
    if store.last_batch_id()? == 0 {
        eprintln!(
            "ward: the store is empty; fill it with `ward analyze --db {} CAPTURE`",
            path.display()
        );
    }
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        _ => None,
    };
    if ward_web::is_exposed(&args.listen) && tls.is_none() {
        eprintln!(
            "ward: WARNING: listening on {} WITHOUT TLS: the admin secret and session cookies",
            args.listen
        );
        eprintln!(
            "ward: WARNING: cross the network in clear. Use --tls-cert/--tls-key, or keep the"
        );
        eprintln!("ward: WARNING: default loopback address and reach it through an SSH tunnel.");
    }
    let opts = ward_web::ServeOptions {
        listen: args.listen,
        tls,
    };
    let shown = path.display().to_string();
    ward_web::run(store, opts, |addr, tls| {
        let scheme = if tls { "https" } else { "http" };
        eprintln!("ward: dashboard on {scheme}://{addr}/ (store {shown}); Ctrl-C stops it");
    })?;
    Ok(ExitCode::SUCCESS)
}
