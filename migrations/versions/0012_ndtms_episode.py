"""The treatment episode as data for the national return (NDTMS), and plan references.

- `clients`: referral date, discharge reason (a code) and consent to report, beside the
  triage and discharge dates already there.
- `interventions`: each intervention's type, setting, start and end dates.
- `plans.next_review_date`: the current version's next review date, kept in step by every
  new version, so the reports count reviews overdue without reading documents (filled
  here from each plan's current version).
- indexes on `plans.start_date` and `choice_entries.discussed_on`: the reports filter
  plans and conversations by date, so a quarter's figures read that quarter's rows.
- `plan_references`: each plan's pseudonymous reference ("P-…", an HMAC keyed by the
  service secret; `key_id` fingerprints the secret), so an auditor's reference is found
  by an index instead of hashing every plan. Filled by careplans.references.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0012'
down_revision = '0011'
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
        batch_op.add_column(sa.Column('next_review_date', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_plans_next_review_date'), ['next_review_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_plans_start_date'), ['start_date'], unique=False)
    _fill_next_review_dates()
    with op.batch_alter_table('choice_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_choice_entries_discussed_on'), ['discussed_on'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('discharge_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('consent_to_report', sa.Boolean(), nullable=True))



def _fill_next_review_dates() -> None:
    """Each plan's next review date from its current version's document (canonical JSON)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT p.id, v.content FROM plans p JOIN plan_versions v ON v.plan_id = p.id AND v.number = p.version"
    )).all()
    plans = sa.table("plans", sa.column("id", advanced_alchemy.types.guid.GUID(length=16)),
                     sa.column("next_review_date", sa.Date()))
    updates = []
    for plan_id, content in rows:
        value = json.loads(content).get("next_review_date")
        if value:
            updates.append({"pid": plan_id, "day": dt.date.fromisoformat(value)})
    if updates:
        bind.execute(plans.update().where(plans.c.id == sa.bindparam("pid"))
                     .values(next_review_date=sa.bindparam("day")), updates)


def downgrade() -> None:
    with op.batch_alter_table('choice_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_choice_entries_discussed_on'))
    # Not batches: recreating `plans` or `clients` would break the foreign keys of every
    # table that refers to them. Both databases drop a column in place (SQLite since 3.35).
    op.drop_index(op.f('ix_plans_start_date'), table_name='plans')
    op.drop_index(op.f('ix_plans_next_review_date'), table_name='plans')
    op.drop_column('plans', 'next_review_date')
    for column in ('consent_to_report', 'discharge_reason', 'referral_date'):
        op.drop_column('clients', column)

    with op.batch_alter_table('plan_references', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_references_key_reference')

    op.drop_table('plan_references')
    with op.batch_alter_table('interventions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interventions_start_date'))
        batch_op.drop_index(batch_op.f('ix_interventions_plan_id'))
        batch_op.drop_index(batch_op.f('ix_interventions_client_id'))

    op.drop_table('interventions')
