"""Measured areas: the outline a practitioner draws on a view's baseline; analyses keyed by it

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Analyses made before this revision were measured over the whole detected skin:
their ``area`` is "" (what ``analyzer.records.analysis.area_key`` gives for no
outline), so every cached analysis stays valid.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('measured_areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('view', sa.String(length=60), nullable=False),
    sa.Column('baseline_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['baseline_id'], ['photos.id'], name=op.f('fk_measured_areas_baseline_id_photos'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_measured_areas_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_measured_areas_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measured_areas')),
    sa.UniqueConstraint('patient_id', 'view', name='uq_measured_areas_view')
    )
    with op.batch_alter_table('measured_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measured_areas_baseline_id'), ['baseline_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_measured_areas_patient_id'), ['patient_id'], unique=False)

    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area', sa.String(length=16), server_default='', nullable=False))
        batch_op.drop_constraint('uq_analyses_key', type_='unique')
        batch_op.create_unique_constraint('uq_analyses_key', ['photo_id', 'baseline_id', 'algorithm_version', 'area'])


def downgrade() -> None:
    # measured over an outline that goes too; their change maps first (foreign keys may be off)
    op.execute("DELETE FROM derived_images WHERE analysis_id IN (SELECT id FROM analyses WHERE area != '')")
    op.execute("DELETE FROM analyses WHERE area != ''")
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.drop_constraint('uq_analyses_key', type_='unique')
        batch_op.create_unique_constraint('uq_analyses_key', ['photo_id', 'baseline_id', 'algorithm_version'])
        batch_op.drop_column('area')

    with op.batch_alter_table('measured_areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measured_areas_patient_id'))
        batch_op.drop_index(batch_op.f('ix_measured_areas_baseline_id'))

    op.drop_table('measured_areas')
