//! Attacks that hide behind other addresses, as the lab's real tools send
//! them: ARP poisoning (the attacker's MAC answering for another device's
//! address and forwarding its packets) and a SYN flood with random spoofed
//! sources. Per address they look like ordinary traffic; what gives them
//! away is the MAC–IP relation (`ward_anomaly::binding`). And the answers
//! of a brute-forced device, which behaves like any server, are part of the
//! attack (fan-in inputs, conversation scores). These tests fail if the
//! engine stops seeing any of it.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{
    auc, lan_ip, lan_mac, learning_lan, merge_labelled, quarter_hour_learning, Rng, SyntheticLan,
    LEARNING_PACKETS,
};
use ward_anomaly::{AnomalyConfig, AnomalyEngine, PacketObs, Phase, PROTO_ARP};

const ATTACKER_HOST: u8 = 15;
const ATTACKER_DEVICE: u32 = 5;

/// An engine that has learned 15 minutes of a 20-device LAN at 100 packets/s.
fn learned() -> (AnomalyEngine, SyntheticLan) {
    learned_with(AnomalyConfig::default())
}

fn learned_with(mut cfg: AnomalyConfig) -> (AnomalyEngine, SyntheticLan) {
    quarter_hour_learning(&mut cfg);
    cfg.learning.device_learning_secs = 0.0;
    cfg.learning.device_learning_packets = 10;
    let mut engine = AnomalyEngine::new(cfg).expect("valid config");
    let mut lan = learning_lan();
    for o in lan.by_ref().take(LEARNING_PACKETS) {
        engine.process(&o);
    }
    assert_eq!(engine.phase(), Phase::Scoring);
    (engine, lan)
}

/// Scores `attack` merged into `benign`; returns (benign scores, attack
/// scores, attack packets over their threshold, alerts).
fn run(
    engine: &mut AnomalyEngine,
    benign: &[PacketObs],
    attack: &[PacketObs],
) -> (Vec<f32>, Vec<f32>, usize, Vec<ward_anomaly::AnomalyAlert>) {
    let (mut b, mut a, mut over) = (Vec::new(), Vec::new(), 0);
    for (o, is_attack) in merge_labelled(benign, attack) {
        let s = engine.process(&o);
        if is_attack {
            a.push(s.score);
            over += usize::from(s.score > engine.threshold());
        } else {
            b.push(s.score);
        }
    }
    engine.finish();
    (b, a, over, engine.drain_alerts())
}

#[test]
fn arp_poisoning_mac_ip_flip_scores_above_threshold_and_is_explained() {
    let (mut engine, mut lan) = learned();
    let benign: Vec<PacketObs> = lan.by_ref().take(30_000).collect();
    let start = benign[10_000].ts_micros;
    let end = start + 30_000_000;
    let victim_host = 12u8;
    let mut attack = Vec::new();
    // arpspoof: a reply every second, "victim's address is at my MAC", to
    // the other devices it poisons.
    let mut t = start;
    while t < end {
        for target in [10u8, 11, 13] {
            attack.push(PacketObs {
                ts_micros: t + i64::from(target),
                src_mac: lan_mac(ATTACKER_HOST),
                src_ip: lan_ip(victim_host),
                dst_ip: lan_ip(target),
                src_port: 0,
                dst_port: 0,
                proto: PROTO_ARP,
                len: 42,
                tcp_flags: 0,
                device: ATTACKER_DEVICE,
            });
        }
        t += 1_000_000;
    }
    // With forwarding on, the victim's own packets leave the attacker's MAC
    // a moment later.
    for o in benign
        .iter()
        .filter(|o| o.ts_micros >= start && o.ts_micros < end && o.src_ip == lan_ip(victim_host))
    {
        attack.push(PacketObs {
            ts_micros: o.ts_micros + 300,
            src_mac: lan_mac(ATTACKER_HOST),
            device: ATTACKER_DEVICE,
            ..*o
        });
    }
    attack.sort_by_key(|o| o.ts_micros);
    assert!(attack.len() >= 100, "{} attack packets", attack.len());
    let (b, a, over, alerts) = run(&mut engine, &benign, &attack);
    let roc = auc(&b, &a);
    let tpr = over as f64 / a.len() as f64;
    eprintln!(
        "ARP poisoning: AUC {roc:.4}, {over} of {} attack packets over the threshold",
        a.len()
    );
    for al in &alerts {
        eprintln!("  device {}: {}", al.device, al.explanation);
    }
    assert!(roc >= 0.99, "AUC {roc}");
    assert!(tpr >= 0.9, "only {over} of {} over the threshold", a.len());
    let alert = alerts
        .iter()
        .find(|al| al.device == ATTACKER_DEVICE)
        .expect("an alert for the attacker's device");
    assert!(
        alert
            .top_features
            .iter()
            .any(|f| f.name.starts_with("ip.mac_conflict_rate")
                || f.name.starts_with("mac.new_ip_rate")),
        "{:?}",
        alert.top_features
    );
}

#[test]
fn spoofed_source_flood_scores_above_threshold() {
    let (mut engine, mut lan) = learned();
    let benign: Vec<PacketObs> = lan.by_ref().take(30_000).collect();
    let start = benign[10_000].ts_micros;
    let mut rng = Rng::new(3);
    let attack: Vec<PacketObs> = (0..2_500i64)
        .map(|i| {
            let a = rng.u64();
            PacketObs {
                ts_micros: start + i * 2_000,
                src_mac: lan_mac(ATTACKER_HOST),
                src_ip: IpAddr::V4(Ipv4Addr::from((a >> 32) as u32 | 0x0100_0000)),
                dst_ip: lan_ip(11),
                src_port: a as u16,
                dst_port: 1883,
                proto: 6,
                len: 54,
                tcp_flags: 0x02,
                device: ATTACKER_DEVICE,
            }
        })
        .collect();
    let (b, a, over, alerts) = run(&mut engine, &benign, &attack);
    let roc = auc(&b, &a);
    eprintln!(
        "spoofed flood: AUC {roc:.4}, {over} of {} over the threshold",
        a.len()
    );
    assert!(roc >= 0.99, "AUC {roc}");
    assert!(
        over as f64 >= 0.95 * a.len() as f64,
        "{over} of {}",
        a.len()
    );
    assert!(alerts.iter().any(|al| al.device == ATTACKER_DEVICE));
}

/// Telnet password guessing against a LAN device, one attempt per
/// connection as hydra does it, with the device's answers.
fn brute_force(start: i64) -> (Vec<PacketObs>, Vec<PacketObs>) {
    let (victim, victim_device) = (lan_ip(12), 2u32);
    let attacker = lan_ip(ATTACKER_HOST);
    let (mut from, mut answers) = (Vec::new(), Vec::new());
    let mut rng = Rng::new(9);
    for c in 0..60i64 {
        let t0 = start + c * 200_000 + rng.below(50_000) as i64;
        let sport = 40_000 + c as u16;
        // (from the attacker?, flags, length, µs after the connection start)
        let exchange = [
            (true, 0x02u8, 74u32, 0i64),
            (false, 0x12, 74, 300),
            (true, 0x10, 66, 600),
            (false, 0x18, 90, 2_000),
            (true, 0x18, 80, 4_000),
            (false, 0x18, 85, 6_000),
            (true, 0x18, 78, 8_000),
            (false, 0x18, 95, 30_000),
            (true, 0x11, 66, 31_000),
            (false, 0x11, 66, 31_300),
        ];
        for (out, flags, len, dt) in exchange {
            let o = PacketObs {
                ts_micros: t0 + dt,
                src_mac: if out {
                    lan_mac(ATTACKER_HOST)
                } else {
                    lan_mac(12)
                },
                src_ip: if out { attacker } else { victim },
                dst_ip: if out { victim } else { attacker },
                src_port: if out { sport } else { 23 },
                dst_port: if out { 23 } else { sport },
                proto: 6,
                len,
                tcp_flags: flags,
                device: if out { ATTACKER_DEVICE } else { victim_device },
            };
            if out {
                from.push(o);
            } else {
                answers.push(o);
            }
        }
    }
    (from, answers)
}

/// Share of the victim's answers over the threshold.
fn answers_over_threshold(mut engine: AnomalyEngine, lan: &mut SyntheticLan) -> f64 {
    let benign: Vec<PacketObs> = lan.by_ref().take(30_000).collect();
    let (from, answers) = brute_force(benign[10_000].ts_micros);
    let mut attack: Vec<PacketObs> = from.iter().chain(&answers).copied().collect();
    attack.sort_by_key(|o| o.ts_micros);
    let (mut over, mut n) = (0usize, 0usize);
    for (o, is_attack) in merge_labelled(&benign, &attack) {
        let s = engine.process(&o);
        if is_attack && o.src_ip == lan_ip(12) {
            n += 1;
            over += usize::from(s.score > engine.threshold());
        }
    }
    over as f64 / n.max(1) as f64
}

#[test]
fn a_brute_forced_devices_answers_score_with_the_attack() {
    let (engine, mut lan) = learned();
    let share = answers_over_threshold(engine, &mut lan);
    eprintln!(
        "brute force: {:.1} % of the victim's answers over the threshold",
        share * 100.0
    );
    assert!(share >= 0.95, "{share}");
}
