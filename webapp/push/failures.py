"""What the HTTP client raises when a push request gets no answer (see webapp.push.outcomes)."""


class Failure(Exception):
    """No answer. ``Misconfigured`` failures will not pass by trying again."""


class Timeout(Failure):
    pass


class Unreachable(Failure):
    """The name did not resolve, or no address took the connection."""


class Disconnected(Failure):
    """The connection ended before the answer was complete."""


class ProtocolError(Failure):
    pass


class Refused(Failure):
    """Every address the name resolves to is non-public."""


class Misconfigured(Failure):
    """This side and the service cannot talk: a refused certificate, or a
    service that speaks only HTTP/2."""


class HTTP2Only(Misconfigured):
    pass


class CertificateRefused(Misconfigured):
    pass
