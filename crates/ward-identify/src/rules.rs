//! Explicit evidence that names a device's kind or model outright.
//!
//! The learned model only knows the devices it was trained on; these rules
//! cover common kinds it has never seen (computers and phones, printers,
//! media players, routers) from evidence that is unambiguous by protocol
//! design — a DNS-SD service type, an LLDP announcement, a browser
//! User-Agent, a model name in mDNS TXT or UPnP. They are used when the
//! model's answer is not accepted, and their reason is written as evidence.

use ward_core::devices::Device;
use ward_proto::HintKind;

/// A rule's conclusion.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleMatch {
    pub category: &'static str,
    pub confidence: f32,
    /// `source: value` that fired.
    pub reason: String,
}

/// mDNS service types that name what a device is.
const MDNS: &[(&str, &str)] = &[
    ("_ipp._tcp", "printer"),
    ("_ipps._tcp", "printer"),
    ("_printer._tcp", "printer"),
    ("_pdl-datastream._tcp", "printer"),
    ("_scanner._tcp", "printer"),
    // Refined by the Cast capability bits (see `cast_category`).
    ("_googlecast._tcp", "TV/media"),
    ("_airplay._tcp", "TV/media"),
    ("_raop._tcp", "speaker/assistant"),
    ("_spotify-connect._tcp", "speaker/assistant"),
    ("_sonos._tcp", "speaker/assistant"),
    ("_amzn-wplay._tcp", "TV/media"),
    ("_hue._tcp", "hub/bridge"),
    ("_companion-link._tcp", "phone/computer"),
    ("_apple-mobdev2._tcp", "phone/computer"),
    ("_smb._tcp", "phone/computer"),
    ("_workstation._tcp", "server"),
    ("_ssh._tcp", "server"),
    ("_nvstream._tcp", "phone/computer"),
];

/// Words in a User-Agent that only general-purpose computers and phones send.
const UA_COMPUTER: &[&str] = &[
    "windows nt",
    "macintosh",
    "iphone",
    "ipad",
    "android",
    "x11; linux",
    "cros",
];

/// Registered domains whose clients are one kind of device.
const DOMAINS: &[(&str, &str)] = &[
    ("immedia-semi.com", "camera"),
    ("arlo.com", "camera"),
    ("wyzecam.com", "camera"),
    ("ring.com", "doorbell"),
    ("nest.com", "thermostat"),
    ("ecobee.com", "thermostat"),
    ("lockly.com", "lock"),
    ("nuki.io", "lock"),
    ("sonos.com", "speaker/assistant"),
    ("roku.com", "TV/media"),
    ("lgtvsdp.com", "TV/media"),
    ("samsungcloudsolution.com", "TV/media"),
    // Surveillance vendors' cloud and P2P relays (cameras, DVRs, NVRs).
    ("easy4ipcloud.com", "camera"),
    ("dahuap2p.com", "camera"),
    ("imoulife.com", "camera"),
    ("hik-connect.com", "camera"),
    ("hik-connectru.com", "camera"),
    ("ezvizlife.com", "camera"),
    ("ezviz7.com", "camera"),
    ("reolink.com", "camera"),
    ("amcrestcloud.com", "camera"),
];

/// OUI vendors that make nothing but surveillance equipment (cameras,
/// DVRs, NVRs), matched on the start of the registry's name. Weaker than
/// anything the device says itself.
const CAMERA_VENDORS: &[&str] = &[
    "hangzhou hikvision",
    "zhejiang dahua",
    "axis communications",
    "zhejiang uniview",
    "hangzhou ezviz",
    "reolink innovation",
    "vivotek",
    "mobotix",
];

/// Words in host names that say what a device is (matched on word
/// boundaries of the lower-cased name: `-`, `_`, `.`, digits).
const HOSTNAME_WORDS: &[(&str, &str)] = &[
    ("camera", "camera"),
    ("ipcam", "camera"),
    ("ipc", "camera"),
    ("dvr", "camera"),
    ("nvr", "camera"),
    ("webcam", "camera"),
    ("doorbell", "doorbell"),
    ("printer", "printer"),
    ("iphone", "phone/computer"),
    ("ipad", "phone/computer"),
    ("android", "phone/computer"),
    ("galaxy", "phone/computer"),
    ("pixel", "phone/computer"),
    ("macbook", "phone/computer"),
    ("imac", "phone/computer"),
    ("desktop", "phone/computer"),
    ("laptop", "phone/computer"),
    ("chromecast", "TV/media"),
    ("roku", "TV/media"),
    ("firetv", "TV/media"),
    ("thermostat", "thermostat"),
    // Default host names of desktop Linux installs.
    ("kali", "phone/computer"),
    ("ubuntu", "phone/computer"),
    ("fedora", "phone/computer"),
    ("manjaro", "phone/computer"),
    ("archlinux", "phone/computer"),
    ("linuxmint", "phone/computer"),
];

/// HomeKit accessory categories (the `ci` TXT key of `_hap._tcp`, HAP
/// specification's category table) in ward's categories.
const HOMEKIT: &[(u32, &str)] = &[
    (2, "hub/bridge"),
    (3, "appliance"),
    (5, "light"),
    (6, "lock"),
    (7, "plug/switch"),
    (8, "plug/switch"),
    (9, "thermostat"),
    (10, "sensor"),
    (15, "plug/switch"),
    (16, "network equipment"),
    (17, "camera"),
    (18, "doorbell"),
    (19, "appliance"),
    (20, "appliance"),
    (21, "appliance"),
    (22, "appliance"),
    (23, "appliance"),
    (24, "TV/media"),
    (25, "speaker/assistant"),
    (26, "speaker/assistant"),
    (27, "network equipment"),
    (28, "appliance"),
    (31, "TV/media"),
    (33, "network equipment"),
    (34, "speaker/assistant"),
    (35, "TV/media"),
    (36, "TV/media"),
];

/// The value of TXT key `key` (`key=value` evidence), parsed as a number.
fn txt_number(d: &Device, key: &str) -> Option<u32> {
    d.evidence.iter().find_map(|(k, v)| {
        let (name, value) = v.split_once('=')?;
        (*k == HintKind::MdnsTxt && name.eq_ignore_ascii_case(key))
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// A Google Cast device's kind from its capability bits (`ca`; Chromium's
/// `CastDeviceCapability`: bit 0 video out, bit 2 audio out, bit 5
/// multizone group): a screen is TV/media, sound without a screen a
/// speaker.
fn cast_category(ca: u32) -> Option<&'static str> {
    if ca & 1 != 0 {
        Some("TV/media")
    } else if ca & (1 << 2) != 0 || ca & (1 << 5) != 0 {
        Some("speaker/assistant")
    } else {
        None
    }
}

/// Apply the rules; the first (most specific) match wins.
pub fn classify(d: &Device) -> Option<RuleMatch> {
    let hit = |category, confidence, kind: HintKind, value: &str| {
        Some(RuleMatch {
            category,
            confidence,
            reason: format!("{}: {}", kind.as_str(), value),
        })
    };
    for (kind, value) in &d.evidence {
        if *kind == HintKind::Lldp {
            return hit("network equipment", 0.9, *kind, value);
        }
    }
    // One lower-cased copy at a time, and only of the kinds the match
    // below has arms for (keep the two lists together): this runs on every
    // classification the model does not settle, over every item, most of
    // them DHCP options, fingerprints and TXT values that no arm reads.
    let mut l = String::new();
    for (kind, value) in &d.evidence {
        if !matches!(
            kind,
            HintKind::MdnsService
                | HintKind::HttpUserAgent
                | HintKind::DhcpVendorClass
                | HintKind::SsdpNt
                | HintKind::SsdpUsn
                | HintKind::DnsQuery
                | HintKind::TlsSni
        ) {
            continue;
        }
        l.clear();
        l.push_str(value);
        l.make_ascii_lowercase();
        match kind {
            HintKind::MdnsService => {
                if l.starts_with("_googlecast._tcp") {
                    if let Some(ca) = txt_number(d, "ca") {
                        if let Some(c) = cast_category(ca) {
                            return Some(RuleMatch {
                                category: c,
                                confidence: 0.8,
                                reason: format!("{}: {value} with ca={ca}", kind.as_str()),
                            });
                        }
                    }
                }
                if l.starts_with("_hap._tcp") {
                    let ci = txt_number(d, "ci");
                    if let Some((ci, c)) = ci.and_then(|ci| {
                        HOMEKIT
                            .iter()
                            .find(|(n, _)| *n == ci)
                            .map(|(_, c)| (ci, *c))
                    }) {
                        return Some(RuleMatch {
                            category: c,
                            confidence: 0.8,
                            reason: format!("{}: {value} with ci={ci}", kind.as_str()),
                        });
                    }
                }
                if let Some((_, c)) = MDNS.iter().find(|(s, _)| l.starts_with(s)) {
                    return hit(c, 0.8, *kind, value);
                }
            }
            HintKind::HttpUserAgent if UA_COMPUTER.iter().any(|w| l.contains(w)) => {
                return hit("phone/computer", 0.7, *kind, value);
            }
            HintKind::DhcpVendorClass if l.starts_with("msft") || l.starts_with("android-dhcp") => {
                return hit("phone/computer", 0.8, *kind, value);
            }
            HintKind::SsdpNt | HintKind::SsdpUsn
                if l.contains("internetgatewaydevice") || l.contains("wanipconnection") =>
            {
                return hit("network equipment", 0.8, *kind, value);
            }
            HintKind::SsdpNt | HintKind::SsdpUsn if l.contains("mediarenderer") => {
                return hit("TV/media", 0.6, *kind, value);
            }
            HintKind::DnsQuery | HintKind::TlsSni => {
                let dom = crate::features::registered_domain(&l);
                if let Some((_, c)) = DOMAINS.iter().find(|(s, _)| *s == dom) {
                    return hit(c, 0.6, *kind, value);
                }
            }
            _ => {}
        }
    }
    for h in &d.hostnames {
        let l = h.to_ascii_lowercase();
        let words = l.split(|c: char| !c.is_ascii_alphabetic());
        for w in words {
            if let Some((_, c)) = HOSTNAME_WORDS.iter().find(|(k, _)| *k == w) {
                return Some(RuleMatch {
                    category: c,
                    confidence: 0.6,
                    reason: format!("hostname: {h}"),
                });
            }
        }
    }
    // Answering DHCP or DNS for others is what routers do.
    if d.services.contains(&(17, 67)) || d.services.contains(&(17, 53)) {
        return Some(RuleMatch {
            category: "network equipment",
            confidence: 0.6,
            reason: "services: answers DHCP/DNS".into(),
        });
    }
    if d.services.contains(&(6, 631)) || d.services.contains(&(6, 9100)) {
        return Some(RuleMatch {
            category: "printer",
            confidence: 0.6,
            reason: "services: IPP/JetDirect".into(),
        });
    }
    if d.services.contains(&(6, 9999)) {
        // TP-Link's Kasa smart-home protocol (HS1xx plugs, KP strips).
        return Some(RuleMatch {
            category: "plug/switch",
            confidence: 0.5,
            reason: "services: TCP/9999 (TP-Link smart-home protocol)".into(),
        });
    }
    if d.services.contains(&(6, 554)) {
        return Some(RuleMatch {
            category: "camera",
            confidence: 0.5,
            reason: "services: RTSP".into(),
        });
    }
    if let Some(v) = d.vendor {
        let l = v.to_ascii_lowercase();
        if CAMERA_VENDORS.iter().any(|c| l.starts_with(c)) {
            return Some(RuleMatch {
                category: "camera",
                confidence: 0.5,
                reason: format!("oui: {v} makes surveillance equipment only"),
            });
        }
        // Intel's network chips are in PCs and laptops, hardly ever in
        // consumer IoT devices: the weakest rule, after everything else.
        if l.starts_with("intel corporate") {
            return Some(RuleMatch {
                category: "phone/computer",
                confidence: 0.4,
                reason: format!("oui: {v} (PC network chips)"),
            });
        }
    }
    None
}

/// Whether a new evidence item could settle what a device is, so the
/// identifier looks at it at its next pass instead of waiting out the
/// device's back-off (see [`crate::identifier::next_wait_s`]).
///
/// Decisive: what a device says about itself (host names, DHCP options,
/// DNS-SD services and TXT, SSDP/UPnP, LLDP, its User-Agent, its
/// servers' banners and OS hints), and a DNS name or TLS server name
/// whose registered domain a rule maps to a kind (a camera's P2P cloud).
/// Not decisive: what every device accumulates as it talks (other DNS and
/// TLS names, TLS and TCP fingerprints, NTP servers), which only refines
/// a conclusion and is looked at on the back-off.
pub fn is_decisive(kind: HintKind, value: &str) -> bool {
    match kind {
        HintKind::Hostname
        | HintKind::DhcpParamList
        | HintKind::DhcpVendorClass
        | HintKind::DhcpClientId
        | HintKind::DhcpMaxMsgSize
        | HintKind::DhcpFqdn
        | HintKind::DhcpOptions
        | HintKind::Dhcpv6
        | HintKind::MdnsService
        | HintKind::MdnsTxt
        | HintKind::SsdpServer
        | HintKind::SsdpUsn
        | HintKind::SsdpNt
        | HintKind::UpnpDescription
        | HintKind::Lldp
        | HintKind::HttpUserAgent
        | HintKind::HttpServer
        | HintKind::Banner
        | HintKind::Os => true,
        HintKind::DnsQuery | HintKind::TlsSni => {
            let l = value.to_ascii_lowercase();
            let dom = crate::features::registered_domain(&l);
            DOMAINS.iter().any(|(s, _)| *s == dom)
        }
        HintKind::TlsJa3 | HintKind::TlsJa4 | HintKind::TcpSyn | HintKind::NtpServer => false,
    }
}

/// The services [`classify`] reads, one bit each: a change of these is
/// decisive evidence (a device that starts answering DHCP is a router),
/// other new services only refine.
pub fn rule_services(d: &Device) -> u8 {
    RULE_SERVICES
        .iter()
        .enumerate()
        .filter(|(_, s)| d.services.contains(s))
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// Every service [`classify`] tests (kept in step with it by the test
/// `rule_services_are_the_ones_classify_reads` in `tests/identifier.rs`).
pub const RULE_SERVICES: [(u8, u16); 6] =
    [(17, 67), (17, 53), (6, 631), (6, 9100), (6, 9999), (6, 554)];

/// A model name the device states itself (mDNS TXT `md=`/`model=`,
/// UPnP `modelName`, LLDP system description), with its source.
pub fn stated_model(d: &Device) -> Option<(String, &'static str)> {
    for (kind, value) in &d.evidence {
        let (k, v) = match value.split_once('=') {
            Some(kv) => kv,
            None => continue,
        };
        let k = k.to_ascii_lowercase();
        let ok = match kind {
            HintKind::MdnsTxt => matches!(k.as_str(), "md" | "model" | "mdl" | "ty" | "usb_mdl"),
            HintKind::UpnpDescription => matches!(k.as_str(), "modelname" | "modeldescription"),
            _ => false,
        };
        if ok && !v.trim().is_empty() {
            return Some((v.trim().to_string(), kind.as_str()));
        }
    }
    None
}
