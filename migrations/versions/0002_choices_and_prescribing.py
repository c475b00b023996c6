"""Choices and prescribing: the choice ledger projection and prescribing decisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:34:11.966016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('choice_entries',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('plan_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('option', sa.String(length=40), nullable=False),
    sa.Column('option_kind', sa.String(length=16), nullable=False),
    sa.Column('information_given', sa.Boolean(), nullable=False),
    sa.Column('information_format', sa.String(length=32), nullable=True),
    sa.Column('discussed_on', sa.Date(), nullable=False),
    sa.Column('preference', sa.String(length=16), nullable=True),
    sa.Column('preferred', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('has_reason', sa.Boolean(), nullable=False),
    sa.Column('has_client_view', sa.Boolean(), nullable=False),
    sa.Column('available_locally', sa.Boolean(), nullable=False),
    sa.Column('unmet_need', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('recorded_role', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_choice_entries_plan_id_plans')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_choice_entries_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_choice_entries'))
    )
    with op.batch_alter_table('choice_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_choice_entries_option'), ['option'], unique=False)
        batch_op.create_index(batch_op.f('ix_choice_entries_plan_id'), ['plan_id'], unique=False)

    op.create_table('prescribing_decisions',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('plan_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('client_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('clinician_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('clinician_name', sa.String(length=120), nullable=False),
    sa.Column('home_office_licence', sa.String(length=64), nullable=True),
    sa.Column('decision', sa.String(length=24), nullable=False),
    sa.Column('option', sa.String(length=40), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('dose_mg', sa.Float(), nullable=True),
    sa.Column('frequency', sa.String(length=32), nullable=True),
    sa.Column('supervision', sa.String(length=48), nullable=True),
    sa.Column('instalment_days', sa.Integer(), nullable=True),
    sa.Column('pharmacy', sa.String(length=200), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('review_date', sa.Date(), nullable=True),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('client_explanation', sa.Text(), nullable=False),
    sa.Column('acknowledged_warnings', sa.JSON(), nullable=False),
    sa.Column('suggestions', sa.JSON(), nullable=False),
    sa.Column('clinical_context', sa.JSON(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_prescribing_decisions_client_id_clients')),
    sa.ForeignKeyConstraint(['clinician_id'], ['users.id'], name=op.f('fk_prescribing_decisions_clinician_id_users')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_prescribing_decisions_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescribing_decisions'))
    )
    with op.batch_alter_table('prescribing_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescribing_decisions_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescribing_decisions_clinician_id'), ['clinician_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescribing_decisions_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescribing_decisions_review_date'), ['review_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('prescribing_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescribing_decisions_review_date'))
        batch_op.drop_index(batch_op.f('ix_prescribing_decisions_plan_id'))
        batch_op.drop_index(batch_op.f('ix_prescribing_decisions_clinician_id'))
        batch_op.drop_index(batch_op.f('ix_prescribing_decisions_client_id'))

    op.drop_table('prescribing_decisions')
    with op.batch_alter_table('choice_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_choice_entries_plan_id'))
        batch_op.drop_index(batch_op.f('ix_choice_entries_option'))

    op.drop_table('choice_entries')
