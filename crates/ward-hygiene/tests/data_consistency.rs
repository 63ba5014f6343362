//! The generated data files agree with their inputs and with the filters
//! the generator documents (a hand edit that breaks them fails here).

const VENDORS: &str = include_str!("../data/seclists-iot-vendors.txt");

#[test]
fn every_vendor_row_comes_from_a_listed_vendor() {
    let vendors: Vec<&str> = VENDORS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for row in ward_hygiene::default_credentials()
        .iter()
        .filter(|r| r.source == "seclists")
    {
        let vendor = row
            .notes
            .strip_prefix("vendor ")
            .map(|n| n.split(';').next().unwrap_or(n).trim())
            .unwrap_or_else(|| panic!("no vendor in notes: {row:?}"));
        // The generator turns commas in vendor names into ';'.
        let listed = vendors
            .iter()
            .any(|v| v.replace(',', ";").starts_with(vendor));
        assert!(listed, "vendor {vendor:?} not in seclists-iot-vendors.txt");
    }
}

#[test]
fn no_placeholders_or_padding_survive() {
    for row in ward_hygiene::default_credentials() {
        for field in [row.username, row.password] {
            assert_eq!(field, field.trim(), "{row:?}");
            assert!(!field.contains(['<', '(', ' ']), "{row:?}");
            assert_ne!(field, "none", "{row:?}");
        }
        assert!(!row.notes.is_empty(), "{row:?}");
    }
}

#[test]
fn mirai_rows_keep_weights_and_flag_wrong_source_comments() {
    let mirai: Vec<_> = ward_hygiene::default_credentials()
        .iter()
        .filter(|r| r.source == "mirai")
        .collect();
    assert!(mirai.iter().all(|r| r.notes.starts_with("weight ")));
    let flagged: Vec<_> = mirai
        .iter()
        .filter(|r| r.notes.contains("source comment says"))
        .map(|r| (r.username, r.password))
        .collect();
    assert_eq!(flagged, [("Administrator", "meinsm"), ("admin", "4321")]);
}
