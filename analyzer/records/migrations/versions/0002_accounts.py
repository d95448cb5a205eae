"""Clinics, accounts, invites, sign-in sessions and throttle

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Patients recorded before accounts existed go to one clinic made here ("Clinic");
its first admin comes by an invite made on the server (``python -m analyzer
invite --role admin``; until 2026-12-07 the first-run set-up adopted it, which let
whoever opened the page first take it). No user rows existed before
this revision (nothing created them), so the users table gains its NOT NULL
columns directly.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clinics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinics'))
    )
    op.create_table('login_throttle',
    sa.Column('username_key', sa.String(length=80), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('username_key', name=op.f('pk_login_throttle'))
    )
    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(role = 'patient') = (patient_id IS NOT NULL)", name=op.f('ck_invites_patient_role_has_patient')),
    sa.CheckConstraint("role IN ('admin', 'practitioner', 'patient')", name=op.f('ck_invites_role_known')),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_invites_clinic_id_clinics')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_invites_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_invites_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_invites_code_hash'))
    )
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invites_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invites_patient_id'), ['patient_id'], unique=False)

    op.create_table('login_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions'))
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clinic_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_clinic_id'), ['clinic_id'], unique=False)

    clinics = sa.table('clinics', sa.column('id', sa.Integer), sa.column('name', sa.String),
                       sa.column('demo', sa.Boolean), sa.column('created_at', sa.DateTime))
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clinic_id', sa.Integer(), nullable=True))
    if op.get_bind().execute(sa.text("SELECT count(*) FROM patients")).scalar():
        op.bulk_insert(clinics, [{'name': 'Clinic', 'demo': False,
                                  'created_at': dt.datetime.now(dt.UTC).replace(tzinfo=None)}])
        op.execute("UPDATE patients SET clinic_id = (SELECT min(id) FROM clinics)")
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.alter_column('clinic_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_patients_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_patients_clinic_id_clinics'), 'clinics', ['clinic_id'], ['id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clinic_id', sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column('username_key', sa.String(length=80), nullable=False))
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('password_hash',
               existing_type=sa.VARCHAR(length=255),
               nullable=False)
        batch_op.drop_index(batch_op.f('ix_users_patient_id'))
        batch_op.drop_constraint(batch_op.f('uq_users_username'), type_='unique')
        batch_op.create_index(batch_op.f('ix_users_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_patient_id'), ['patient_id'])
        batch_op.create_unique_constraint(batch_op.f('uq_users_username_key'), ['username_key'])
        batch_op.create_foreign_key(batch_op.f('fk_users_clinic_id_clinics'), 'clinics', ['clinic_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_users_role_known'),
                                         "role IN ('admin', 'practitioner', 'patient')")
        batch_op.create_check_constraint(batch_op.f('ck_users_patient_role_has_patient'),
                                         "(role = 'patient') = (patient_id IS NOT NULL)")


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_patient_role_has_patient'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_users_role_known'), "role IN ('practitioner', 'patient')")
        batch_op.drop_constraint(batch_op.f('fk_users_clinic_id_clinics'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_users_username_key'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_users_patient_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_users_clinic_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_users_username'), ['username'])
        batch_op.create_index(batch_op.f('ix_users_patient_id'), ['patient_id'], unique=False)
        batch_op.alter_column('password_hash',
               existing_type=sa.VARCHAR(length=255),
               nullable=True)
        batch_op.drop_column('last_login_at')
        batch_op.drop_column('username_key')
        batch_op.drop_column('clinic_id')

    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_patients_clinic_id_clinics'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patients_clinic_id'))
        batch_op.drop_column('clinic_id')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_clinic_id'))
        batch_op.drop_column('clinic_id')

    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_user_id'))

    op.drop_table('login_sessions')
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invites_patient_id'))
        batch_op.drop_index(batch_op.f('ix_invites_clinic_id'))

    op.drop_table('invites')
    op.drop_table('login_throttle')
    op.drop_table('clinics')
