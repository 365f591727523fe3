//! Which address a request comes from: the socket's peer, or, behind trusted proxies, the
//! rightmost address of `X-Forwarded-For` that no trusted proxy wrote.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ipnet::{IpNet, Ipv6Net};

pub struct ClientIp {
    trusted: Vec<IpNet>,
    ipv6_prefix: u8,
}

impl ClientIp {
    pub fn new(trusted: Vec<IpNet>, ipv6_prefix: u8) -> ClientIp {
        ClientIp {
            trusted,
            ipv6_prefix,
        }
    }

    /// The client address to key on. `forwarded` gives the `X-Forwarded-For` lines in the
    /// order they came: one list, as if joined with commas (RFC 9110, section 5.3), since a
    /// proxy may add its hop on a line of its own. It is read only when the peer itself is
    /// trusted, since anyone else can write anything there. Each proxy appends the address
    /// it received from, so the list is walked from the right, past trusted hops, and the
    /// first untrusted address is the client. When every hop is trusted the leftmost one
    /// is; an unreadable entry stops the walk at the last hop read (a trusted proxy: keying
    /// on it is coarse but cannot be forged).
    pub fn of<'a>(
        &self,
        peer: Option<SocketAddr>,
        forwarded: impl FnOnce() -> Vec<&'a str>,
    ) -> IpAddr {
        // No peer address: every such request shares one key.
        let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip().to_canonical());
        let mut client = peer;
        if self.is_trusted(peer) {
            let forwarded = forwarded();
            let hops = forwarded.iter().rev().flat_map(|line| line.rsplit(','));
            for hop in hops {
                let Some(address) = parse_hop(hop.trim()) else {
                    break;
                };
                client = address;
                if !self.is_trusted(address) {
                    break;
                }
            }
        }
        self.key_part(client)
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&address))
    }

    /// IPv6 clients are keyed by their network prefix: one host usually holds a whole /64
    /// and could otherwise rotate addresses to escape the limit.
    fn key_part(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V6(v6) if self.ipv6_prefix < 128 => Ipv6Net::new(v6, self.ipv6_prefix)
                .map_or(address, |net| IpAddr::V6(net.trunc().addr())),
            other => other,
        }
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port or in brackets.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let address = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        })?;
    Some(address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(trusted: &[&str], peer: &str, forwarded: Option<&str>) -> String {
        lines(trusted, peer, forwarded.as_slice())
    }

    fn lines(trusted: &[&str], peer: &str, forwarded: &[&str]) -> String {
        let trusted = trusted.iter().map(|t| t.parse().unwrap()).collect();
        ClientIp::new(trusted, 64)
            .of(Some(peer.parse().unwrap()), || forwarded.to_vec())
            .to_string()
    }

    #[test]
    fn several_lines_are_one_list_in_order() {
        let trusted = ["127.0.0.0/8", "2.2.2.2/32"];
        let split = ["1.1.1.1", "5.5.5.5, 2.2.2.2"];
        assert_eq!(lines(&trusted, "127.0.0.1:1", &split), "5.5.5.5");
        assert_eq!(
            lines(&trusted, "127.0.0.1:1", &["1.1.1.1", "2.2.2.2"]),
            "1.1.1.1",
            "the walk goes on into the earlier line"
        );
        assert_eq!(
            lines(&["10.0.0.0/8"], "127.0.0.1:1", &split),
            "127.0.0.1",
            "untrusted peer"
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_forge_its_address() {
        assert_eq!(
            client(&["10.0.0.0/8"], "127.0.0.1:1", Some("1.1.1.1")),
            "127.0.0.1"
        );
    }

    #[test]
    fn the_list_is_walked_from_the_right_past_trusted_hops() {
        let forwarded = Some("1.1.1.1, 2.2.2.2");
        assert_eq!(
            client(&["127.0.0.0/8"], "127.0.0.1:1", forwarded),
            "2.2.2.2"
        );
        assert_eq!(
            client(&["127.0.0.0/8", "2.2.2.2/32"], "127.0.0.1:1", forwarded),
            "1.1.1.1"
        );
        assert_eq!(
            client(&["0.0.0.0/0"], "127.0.0.1:1", forwarded),
            "1.1.1.1",
            "every hop trusted: the leftmost"
        );
        assert_eq!(
            client(
                &["127.0.0.0/8", "2.2.2.2/32"],
                "127.0.0.1:1",
                Some("junk, 2.2.2.2")
            ),
            "2.2.2.2",
            "an unreadable entry stops at the last hop read"
        );
    }

    #[test]
    fn ports_brackets_and_ipv6_prefixes() {
        assert_eq!(
            client(&["127.0.0.0/8"], "127.0.0.1:1", Some("[2001:db8::1]:443")),
            "2001:db8::"
        );
        assert_eq!(
            client(&["127.0.0.0/8"], "127.0.0.1:1", Some("9.9.9.9:80")),
            "9.9.9.9"
        );
        assert_eq!(client(&[], "[::ffff:8.8.8.8]:1", None), "8.8.8.8");
    }
}
