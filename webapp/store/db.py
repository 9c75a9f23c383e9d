"""SQLAlchemy 2 engine and sessions, bound to the app with ``init_app``."""
import functools
from contextlib import contextmanager

from flask import g
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self):
        self.engine = None
        self.sessions = None

    def init_app(self, app):
        url = app.config["DATABASE_URL"]
        self.engine = make_engine(url, busy_timeout=float(app.config["SQLITE_BUSY_TIMEOUT"]))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        app.extensions["unknot_db"] = self
        app.teardown_appcontext(self._close_request_session)

    @property
    def session(self) -> Session:
        """The session of the current request (or app context)."""
        if "db_session" not in g:
            g.db_session = self.sessions()
        return g.db_session

    @contextmanager
    def begin(self):
        """A session outside any request, committed on success."""
        with self.sessions.begin() as session:
            yield session

    @staticmethod
    def _close_request_session(exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def make_engine(url, *, busy_timeout=15.0):
    """SQLite (the embedded default) or PostgreSQL (``postgresql+psycopg://``).

    SQLite: WAL, foreign keys, and a busy timeout (seconds) so a writer waits
    for a lock instead of failing at once (the dispatcher also retries a
    transaction that still meets one, see dispatch.in_transaction).
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


db = Database()
