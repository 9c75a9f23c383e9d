"""Opening a connection to a push service: bounded lookup, each address netguard-checked, TLS.

Every address is tried in turn, each checked by netguard right before it is
connected to; TLS is checked against the configured CA bundle."""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from typing import Awaitable, Callable

import certifi

from webapp.push import netguard
from webapp.push.failures import CertificateRefused, HTTP2Only, Refused, Unreachable

Resolver = Callable[[str, int], Awaitable[list[tuple[int, tuple]]]]


@functools.lru_cache(maxsize=8)
def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """Certificates and host names checked against ``ca_bundle`` (certifi's
    by default); ALPN offers http/1.1 only."""
    ctx = ssl.create_default_context(cafile=ca_bundle or certifi.where())
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def system_resolver(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, socket address) for each address of ``host``, in the order
    getaddrinfo gives them (RFC 6724: usually IPv6 first)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, (host, port))]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen, out = set(), []
    for family, _, _, _, address in infos:
        if address not in seen:
            seen.add(address)
            out.append((family, address))
    return out


def _public(address) -> bool:
    try:
        return netguard.is_public(address[0].split("%")[0])
    except ValueError:
        return False


def split_origin(origin: str) -> tuple[str, str, int]:
    """(scheme, host, port) of scheme://host[:port] (IPv6 hosts in brackets)."""
    scheme, _, hostport = origin.partition("://")
    default = 443 if scheme == "https" else 80
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        return scheme, host, int(rest[1:]) if rest.startswith(":") else default
    host, sep, port = hostport.rpartition(":")
    return (scheme, host, int(port)) if sep else (scheme, hostport, default)


async def open_connection(origin: str, protocol_factory, *, timeout: float, guarded: bool,
                          ca_bundle: str | None, resolver: Resolver):
    """A connected protocol instance for ``origin``. The lookup and each
    address's attempt (TCP + TLS) are bounded by ``timeout`` seconds; with
    ``guarded``, addresses that are not public are skipped (Refused when
    none is left). A refused certificate or an HTTP/2-only service fails at
    once (Misconfigured); any other failure moves on to the next address."""
    scheme, host, port = split_origin(origin)
    try:
        async with asyncio.timeout(timeout):
            addresses = await resolver(host, port)
    except TimeoutError:
        raise Unreachable(f"name lookup for {host} took over {timeout:g} s") from None
    except OSError as exc:
        raise Unreachable(f"name lookup for {host} failed ({type(exc).__name__})") from None
    if not addresses:
        raise Unreachable(f"{host} has no address")
    loop = asyncio.get_running_loop()
    tls = tls_context(ca_bundle) if scheme == "https" else None
    tried, last = 0, None
    for family, address in addresses:
        if guarded and not _public(address):
            continue
        tried += 1
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:  # a family this host lacks (IPv6 turned off): the next address
            last = exc
            continue
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, address)
                _, protocol = await loop.create_connection(protocol_factory, sock=sock, ssl=tls,
                                                           server_hostname=host if tls else None)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise CertificateRefused(f"certificate of {host} refused: {exc.verify_message}") from None
        except ssl.SSLError as exc:
            sock.close()
            if "NO_APPLICATION_PROTOCOL" in str(exc).upper():
                raise HTTP2Only(f"{host} speaks HTTP/2 only; this sender speaks HTTP/1.1") from None
            last = exc
            continue
        except (OSError, TimeoutError) as exc:
            sock.close()
            last = exc
            continue
        except BaseException:
            sock.close()
            raise
        return protocol
    if not tried:
        raise Refused(f"refused: {host} is not a public address")
    raise Unreachable(f"no address of {host} took the connection ({type(last).__name__})")
