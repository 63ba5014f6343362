//! The grammar of `data/oui.tsv`, in one place for its two readers: `build.rs`,
//! which compiles the table into the crate, and the tests, which parse the same
//! text at run time and check the compiled arrays against it entry by entry.
//!
//! Guarantees: never panics on any text; a line or prefix token that is not
//! well formed is skipped and counted in `rejected`; each level comes out sorted
//! by prefix with one entry per prefix (the first listed wins, later ones are
//! counted in `duplicates`), so the result depends on nothing but the text.

/// One assignment size: `(prefix, organisation name)`, sorted by prefix, no
/// prefix twice.
pub(crate) type Level<'a, K> = Vec<(K, &'a str)>;

/// The parsed table with what was rejected, so the tests can insist on a clean
/// file and the build can warn about a dirty one.
pub(crate) struct Parsed<'a> {
    /// 36-bit prefixes (MA-S, IAB), the top 36 bits of the address.
    pub(crate) bits36: Level<'a, u64>,
    /// 28-bit prefixes (MA-M).
    pub(crate) bits28: Level<'a, u32>,
    /// 24-bit prefixes (MA-L, the classic OUI).
    pub(crate) bits24: Level<'a, u32>,
    /// Lines or prefix tokens that were not well formed (skipped).
    pub(crate) rejected: usize,
    /// Prefixes listed more than once (all but the first skipped).
    pub(crate) duplicates: usize,
}

/// Parses `NAME<TAB>PREFIX[ PREFIX...]` lines; empty lines and `#` comments are
/// ignored.
pub(crate) fn parse(text: &str) -> Parsed<'_> {
    let mut p36 = Vec::new();
    let mut p28 = Vec::new();
    let mut p24 = Vec::new();
    let mut rejected = 0;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, prefixes)) = line.split_once('\t') else {
            rejected += 1;
            continue;
        };
        if name.is_empty() {
            rejected += 1;
            continue;
        }
        for token in prefixes.split(' ') {
            // from_str_radix would also take a leading '+', so check the
            // digits first; the length then fixes the prefix size.
            let parsed = if token.bytes().all(|b| b.is_ascii_hexdigit()) {
                u64::from_str_radix(token, 16).ok()
            } else {
                None
            };
            match (token.len(), parsed) {
                // 9 hex digits < 2^36 and 7 or 6 digits < 2^28, so the
                // narrowing conversions below cannot fail.
                (9, Some(v)) => p36.push((v, name)),
                (7, Some(v)) => p28.push((u32::try_from(v).unwrap_or(u32::MAX), name)),
                (6, Some(v)) => p24.push((u32::try_from(v).unwrap_or(u32::MAX), name)),
                _ => rejected += 1,
            }
        }
    }
    let (bits36, d36) = sorted(p36);
    let (bits28, d28) = sorted(p28);
    let (bits24, d24) = sorted(p24);
    Parsed {
        bits36,
        bits28,
        bits24,
        rejected,
        duplicates: d36 + d28 + d24,
    }
}

/// Sorts by prefix and drops repeated prefixes, returning how many were dropped.
fn sorted<K: Ord + Copy>(mut pairs: Vec<(K, &str)>) -> (Vec<(K, &str)>, usize) {
    // A stable sort plus keeping the first of equal keys makes the result
    // independent of anything but the file's order. The generator never
    // writes duplicates; the count lets the tests prove that.
    pairs.sort_by_key(|&(k, _)| k);
    let before = pairs.len();
    pairs.dedup_by_key(|&mut (k, _)| k);
    let duplicates = before - pairs.len();
    (pairs, duplicates)
}
