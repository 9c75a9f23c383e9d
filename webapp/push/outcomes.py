"""What a push service's answer means for us: one table, each row with its source.

Outcomes (push.SendResult.outcome), and what the dispatcher does with them:

- ``ok``: delivered to the push service.
- ``gone``: the subscription is dead: forget it.
- ``retry``: try again later (after ``Retry-After`` if the service said).
- ``drop``: this message cannot be sent as it is: move on to the next one.
- ``config``: our side is misconfigured for this service (VAPID key or
  subject refused, TLS trust, protocol): move on, keep the subscription,
  log it once per origin and show it on GET /healthz until sends succeed.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from webapp.push import failures
from webapp.push.message import SendResult, parse_retry_after

log = logging.getLogger(__name__)

# (lowest status, highest status, outcome, source). First match wins.
TABLE = (
    (200, 299, "ok", "RFC 8030 §5: 201 Created (some services answer 200 or 202)"),
    (300, 399, "drop", "RFC 8030 does not redirect a push; we never follow one (SSRF)"),
    (401, 401, "config", "Mozilla autopush-rs: VAPID errors (missing, expired or invalid JWT) are 401"),
    (403, 403, "config", "Apple web push: 403 BadJwtToken, VapidPkHashMismatch; Mozilla autopush-rs: "
                         "key mismatch; WNS: wrong credentials"),
    (404, 404, "gone", "RFC 8030 §7.3; Apple 404 / Mozilla 404: the subscription does not exist"),
    (406, 406, "retry", "Microsoft WNS: 406 Not Acceptable = throttled, with Retry-After"),
    (410, 410, "gone", "RFC 8030 §7.3: 410 Gone, the subscription expired or was unsubscribed"),
    (413, 413, "drop", "RFC 8030 §7.2: payload too large (resending the same message cannot help)"),
    (429, 429, "retry", "RFC 8030 §8.4 / RFC 6585: too many requests, with Retry-After"),
    (400, 499, "drop", "RFC 9110 §15.5: any other client error: the request itself is wrong"),
    (500, 599, "retry", "RFC 9110 §15.6: server errors are temporary (503 with Retry-After)"),
)

# Failures without an answer: (exception class, outcome, why). First match wins.
FAILURES = (
    (failures.Refused, "drop", "the name resolves only to non-public addresses (webapp.netguard)"),
    (failures.Misconfigured, "config", "TLS certificate refused, or a service that speaks HTTP/2 only"),
    (failures.Failure, "retry", "timeout, lookup or connection failure, reset: may pass"),
)


def for_status(status: int) -> str:
    """The outcome of an answer with this status code."""
    for low, high, outcome, _ in TABLE:
        if low <= status <= high:
            return outcome
    return "drop"  # 1xx never reaches here (webapp.push.wire reads past it)


def for_failure(exc: failures.Failure) -> str:
    for kind, outcome, _ in FAILURES:
        if isinstance(exc, kind):
            return outcome
    return "retry"  # pragma: no cover (failures.Failure is the last row)


def judge(endpoint: str, answer, elapsed: float, origin: str) -> SendResult:
    """What became of a push to ``endpoint``, from its answer (a Response) or
    Failure; any other exception is a bug of ours, not the service's: retry."""
    if isinstance(answer, failures.Failure):
        return SendResult(None, for_failure(answer), None, f"{answer} ({origin})", elapsed, origin)
    if isinstance(answer, BaseException):
        log.error("push to %s: %r", origin, answer)
        return SendResult(None, "retry", None, f"{type(answer).__name__} ({origin})", elapsed, origin)
    status = answer.status
    outcome = for_status(status)
    if outcome == "ok":
        return SendResult(status, outcome, None, None, elapsed, origin)
    error = f"HTTP {status}"
    detail = " ".join(_redact(answer.body[:200].decode("utf-8", "replace"), endpoint).split())[:120]
    if detail:
        error = f"{error}: {detail}"
    retry_after = parse_retry_after(answer.headers.get("retry-after")) if outcome == "retry" else None
    return SendResult(status, outcome, retry_after, error, elapsed, origin)


def _redact(text: str, endpoint: str) -> str:
    # The endpoint is a capability URL: its path must not end up in logs.
    path = urlsplit(endpoint).path
    text = text.replace(endpoint, "<endpoint>")
    return text.replace(path, "<path>") if len(path) > 1 else text
