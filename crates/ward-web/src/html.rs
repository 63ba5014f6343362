//! HTML building blocks: escaping, the page layout, small formatters and
//! server-rendered SVG charts.
//!
//! Every value that came from the network or the store goes through
//! [`esc`] (text and attribute contexts; we always quote attributes), so a
//! hostname like `<script>` is shown, never run. Pages carry no inline
//! script or style, which lets the Content-Security-Policy forbid both.

use std::fmt::Write;

use ward_core::Timestamp;
use ward_store::TrafficPoint;

/// Escape for HTML text and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters from the wire would only confuse the page.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode a path segment or query value.
pub fn url_enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `2024-05-01 12:03:04 UTC` (seconds are enough on a page).
pub fn when(t: Timestamp) -> String {
    let s = t.to_string();
    match (s.get(0..10), s.get(11..19)) {
        (Some(d), Some(h)) => format!("{d} {h} UTC"),
        _ => s,
    }
}

pub fn when_unix(secs: i64) -> String {
    when(Timestamp::from_secs(secs))
}

/// `1.2 MB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn severity_name(s: u8) -> &'static str {
    match s {
        0 | 1 => "critical",
        2 => "high",
        3 => "medium",
        _ => "low",
    }
}

pub fn severity_badge(s: u8) -> String {
    format!(
        r#"<span class="badge sev{}">{}</span>"#,
        s.clamp(1, 4),
        severity_name(s)
    )
}

pub fn risk_badge(risk: u32) -> String {
    let class = match risk {
        0 => "risk0",
        1..=9 => "risk1",
        10..=39 => "risk2",
        _ => "risk3",
    };
    format!(r#"<span class="badge {class}">{risk}</span>"#)
}

/// Which navigation entry is highlighted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Devices,
    Alerts,
    Findings,
    None,
}

/// What every signed-in page needs from the request.
pub struct PageCtx {
    pub csrf: String,
    /// Live-update marker at render time (the script compares against it).
    pub marker: String,
}

/// The whole page around `body`.
pub fn layout(title: &str, nav: Nav, ctx: Option<&PageCtx>, body: &str) -> String {
    let mut navs = String::new();
    if let Some(ctx) = ctx {
        for (n, href, label) in [
            (Nav::Overview, "/", "Overview"),
            (Nav::Devices, "/devices", "Devices"),
            (Nav::Alerts, "/alerts", "Alerts"),
            (Nav::Findings, "/findings", "Findings"),
        ] {
            let cur = if n == nav {
                r#" class="current" aria-current="page""#
            } else {
                ""
            };
            let _ = write!(navs, r#"<a href="{href}"{cur}>{label}</a>"#);
        }
        let _ = write!(
            navs,
            r#"<form method="post" action="/logout" class="logout"><input type="hidden" name="csrf" value="{}"><button type="submit">Sign out</button></form>"#,
            esc(&ctx.csrf)
        );
    }
    let (marker, script) = match ctx {
        Some(c) => (
            format!(r#" data-marker="{}""#, esc(&c.marker)),
            r#"<script src="/static/live.js" defer></script>"#,
        ),
        None => (String::new(), ""),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · ward</title><link rel="stylesheet" href="/static/style.css">{script}</head>
<body{marker}><header><a class="brand" href="/">ward</a><nav>{navs}</nav></header>
<div id="live" class="live" hidden><span id="live-text"></span> <a href="" id="live-reload">Reload</a></div>
<main>{body}</main>
<footer>ward — a security monitor for IoT networks</footer></body></html>"#,
        title = esc(title),
    )
}

/// A bar per category (horizontal), for "devices by category".
pub fn bar_chart(rows: &[(String, u64)], label: &str) -> String {
    if rows.is_empty() {
        return r#"<p class="muted">No devices yet.</p>"#.into();
    }
    let rows = &rows[..rows.len().min(12)];
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let row_h = 26;
    let h = rows.len() * row_h + 8;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 520 {h}" role="img" aria-label="{}">"#,
        esc(label)
    );
    for (i, (name, n)) in rows.iter().enumerate() {
        let y = i * row_h + 4;
        let w = (*n as f64 / max as f64 * 300.0).max(2.0);
        let _ = write!(
            s,
            r#"<text x="150" y="{ty}" text-anchor="end" class="lbl">{name}</text><rect x="160" y="{y}" width="{w:.1}" height="18" rx="3" class="bar"/><text x="{tx:.1}" y="{ty}" class="val">{n}</text>"#,
            ty = y + 14,
            tx = 166.0 + w,
            name = esc(&truncate(name, 22)),
        );
    }
    s.push_str("</svg>");
    s
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Bytes per minute as an area chart, with time labels at both ends.
pub fn traffic_chart(points: &[TrafficPoint], label: &str) -> String {
    let series: Vec<(i64, f64)> = points
        .iter()
        .map(|p| (p.minute.0, p.bytes as f64))
        .collect();
    line_chart(&series, label, "bytes/min", bytes_axis, true)
}

/// Anomaly scores over time as a line with dots.
pub fn score_chart(points: &[(Timestamp, f64)], label: &str) -> String {
    let series: Vec<(i64, f64)> = points.iter().map(|(t, v)| (t.0, *v)).collect();
    line_chart(&series, label, "score", |v| format!("{v:.2}"), false)
}

fn bytes_axis(v: f64) -> String {
    bytes(v.max(0.0) as u64)
}

fn line_chart(
    series: &[(i64, f64)],
    label: &str,
    unit: &str,
    fmt_y: fn(f64) -> String,
    area: bool,
) -> String {
    if series.is_empty() {
        return r#"<p class="muted">No data yet.</p>"#.into();
    }
    let (w, h, left, bottom, top) = (640.0, 200.0, 70.0, 24.0, 10.0);
    let t0 = series.first().map(|p| p.0).unwrap_or(0);
    let t1 = series.last().map(|p| p.0).unwrap_or(0).max(t0 + 1);
    let max = series
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let x = |t: i64| left + (t - t0) as f64 / (t1 - t0) as f64 * (w - left - 10.0);
    let y = |v: f64| {
        let v = if v.is_finite() { v } else { 0.0 };
        top + (1.0 - v / max) * (h - top - bottom)
    };
    let mut path = String::new();
    for (i, (t, v)) in series.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1} ",
            if i == 0 { "M" } else { "L" },
            x(*t),
            y(*v)
        );
    }
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
        esc(label)
    );
    // Grid and y labels at 0, 1/2, max.
    for frac in [0.0, 0.5, 1.0] {
        let yy = y(max * frac);
        let _ = write!(
            s,
            r#"<line x1="{left}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" class="grid"/><text x="{lx}" y="{ty:.1}" text-anchor="end" class="axis">{v}</text>"#,
            x2 = w - 10.0,
            lx = left - 6.0,
            ty = yy + 4.0,
            v = esc(&fmt_y(max * frac)),
        );
    }
    if area && series.len() > 1 {
        let _ = write!(
            s,
            r#"<path d="{path}L{:.1},{:.1} L{:.1},{:.1} Z" class="area"/>"#,
            x(t1),
            y(0.0),
            x(t0),
            y(0.0)
        );
    }
    let _ = write!(s, r#"<path d="{path}" class="line"/>"#);
    if !area || series.len() == 1 {
        for (t, v) in series {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" class="dot"/>"#,
                x(*t),
                y(*v)
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="{left}" y="{by}" class="axis">{a}</text><text x="{rx}" y="{by}" text-anchor="end" class="axis">{b}</text><text x="{cx}" y="{by}" text-anchor="middle" class="axis">{unit}</text></svg>"#,
        by = h - 6.0,
        rx = w - 10.0,
        cx = (w + left) / 2.0,
        a = esc(&when(Timestamp(t0))),
        b = esc(&when(Timestamp(t1))),
        unit = esc(unit),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_neutralises_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
    }

    #[test]
    fn url_enc_keeps_only_unreserved() {
        assert_eq!(url_enc("00:17:88:01:02:03"), "00%3A17%3A88%3A01%3A02%3A03");
        assert_eq!(url_enc("a b/../"), "a%20b%2F..%2F");
    }

    #[test]
    fn charts_survive_degenerate_series() {
        let one = [TrafficPoint {
            minute: Timestamp::from_secs(60),
            pkts: 0,
            bytes: 0,
        }];
        let svg = traffic_chart(&one, "t");
        assert!(svg.contains("<svg") && !svg.contains("NaN"), "{svg}");
        let svg = score_chart(&[(Timestamp(0), f64::NAN)], "s");
        assert!(!svg.contains("NaN"), "{svg}");
        assert!(bar_chart(&[], "x").contains("No devices"));
    }
}
