"""The JSON API under /api: subscriptions, plans, the water log, snoozes."""
import base64
import hashlib
import hmac
import secrets
from functools import wraps

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from . import clock, reminders
from .db import db
from .endpoints import EndpointError, check_endpoint
from .errors import ApiError
from .limits import action_limit, per_address, subscribe_limit, test_push_limit
from .models import Subscription
from .openapi import document
from .plan import PlanError, default_plan, validate_plan
from .pushing import channel

bp = Blueprint("api", __name__, url_prefix="/api")


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def json_body():
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


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
        return view(sub, *args, **kwargs)

    return wrapper


def _b64url(value, field, length):
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ApiError(400, "invalid_subscription", f"subscription.keys.{field} must be a base64url string.")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise ApiError(400, "invalid_subscription", f"subscription.keys.{field} is not base64url.") from None
    if len(raw) != length:
        raise ApiError(400, "invalid_subscription", f"subscription.keys.{field} must be {length} bytes.")
    return raw


def validate_subscription(data):
    """A PushSubscription.toJSON() we can encrypt to and are willing to call."""
    sub = data.get("subscription")
    if not isinstance(sub, dict) or not isinstance(sub.get("keys"), dict):
        raise ApiError(400, "invalid_subscription", "Send subscription as PushSubscription.toJSON().")
    try:
        origin = check_endpoint(sub.get("endpoint"), channel().allowed)
    except EndpointError as e:
        raise ApiError(400, "endpoint_not_allowed", str(e)) from None
    p256dh = _b64url(sub["keys"].get("p256dh"), "p256dh", 65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise ApiError(400, "invalid_subscription", "subscription.keys.p256dh is not a P-256 point.") from None
    _b64url(sub["keys"].get("auth"), "auth", 16)
    return sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], origin


def plan_view(sub):
    return jsonify({**sub.plan, "next": reminders.next_times(db.session, sub)})


def _plan_or_400(data):
    try:
        return validate_plan(data)
    except PlanError as e:
        raise ApiError(400, "invalid_plan", f"{e.field}: {e.message}") from None


@bp.get("/push/public-key")
def public_key():
    return jsonify(publicKey=channel().public_key)


@bp.post("/subscriptions")
@per_address
@subscribe_limit
def subscribe():
    data = json_body()
    unknown = set(data) - {"subscription", "timezone"}
    if unknown:
        raise ApiError(400, "invalid_body", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    endpoint, p256dh, auth, _origin = validate_subscription(data)
    plan = _plan_or_400({**default_plan(), "timezone": data.get("timezone")})
    token = secrets.token_urlsafe(32)
    now = clock.now(current_app)
    session = db.session
    sub = session.scalar(select(Subscription).where(Subscription.endpoint == endpoint))
    status = 200
    if sub is None:
        status = 201
        sub = Subscription(id=secrets.token_hex(16), endpoint=endpoint, plan=plan, created_at=now)
        session.add(sub)
    sub.p256dh, sub.auth, sub.token_hash = p256dh, auth, token_hash(token)
    session.flush()
    if status == 201:
        reminders.schedule_all(session, sub, now)
    session.commit()
    return jsonify(id=sub.id, token=token), status


@bp.get("/reminders")
@with_subscription
def get_plan(sub):
    return plan_view(sub)


@bp.put("/reminders")
@per_address
@action_limit
@with_subscription
def put_plan(sub):
    sub.plan = _plan_or_400(json_body())
    reminders.schedule_all(db.session, sub, clock.now(current_app))
    db.session.commit()
    return plan_view(sub)


@bp.post("/reminders/test")
@per_address
@test_push_limit
@with_subscription
def test_push(sub):
    reminders.queue_test(db.session, sub, clock.now(current_app))
    db.session.commit()
    from .scheduler import wake

    wake(current_app)
    return jsonify(queued=True), 202


@bp.post("/reminders/snooze")
@per_address
@action_limit
@with_subscription
def snooze(sub):
    data = json_body()
    kind, minutes = data.get("kind"), data.get("minutes")
    if set(data) - {"kind", "minutes"}:
        raise ApiError(400, "invalid_body", "Send only kind and minutes.")
    if kind not in reminders.KINDS:
        raise ApiError(400, "invalid_kind", "kind must be 'hydration' or 'stretch'.")
    if type(minutes) is not int or not 5 <= minutes <= 240:
        raise ApiError(400, "invalid_minutes", "minutes must be a whole number from 5 to 240.")
    reminders.snooze(db.session, sub, kind, minutes, clock.now(current_app))
    db.session.commit()
    return plan_view(sub)


@bp.post("/log")
@per_address
@action_limit
@with_subscription
def log(sub):
    data = json_body()
    if data != {"kind": "water"}:
        raise ApiError(400, "invalid_kind", 'Send {"kind": "water"}.')
    now = clock.now(current_app)
    reminders.log_water(db.session, sub, now)
    db.session.commit()
    return jsonify(logged="water", today=reminders.glasses_today(db.session, sub, now),
                   next=reminders.next_times(db.session, sub)), 201


@bp.delete("/subscriptions/current")
@per_address
@with_subscription
def unsubscribe(sub):
    reminders.delete_subscription(db.session, sub.id)
    db.session.commit()
    return "", 204


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
