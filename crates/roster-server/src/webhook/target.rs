//! Where a webhook may point: `http(s)` URLs whose host resolves only to
//! public addresses (SPEC §16), checked when an endpoint is registered and
//! again at each delivery, which then connects to the very addresses it
//! checked (so a DNS answer that changes in between cannot slip through).
//! `ROSTER_WEBHOOK_ALLOW_PRIVATE=1` lets tests and single-host setups
//! point at loopback and private addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// The longest URL an endpoint may have.
pub const MAX_URL: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotAllowed(String),
}

/// A URL as registered: parsed, `http` or `https`, with a host and no
/// credentials in it.
pub fn parse(raw: &str) -> Result<Url, TargetError> {
    let invalid = |why: &str| TargetError::Invalid(format!("url: {why}"));
    if raw.len() > MAX_URL {
        return Err(invalid("longer than 2048 characters"));
    }
    let url = Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("a host is required"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL"));
    }
    Ok(url)
}

/// Whether an address is reachable on the public internet (not loopback,
/// private, link-local, unique-local, unspecified, or otherwise reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64: an IPv4 address inside
        || first == 0x0100) // discard-only
}

/// The addresses a URL's host resolves to, all of them allowed; refused
/// when any is not (unless private targets are allowed).
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, TargetError> {
    let host = url
        .host_str()
        .ok_or_else(|| TargetError::Invalid("url: a host is required".into()))?;
    let port = url.port_or_known_default().unwrap_or(443);
    // `[::1]` comes back with its brackets.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| TargetError::NotAllowed(format!("the host {host} does not resolve: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(TargetError::NotAllowed(format!(
            "the host {host} does not resolve"
        )));
    }
    if !allow_private {
        if let Some(blocked) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(TargetError::NotAllowed(format!(
                "the host {host} resolves to {}, which is not a public address",
                blocked.ip()
            )));
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_private_link_local_unique_local_and_unspecified_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(!is_public(ip), "{ip} must not be public");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            let parsed: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(is_public(parsed), "{ip} is public");
        }
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_and_no_credentials_are_taken() {
        assert!(parse("https://hooks.example.com/roster").is_ok());
        assert!(parse("http://hooks.example.com:8080/x?y=1").is_ok());
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "https://user:pass@example.com/",
            "not a url",
            "https://",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&format!("https://example.com/{}", "a".repeat(2100))).is_err());
    }
}
