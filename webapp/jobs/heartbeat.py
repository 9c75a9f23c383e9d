"""Heartbeats: each tick stamps its process's row (and, inside a web
process, ``app.extensions["unknot_heartbeat"]``); GET /healthz reads them."""
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp.jobs.transactions import in_transaction
from webapp.store.db import database
from webapp.store.models import Heartbeat

LAST = "unknot_heartbeat"
STARTED = "unknot_heartbeat_started"
# A process silent this long is forgotten.
FORGET_AFTER = timedelta(days=1)


def beat(app, role: str, moment: datetime) -> None:
    """Stamp this process's heartbeat row and remember the beat."""
    pid = os.getpid()
    ident = f"{socket.gethostname()}:{pid}"[:128]
    started = app.extensions.setdefault(STARTED, {}).setdefault(pid, moment)

    def write(session):
        dialect = session.bind.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as upsert
        else:  # pragma: no cover
            session.merge(Heartbeat(id=ident, role=role, started_at=started, beat_at=moment))
            return
        stmt = upsert(Heartbeat).values(id=ident, role=role, started_at=started, beat_at=moment)
        session.execute(stmt.on_conflict_do_update(index_elements=["id"],
                                                   set_={"beat_at": moment, "role": role}))
        session.execute(Heartbeat.__table__.delete().where(Heartbeat.beat_at < moment - FORGET_AFTER))

    in_transaction(database(app), write)
    app.extensions[LAST] = moment


def own_beat(app) -> datetime | None:
    """The last tick of the scheduler inside this process, if any."""
    return app.extensions.get(LAST)


def newest(conn, now: datetime, max_age: float):
    """(newest beat of any process, processes that beat within ``max_age`` seconds)."""
    newest_beat, workers = conn.execute(
        select(func.max(Heartbeat.beat_at), func.count())
        .where(Heartbeat.beat_at >= now - timedelta(seconds=max_age))
    ).one()
    if newest_beat is None:
        newest_beat = conn.scalar(select(func.max(Heartbeat.beat_at)))
    return newest_beat, workers
