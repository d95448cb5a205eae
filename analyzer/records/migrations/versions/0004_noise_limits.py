"""Noise limits: the limit each change of an analysis was judged against

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

A change between two later visits is judged against the larger of the two
visits' limits (a photo lit beyond the repeat photos, or compressed again, has
wider ones). Analyses made before this revision hold none ('{}'); they were
made by an earlier algorithm version, which the timeline does not read.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limits', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.drop_column('limits')
