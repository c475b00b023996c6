"""Administrator pages: temporary passwords and people added without a date of birth.

- `users.must_change_password`: set when an administrator gives someone a temporary
  password (shown to the administrator once, stored only as its hash); the person
  chooses their own at their next login.
- `clients.date_of_birth` may be empty: an administrator adds a person by preferred name,
  pronouns and an optional NHS number; their keyworker records the rest.

The substances a plan is about live in the plan document (schema 3), not in a column.

Revision ID: 0010
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.alter_column("date_of_birth", existing_type=sa.Date(), nullable=True)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    # A person added without a date of birth cannot be kept by the older schema: refuse
    # rather than invent one.
    missing = op.get_bind().execute(sa.text("SELECT count(*) FROM clients WHERE date_of_birth IS NULL")).scalar()
    if missing:
        raise RuntimeError(f"{missing} client(s) have no date of birth; record them before downgrading.")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.alter_column("date_of_birth", existing_type=sa.Date(), nullable=False)
