"""Tables: push subscriptions with their plan, the next due reminder of each
kind, the water log and the delivery log."""
from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Stores naive UTC and hands back aware UTC, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    plan: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last time the device itself called the API with this subscription's
    # token (subscribing, opening its settings, a notification's action):
    # what forget-inactive counts, since a dead endpoint can still answer 201.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    reminders: Mapped[list["DueReminder"]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan", passive_deletes=True
    )


class DueReminder(Base):
    """The next occurrence of one kind for one subscription.

    ``occurrence`` counts the occurrences, so a re-send after a crash carries
    the same identity; ``lease_until`` and ``claim`` mark a claim by a
    dispatcher pass: until the lease runs out no other pass takes the row,
    and a pass only writes its result back while ``claim`` still holds its
    own token (so a slow pass never overwrites a takeover, nor a plan change
    made meanwhile); ``expires_at`` is when a retried reminder is no longer
    worth sending.
    """

    __tablename__ = "due_reminders"

    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurrence: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_tip: Mapped[int | None] = mapped_column(Integer, nullable=True)

    subscription: Mapped[Subscription] = relationship(back_populates="reminders")

    __table_args__ = (Index("ix_due_reminders_due_at", "due_at"),)


class WaterLog(Base):
    __tablename__ = "water_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[str] = mapped_column(String(10))

    __table_args__ = (Index("ix_water_log_sub_date", "subscription_id", "local_date"),)


class Delivery(Base):
    """One send attempt. Keeps the push service's origin, never the endpoint."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurrence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(8))
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_deliveries_outcome_sent_at", "outcome", "sent_at"),)


class Heartbeat(Base):
    """One row per process running the tick (a worker, or a web process with
    the scheduler inside), stamped after every pass: web processes read the
    newest one for GET /healthz."""

    __tablename__ = "heartbeats"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid
    role: Mapped[str] = mapped_column(String(16))  # "worker" | "embedded"
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
