"""Subscriptions, due reminders, water log, delivery log.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("endpoint", sa.Text, nullable=False, unique=True),
        sa.Column("p256dh", sa.String(128), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_success_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "due_reminders",
        sa.Column("subscription_id", sa.String(32),
                  sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.Column("expires_at", sa.DateTime, nullable=True),
        sa.Column("last_tip", sa.Integer, nullable=True),
    )
    op.create_index("ix_due_reminders_due_at", "due_reminders", ["due_at"])
    op.create_table(
        "water_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(32),
                  sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("local_date", sa.String(10), nullable=False),
    )
    op.create_index("ix_water_log_subscription_id", "water_log", ["subscription_id"])
    op.create_index("ix_water_log_sub_date", "water_log", ["subscription_id", "local_date"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_deliveries_subscription_id", "deliveries", ["subscription_id"])


def downgrade():
    op.drop_table("deliveries")
    op.drop_table("water_log")
    op.drop_table("due_reminders")
    op.drop_table("subscriptions")
