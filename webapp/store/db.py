"""The database of each app: its SQLAlchemy engine and sessions, made by
``init_app`` and kept in ``app.extensions`` (two apps never share one)."""
import functools
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from webapp.config import settings

EXTENSION = "unknot_db"


class Database:
    """One app's engine and session factory."""

    def __init__(self, url, *, busy_timeout):
        self.engine = make_engine(url, busy_timeout=busy_timeout)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def begin(self):
        """A session outside any request, committed on success."""
        with self.sessions.begin() as session:
            yield session


def init_app(app):
    s = settings(app)
    app.extensions[EXTENSION] = Database(s.database_url, busy_timeout=s.sqlite_busy_timeout)
    app.teardown_appcontext(_close_request_session)


def database(app=None) -> Database:
    """The database of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION]


class CurrentDatabase:
    """The current app's database, as Flask-SQLAlchemy's ``db`` does it: this
    object holds no state; each attribute looks up the app's own Database."""

    @property
    def session(self) -> Session:
        """The session of the current request (or app context), closed at its end."""
        if "db_session" not in g:
            g.db_session = database().sessions()
        return g.db_session

    @property
    def engine(self):
        return database().engine

    @property
    def sessions(self):
        return database().sessions

    def begin(self):
        """A session outside any request, committed on success."""
        return database().begin()


db = CurrentDatabase()


def _close_request_session(exc):
    request_session = g.pop("db_session", None)
    if request_session is not None:
        request_session.close()


def make_engine(url, *, busy_timeout=15.0):
    """SQLite (the embedded default) or PostgreSQL (``postgresql+psycopg://``).

    SQLite: WAL, foreign keys, and a busy timeout (seconds) so a writer waits
    for a lock instead of failing at once (the dispatcher also retries a
    transaction that still meets one, see jobs.transactions).
    PostgreSQL: a pool checked before use, so a restarted server or a
    dropped connection costs a reconnect, not an error.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_timeout=busy_timeout))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800)


def _sqlite_pragmas(dbapi_connection, _record, *, busy_timeout):
    # WAL lets readers go on while the dispatcher writes; busy_timeout waits
    # for a lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
