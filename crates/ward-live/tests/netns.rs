//! Live capture on a veth pair between two network namespaces this test
//! creates (and always deletes). Needs root and `ip`; skips otherwise.
//!
//! Traffic is real: the kernel's `ping` from one namespace to the other.
//! Nothing leaves the namespaces: they have no default route and the veth
//! pair is created directly inside them.

use std::fs::File;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ward_live::{BpfInsn, CaptureCounters, Filter, LiveOptions, LiveSource};

/// Two namespaces joined by a veth pair: `wa0` (10.99.0.1) in `ns_a`,
/// `wb0` (10.99.0.2) in `ns_b`. Dropping it deletes both namespaces.
struct Lab {
    ns_a: String,
    ns_b: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Lab {
    /// `None` (with the reason printed) when this machine cannot run it.
    fn new() -> Option<Lab> {
        if !nix_is_root() {
            eprintln!("skipping: needs root to create network namespaces");
            return None;
        }
        if Command::new("ip").arg("-V").output().is_err() {
            eprintln!("skipping: `ip` (iproute2) is not installed");
            return None;
        }
        if Command::new("ping").arg("-V").output().is_err() {
            eprintln!("skipping: `ping` (iputils-ping) is not installed");
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let id = format!("{}-{n}", std::process::id());
        let lab = Lab {
            ns_a: format!("wardtest-{id}-a"),
            ns_b: format!("wardtest-{id}-b"),
        };
        // From here on, Drop cleans up whatever was created.
        let setup = || -> Result<(), String> {
            ip(&["netns", "add", &lab.ns_a])?;
            ip(&["netns", "add", &lab.ns_b])?;
            ip(&[
                "link", "add", "name", "wa0", "netns", &lab.ns_a, "type", "veth", "peer", "name",
                "wb0", "netns", &lab.ns_b,
            ])?;
            for (ns, dev, addr) in [
                (&lab.ns_a, "wa0", "10.99.0.1/24"),
                (&lab.ns_b, "wb0", "10.99.0.2/24"),
            ] {
                ip(&["-n", ns, "addr", "add", addr, "dev", dev])?;
                ip(&["-n", ns, "link", "set", dev, "up"])?;
                ip(&["-n", ns, "link", "set", "lo", "up"])?;
            }
            Ok(())
        };
        match setup() {
            Ok(()) => Some(lab),
            Err(e) => panic!("setting up the namespaces failed: {e}"),
        }
    }

    /// Open a capture on `wb0` from inside `ns_b`. The socket is created on
    /// a helper thread that joined the namespace, so this test process
    /// stays where it is; an open socket works from any thread.
    fn open_b(&self, opts: LiveOptions) -> Box<dyn LiveSource> {
        self.open_b_with(ward_live::Backend::AfPacket, opts)
    }

    fn open_b_with(&self, backend: ward_live::Backend, opts: LiveOptions) -> Box<dyn LiveSource> {
        let path = format!("/run/netns/{}", self.ns_b);
        std::thread::spawn(move || {
            let f = File::open(&path).expect("netns file");
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            ward_live::open(backend, &opts)
        })
        .join()
        .expect("capture thread")
        .expect("open capture")
    }

    /// `ping` from `wa0` to `wb0`.
    fn ping(&self, extra: &[&str]) {
        let mut args = vec!["netns", "exec", &self.ns_a, "ping", "-q", "-n", "-W", "1"];
        args.extend_from_slice(extra);
        args.push("10.99.0.2");
        let st = Command::new("ip")
            .args(&args)
            .stdout(Stdio::null())
            .status()
            .expect("run ping");
        assert!(st.success(), "ping failed: {args:?}");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

fn nix_is_root() -> bool {
    // Reading our own status avoids another dependency just for geteuid.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// What was captured, by kind.
#[derive(Default, Debug)]
struct Seen {
    frames: u64,
    echo_requests: u64,
    echo_replies: u64,
    arp: u64,
    max_clock_skew: Duration,
}

fn classify(seen: &mut Seen, data: &[u8], ts_micros: i64) {
    seen.frames += 1;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let skew = Duration::from_micros(now.abs_diff(ts_micros));
    seen.max_clock_skew = seen.max_clock_skew.max(skew);
    let ethertype = data.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match ethertype {
        Some(0x0806) => seen.arp += 1,
        Some(0x0800) if data.get(23) == Some(&1) => {
            let ihl = usize::from(data.get(14).copied().unwrap_or(0x45) & 0x0f) * 4;
            match data.get(14 + ihl) {
                Some(8) => seen.echo_requests += 1,
                Some(0) => seen.echo_replies += 1,
                _ => {}
            }
        }
        _ => {}
    }
}

fn drain(src: &mut dyn LiveSource, quiet_for: Duration, limit: Duration) -> Seen {
    let mut seen = Seen::default();
    let start = Instant::now();
    let mut last = Instant::now();
    while start.elapsed() < limit && last.elapsed() < quiet_for {
        if let Some(f) = src.next_frame(Duration::from_millis(100)).unwrap() {
            assert!(f.data.len() as u32 <= f.wire_len);
            classify(&mut seen, f.data, f.ts.micros());
            last = Instant::now();
        }
    }
    seen
}

#[test]
fn captures_pings_with_kernel_timestamps() {
    let Some(lab) = Lab::new() else { return };
    let mut src = lab.open_b(LiveOptions::new("wb0"));
    assert_eq!(src.linktype(), ward_live::linktype::ETHERNET);
    lab.ping(&["-c", "5", "-i", "0.05"]);
    let seen = drain(
        src.as_mut(),
        Duration::from_millis(500),
        Duration::from_secs(5),
    );
    // Requests arrive on wb0, replies leave it: AF_PACKET sees both directions.
    assert_eq!(seen.echo_requests, 5, "{seen:?}");
    assert_eq!(seen.echo_replies, 5, "{seen:?}");
    assert!(seen.arp >= 1, "the first ping needs ARP: {seen:?}");
    assert!(
        seen.max_clock_skew < Duration::from_secs(5),
        "kernel timestamps should be close to now: {seen:?}"
    );
    let c = src.counters().unwrap();
    assert!(c.received >= seen.frames, "{c:?} vs {seen:?}");
    assert_eq!(c.dropped, 0);
}

#[test]
fn a_bpf_program_keeps_only_matching_frames() {
    let Some(lab) = Lab::new() else { return };
    // `icmp` for Ethernet, written from the classic BPF opcodes: ldh [12];
    // jeq #0x800; ldb [23]; jeq #1; ret #262144; ret #0.
    let ld_h_abs = 0x28;
    let jeq_k = 0x15;
    let ld_b_abs = 0x30;
    let ret_k = 0x06;
    let prog = vec![
        BpfInsn {
            code: ld_h_abs,
            jt: 0,
            jf: 0,
            k: 12,
        },
        BpfInsn {
            code: jeq_k,
            jt: 0,
            jf: 3,
            k: 0x0800,
        },
        BpfInsn {
            code: ld_b_abs,
            jt: 0,
            jf: 0,
            k: 23,
        },
        BpfInsn {
            code: jeq_k,
            jt: 0,
            jf: 1,
            k: 1,
        },
        BpfInsn {
            code: ret_k,
            jt: 0,
            jf: 0,
            k: 262_144,
        },
        BpfInsn {
            code: ret_k,
            jt: 0,
            jf: 0,
            k: 0,
        },
    ];
    let mut opts = LiveOptions::new("wb0");
    opts.filter = Some(Filter::Program(prog));
    let mut src = lab.open_b(opts);
    lab.ping(&["-c", "3", "-i", "0.05"]);
    let seen = drain(
        src.as_mut(),
        Duration::from_millis(500),
        Duration::from_secs(5),
    );
    assert_eq!(seen.arp, 0, "ARP must be filtered out: {seen:?}");
    assert_eq!((seen.echo_requests, seen.echo_replies), (3, 3), "{seen:?}");
    assert_eq!(seen.frames, 6, "{seen:?}");
}

#[test]
fn a_full_socket_buffer_shows_up_as_kernel_drops() {
    let Some(lab) = Lab::new() else { return };
    let mut opts = LiveOptions::new("wb0");
    // The smallest buffer the kernel allows, and nobody reading it while
    // a flood arrives: most frames must be counted as dropped.
    opts.buffer_bytes = 1;
    let mut src = lab.open_b(opts);
    lab.ping(&["-f", "-c", "2000", "-s", "1000"]);
    let c: CaptureCounters = src.counters().unwrap();
    assert!(c.dropped > 1000, "{c:?}");
    assert!(c.received >= c.dropped, "{c:?}");
    // Counters accumulate: reading again (the kernel resets its own on
    // every read) never goes backwards.
    let again = src.counters().unwrap();
    assert!(again.dropped >= c.dropped && again.received >= c.received);
    // What was kept is still readable.
    assert!(src
        .next_frame(Duration::from_millis(200))
        .unwrap()
        .is_some());
}

#[test]
fn missing_interface_is_a_clear_error() {
    let err = ward_live::open(ward_live::Backend::AfPacket, &LiveOptions::new("nosuchif0"))
        .err()
        .expect("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("no such interface") || msg.contains("permission"),
        "{msg}"
    );
}

#[cfg(feature = "libpcap")]
#[test]
fn libpcap_backend_with_a_filter_expression() {
    let Some(lab) = Lab::new() else { return };
    let mut opts = LiveOptions::new("wb0");
    opts.filter = Some(Filter::Expression("icmp[icmptype] == icmp-echo".into()));
    let mut src = lab.open_b_with(ward_live::Backend::Pcap, opts);
    lab.ping(&["-c", "4", "-i", "0.05"]);
    let seen = drain(
        src.as_mut(),
        Duration::from_millis(500),
        Duration::from_secs(5),
    );
    assert_eq!(
        (seen.echo_requests, seen.echo_replies, seen.arp),
        (4, 0, 0),
        "{seen:?}"
    );
    assert!(src.counters().unwrap().received >= 4);
}

#[cfg(feature = "libpcap")]
#[test]
fn af_packet_compiles_expressions_with_libpcap() {
    let Some(lab) = Lab::new() else { return };
    let mut opts = LiveOptions::new("wb0");
    opts.filter = Some(Filter::Expression("arp".into()));
    let mut src = lab.open_b(opts);
    lab.ping(&["-c", "2", "-i", "0.05"]);
    let seen = drain(
        src.as_mut(),
        Duration::from_millis(500),
        Duration::from_secs(5),
    );
    assert!(seen.arp >= 1, "{seen:?}");
    assert_eq!(seen.frames, seen.arp, "{seen:?}");
}
