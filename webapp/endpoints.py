"""Which push endpoints we will ever call: parsed, never matched as strings.

An allowed origin is ``https://host`` (that host only), ``https://*.suffix``
(hosts under the suffix) or any exact origin such as ``http://127.0.0.1:8123``
configured on purpose, for tests.
"""
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from .push import origin_of


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


def check_endpoint(url, allowed: AllowList):
    """Return the endpoint's origin, or raise EndpointError saying why not."""
    if not isinstance(url, str) or len(url) > 2048:
        raise EndpointError("The endpoint must be a URL of at most 2048 characters.")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise EndpointError("The endpoint must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        origin = origin_of(url)
    except ValueError as e:
        raise EndpointError("The endpoint is not a valid URL.") from e
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise EndpointError("The endpoint must not contain a user name or password.")
    if parts.fragment:
        raise EndpointError("The endpoint must not contain a fragment.")
    if origin in allowed.exact:
        return origin
    host = parts.hostname
    if parts.scheme != "https" or parts.port not in (None, 443):
        raise EndpointError("The endpoint must use https on the standard port.")
    if _is_ip_literal(host):
        raise EndpointError("The endpoint must name a push service, not an IP address.")
    if any(host == s or host.endswith("." + s) for s in allowed.suffixes):
        return origin
    raise EndpointError("This push service is not one we send to.")


def _is_ip_literal(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    # Forms some resolvers read as addresses: 2130706433, 0x7f.1, 127.1, 0177.0.0.1.
    last = host.rstrip(".").rsplit(".", 1)[-1]
    return not any(c.isalpha() for c in last) or last.startswith("0x")
