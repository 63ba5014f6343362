//! The persistent device inventory (`ward analyze --state FILE`,
//! `ward devices`).
//!
//! A versioned JSON document: when learning started (packet time), and one
//! entry per device with what identification concluded and why, its
//! addresses, names, services, earlier (randomised) MACs and the
//! fingerprint used to recognise it again under a new MAC. Loading a file
//! of another version is an error, not a guess. Bounded to
//! [`MAX_ENTRIES`] devices (least recently seen dropped).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ward_core::event::Evidence;
use ward_core::Timestamp;

pub const STATE_VERSION: u32 = 1;
pub const STATE_FORMAT: &str = "ward-inventory";
pub const MAX_ENTRIES: usize = 65_536;
const MAX_ALIASES: usize = 16;

/// What identifies a device across MAC changes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Signature {
    /// DHCP client identifier, when it is not just the MAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param_list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_class: Option<String>,
}

impl Signature {
    /// Is `other` (a device under another MAC) the same device?
    ///
    /// A DHCP client id that is not derived from the MAC is a stable
    /// per-device value (RFC 4361 DUID-based ids survive MAC
    /// randomisation). Otherwise a host name must agree, and the DHCP
    /// fingerprint (parameter list, vendor class) must not contradict it —
    /// two phones both named "iPhone" with different stacks stay apart.
    pub fn same_device(&self, other: &Signature) -> bool {
        if let (Some(a), Some(b)) = (&self.client_id, &other.client_id) {
            return a == b;
        }
        let named = self
            .hostnames
            .iter()
            .any(|h| is_distinctive(h) && other.hostnames.contains(h));
        if !named {
            return false;
        }
        let agree = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        agree(&self.param_list, &other.param_list) && agree(&self.vendor_class, &other.vendor_class)
    }

    pub fn is_empty(&self) -> bool {
        self.client_id.is_none() && self.hostnames.is_empty()
    }
}

/// Names too common to tie two MACs together.
fn is_distinctive(h: &str) -> bool {
    let l = h.to_ascii_lowercase();
    l.len() >= 3
        && !matches!(
            l.as_str(),
            "localhost" | "android" | "iphone" | "ipad" | "espressif" | "unknown" | "host"
        )
}

/// One device in the inventory.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InventoryEntry {
    /// MAC, or IP for layer-3-only devices.
    pub key: String,
    /// Earlier keys of the same device (randomised MACs), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub ips: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Why the category/model were chosen.
    #[serde(default)]
    pub identity_evidence: Vec<Evidence>,
    /// The raw evidence collected (bounded by the engine).
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub protocols: Vec<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// When the current identity was reached (packet time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identified_at: Option<Timestamp>,
    #[serde(default)]
    pub random_mac: bool,
    #[serde(default)]
    pub signature: Signature,
}

impl InventoryEntry {
    /// Seconds from first sight to the current identity.
    pub fn time_to_identify(&self) -> Option<f64> {
        self.identified_at
            .map(|t| (t.since(self.first_seen) as f64 / 1e6).max(0.0))
    }
}

/// The whole inventory. See the module docs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Inventory {
    pub format: String,
    pub version: u32,
    /// Packet time the learning period started (first packet ever seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_started: Option<Timestamp>,
    pub devices: BTreeMap<String, InventoryEntry>,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory {
            format: STATE_FORMAT.to_string(),
            version: STATE_VERSION,
            learning_started: None,
            devices: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("state file {path} is not valid: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("state file {path} is a {format:?} version {version} file; this build reads {STATE_FORMAT:?} version {STATE_VERSION}")]
    Version {
        path: String,
        format: String,
        version: u32,
    },
}

impl Inventory {
    /// Load a state file; a missing file is an empty inventory (first run).
    pub fn load_or_default(path: &Path) -> Result<Inventory, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => Inventory::from_json(&bytes, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Inventory::default()),
            Err(source) => Err(StateError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Inventory, StateError> {
        let inv: Inventory = serde_json::from_slice(bytes).map_err(|source| StateError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        if inv.format != STATE_FORMAT || inv.version != STATE_VERSION {
            return Err(StateError::Version {
                path: path.display().to_string(),
                format: inv.format,
                version: inv.version,
            });
        }
        Ok(inv)
    }

    /// Write atomically (temporary file, then rename), so a crash never
    /// leaves half a state file.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |source| StateError::Write {
            path: path.display().to_string(),
            source,
        };
        let mut s = serde_json::to_string_pretty(self).map_err(|e| err(e.into()))?;
        s.push('\n');
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, s).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Find an entry under another key that is the same device.
    pub fn find_same(&self, key: &str, sig: &Signature) -> Option<&str> {
        if sig.is_empty() {
            return None;
        }
        self.devices
            .values()
            .filter(|e| e.key != key)
            .find(|e| e.signature.same_device(sig))
            .map(|e| e.key.as_str())
    }

    /// Move `old`'s entry to `new` (the device changed its MAC).
    pub fn rekey(&mut self, old: &str, new: &str) {
        let Some(mut e) = self.devices.remove(old) else {
            return;
        };
        if e.aliases.len() >= MAX_ALIASES {
            e.aliases.remove(0);
        }
        e.aliases.push(old.to_string());
        e.key = new.to_string();
        self.devices.insert(new.to_string(), e);
    }

    /// Drop the least recently seen entries beyond [`MAX_ENTRIES`].
    pub fn enforce_bound(&mut self) {
        if self.devices.len() <= MAX_ENTRIES {
            return;
        }
        let mut by_age: Vec<(Timestamp, String)> = self
            .devices
            .values()
            .map(|e| (e.last_seen, e.key.clone()))
            .collect();
        by_age.sort();
        let excess = self.devices.len() - MAX_ENTRIES;
        for (_, k) in by_age.into_iter().take(excess) {
            self.devices.remove(&k);
        }
    }

    /// The inventory as a text table, one device a line, oldest first.
    pub fn table(&self) -> String {
        let mut rows: Vec<&InventoryEntry> = self.devices.values().collect();
        rows.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.key.cmp(&b.key)));
        let head = [
            "DEVICE", "IP", "VENDOR", "HOSTNAME", "CATEGORY", "MODEL", "CONF", "TTI(s)",
        ];
        let mut cells: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
        for e in rows {
            let trunc = |s: &str, n: usize| -> String {
                if s.chars().count() > n {
                    let mut t: String = s.chars().take(n - 1).collect();
                    t.push('…');
                    t
                } else {
                    s.to_string()
                }
            };
            let mut key = e.key.clone();
            if !e.aliases.is_empty() {
                key.push_str(&format!(" (+{} MACs)", e.aliases.len()));
            }
            cells.push(vec![
                key,
                e.ips
                    .iter()
                    .find(|ip| ip.is_ipv4())
                    .or(e.ips.first())
                    .map(|ip| ip.to_string())
                    .unwrap_or_default(),
                trunc(e.vendor.as_deref().unwrap_or("-"), 24),
                trunc(e.hostnames.first().map(String::as_str).unwrap_or("-"), 20),
                e.category.clone().unwrap_or_else(|| "unknown".into()),
                trunc(e.model.as_deref().unwrap_or("-"), 28),
                e.confidence
                    .map(|c| format!("{c:.2}"))
                    .unwrap_or_else(|| "-".into()),
                e.time_to_identify()
                    .map(|t| format!("{t:.0}"))
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        let widths: Vec<usize> = (0..head.len())
            .map(|c| {
                cells
                    .iter()
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for r in cells {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, host: &str) -> InventoryEntry {
        InventoryEntry {
            key: key.into(),
            aliases: vec![],
            ips: vec![],
            vendor: None,
            hostnames: vec![host.into()],
            category: Some("phone/computer".into()),
            model: None,
            confidence: Some(0.9),
            identity_evidence: vec![],
            evidence: vec![],
            services: vec![],
            protocols: vec![],
            first_seen: Timestamp::from_secs(10),
            last_seen: Timestamp::from_secs(20),
            identified_at: Some(Timestamp::from_secs(15)),
            random_mac: true,
            signature: Signature {
                hostnames: vec![host.into()],
                param_list: Some("1,3,6".into()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn state_round_trips_and_rejects_other_versions() {
        let dir = std::env::temp_dir().join(format!("ward-identify-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let mut inv = Inventory {
            learning_started: Some(Timestamp::from_secs(1)),
            ..Default::default()
        };
        inv.devices.insert("aa".into(), entry("aa", "pixel-7"));
        inv.save(&path).unwrap();
        assert_eq!(Inventory::load_or_default(&path).unwrap(), inv);

        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"version\": 1", "\"version\": 99");
        std::fs::write(&path, text).unwrap();
        assert!(matches!(
            Inventory::load_or_default(&path),
            Err(StateError::Version { version: 99, .. })
        ));
        assert_eq!(
            Inventory::load_or_default(&dir.join("missing.json")).unwrap(),
            Inventory::default()
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn same_device_needs_agreeing_fingerprints() {
        let a = entry("aa", "pixel-7").signature;
        let mut b = a.clone();
        assert!(a.same_device(&b));
        b.param_list = Some("1,3,6,15".into());
        assert!(!a.same_device(&b), "different DHCP stack, same name");
        let generic = entry("cc", "android").signature;
        assert!(
            !generic.same_device(&generic.clone()),
            "generic names never merge"
        );
    }

    #[test]
    fn rekey_keeps_history() {
        let mut inv = Inventory::default();
        inv.devices.insert("aa".into(), entry("aa", "pixel-7"));
        inv.rekey("aa", "bb");
        let e = &inv.devices["bb"];
        assert_eq!(e.aliases, vec!["aa".to_string()]);
        assert!(!inv.devices.contains_key("aa"));
        assert!(inv.table().contains("bb (+1 MACs)"));
    }
}
