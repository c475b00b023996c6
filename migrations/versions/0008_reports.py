""""Was I heard?": the client's answers after a plan is agreed or reviewed.

Three optional 1-5 answers, an optional comment (kept with the client and keyworker;
passed on to the service only if the client says so), or a skip. Auditors read only
totals per quarter and question (careplans/reports.py).

Revision ID: 0008
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feedback_responses',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('plan_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('asked_after', sa.String(length=16), nullable=False),
    sa.Column('listened', sa.Integer(), nullable=True),
    sa.Column('options_explained', sa.Integer(), nullable=True),
    sa.Column('plan_is_mine', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('pass_on', sa.Boolean(), nullable=False),
    sa.Column('skipped', sa.Boolean(), nullable=False),
    sa.Column('answered_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_feedback_responses_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_responses')),
    sa.UniqueConstraint('plan_id', 'plan_version', name=op.f('uq_feedback_responses_plan_id'))
    )
    with op.batch_alter_table('feedback_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_responses_answered_at'), ['answered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_responses_plan_id'), ['plan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('feedback_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_responses_plan_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_responses_answered_at'))

    op.drop_table('feedback_responses')
