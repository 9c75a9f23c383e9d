"""Subscriptions remember when their device last called the API itself
(``last_seen_at``), which forget-inactive counts instead of the push
service's 201 (a dead Safari subscription can keep answering 201); and the
delivery log gets an index for GET /healthz's look at recent outcomes.

Existing subscriptions start as seen now: each gets the full 60 days to
show up before forget-inactive may delete it.

Revision ID: 0004
Revises: 0003
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime, nullable=True))
        batch.drop_column("last_success_at")
    subscriptions = sa.table("subscriptions", sa.column("last_seen_at", sa.DateTime))
    op.execute(subscriptions.update().values(last_seen_at=datetime.now(timezone.utc).replace(tzinfo=None)))
    op.create_index("ix_deliveries_outcome_sent_at", "deliveries", ["outcome", "sent_at"])


def downgrade():
    op.drop_index("ix_deliveries_outcome_sent_at", "deliveries")
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("last_success_at", sa.DateTime, nullable=True))
        batch.drop_column("last_seen_at")
