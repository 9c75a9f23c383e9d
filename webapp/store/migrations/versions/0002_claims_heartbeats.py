"""Claim tokens on due reminders, the occurrence in the delivery log, and
worker heartbeats.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("due_reminders") as batch:
        batch.add_column(sa.Column("claim", sa.String(32), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("occurrence", sa.Integer, nullable=True))
    op.create_table(
        "heartbeats",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("beat_at", sa.DateTime, nullable=False),
    )


def downgrade():
    op.drop_table("heartbeats")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("occurrence")
    with op.batch_alter_table("due_reminders") as batch:
        batch.drop_column("claim")
