mod common;

#[test]
fn registry_runs_over_a_real_capture_without_panicking() {
    let Some(p) = common::dataset("suricata-verify/telnet/telnet-01/telnet.pcap") else {
        return;
    };
    let payloads = common::payloads(&p);
    assert!(!payloads.is_empty());
    let _ = common::run_capture(&p);
}
