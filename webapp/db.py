"""SQLAlchemy 2 engine and sessions, bound to the app with ``init_app``."""
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
        self.engine = make_engine(url)
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


def make_engine(url):
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers go on while the dispatcher writes; busy_timeout waits
    # for a lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


db = Database()
