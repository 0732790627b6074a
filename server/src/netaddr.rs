//! The client address a request is counted by: the socket's peer, or what a trusted proxy says the client
//! was. Forwarding headers are only believed from a proxy the operator named, since anyone can send them.

use std::net::IpAddr;

/// A proxy address, or network (`10.0.0.0/8`), whose forwarding headers are believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy {
    net: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// `ADDR` or `ADDR/PREFIX`, IPv4 or IPv6.
    pub fn parse(text: &str) -> Result<TrustedProxy, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has a bad prefix length"))?,
        };
        Ok(TrustedProxy {
            net: canonical(net),
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => masked(
                u128::from(u32::from(n)),
                u128::from(u32::from(a)),
                self.prefix,
                32,
            ),
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), u128::from(a), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn masked(net: u128, addr: u128, prefix: u8, bits: u32) -> bool {
    let host_bits = bits - u32::from(prefix);
    net.checked_shr(host_bits).unwrap_or(0) == addr.checked_shr(host_bits).unwrap_or(0)
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy, else the rightmost address in
/// the forwarding headers that is not a trusted proxy (the leftmost entries are the client's own claims).
/// `forwarded` holds the values of `Forwarded` headers, `x_forwarded_for` those of `X-Forwarded-For`, in
/// the order received; `Forwarded` is read when present.
pub fn client_ip(
    peer: IpAddr,
    trusted: &[TrustedProxy],
    forwarded: &[&str],
    x_forwarded_for: &[&str],
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = if forwarded.is_empty() {
        x_forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(|h| parse_hop(h.trim()))
            .collect()
    } else {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_hop(v.trim().trim_matches('"')))
            })
            .collect()
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        // An entry that is no address (`unknown`, garbage) ends the chain: what lies left of it was not
        // vouched for by a trusted hop.
        let Some(ip) = hop.map(canonical) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// One hop: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_hop(h: &str) -> Option<IpAddr> {
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = h.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// What the SMS caps count an address by: an IPv4 address, or an IPv6 /64 (one subscriber's usual
/// allocation, so that walking through it does not give a new address each time).
pub fn counting_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let [a, b, c, d, ..] = s;
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_count_only_behind_a_trusted_proxy() {
        let proxy = [TrustedProxy::parse("10.0.0.0/8").unwrap()];
        // From an untrusted peer the header is the client's own claim.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &proxy, &[], &["1.2.3.4"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("203.0.113.9"), &[], &[], &["1.2.3.4"]),
            ip("203.0.113.9")
        );
        // Behind the proxy: the rightmost address the proxies did not add.
        assert_eq!(
            client_ip(
                ip("10.1.1.1"),
                &proxy,
                &[],
                &["1.2.3.4, 198.51.100.7, 10.2.2.2"]
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("10.1.1.1"), &proxy, &[], &["9.9.9.9", "198.51.100.7"]),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.1.1.1"), &proxy, &[], &[]), ip("10.1.1.1"));
        assert_eq!(
            client_ip(ip("10.1.1.1"), &proxy, &[], &["garbage"]),
            ip("10.1.1.1")
        );
        assert_eq!(
            client_ip(
                ip("10.1.1.1"),
                &proxy,
                &[r#"for="[2001:db8::1]:4711";proto=https, for=10.3.3.3"#],
                &["7.7.7.7"]
            ),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("::ffff:10.1.1.1"), &proxy, &[], &["198.51.100.7:5000"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn proxies_parse_and_match() {
        assert!(TrustedProxy::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxy::parse("proxy.local").is_err());
        let p = TrustedProxy::parse("192.168.1.0/24").unwrap();
        assert!(p.contains(ip("192.168.1.200")));
        assert!(!p.contains(ip("192.168.2.1")));
        assert!(TrustedProxy::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        assert!(TrustedProxy::parse("::1").unwrap().contains(ip("::1")));
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(
            counting_key(ip("2001:db8:1:2:aaaa::1")),
            counting_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            counting_key(ip("2001:db8:1:2::1")),
            counting_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(counting_key(ip("::ffff:1.2.3.4")), "1.2.3.4");
    }
}
