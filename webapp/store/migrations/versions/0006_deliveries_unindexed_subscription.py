"""The delivery log's index on subscription_id goes: no query reads the log
by subscription (GET /healthz reads it by outcome and time, the retention
job by age), and every message sent inserts a row, which paid for that
index as well.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_deliveries_subscription_id", "deliveries")


def downgrade():
    op.create_index("ix_deliveries_subscription_id", "deliveries", ["subscription_id"])
