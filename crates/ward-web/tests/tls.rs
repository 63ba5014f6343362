//! HTTPS end to end with a throw-away self-signed certificate (made by the
//! `openssl` command) and `curl` as the client; skips, saying why, when
//! either is missing.
#![cfg(feature = "tls")]

use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        || Command::new(tool)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
}

fn make_cert(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    (cert, key)
}

#[test]
fn https_serves_pages_with_secure_cookies() {
    for tool in ["openssl", "curl"] {
        if !have(tool) {
            eprintln!("skipped: `{tool}` not installed");
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path());
    let config = ward_web::tls::server_config(&cert, &key).unwrap();
    // Garbage in, an error out (not a panic).
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    assert!(ward_web::tls::server_config(&dir.path().join("junk.pem"), &key).is_err());
    assert!(ward_web::tls::server_config(&dir.path().join("none.pem"), &key).is_err());

    let store = ward_store::Store::open(dir.path().join("ward.db")).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let state = ward_web::AppState::new(store, true);
                ward_web::tls::serve_tls(state, listener, config, async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
            });
    });

    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "20", "--cacert"])
        .arg(&cert)
        .arg(format!("https://{addr}/login"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let cookie = text
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: ward_login=")
        })
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Plain HTTP to the HTTPS port gets nothing usable.
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("http://{addr}/login"))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&out.stdout), "200");

    let _ = stop_tx.send(());
    server.join().unwrap();
}
