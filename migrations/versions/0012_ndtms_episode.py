"""The treatment episode as data for the national return (NDTMS), and plan references.

- `clients`: referral date, discharge reason (a code) and consent to report, beside the
  triage and discharge dates already there.
- `interventions`: each intervention's type, setting, start and end dates.
- indexes on `plans.start_date` and `choice_entries.discussed_on`: the reports filter
  plans and conversations by date, so a quarter's figures read that quarter's rows.
- `plan_references`: each plan's pseudonymous reference ("P-…", an HMAC keyed by the
  service secret; `key_id` fingerprints the secret), so an auditor's reference is found
  by an index instead of hashing every plan. Filled by careplans.references.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('interventions',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('client_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('plan_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('intervention_type', sa.String(length=24), nullable=False),
    sa.Column('setting', sa.String(length=24), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('recorded_by', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_interventions_client_id_clients')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_interventions_plan_id_plans')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_interventions_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interventions'))
    )
    with op.batch_alter_table('interventions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interventions_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interventions_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interventions_start_date'), ['start_date'], unique=False)

    op.create_table('plan_references',
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('plan_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_references_plan_id_plans')),
    sa.PrimaryKeyConstraint('key_id', 'plan_id', name=op.f('pk_plan_references'))
    )
    with op.batch_alter_table('plan_references', schema=None) as batch_op:
        batch_op.create_index('ix_plan_references_key_reference', ['key_id', 'reference'], unique=False)

    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_start_date'), ['start_date'], unique=False)
    with op.batch_alter_table('choice_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_choice_entries_discussed_on'), ['discussed_on'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('discharge_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('consent_to_report', sa.Boolean(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('choice_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_choice_entries_discussed_on'))
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_start_date'))
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('consent_to_report')
        batch_op.drop_column('discharge_reason')
        batch_op.drop_column('referral_date')

    with op.batch_alter_table('plan_references', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_references_key_reference')

    op.drop_table('plan_references')
    with op.batch_alter_table('interventions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interventions_start_date'))
        batch_op.drop_index(batch_op.f('ix_interventions_plan_id'))
        batch_op.drop_index(batch_op.f('ix_interventions_client_id'))

    op.drop_table('interventions')
