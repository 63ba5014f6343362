//! Plain-words explanations of an incident from its most deviant features.
//!
//! The models say *that* a packet is odd; the explanation says *what* is odd
//! compared with the device's own normal. For the peak packet of an incident
//! each feature's deviation from the device baseline (its mean over the
//! learning period, slowly adapted afterwards) is measured in units of the
//! feature's spread over all training traffic, floored at 5 % of the baseline
//! so that a feature that happened to be constant in training does not
//! dominate with a tiny absolute change. The most deviant feature of each
//! kind (the same statistic over five windows counts once) is rendered as a
//! sentence with the value, the normal value and their ratio. A device
//! still in its own learning period is compared with its category's normal
//! instead ([`Normal::Category`]: the mean over the category's learned
//! devices), and the sentence says so.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::binding;
use crate::features::{
    display_value, feature_info, window_words, FeatureInfo, Unit, N_FEATURES, WINDOW_LABELS,
};

/// Description of model input `index`: an AfterImage feature, then the
/// MAC–IP binding features (`None` past the end).
pub fn input_info(index: usize) -> Option<FeatureInfo> {
    match index.checked_sub(N_FEATURES) {
        None => feature_info(index),
        Some(i) => binding::info(i),
    }
}

/// Stable machine name of model input `index`, e.g. `"host.syn_rate@1s"`
/// or `"ip.mac_conflict_rate@10s"`.
pub fn input_name(index: usize) -> String {
    match input_info(index) {
        Some(f) => format!("{}@{}", f.stat, WINDOW_LABELS[f.window]),
        None => format!("feature{index}"),
    }
}

/// One feature that made an incident stand out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureContribution {
    /// Machine name, e.g. `host.syn_rate@1s`.
    pub name: String,
    /// Value at the peak, in display units (per second for packet counts).
    pub value: f64,
    /// The device's normal value, same units.
    pub baseline: f64,
    /// Deviation in units of the feature's training spread.
    pub deviation: f64,
}

/// How many features an explanation lists.
pub const TOP_FEATURES: usize = 3;

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        return "n/a".to_string();
    }
    if a >= 1000.0 {
        let s = format!("{:.0}", a);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            format!("-{out}")
        } else {
            out
        }
    } else if a >= 10.0 {
        format!("{v:.0}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".to_string()
    } else {
        format!("{v:.3}")
    }
}

fn with_unit(v: f64, unit: Unit) -> String {
    let n = fmt_num(v);
    match unit {
        Unit::Count | Unit::PerSecond => format!("{n}/s"),
        Unit::Bytes => format!("{n} bytes"),
        Unit::Seconds => format!("{n} s"),
        Unit::BytesSquared | Unit::Ratio => n,
    }
}

/// Whose normal an incident is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normal<'a> {
    /// The device's own (its learning period, slowly adapted).
    Own,
    /// Its category's, pooled from the category's learned devices: the
    /// device is still in its own learning period.
    Category(&'a str),
}

impl Normal<'_> {
    /// "its normal" / "the camera category's normal".
    fn words(self) -> String {
        match self {
            Normal::Own => "its normal".to_string(),
            Normal::Category(c) => format!("the {c} category's normal"),
        }
    }
}

fn comparison(info: &FeatureInfo, value: f64, baseline: f64, normal: Normal<'_>) -> String {
    let now = with_unit(value, info.unit);
    let base = with_unit(baseline, info.unit);
    let whose = normal.words();
    if matches!(info.unit, Unit::Ratio | Unit::BytesSquared) || baseline.signum() != value.signum()
    {
        return match normal {
            Normal::Own => format!("{now} against a normal of {base}"),
            Normal::Category(_) => format!("{now} against {whose} of {base}"),
        };
    }
    if baseline.abs() < 1e-9 || value.abs() > 1e6 * baseline.abs() {
        return match normal {
            Normal::Own => format!("{now} where it is normally about zero"),
            Normal::Category(c) => format!("{now} where a {c} normally has about zero"),
        };
    }
    let r = value / baseline;
    if r >= 1.0 {
        format!("{now}, {}x {whose} of {base}", fmt_num(r))
    } else {
        format!("{now}, {}x below {whose} of {base}", fmt_num(1.0 / r))
    }
}

/// Ranks features of `x` by deviation from `baseline` (see module docs) and
/// keeps the strongest per statistic.
pub fn top_features(x: &[f32], baseline: &[f32], spread: &[f32], k: usize) -> Vec<(usize, f64)> {
    let mut best: Vec<(usize, f64)> = Vec::new();
    for (i, ((&v, &b), &s)) in x.iter().zip(baseline).zip(spread).enumerate() {
        let (v, b, s) = (f64::from(v), f64::from(b), f64::from(s));
        let scale = s.max(0.05 * b.abs()).max(1e-3);
        let dev = (v - b).abs() / scale;
        // Less than half a spread away is not worth a sentence.
        if !dev.is_finite() || dev < 0.5 {
            continue;
        }
        let Some(info) = input_info(i) else {
            continue;
        };
        match best
            .iter_mut()
            .find(|(j, _)| input_info(*j).map(|f| f.stat) == Some(info.stat))
        {
            Some(entry) if entry.1 < dev => *entry = (i, dev),
            Some(_) => {}
            None => best.push((i, dev)),
        }
    }
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best.truncate(k);
    best
}

/// Builds the sentence and the contribution list for an incident.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    device: u32,
    src: IpAddr,
    dst: IpAddr,
    x: &[f32],
    baseline: &[f32],
    spread: &[f32],
    peak_score: f32,
    threshold: f32,
    normal: Normal<'_>,
) -> (String, Vec<FeatureContribution>) {
    let who = if device == u32::MAX {
        "Unattributed traffic".to_string()
    } else {
        format!("Device {device}")
    };
    let top = top_features(x, baseline, spread, TOP_FEATURES);
    let mut contributions = Vec::with_capacity(top.len());
    // The caller may replace everything before " behaved unlike " with the
    // device's name.
    let unlike = match normal {
        Normal::Own => "its normal".to_string(),
        Normal::Category(c) => {
            format!("a normal {c} (it is new to the model and judged by its category)")
        }
    };
    let mut text = format!(
        "{who} behaved unlike {unlike} (peak score {} vs threshold {}, peak packet {src} -> {dst})",
        fmt_num(f64::from(peak_score)),
        fmt_num(f64::from(threshold))
    );
    for (rank, &(i, dev)) in top.iter().enumerate() {
        let Some(info) = input_info(i) else {
            continue;
        };
        let value = display_value(&info, x.get(i).copied().unwrap_or(0.0));
        let base = display_value(&info, baseline.get(i).copied().unwrap_or(0.0));
        let sentence = format!(
            "{} {}: {}",
            info.what,
            window_words(&info),
            comparison(&info, value, base, normal)
        );
        if rank == 0 {
            let _ = write!(text, ". Most unusual: {sentence}");
        } else if rank == 1 {
            let _ = write!(text, ". Also: {sentence}");
        } else {
            let _ = write!(text, "; {sentence}");
        }
        contributions.push(FeatureContribution {
            name: input_name(i),
            value,
            baseline: base,
            deviation: dev,
        });
    }
    text.push('.');
    (text, contributions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::PER_WINDOW;
    use std::net::Ipv4Addr;

    #[test]
    fn syn_flood_is_explained_in_words_with_the_ratio() {
        let mut x = vec![1.0f32; N_FEATURES];
        let base = vec![1.0f32; N_FEATURES];
        let spread = vec![0.5f32; N_FEATURES];
        // host.syn_rate over the last second: 3000/s against a normal of 1/s.
        x[2 * PER_WINDOW + 6] = 3000.0;
        x[2 * PER_WINDOW + 7] = 500.0;
        let ip = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 9));
        let (text, top) = explain(4, ip, ip, &x, &base, &spread, 3.5, 0.7, Normal::Own);
        assert_eq!(top[0].name, "host.syn_rate@1s");
        assert_eq!(top[1].name, "host.new_dst_rate@1s");
        assert!(
            text.contains(
                "TCP connection attempts (SYNs) per second sent by this host over the last second"
            ),
            "{text}"
        );
        assert!(
            text.contains("3,000/s, 3,000x its normal of 1.00/s"),
            "{text}"
        );
        assert!(
            text.starts_with("Device 4 behaved unlike its normal"),
            "{text}"
        );
    }

    #[test]
    fn binding_inputs_have_names_and_words() {
        use crate::engine::N_INPUTS;
        let names: std::collections::HashSet<String> = (0..N_INPUTS).map(input_name).collect();
        assert_eq!(names.len(), N_INPUTS);
        assert_eq!(input_name(N_FEATURES), "mac.new_ip_rate@1s");
        assert_eq!(input_name(N_FEATURES + 3), "ip.mac_conflict_rate@10s");
        assert_eq!(input_name(N_FEATURES + 7), "dst.syn_in_rate@10s");
        assert_eq!(input_name(N_INPUTS - 3), "mac.dhcp_new_client_rate@10s");
        assert_eq!(input_name(N_INPUTS - 2), "dns.contradicted_dst_rate@1s");
        let words = input_info(N_INPUTS - 1).map(|f| f.what);
        assert!(
            words.is_some_and(|w| w.contains("sent to an address that a contradicted")),
            "{words:?}"
        );
        assert!(input_info(N_INPUTS).is_none());
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_num(1234567.0), "1,234,567");
        assert_eq!(fmt_num(-1500.0), "-1,500");
        assert_eq!(fmt_num(12.4), "12");
        assert_eq!(fmt_num(0.5), "0.50");
        assert_eq!(fmt_num(0.0), "0");
    }
}
