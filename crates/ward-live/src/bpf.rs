//! BPF capture filters.
//!
//! The kernel runs classic BPF programs, not filter expressions; turning
//! `tcp port 80` into a program is libpcap's compiler. So an expression
//! needs the `libpcap` feature ([`compile`]), while a program compiled
//! elsewhere — `tcpdump -ddd 'tcp port 80' > filter.bpf` — is read by
//! [`parse_ddd`] with no C library at all.

use crate::LiveError;

/// The kernel's limit on classic BPF program length (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// A capture filter as given by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A libpcap filter expression (`tcp port 80`).
    Expression(String),
    /// A compiled program.
    Program(Vec<BpfInsn>),
}

/// Parse `tcpdump -ddd` output: the instruction count on the first line,
/// then one `code jt jf k` line (decimal) per instruction.
pub fn parse_ddd(text: &str) -> Result<Vec<BpfInsn>, LiveError> {
    let bad = |msg: String| LiveError::Filter(msg);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let count: usize = lines
        .next()
        .ok_or_else(|| bad("empty program".into()))?
        .parse()
        .map_err(|_| bad("first line must be the instruction count (tcpdump -ddd)".into()))?;
    if count == 0 || count > MAX_INSNS {
        return Err(bad(format!(
            "{count} instructions (1 … {MAX_INSNS} allowed)"
        )));
    }
    let mut prog = Vec::with_capacity(count);
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [code, jt, jf, k] = f.as_slice() else {
            return Err(bad(format!(
                "instruction {}: expected `code jt jf k`",
                i + 1
            )));
        };
        let num = |s: &str| s.parse::<u64>().ok();
        let insn = match (num(code), num(jt), num(jf), num(k)) {
            (Some(c), Some(t), Some(f), Some(k))
                if c <= u16::MAX as u64 && t <= 255 && f <= 255 && k <= u32::MAX as u64 =>
            {
                BpfInsn {
                    code: c as u16,
                    jt: t as u8,
                    jf: f as u8,
                    k: k as u32,
                }
            }
            _ => return Err(bad(format!("instruction {}: numbers out of range", i + 1))),
        };
        prog.push(insn);
    }
    if prog.len() != count {
        return Err(bad(format!(
            "header says {count} instructions, found {}",
            prog.len()
        )));
    }
    Ok(prog)
}

/// Compile a filter expression for frames of `linktype` with libpcap.
#[cfg(feature = "libpcap")]
pub fn compile(expr: &str, linktype: u32, snaplen: u32) -> Result<Vec<BpfInsn>, LiveError> {
    let dead = pcap::Capture::dead_with_precision(
        pcap::Linktype(linktype as i32),
        pcap::Precision::Micro,
    )?;
    let _ = snaplen; // pcap_open_dead uses 65535, the largest snap length ward asks for.
    let prog = dead
        .compile(expr, true)
        .map_err(|e| LiveError::Filter(format!("`{expr}`: {e}")))?;
    // The instruction's fields are private in the pcap crate; its Display
    // is exactly one `tcpdump -ddd` line, so go through the text form.
    let insns = prog.get_instructions();
    let mut text = format!("{}\n", insns.len());
    for i in insns {
        text.push_str(&format!("{i}\n"));
    }
    parse_ddd(&text)
}

/// Without libpcap, an expression cannot be compiled.
#[cfg(not(feature = "libpcap"))]
pub fn compile(_expr: &str, _linktype: u32, _snaplen: u32) -> Result<Vec<BpfInsn>, LiveError> {
    Err(LiveError::NeedsLibpcap(
        "a --filter expression (or pass a program from `tcpdump -ddd EXPR` with --filter-file)",
    ))
}

impl Filter {
    /// The program to attach for frames of `linktype`.
    pub fn program(&self, linktype: u32, snaplen: u32) -> Result<Vec<BpfInsn>, LiveError> {
        match self {
            Filter::Program(p) => Ok(p.clone()),
            Filter::Expression(e) => compile(e, linktype, snaplen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcpdump_ddd_output() {
        // `tcpdump -ddd -y EN10MB icmp`, as printed by tcpdump 4.99.
        let text = "6\n40 0 0 12\n21 0 3 2048\n48 0 0 23\n21 0 1 1\n6 0 0 262144\n6 0 0 0\n";
        let p = parse_ddd(text).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(
            p[1],
            BpfInsn {
                code: 21,
                jt: 0,
                jf: 3,
                k: 2048
            }
        );
        assert_eq!(p[5].code, 6);
    }

    #[test]
    fn rejects_bad_programs() {
        assert!(parse_ddd("").is_err());
        assert!(parse_ddd("2\n6 0 0 0\n").is_err(), "count mismatch");
        assert!(parse_ddd("1\n6 0 0\n").is_err(), "three fields");
        assert!(parse_ddd("1\n6 0 300 0\n").is_err(), "jf > 255");
        assert!(parse_ddd("5000\n").is_err(), "too long");
        assert!(
            parse_ddd("tcp port 80").is_err(),
            "an expression is not a program"
        );
    }

    #[cfg(feature = "libpcap")]
    #[test]
    fn compiles_expressions_with_libpcap() {
        let p = compile("icmp", crate::linktype::ETHERNET, 65535).unwrap();
        assert!(p.len() >= 4);
        assert!(compile("no such keyword here", 1, 65535).is_err());
    }
}
