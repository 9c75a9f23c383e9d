"""The JSON API under /api: subscriptions, plans, the water log, snoozes."""
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from functools import wraps

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from webapp import clock
from webapp.push.channel import channel
from webapp.push.endpoints import EndpointError, check_endpoint
from webapp.push.message import b64url, subscriber_keys
from webapp.reminders import due
from webapp.reminders.checks import Invalid
from webapp.reminders.kinds import registry
from webapp.reminders.plan import as_known, default_plan, validate_plan
from webapp.store.db import db
from webapp.store.models import Subscription, WaterLog
from webapp.web.errors import ApiError
from webapp.web.limits import limited
from webapp.web.openapi import document
from webapp.web.schemas import TAP_MESSAGE, checkers

bp = Blueprint("api", __name__, url_prefix="/api")

# How often a device's own calls are stamped on its subscription (webapp.retention).
SEEN_EVERY = timedelta(hours=1)


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def json_body():
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


def checked_body(operation, codes, other):
    """The JSON body, checked against its schema (webapp.web.schemas): a
    fault answers 400 with the code in ``codes`` of its field or of the
    nearest field holding it, else ``other``; the plan's codes name the
    field, as the plan's own answers do."""
    data = json_body()
    try:
        checkers(kinds())[operation].check(data)
    except Invalid as e:
        parts = e.field.split(".")
        code = next((codes[f] for f in (".".join(parts[:n]) for n in range(len(parts), 0, -1)) if f in codes), other)
        raise ApiError(400, code, f"{e.field}: {e.message}" if code == "invalid_plan" else e.message) from None
    return data


def kinds():
    """The current app's reminder kinds."""
    return registry(current_app)


def with_subscription(view):
    """Bearer token → the caller's own subscription, and nobody else's."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "Send your token as 'Authorization: Bearer <token>'.",
                           {"WWW-Authenticate": "Bearer"})
        digest = token_hash(token.strip())
        sub = db.session.scalar(select(Subscription).where(Subscription.token_hash == digest))
        if sub is None or not hmac.compare_digest(sub.token_hash, digest):
            raise ApiError(401, "unauthorized", "That token is not valid (any more). Subscribe again.",
                           {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        g.subscription = sub
        _seen(sub)
        return view(sub, *args, **kwargs)

    return wrapper


def _seen(sub):
    """Stamp the device's own call (retention counts it), at most once an hour."""
    now = clock.now(current_app)
    if sub.last_seen_at is None or now - sub.last_seen_at >= SEEN_EVERY:
        sub.last_seen_at = now
        db.session.commit()


def validate_subscription(data):
    """A PushSubscription.toJSON() we can encrypt to and are willing to call:
    (normalised endpoint URL, p256dh, auth), keys re-encoded canonically.
    Endpoint and keys pass the very checks the sender makes, so whatever is
    accepted here can be sent; their shape was checked with the body's schema."""
    sub = data["subscription"]
    try:
        endpoint = check_endpoint(sub["endpoint"], channel().allowed)
    except EndpointError as e:
        raise ApiError(400, "endpoint_not_allowed", str(e)) from None
    p256dh, auth = sub["keys"]["p256dh"], sub["keys"]["auth"]
    try:
        key, secret = subscriber_keys(p256dh, auth)
    except ValueError as e:
        raise ApiError(400, "invalid_subscription", f"subscription.keys: {e}.") from None
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return endpoint.url, b64url(point), b64url(secret)


def _same_keys(sub, p256dh, auth):
    """Constant-time: whether these are the keys the subscription was made
    with, the browser's proof that it holds the subscription."""
    same_point = hmac.compare_digest(sub.p256dh.encode(), p256dh.encode())
    same_secret = hmac.compare_digest(sub.auth.encode(), auth.encode())
    return same_point and same_secret


def plan_view(sub):
    return jsonify({**as_known(sub.plan, kinds()), "next": due.next_times(db.session, sub, kinds())})


def _plan_or_400(data):
    try:
        return validate_plan(data, kinds())
    except Invalid as e:
        raise ApiError(400, "invalid_plan", f"{e.field}: {e.message}") from None


@bp.get("/push/public-key")
def public_key():
    return jsonify(publicKey=channel().public_key)


@bp.post("/subscriptions")
@limited("address", "subscribe")
def subscribe():
    data = checked_body("subscribe", {"subscription": "invalid_subscription", "timezone": "invalid_plan",
                                      "subscription.endpoint": "endpoint_not_allowed"}, "invalid_body")
    endpoint, p256dh, auth = validate_subscription(data)
    plan = _plan_or_400(default_plan(data["timezone"], kinds()))
    token = secrets.token_urlsafe(32)
    now = clock.now(current_app)
    session = db.session
    sub = session.scalar(select(Subscription).where(Subscription.endpoint == endpoint))
    if sub is not None and not _same_keys(sub, p256dh, auth):
        # Knowing an endpoint proves nothing: only its browser holds the keys.
        raise ApiError(409, "subscription_exists",
                       "This push address is already subscribed from another browser profile. "
                       "Turn reminders off and on again in this browser to get a new one.")
    status = 200
    if sub is None:
        status = 201
        sub = Subscription(id=secrets.token_hex(16), endpoint=endpoint, plan=plan, created_at=now)
        session.add(sub)
    sub.p256dh, sub.auth, sub.token_hash = p256dh, auth, token_hash(token)
    sub.last_seen_at = now
    session.flush()
    if status == 201:
        due.schedule_all(session, sub, now, kinds())
    session.commit()
    return jsonify(id=sub.id, token=token), status


@bp.get("/reminders")
@limited("address")
@with_subscription
def get_plan(sub):
    return plan_view(sub)


@bp.put("/reminders")
@limited("address")
@with_subscription
@limited("action")
def put_plan(sub):
    sub.plan = _plan_or_400(json_body())
    due.schedule_all(db.session, sub, clock.now(current_app), kinds())
    db.session.commit()
    return plan_view(sub)


@bp.post("/reminders/test")
@limited("address")
@with_subscription
@limited("test_push")
def test_push(sub):
    due.queue_test(db.session, sub, clock.now(current_app), kinds())
    db.session.commit()
    from webapp.jobs.scheduler import wake

    wake(current_app)
    return jsonify(queued=True), 202


# A notification action tapped offline is sent later by the worker, with the
# time of the tap: that time is when it counts, and a replay of the same tap
# (an answer lost on the way back) is recognised by it and counted once.
TAP_MAX_AGE = timedelta(days=7)


def tapped_at(data, now):
    """The optional "at" of an action body (ISO-8601 with a zone), else now:
    the schema checked it is text, this reads it and checks it is recent."""
    if "at" not in data:
        return now
    try:
        at = datetime.fromisoformat(data["at"])
    except (TypeError, ValueError):
        at = None
    if at is None or at.tzinfo is None or not now - TAP_MAX_AGE <= at <= now + timedelta(minutes=5):
        raise ApiError(400, "invalid_at", TAP_MESSAGE)
    return at  # as sent, never rounded to now: a replay must find the same time


@bp.post("/reminders/snooze")
@limited("address")
@with_subscription
@limited("action")
def snooze(sub):
    data = checked_body("snooze", {"kind": "invalid_kind", "minutes": "invalid_minutes", "at": "invalid_at"},
                        "invalid_body")
    kind, minutes = data["kind"], data["minutes"]
    now = clock.now(current_app)
    at = tapped_at(data, now)
    if at + timedelta(minutes=minutes) > now:  # a snooze already over when it arrives changes nothing
        due.snooze(db.session, sub, kind, minutes, at, kinds())
        db.session.commit()
    return plan_view(sub)


@bp.post("/log")
@limited("address")
@with_subscription
@limited("action")
def log(sub):
    data = checked_body("log", {"at": "invalid_at"}, "invalid_kind")
    now = clock.now(current_app)
    at = tapped_at(data, now)
    status = 200  # this tap was logged before
    if "at" not in data or db.session.scalar(select(WaterLog.id).where(
            WaterLog.subscription_id == sub.id, WaterLog.at == at).limit(1)) is None:
        due.log_water(db.session, sub, at, kinds())
        if at < now:  # the next reminder counts from now, not from the tap
            due.schedule_water(db.session, sub, now, kinds())
        db.session.commit()
        status = 201
    return jsonify(logged="water", today=due.glasses_today(db.session, sub, now),
                   next=due.next_times(db.session, sub, kinds())), status


@bp.delete("/subscriptions/current")
@limited("address")
@with_subscription
def unsubscribe(sub):
    due.delete_subscription(db.session, sub.id)
    db.session.commit()
    return "", 204


@bp.get("/openapi.json")
def openapi():
    return jsonify(document(kinds()))
