use std::net::IpAddr;

use ward_core::event::{Alert, AlertCategory, DeviceRecord, EventType, Stats};
use ward_core::{Event, MacAddr, Timestamp};
use ward_eval::{evaluate, read_devices, read_labels, Matching};

const S: i64 = 1_000_000;
const T0: i64 = 1_800_000_000 * S;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn alert(t: i64, cat: AlertCategory, sig: &str, attacker: &str, victim: &str) -> Event {
    let a = Alert {
        category: cat,
        signature: sig.into(),
        severity: 2,
        confidence: 0.9,
        summary: format!("{sig} from {attacker}"),
        evidence: Default::default(),
        devices: vec![],
        attacker: Some(ip(attacker)),
        victims: vec![ip(victim)],
        first_seen: Timestamp(t),
        last_seen: Timestamp(t + S),
        count: 10,
        detector: "test".into(),
    };
    Event::alert(Timestamp(t + S / 2), a).with_endpoints(
        Some((ip(attacker), 0)),
        Some((ip(victim), 0)),
        Some(6),
    )
}

fn stats(first: i64, last: i64) -> Event {
    let mut e = Event::new(Timestamp(last), EventType::Stats);
    e.stats = Some(Stats {
        first_packet: Some(Timestamp(first)),
        last_packet: Some(Timestamp(last)),
        ..Stats::default()
    });
    e
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("ward-eval-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn scores_detection_category_entities_and_false_alarms() {
    let labels = write(
        "labels.csv",
        &format!(
            "label,category,start,end,attacker,victims,ports,tool,notes\n\
             nmap-syn-scan,recon,{},{},192.168.50.66,192.168.50.10,1-1000,nmap,\"-sS, fast\"\n\
             hping3-syn-flood,dos,{},{},192.168.50.66,192.168.50.20,80,hping3,spoofed\n\
             hydra-telnet,bruteforce,{},{},192.168.50.66,192.168.50.30,23,hydra,\n",
            Timestamp(T0 + 100 * S),
            Timestamp(T0 + 110 * S),
            Timestamp(T0 + 200 * S),
            Timestamp(T0 + 210 * S),
            Timestamp(T0 + 300 * S),
            Timestamp(T0 + 320 * S),
        ),
    );
    let labels = read_labels(&labels).unwrap();
    assert_eq!(labels.len(), 3);
    assert_eq!(labels[0].notes, "-sS, fast");
    let events = vec![
        alert(
            T0 + 101 * S,
            AlertCategory::Recon,
            "tcp-port-scan",
            "192.168.50.66",
            "192.168.50.10",
        ),
        // Spoofed source, right victim, wrong category.
        alert(
            T0 + 201 * S,
            AlertCategory::Anomaly,
            "anomaly",
            "10.9.9.9",
            "192.168.50.20",
        ),
        // A false alarm in benign time.
        alert(
            T0 + 500 * S,
            AlertCategory::Recon,
            "tcp-port-scan",
            "192.168.50.5",
            "192.168.50.6",
        ),
        stats(T0, T0 + 3600 * S),
    ];
    let r = evaluate(&events, &labels, None, None, Matching::default());
    assert!(r.attacks[0].detected && r.attacks[0].right_category && r.attacks[0].right_attacker);
    assert_eq!(r.attacks[0].time_to_detect_s, Some(1.5));
    assert!(r.attacks[1].detected && !r.attacks[1].right_category && r.attacks[1].right_victim);
    assert!(!r.attacks[1].right_attacker);
    assert!(!r.attacks[2].detected);
    assert_eq!(r.false_alarms, 1);
    assert_eq!(r.unmatched[0].signature, "tcp-port-scan");
    let recon = &r.categories["recon"];
    assert_eq!(
        (recon.labels, recon.alerts, recon.alerts_matching),
        (1, 2, 1)
    );
    assert_eq!(recon.recall, Some(1.0));
    assert_eq!(recon.precision, Some(0.5));
    assert_eq!(r.categories["dos"].recall, Some(0.0));
    // Benign time: 3600 s minus three windows widened by 2 s + 30 s.
    let expected = (3600.0 - (10.0 + 32.0) - (10.0 + 32.0) - (20.0 + 32.0)) / 3600.0;
    assert!(
        (r.benign_hours - expected).abs() < 1e-9,
        "{}",
        r.benign_hours
    );
    let text = r.render();
    assert!(
        text.contains("hydra-telnet") && text.contains("False alarms: 1"),
        "{text}"
    );
}

#[test]
fn identification_and_default_credentials_against_devices_csv() {
    let devices = write(
        "devices.csv",
        "mac,ip,name,category,model,default_credentials\n\
         b0:c5:54:00:00:01,192.168.50.30,dvr,camera,XM-DVR,telnet:root:xc3511;http:admin:admin\n\
         50:c7:bf:00:00:02,192.168.50.40,plug,plug/switch,HS110,\n",
    );
    let devices = read_devices(&devices).unwrap();
    assert_eq!(devices[0].default_credentials.len(), 2);
    let dev = |mac: &str, cat: &str, model: &str, reason: &str, t: i64| {
        let mut e = Event::new(Timestamp(t), EventType::Device);
        e.device = Some(DeviceRecord {
            mac: MacAddr::parse(mac),
            ips: vec![],
            vendor: None,
            hostname: None,
            category: Some(cat.into()),
            model: Some(model.into()),
            confidence: Some(0.9),
            evidence: vec![],
            first_seen: Timestamp(T0),
            last_seen: Timestamp(t),
            reason: reason.into(),
            random_mac: false,
            pkts_sent: 1,
            bytes_sent: 1,
            pkts_received: 0,
            bytes_received: 0,
            services: vec![],
            protocols: vec![],
        });
        e
    };
    let mut finding = Event::finding(
        Timestamp(T0 + 5 * S),
        ward_core::Finding {
            kind: ward_core::FindingKind::DefaultCredentials,
            protocol: "telnet".into(),
            severity: 1,
            summary: "x".into(),
            username: Some("root".into()),
            secret: None,
            secret_redacted: true,
            outcome: Some("success".into()),
            device: Some("b0:c5:54:00:00:01".into()),
            evidence: Default::default(),
            remedy: None,
        },
    );
    finding.dest_ip = Some(ip("192.168.50.30"));
    let events = vec![
        dev("b0:c5:54:00:00:01", "unknown", "", "new", T0),
        dev(
            "b0:c5:54:00:00:01",
            "camera",
            "XM-DVR",
            "changed",
            T0 + 12 * S,
        ),
        dev(
            "b0:c5:54:00:00:01",
            "camera",
            "XM-DVR",
            "final",
            T0 + 60 * S,
        ),
        dev("50:c7:bf:00:00:02", "light", "LB100", "final", T0 + 60 * S),
        finding,
    ];
    let r = evaluate(&events, &[], Some(&devices), None, Matching::default());
    let id = r.identification.unwrap();
    assert_eq!(id.seen, 2);
    assert_eq!(id.category_accuracy, Some(0.5));
    assert_eq!(id.model_accuracy, Some(0.5));
    assert_eq!(id.devices[0].time_to_identify_s, Some(12.0));
    assert_eq!(id.confusion["plug/switch"]["light"], 1);
    let creds = r.credentials.unwrap();
    assert_eq!(creds.iter().filter(|c| c.found).count(), 1);
    assert!(!creds[1].found, "http default not reported");
}

#[test]
fn bad_label_files_name_the_line() {
    let p = write(
        "bad.csv",
        "label,category,start,end\nx,teleport,2020-01-01T00:00:00Z,2020-01-01T00:00:01Z\n",
    );
    let e = read_labels(&p).unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("teleport"), "{e}");
}

#[test]
fn back_to_back_attacks_from_one_attacker_each_keep_their_own_alert() {
    // A subnet sweep, then 12 s later a port scan of one host in it, both
    // recon from the same attacker: each alert belongs to the attack under
    // way when it was raised.
    let labels = write(
        "b2b.csv",
        &format!(
            "label,category,start,end,attacker,victims,ports,tool,notes\n\
             sweep,recon,{},{},192.168.50.127,192.168.50.0/24,,nmap,\n\
             scan,recon,{},{},192.168.50.127,192.168.50.175,1-1024,nmap,\n",
            Timestamp(T0),
            Timestamp(T0 + 2 * S),
            Timestamp(T0 + 14 * S),
            Timestamp(T0 + 15 * S),
        ),
    );
    let labels = read_labels(&labels).unwrap();
    let events = vec![
        alert(
            T0,
            AlertCategory::Recon,
            "arp-sweep",
            "192.168.50.127",
            "192.168.50.9",
        ),
        alert(
            T0 + 14 * S,
            AlertCategory::Recon,
            "tcp-port-scan",
            "192.168.50.127",
            "192.168.50.175",
        ),
    ];
    let r = evaluate(&events, &labels, None, None, Matching::default());
    assert_eq!(r.attacks[0].signatures, vec!["arp-sweep".to_string()]);
    assert_eq!(r.attacks[1].signatures, vec!["tcp-port-scan".to_string()]);
}

#[test]
fn per_packet_scores_give_roc_auc_per_attack_and_skip_the_learning_phase() {
    let labels = write(
        "roc-labels.csv",
        &format!(
            "label,category,start,end,attacker,victims,ports,tool,notes\n\
             flood,dos,{},{},10.0.0.66,10.0.0.5,80,hping3,\n",
            Timestamp(T0 + 100 * S),
            Timestamp(T0 + 110 * S)
        ),
    );
    let mut csv = String::from("timestamp,score,src,dst,device,phase\n");
    // Learning-phase rows would ruin the benign tail if they counted.
    for i in 0..10 {
        csv += &format!("{},99.0,10.0.0.7,10.0.0.1,7,train\n", Timestamp(T0 + i * S));
    }
    for i in 0..1000 {
        csv += &format!(
            "{},{}.0,10.0.0.7,10.0.0.1,7,score\n",
            Timestamp(T0 + 500 * S + i),
            i % 10
        );
    }
    for i in 0..100 {
        csv += &format!(
            "{},{}.5,10.0.0.66,10.0.0.5,,score\n",
            Timestamp(T0 + 101 * S + i),
            20 + i % 3
        );
    }
    let scores = ward_eval::read_scores(&write("scores.csv", &csv)).unwrap();
    assert_eq!(scores.len(), 1100);
    let r = evaluate(
        &[],
        &read_labels(&labels).unwrap(),
        None,
        Some(&scores),
        Matching::default(),
    );
    let s = &r.scores.unwrap()[0];
    assert_eq!((s.positives, s.negatives), (100, 1000));
    assert_eq!(s.roc_auc, Some(1.0));
    assert_eq!(s.tpr_at_fpr_0_1pct, Some(1.0));
}

#[test]
fn attack_positives_are_the_attackers_packets_and_residue_is_left_out() {
    // A sweep of the whole subnet: the victims are a /24, so every device's
    // background traffic overlaps the window; only the attacker's own packets
    // (by address, or by its MAC when it spoofs) are the attack's.
    let labels = write(
        "pos-labels.csv",
        &format!(
            "label,category,start,end,attacker,victims,ports,tool,notes\n\
             sweep,recon,{},{},192.168.50.66,192.168.50.0/24,,nmap,\n",
            Timestamp(T0 + 100 * S),
            Timestamp(T0 + 110 * S)
        ),
    );
    let atk = "02:00:00:00:00:66";
    let mut csv = String::from("timestamp,score,threshold,src,dst,device,phase,src_mac\n");
    let mut row = |t: i64, score: f64, src: &str, dst: &str, mac: &str| {
        csv += &format!("{},{score},1,{src},{dst},1,scoring,{mac}\n", Timestamp(t));
    };
    // The attacker's ordinary traffic before the attack teaches its MAC.
    for i in 0..20 {
        row(T0 + i * S, 0.1, "192.168.50.66", "192.168.50.1", atk);
    }
    for i in 0..10 {
        let t = T0 + 100 * S + i * S;
        row(t, 9.0, "192.168.50.66", "192.168.50.7", atk); // probe
        row(
            t + 1,
            8.0,
            "192.168.50.7",
            "192.168.50.66",
            "02:00:00:00:00:07",
        ); // answer
        row(t + 2, 7.0, "10.9.9.9", "192.168.50.7", atk); // spoofed source
        row(
            t + 3,
            0.2,
            "192.168.50.8",
            "192.168.50.1",
            "02:00:00:00:00:08",
        ); // background
    }
    // Residue two minutes later: neither positive nor negative.
    for i in 0..10 {
        row(
            T0 + 230 * S + i,
            50.0,
            "192.168.50.7",
            "192.168.50.1",
            "02:00:00:00:00:07",
        );
    }
    for i in 0..30 {
        row(
            T0 + 500 * S + i * S,
            0.3,
            "192.168.50.8",
            "192.168.50.1",
            "02:00:00:00:00:08",
        );
    }
    let scores = ward_eval::read_scores(&write("pos-scores.csv", &csv)).unwrap();
    let r = evaluate(
        &[],
        &read_labels(&labels).unwrap(),
        None,
        Some(&scores),
        Matching::default(),
    );
    let s = &r.scores.unwrap()[0];
    assert_eq!((s.positives, s.negatives), (30, 50));
    assert_eq!(s.roc_auc, Some(1.0));
}
