"""A batch's reads and writes in few statements. On PostgreSQL each update
is one statement over a JSON text and a batch's ids go as one JSON array
text, not 500 parameters that SQLAlchemy renders and PostgreSQL plans
anew each time: one round trip and no per-row Python work in SQLAlchemy,
which is what held a burst back (bench/tick.py); the delivery log goes
by COPY through psycopg. SQLite, in-process and with one writer, takes
IN as it is and each write as one executemany of tuples that SQLAlchemy
compiled once (no per-row work in SQLAlchemy there either)."""
import json
from datetime import datetime

from sqlalchemy import JSON, Text, bindparam, cast, func, null, select, text, update
from sqlalchemy.exc import DBAPIError

from webapp.store.models import Delivery, DueReminder, UTCDateTime

T = DueReminder.__table__

_RESULT = (
    update(T)
    .where(T.c.subscription_id == bindparam("k_sid"), T.c.kind == bindparam("k_kind"),
           T.c.claim == bindparam("k_claim"))
    .values(
        due_at=bindparam("v_due_at", type_=UTCDateTime()),
        attempts=bindparam("v_attempts"),
        expires_at=bindparam("v_expires_at", type_=UTCDateTime()),
        occurrence=bindparam("v_occurrence"),
        last_tip=bindparam("v_last_tip"),
        lease_until=null(),
        claim=null(),
    )
)
_FINISH = T.delete().where(T.c.subscription_id == bindparam("k_sid"), T.c.kind == bindparam("k_kind"),
                           T.c.claim == bindparam("k_claim"))
_LOG_DELIVERIES = Delivery.__table__.insert()

# A batch goes to PostgreSQL as one JSON text, read back as rows: the
# encoding is C (json), where array parameters cost psycopg per element.
_PG_RESULT = text("""
    UPDATE due_reminders AS d SET due_at = v.v_due_at AT TIME ZONE 'UTC', attempts = v.v_attempts,
        expires_at = v.v_expires_at AT TIME ZONE 'UTC', occurrence = v.v_occurrence, last_tip = v.v_last_tip,
        lease_until = NULL, claim = NULL
    FROM json_to_recordset(CAST(:rows AS JSON)) AS v(k_sid text, k_kind text, k_claim text, v_due_at timestamptz,
        v_attempts int, v_expires_at timestamptz, v_occurrence int, v_last_tip int)
    WHERE d.subscription_id = v.k_sid AND d.kind = v.k_kind AND d.claim = v.k_claim""")
_PG_FINISH = text("""
    DELETE FROM due_reminders AS d
    USING json_to_recordset(CAST(:rows AS JSON)) AS v(k_sid text, k_kind text, k_claim text)
    WHERE d.subscription_id = v.k_sid AND d.kind = v.k_kind AND d.claim = v.k_claim""")
# The delivery log only grows: COPY takes its rows as they are, with none
# of the JSON parsing and planning of an INSERT ... SELECT (the server's
# CPU a row written, python -m bench.claims: 44 against 54 µs).
_PG_COPY_DELIVERIES = ("COPY deliveries (subscription_id, kind, service, due_at, occurrence, sent_at, status, "
                       "outcome, latency_ms, error) FROM STDIN")
_MOMENT = UTCDateTime()


def among(session, column, values):
    """``column`` (text) is one of ``values`` (a batch's ids), as one JSON
    text on PostgreSQL: an array parameter cost psycopg and the server
    about twice as much (6-7 against about 3 µs an id, 500 ids to a query),
    and an index on the column serves the list."""
    values = list(values)
    if session.bind.dialect.name == "postgresql":
        ids = bindparam(None, json.dumps(values), type_=Text)
        return column.in_(select(func.json_array_elements_text(cast(ids, JSON))))
    return column.in_(values)


def update_results(session, rows):
    _write(session, rows, _PG_RESULT, _RESULT)


def finish(session, keys):
    _write(session, keys, _PG_FINISH, _FINISH)


def log_deliveries(session, rows):
    if not rows:
        return
    if session.bind.dialect.driver != "psycopg":  # SQLite (and any driver without COPY)
        _executemany(session, _LOG_DELIVERIES, rows)
        return
    import psycopg  # only here: the embedded default (SQLite) installs without it

    utc = _MOMENT.process_bind_param  # naive UTC, as the columns hold it; ValueError for a naive one
    try:
        with session.connection().connection.cursor() as cursor, cursor.copy(_PG_COPY_DELIVERIES) as copy:
            for r in rows:  # in the statement's order
                copy.write_row((r["subscription_id"], r["kind"], r["service"], utc(r["due_at"], None),
                                r["occurrence"], utc(r["sent_at"], None), r["status"], r["outcome"],
                                r["latency_ms"], r["error"]))
    except psycopg.Error as exc:
        # As SQLAlchemy would raise it, so that in_transaction tries a
        # deadlock or a lock timeout again, as it does for every statement.
        raise DBAPIError.instance(_PG_COPY_DELIVERIES, None, exc, psycopg.Error,
                                  dialect=session.bind.dialect) from exc


def _write(session, rows, pg_statement, statement):
    if not rows:
        return
    if session.bind.dialect.name == "postgresql":
        session.execute(pg_statement, {"rows": json.dumps(rows, default=_Moments(_iso).text)})
    else:
        _executemany(session, statement, rows)


def _executemany(session, statement, rows):
    """``statement`` for each of ``rows`` (dicts by parameter name, all with
    the same keys), as one executemany of the driver's own: compiled once
    (``_compiled``), moments converted by UTCDateTime's own bind processor
    for the dialect once per batch. Through SQLAlchemy's executemany,
    building and converting each row's parameters cost more than SQLite's
    own work (python -m bench.claims --db sqlite)."""
    dialect = session.bind.dialect
    sql, names, moments = _compiled(statement, dialect, tuple(rows[0]))
    to_text = _Moments(_MOMENT.dialect_impl(dialect).bind_processor(dialect)).text
    values = []
    for r in rows:
        row = [r[name] for name in names]
        for i in moments:
            if row[i] is not None:
                row[i] = to_text(row[i])
        values.append(tuple(row) if dialect.positional else dict(zip(names, row)))
    session.connection().exec_driver_sql(sql, values)


_COMPILED = {}  # one entry per statement above, kind of dialect and row keys (in their order)


def _compiled(statement, dialect, keys):
    """(SQL, its parameters' names, in order where the driver's are
    positional (SQLite's), the places of those that are moments)."""
    key = (statement, type(dialect), dialect.paramstyle, keys)
    found = _COMPILED.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        names = tuple(compiled.positiontup if dialect.positional else compiled.binds)
        found = _COMPILED[key] = (str(compiled), names, tuple(
            i for i, name in enumerate(names) if isinstance(compiled.binds[name].type, UTCDateTime)))
    return found


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # refused, as UTCDateTime does
        raise ValueError("naive datetime")
    return moment.isoformat()


class _Moments:
    """Moments converted once each: a batch's rows share a few (the time it
    was sent, the due times of a shared plan), and a conversion costs ~1.7 µs
    where a look-up costs a tenth of that."""

    def __init__(self, convert):
        self._convert = convert
        self._texts = {}

    def text(self, moment: datetime) -> str:
        # fold in the key: the two 02:30s of a night whose clocks go back
        # compare equal in their own zone, an hour apart.
        key = (moment, moment.fold)
        found = self._texts.get(key)
        if found is None:
            found = self._texts[key] = self._convert(moment)
        return found
