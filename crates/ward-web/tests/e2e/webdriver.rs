//! A minimal W3C WebDriver client over chromedriver's HTTP API (only what
//! the end-to-end test needs). Every call panics with the driver's message
//! on failure: this is test code.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct WebDriver {
    base: String,
    agent: ureq::Agent,
}

pub struct Element<'a> {
    wd: &'a WebDriver,
    id: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn value(mut r: ureq::http::Response<ureq::Body>, what: &str) -> Value {
    let status = r.status();
    let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{what}: {status} {v}");
    v.get("value").cloned().unwrap_or(Value::Null)
}

impl WebDriver {
    /// Wait for chromedriver on `port`, then open a headless Chromium session
    /// with a fresh profile.
    pub fn start(port: u16, chromium: &str, profile: &Path) -> WebDriver {
        let base = format!("http://127.0.0.1:{port}");
        let agent = agent();
        let started = Instant::now();
        loop {
            if let Ok(mut r) = agent.get(&format!("{base}/status")).call() {
                let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    "--window-size=1280,1100", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let r = agent
            .post(&format!("{base}/session"))
            .send_json(&caps)
            .unwrap();
        let v = value(r, "new session");
        let session = v["sessionId"].as_str().unwrap().to_string();
        WebDriver {
            base: format!("{base}/session/{session}"),
            agent,
        }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .agent
            .post(&format!("{}{path}", self.base))
            .send_json(&body)
            .unwrap();
        value(r, path)
    }

    fn get(&self, path: &str) -> Value {
        let r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .unwrap();
        value(r, path)
    }

    pub fn go(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
    }

    pub fn url(&self) -> String {
        self.get("/url").as_str().unwrap_or_default().to_string()
    }

    /// Wait (up to 15 s) until the current URL satisfies `ok`: a click that
    /// submits a form returns before the navigation it starts has finished.
    pub fn wait_url(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let url = self.url();
            if ok(&url) {
                return url;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "waited for {what}; still at {url}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn page_source(&self) -> String {
        self.get("/source").as_str().unwrap_or_default().to_string()
    }

    /// The first element matching a CSS selector (panics when none).
    pub fn find(&self, css: &str) -> Element<'_> {
        let v = self.post("/element", json!({ "using": "css selector", "value": css }));
        Element {
            wd: self,
            id: v[ELEMENT].as_str().unwrap().to_string(),
        }
    }

    /// The viewport as PNG bytes.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.get("/screenshot");
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap()
    }

    pub fn quit(&self) {
        let _ = self.agent.delete(&self.base).call();
    }
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub fn find(&self, css: &str) -> Element<'_> {
        let v = self.wd.post(
            &self.path("/element"),
            json!({ "using": "css selector", "value": css }),
        );
        Element {
            wd: self.wd,
            id: v[ELEMENT].as_str().unwrap().to_string(),
        }
    }

    pub fn click(&self) {
        self.wd.post(&self.path("/click"), json!({}));
    }

    pub fn send_keys(&self, text: &str) {
        self.wd.post(&self.path("/value"), json!({ "text": text }));
    }

    pub fn text(&self) -> String {
        self.wd
            .get(&self.path("/text"))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn attribute(&self, name: &str) -> String {
        self.wd
            .get(&self.path(&format!("/attribute/{name}")))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn displayed(&self) -> bool {
        self.wd
            .get(&self.path("/displayed"))
            .as_bool()
            .unwrap_or(false)
    }
}
