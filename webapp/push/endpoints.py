"""Which push endpoints we will ever call: parsed, never matched as strings.

An allowed origin is ``https://host`` (that host only), ``https://*.suffix``
(hosts under the suffix) or any exact origin such as ``http://127.0.0.1:8123``
configured on purpose, for tests. Everything else must be https on port 443,
without user info, at a plain DNS name. At send time webapp.netguard also
refuses any name that resolves to a non-public address.
"""
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from webapp.push.message import DEFAULT_PORTS, origin_of


# Letters, digits and hyphens in dot-separated labels: no IDN tricks, no escapes.
_HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]")


class EndpointError(ValueError):
    pass


@dataclass(frozen=True)
class AllowList:
    exact: frozenset
    suffixes: tuple

    @classmethod
    def parse(cls, text):
        exact, suffixes = set(), []
        for entry in filter(None, (e.strip().lower() for e in text.split(","))):
            if entry.startswith("https://*."):
                suffixes.append(entry.removeprefix("https://*."))
            else:
                exact.add(origin_of(entry))
        return cls(frozenset(exact), tuple(suffixes))

    @property
    def private_ok(self):
        """Exact origins at an IP address: configured on purpose (tests, a
        push service on a private network), so sending may reach them."""
        return frozenset(o for o in self.exact if _ip_host(o))


def _ip_host(origin):
    try:
        ipaddress.ip_address(urlsplit(origin).hostname)
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as we store, compare and send it: lower-case scheme and
    host, no default port, and a request target of printable ASCII."""

    url: str
    origin: str
    netloc: str  # the Host header
    target: str  # path and query, as on the request line


# Printable ASCII without space: what fits on a request line as it is.
_TARGET = re.compile(r"[\x21-\x7e]+")
# Any space (Unicode's too) or control character; a regex, since the sender
# parses every endpoint it has not seen yet (a burst: thousands).
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


# The form endpoints take once normalised: lower-case scheme and DNS name or
# IPv4 address, a port only if not the scheme's own, a path of RFC 3986 path
# characters and nothing after it. For these the general parse below gives
# exactly the groups (tests/test_security.py checks that with hypothesis);
# the sender meets thousands of new endpoints in a burst, and this costs
# ~1.8 µs where the general parse costs ~8 (python -m bench.sender).
_CANONICAL = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?(/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)")


def parse_endpoint(url) -> Endpoint:
    """The one endpoint parser, at subscribe time and at send time (so what
    is accepted can be sent); EndpointError says why not."""
    if not isinstance(url, str) or len(url) > 2048:
        raise EndpointError("The endpoint must be a URL of at most 2048 characters.")
    canonical = _CANONICAL.fullmatch(url)
    if canonical:
        scheme, host, port, target = canonical.groups()
        if port is None:
            return Endpoint(url=url, origin=f"{scheme}://{host}", netloc=host, target=target)
        if int(port) != DEFAULT_PORTS[scheme] and int(port) <= 65535:
            netloc = f"{host}:{port}"
            return Endpoint(url=url, origin=f"{scheme}://{netloc}", netloc=netloc, target=target)
    return _parse_any(url)


def _parse_any(url: str) -> Endpoint:
    """Any spelling of an http(s) URL, normalised; EndpointError says why not."""
    if _SPACE_OR_CONTROL.search(url):
        raise EndpointError("The endpoint must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        origin = origin_of(url)
    except ValueError as e:
        raise EndpointError("The endpoint is not a valid http(s) URL.") from e
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise EndpointError("The endpoint must not contain a user name or password.")
    if parts.fragment:
        raise EndpointError("The endpoint must not contain a fragment.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    netloc = origin.split("://", 1)[1]
    if not _TARGET.fullmatch(target) or not _TARGET.fullmatch(netloc):
        raise EndpointError("The endpoint must be plain ASCII (non-ASCII characters escaped).")
    return Endpoint(url=origin + target, origin=origin, netloc=netloc, target=target)


def check_endpoint(url, allowed: AllowList) -> Endpoint:
    """The endpoint, normalised, if we may call it; EndpointError says why not."""
    endpoint = parse_endpoint(url)
    if endpoint.origin in allowed.exact:
        return endpoint
    parts = urlsplit(endpoint.url)
    if parts.scheme != "https" or parts.port is not None:
        raise EndpointError("The endpoint must use https on the standard port.")
    if not _HOSTNAME.fullmatch(parts.hostname):
        raise EndpointError("The endpoint must name a push service by its DNS name, not an address.")
    if any(parts.hostname == s or parts.hostname.endswith("." + s) for s in allowed.suffixes):
        return endpoint
    raise EndpointError("This push service is not one we send to.")
