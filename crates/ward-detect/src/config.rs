//! Detector settings: `[detectors.attacks]` in ward's TOML config.
//!
//! Every field is optional and documented with its default; unknown fields
//! are an error so a typo never silently falls back to a default. The
//! defaults are meant for a home network: they stay quiet on mDNS/SSDP
//! chatter, DNS and NTP, web browsing, a DHCP server serving clients and
//! MQTT keep-alives, and fire on the tools attackers actually run.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// After an alert, the same (signature, attacker, victim) stays one
    /// incident until it has been quiet this many seconds. Default 300.
    pub incident_quiet_secs: u64,
    /// Most entries in each per-source / per-victim table. Default 8192.
    pub max_tracked: usize,
    pub recon: ReconConfig,
    pub bruteforce: BruteforceConfig,
    pub dos: DosConfig,
    pub botnet: BotnetConfig,
    pub spoofing: SpoofingConfig,
    pub exploit: ExploitConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            incident_quiet_secs: 300,
            max_tracked: 8192,
            recon: ReconConfig::default(),
            bruteforce: BruteforceConfig::default(),
            dos: DosConfig::default(),
            botnet: BotnetConfig::default(),
            spoofing: SpoofingConfig::default(),
            exploit: ExploitConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReconConfig {
    /// Per-source counting window, seconds. Default 60.
    pub window_secs: u64,
    /// Vertical scan: distinct ports probed on one host. Default 20.
    pub vertical_ports: u32,
    /// Horizontal sweep: distinct hosts probed (TCP/UDP). Default 12.
    pub horizontal_hosts: u32,
    /// Share of probes that must have gone unanswered or been refused
    /// (scans mostly fail; browsing mostly succeeds). Default 0.6.
    pub min_failed_ratio: f32,
    /// Ping sweep: distinct hosts sent ICMP echo/timestamp requests. Default 8
    /// (on a LAN a sweep only pings the hosts that answered ARP).
    pub ping_hosts: u32,
    /// ARP sweep: distinct addresses asked for by broadcast ARP. Default 32.
    pub arp_hosts: u32,
    /// Null/FIN/Xmas probes (to distinct ports) before a stealth-scan alert. Default 6.
    pub stealth_probes: u32,
    /// Distinct nmap OS-detection probe types before an alert. Default 3.
    pub os_probe_kinds: u32,
    /// Telnet SYNs carrying the destination address as sequence number
    /// (Mirai's scanner) before an alert. Default 3.
    pub mirai_syns: u32,
    /// Slow vertical TCP scans (nmap `-T1`/`-T0`): the vertical thresholds
    /// also apply over this many seconds per source. Default 1800; 0 (or a
    /// value not above `window_secs`) turns the slow tier off.
    pub slow_window_secs: u64,
    /// IP protocol scan (nmap `-sO`): distinct IP protocol numbers other than
    /// TCP, UDP and ICMP sent to at most two hosts in the window. Default 8;
    /// 0 turns the check off.
    pub ip_protocols: u32,
    /// First IP fragments too short to hold their TCP/UDP header (nmap `-f`)
    /// from one source before an alert. Default 4; 0 turns the check off.
    pub tiny_fragments: u32,
    /// Distinct kinds of nmap version-detection probe payloads from one
    /// source before an alert. Default 3; 0 turns the check off (the probes
    /// that name nmap outright included).
    pub service_probe_kinds: u32,
}

impl Default for ReconConfig {
    fn default() -> Self {
        ReconConfig {
            window_secs: 60,
            vertical_ports: 20,
            horizontal_hosts: 12,
            min_failed_ratio: 0.6,
            ping_hosts: 8,
            arp_hosts: 32,
            stealth_probes: 6,
            os_probe_kinds: 3,
            mirai_syns: 3,
            slow_window_secs: 1800,
            ip_protocols: 8,
            tiny_fragments: 4,
            service_probe_kinds: 3,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BruteforceConfig {
    /// Window for counting attempts per client → server → protocol, seconds. Default 600.
    pub window_secs: u64,
    /// Failed (or unanswered) logins before an alert. Default 6.
    pub failures: u32,
    /// Short SSH connections from one client to one server before an alert. Default 8.
    pub ssh_connections: u32,
    /// An SSH connection counts as a password attempt when it lasted at most
    /// this many seconds. Default 30.
    pub ssh_max_secs: u64,
    /// … and the client sent at most this many bytes. Default 8192.
    pub ssh_max_client_bytes: u64,
    /// Distributed guessing: failed logins at one server and protocol from
    /// at least this many clients, with at least twice `failures` distinct
    /// credentials and two per client on average. Default 3; 0 turns it off.
    pub distributed_clients: u32,
    /// … within this many seconds of the first. Default 3600.
    pub distributed_window_secs: u64,
}

impl Default for BruteforceConfig {
    fn default() -> Self {
        BruteforceConfig {
            window_secs: 600,
            failures: 6,
            ssh_connections: 8,
            ssh_max_secs: 30,
            ssh_max_client_bytes: 8192,
            distributed_clients: 3,
            distributed_window_secs: 3600,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DosConfig {
    /// TCP SYNs per second to one address. Default 300.
    pub syn_pps: u32,
    /// Half-open SYN flood: SYNs to one address over two consecutive
    /// seconds of which at most one in ten became a connection (the
    /// client's ACK of the SYN-ACK). Default 120, 60 a second: a page load
    /// or a camera reconnecting completes its handshakes, a flood at 100
    /// SYNs a second is found in about 1.5 s. 0 turns the check off.
    pub syn_half_open: u32,
    /// Bare ACK or RST packets per second that open no real connection. Default 300.
    pub ack_rst_pps: u32,
    /// UDP packets per second to one address, with at least
    /// `udp_new_flows` new flows in that second. Default 500.
    pub udp_pps: u32,
    /// Default 100.
    pub udp_new_flows: u32,
    /// UDP packets per second to one address, however many flows. Default 20000.
    pub udp_pps_any: u32,
    /// ICMP echo requests per second to one address. Default 200.
    pub icmp_pps: u32,
    /// Packets per second of another IP protocol (GRE, ESP, …) to one
    /// address that sent under a tenth as many back over two seconds (a
    /// tunnel's far end answers; Mirai's GRE floods are not). Default 500.
    pub ip_pps: u32,
    /// DNS water torture: queries per second to one resolver, at least
    /// half of them for distinct names, most under one parent domain.
    /// Default 200. 0 turns the check off.
    pub dns_qps: u32,
    /// HTTP requests per second to one server. Default 150.
    pub http_rps: u32,
    /// Distinct sources in one second for a flood to count as spoofed or
    /// distributed. Default 32.
    pub spoofed_sources: u32,
    /// Carpet bombing: a flood spread over this many addresses of one /24
    /// (or /64) in one second or more, 8 packets a second each on average,
    /// together over the flood kind's per-address threshold. Default 16;
    /// 0 turns the check off.
    pub carpet_victims: u32,
    /// Reflection: UDP packets per second from reflector service ports to one address. Default 100.
    pub reflection_pps: u32,
    /// … carrying at least this many bytes per second (or at least
    /// `udp_pps` packets: reflectors that do not amplify). Default 100000.
    pub reflection_bytes: u64,
    /// … at least this many times the bytes the victim sent to those ports. Default 10.
    pub reflection_ratio: f64,
    /// UDP source ports of services abused for reflection/amplification.
    /// Default: DNS 53, NTP 123, SSDP 1900, SNMP 161, CLDAP 389, chargen 19,
    /// QOTD 17, memcached 11211, WS-Discovery 3702, Dahua 37810, ARMS 3283,
    /// CoAP 5683, NetBIOS 137, Portmap 111, OpenVPN 1194, TFTP 69, Ubiquiti 10001, SLP 427,
    /// MSSQL Browser 1434, RIP 520, mDNS 5353 (answers to a port other than
    /// 5353: legacy unicast queries, or spoofed ones from outside), SIP 5060,
    /// NAT-PMP 5351, XDMCP 177, Citrix ICA browser 1604, Plex GDM 32414, Mitel
    /// TP240 10074, BACnet/IP 47808, IPMI/RMCP 623, Jenkins discovery 33848.
    /// Only ports whose service sends *answers* belong here: a port that also
    /// carries a one-way stream to a client's own port (STUN/TURN 3478 relays
    /// media, Steam 27015 sends game state, BitTorrent 6881 carries uTP data,
    /// RDP 3389 its UDP transport) would make a download a reflection attack.
    pub reflector_ports: Vec<u16>,
    /// Slow DoS (slowloris, slow POST): connections from one client to one
    /// server port held open within a minute, each still sending seconds
    /// after it opened while the server has sent nothing. Default 40; 0
    /// turns the check off.
    pub held_connections: u32,
    /// Junk flood (Gafgyt/Bashlite JUNK into a service that keeps reading):
    /// payload bytes per second from one client into one server port on
    /// connections whose handshake was seen and whose server has sent no
    /// payload at all (no HTTP request: an upload's body comes before its
    /// answer). Default 1 000 000 (8 Mbit/s). 0 turns the check off.
    pub junk_bytes_per_sec: u64,
    /// … over at least this many such connections in that second (Gafgyt
    /// writes on half its file descriptors at once: hundreds; a file copy,
    /// FTP data or a print job uses one, iperf one to a few). One
    /// connection is enough when its data is Gafgyt's junk alphabet
    /// (nothing but the letters A-Z). Default 8. 0 is the same as 1 (any
    /// one silent connection at `junk_bytes_per_sec`, an `nc` copy too); it
    /// does not turn the check off: `junk_bytes_per_sec = 0` does.
    pub junk_connections: u32,
}

impl Default for DosConfig {
    fn default() -> Self {
        DosConfig {
            syn_pps: 300,
            syn_half_open: 120,
            ack_rst_pps: 300,
            udp_pps: 500,
            udp_new_flows: 100,
            udp_pps_any: 20_000,
            icmp_pps: 200,
            ip_pps: 500,
            dns_qps: 200,
            http_rps: 150,
            spoofed_sources: 32,
            carpet_victims: 16,
            reflection_pps: 100,
            reflection_bytes: 100_000,
            reflection_ratio: 10.0,
            reflector_ports: vec![
                53, 123, 1900, 161, 389, 19, 17, 11211, 3702, 37810, 3283, 5683, 137, 111, 1194,
                69, 10001, 427, 1434, 520, 5353, 5060, 5351, 177, 1604, 32414, 10074, 47808, 623,
                33848,
            ],
            held_connections: 40,
            junk_bytes_per_sec: 1_000_000,
            junk_connections: 8,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BotnetConfig {
    /// Regular keep-alives on one unparsed TCP/UDP flow before a heartbeat
    /// alert. Default 8.
    pub heartbeat_beats: u32,
    /// Heartbeat period range, seconds. Default 2 … 900.
    pub heartbeat_min_secs: f64,
    pub heartbeat_max_secs: f64,
    /// Largest payload counted as a keep-alive, bytes. Default 16.
    pub heartbeat_max_payload: usize,
    /// Largest coefficient of variation of the intervals. Default 0.15.
    pub heartbeat_max_cv: f64,
}

impl Default for BotnetConfig {
    fn default() -> Self {
        BotnetConfig {
            heartbeat_beats: 8,
            heartbeat_min_secs: 2.0,
            heartbeat_max_secs: 900.0,
            heartbeat_max_payload: 16,
            heartbeat_max_cv: 0.15,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SpoofingConfig {
    /// An IP → MAC binding seen within this many seconds is "current": a
    /// different MAC claiming the address then is a conflict. Default 600.
    pub arp_binding_secs: u64,
    /// Conflicts for one address (flip-flops) before an alert when the
    /// claimant has no other tell. Default 2.
    pub arp_conflicts: u32,
    /// Gratuitous ARPs from one MAC within 10 seconds. Default 30.
    pub garp_per_10s: u32,
    /// DHCP starvation: distinct client MACs in DISCOVER/REQUEST within
    /// `dhcp_window_secs`. Default 40 in 60 s.
    pub dhcp_clients: u32,
    pub dhcp_window_secs: u64,
    /// DHCP flood: client messages (any kind) within 10 seconds. Default 150
    /// (a whole house re-joining after a power cut sends a few per second).
    pub dhcp_messages: u32,
    /// Two DNS answers for the same client, id and name that share no
    /// address within this many seconds are a spoofing race. Default 5.
    pub dns_race_secs: u64,
}

impl Default for SpoofingConfig {
    fn default() -> Self {
        SpoofingConfig {
            arp_binding_secs: 600,
            arp_conflicts: 2,
            garp_per_10s: 30,
            dhcp_clients: 40,
            dhcp_window_secs: 60,
            dhcp_messages: 150,
            dns_race_secs: 5,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ExploitConfig {
    /// An extra rules file (same format as `data/exploits.toml`), loaded
    /// after the built-in rules.
    pub rules_file: Option<std::path::PathBuf>,
    /// Leave out the built-in rules.
    pub no_builtin_rules: bool,
}
