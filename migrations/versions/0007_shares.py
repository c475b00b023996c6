"""Shares the client makes of their plan (token hashes only), and rendered PDF copies kept for ETag.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-29 04:47:16.579523
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pdf_copies',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('plan_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_pdf_copies_plan_id_plans')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_pdf_copies'))
    )
    with op.batch_alter_table('pdf_copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pdf_copies_plan_id'), ['plan_id'], unique=False)

    op.create_table('shares',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('plan_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('client_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('large_print', sa.Boolean(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('passcode_hash', sa.String(length=255), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('revoked_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('revoked_by', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('created_by', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('created_by_role', sa.String(length=16), nullable=False),
    sa.Column('with_client', sa.Boolean(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_shares_client_id_clients')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_shares_created_by_users')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_shares_plan_id_plans')),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_shares_revoked_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shares')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_shares_token_hash'))
    )
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shares_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shares_plan_id'), ['plan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shares_plan_id'))
        batch_op.drop_index(batch_op.f('ix_shares_client_id'))

    op.drop_table('shares')
    with op.batch_alter_table('pdf_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pdf_copies_plan_id'))

    op.drop_table('pdf_copies')
