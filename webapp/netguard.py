"""Connect only to public addresses.

A push endpoint comes from a browser, so from anyone: its host could point
at this server's own network. The check runs when the socket is opened, on
the very address it connects to, so DNS answers that change between a check
and the connection (rebinding) gain nothing.
"""
import ipaddress
import socket



def is_public(address) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        # Addresses that carry an IPv4 address inside are judged by it.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo and ip.teredo[1])
        if embedded:
            return is_public(embedded)
        if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return ip.is_global and not ip.is_multicast


def public_addresses(host, port):
    """Resolve ``host``; refuse it whole if any address is not public."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    refused = [info[4][0] for info in infos if not is_public(info[4][0].split("%")[0])]
    if not infos or refused:
        raise OSError(f"{host} resolves to a non-public address")
    return infos
