//! TLS parameters that no longer protect: protocol versions and cipher
//! suites, by their IANA wire values.
//!
//! The suite table follows the IANA "TLS Cipher Suites" registry
//! (<https://www.iana.org/assignments/tls-parameters/>) and the RFCs that
//! retired the algorithms: RFC 7465 (RC4 prohibited), RFC 8996 (TLS 1.0
//! and 1.1 deprecated), RFC 7568 (SSLv3 deprecated), RFC 5469 (DES and
//! IDEA removed from TLS 1.2), and SWEET32 (CVE-2016-2183) for 64-bit block
//! ciphers such as 3DES. EXPORT suites are the 40/56-bit ones behind FREAK
//! and Logjam; NULL suites do not encrypt at all.

/// Name of a TLS/SSL protocol version (`0x0301` → `TLS 1.0`).
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0002 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "an unknown TLS version",
    }
}

/// Why a cipher suite is weak (`NULL`, `EXPORT`, `RC4`, `DES`, `3DES`), or
/// `None` for suites not known to be broken.
pub fn weak_suite(code: u16) -> Option<&'static str> {
    // Order matters: an EXPORT RC4 suite is reported as EXPORT.
    const NULL: &[u16] = &[
        0x0000, 0x0001, 0x0002, 0x002C, 0x002D, 0x002E, 0x003B, 0x00B0, 0x00B1, 0x00B4, 0x00B5,
        0x00B8, 0x00B9, 0xC001, 0xC006, 0xC00B, 0xC010, 0xC015, 0xC039, 0xC03A, 0xC03B,
    ];
    const EXPORT: &[u16] = &[
        0x0003, 0x0006, 0x0008, 0x000B, 0x000E, 0x0011, 0x0014, 0x0017, 0x0019, 0x0026, 0x0027,
        0x0028, 0x0029, 0x002A, 0x002B, 0x0062, 0x0063, 0x0064, 0x0065,
    ];
    const RC4: &[u16] = &[
        0x0004, 0x0005, 0x0018, 0x0020, 0x0024, 0x008A, 0x008E, 0x0092, 0xC002, 0xC007, 0xC00C,
        0xC011, 0xC016, 0xC033,
    ];
    const DES: &[u16] = &[
        0x0009, 0x000C, 0x000F, 0x0012, 0x0015, 0x001A, 0x001E, 0x0022,
    ];
    const TRIPLE_DES: &[u16] = &[
        0x000A, 0x000D, 0x0010, 0x0013, 0x0016, 0x001B, 0x001F, 0x0023, 0x008B, 0x008F, 0x0093,
        0xC003, 0xC008, 0xC00D, 0xC012, 0xC017, 0xC01A, 0xC01B, 0xC01C, 0xC034,
    ];
    if NULL.contains(&code) {
        Some("NULL")
    } else if EXPORT.contains(&code) {
        Some("EXPORT")
    } else if RC4.contains(&code) {
        Some("RC4")
    } else if DES.contains(&code) {
        Some("DES")
    } else if TRIPLE_DES.contains(&code) {
        Some("3DES")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_suites() {
        // TLS_RSA_WITH_RC4_128_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA,
        // TLS_RSA_EXPORT_WITH_RC4_40_MD5, TLS_RSA_WITH_NULL_SHA.
        assert_eq!(weak_suite(0x0005), Some("RC4"));
        assert_eq!(weak_suite(0x000A), Some("3DES"));
        assert_eq!(weak_suite(0x0003), Some("EXPORT"));
        assert_eq!(weak_suite(0x0002), Some("NULL"));
        // TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
        assert_eq!(weak_suite(0x1301), None);
        assert_eq!(weak_suite(0xC02F), None);
        assert_eq!(version_name(0x0301), "TLS 1.0");
    }
}
