"""Connect only to public addresses.

A push endpoint comes from a browser, so from anyone: its host could point
at this server's own network. The check runs when the socket is opened, on
the very address it connects to, so DNS answers that change between a check
and the connection (rebinding) gain nothing.
"""
import ipaddress
import socket

# Not globally routable, whatever this Python's ``is_global`` knows: IPv4
# carried inside IPv6 in the forms that have no public use (compatible,
# translated, local-use NAT64, Teredo), old site-local, documentation,
# benchmarking, protocol-assignment, segment-routing and relay ranges.
REFUSED = tuple(ipaddress.ip_network(n) for n in (
    "::/96",  # IPv4-compatible (deprecated), with :: and ::1
    "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
    "64:ff9b:1::/48",  # NAT64 local use (RFC 8215)
    "2001::/32",  # Teredo: reaches an IPv4 host through a relay
    "fec0::/10",  # site-local (deprecated)
    "2001:db8::/32", "3fff::/20",  # documentation
    "2001:2::/48",  # benchmarking
    "5f00::/16",  # SRv6 segment identifiers
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # documentation
    "198.18.0.0/15",  # benchmarking
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
    "192.0.0.0/24",  # IETF protocol assignments (NAT64 discovery, dummy addresses, anycast)
))
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the last 32 bits are IPv4


def is_public(address) -> bool:
    ip = ipaddress.ip_address(address)
    if any(ip in net for net in REFUSED if net.version == ip.version):
        return False
    if ip.version == 6:
        # Addresses that carry a usable IPv4 address inside are judged by it.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded:
            return is_public(embedded)
    return ip.is_global and not ip.is_multicast


def public_addresses(host, port):
    """Resolve ``host``; refuse it whole if any address is not public."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    refused = [info[4][0] for info in infos if not is_public(info[4][0].split("%")[0])]
    if not infos or refused:
        raise OSError(f"{host} resolves to a non-public address")
    return infos
