"""Stored endpoints in the normal form the API now stores and compares
(lower-case scheme and host, no default port), one subscription per endpoint.

Before this, ``FCM.googleapis.com``, ``:443`` and ``:0443`` spellings of one
endpoint made separate rows. A browser always sends its endpoint spelled the
same way, so of the rows that are one endpoint the oldest is the browser's
own and is kept; the later ones (someone else's keys) are deleted with their
reminders and water log. Endpoints that do not parse are left as they are
(the sender drops them; forget-inactive removes them in time). The logic is
written out here rather than imported, so this migration keeps doing what
it did when the app's parser changes.

Revision ID: 0003
Revises: 0002
"""
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(url):
    """The endpoint in normal form, or None when it does not parse."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def upgrade():
    subscriptions = sa.table("subscriptions", sa.column("id"), sa.column("endpoint"), sa.column("created_at"))
    conn = op.get_bind()
    rows = conn.execute(sa.select(subscriptions.c.id, subscriptions.c.endpoint)
                        .order_by(subscriptions.c.created_at, subscriptions.c.id)).all()
    keep, drop = {}, []
    for sub_id, endpoint in rows:
        normal = normalise(endpoint) or endpoint
        if normal in keep:
            drop.append(sub_id)
        else:
            keep[normal] = (sub_id, endpoint)
    for table in ("due_reminders", "water_log"):
        children = sa.table(table, sa.column("subscription_id"))
        for sub_id in drop:
            conn.execute(sa.delete(children).where(children.c.subscription_id == sub_id))
    for sub_id in drop:
        conn.execute(sa.delete(subscriptions).where(subscriptions.c.id == sub_id))
    for normal, (sub_id, endpoint) in keep.items():
        if normal != endpoint:
            conn.execute(sa.update(subscriptions).where(subscriptions.c.id == sub_id).values(endpoint=normal))


def downgrade():
    """Nothing to undo: the normal form is a valid spelling of each endpoint."""
