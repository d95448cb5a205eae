"""Noise limits: the limit each change of an analysis was judged against, and how its light differed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

A change between two later visits is judged against their limits, widened
when the two were lit more differently from each other than repeat photos are
(``analyzer.dashboard.charts.step_limit``): each visit's limits and its light
against the baseline's (``Tone.change()``). Analyses made before this revision
hold neither ('{}'); they were made by an earlier algorithm version, which the
timeline does not read.
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
        batch_op.add_column(sa.Column('light_change', sa.JSON(), server_default=sa.text("'{}'"),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.drop_column('light_change')
        batch_op.drop_column('limits')
