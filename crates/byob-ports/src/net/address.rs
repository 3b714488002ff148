//! Which addresses are not public, by kind, so a refusal can say what it refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of a non-public address (`loopback`, `private`, `link-local`, …), or `None` for a public one.
#[must_use]
pub fn not_public(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        // 169.254.169.254 is every major cloud's metadata service.
        Some("link-local (cloud metadata)")
    } else if a == 0 || ip.is_broadcast() || a >= 240 {
        Some("reserved")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if (a == 192 && b == 0 && c == 0) || (a == 198 && (18..20).contains(&b)) || ip.is_documentation() {
        Some("reserved")
    } else {
        None
    }
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    let segments = ip.segments();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("reserved")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        // Unique local, which includes AWS's IPv6 metadata address fd00:ec2::254.
        Some("private")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("link-local (cloud metadata)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[0] == 0x64 && segments[1] == 0xff9b {
        // NAT64 embeds an IPv4 address in its last 32 bits.
        let [.., hi, lo] = segments;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        v4_kind(v4)
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        Some("reserved")
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        not_public(s.parse().expect("address"))
    }

    #[test]
    fn names_every_kind_of_non_public_address() {
        assert_eq!(kind("127.0.0.1"), Some("loopback"));
        assert_eq!(kind("::1"), Some("loopback"));
        assert_eq!(kind("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(kind("10.1.2.3"), Some("private"));
        assert_eq!(kind("172.16.0.1"), Some("private"));
        assert_eq!(kind("192.168.1.1"), Some("private"));
        assert_eq!(kind("169.254.169.254"), Some("link-local (cloud metadata)"));
        assert_eq!(kind("fd00:ec2::254"), Some("private"));
        assert_eq!(kind("fe80::1"), Some("link-local (cloud metadata)"));
        assert_eq!(kind("100.100.100.200"), Some("shared (carrier-grade NAT)"));
        assert_eq!(kind("0.0.0.0"), Some("reserved"));
        assert_eq!(kind("::"), Some("reserved"));
        assert_eq!(kind("64:ff9b::a9fe:a9fe"), Some("link-local (cloud metadata)"));
        assert_eq!(kind("224.0.0.1"), Some("multicast"));
    }

    #[test]
    fn public_addresses_pass() {
        assert_eq!(kind("8.8.8.8"), None);
        assert_eq!(kind("142.250.74.78"), None);
        assert_eq!(kind("2607:f8b0:4004:800::200e"), None);
        assert_eq!(kind("172.32.0.1"), None);
    }
}
