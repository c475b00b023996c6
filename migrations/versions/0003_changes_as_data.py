"""Version changes stored as data, not prose: plan_versions.changes replaces summary.

The old `summary` column held sentences with quoted free text ("Goal “Get my own flat”
renamed to …"), which a reader could see even where they may not read the text
itself. Each stored version's changes are now derived from its document and the
previous version's, as structured records without free text; sentences are written
for each reader when the history is read. Downgrade writes a neutral sentence back
(no free text) so an older release can still show the history.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _versions(conn):
    return sa.table(
        "plan_versions",
        sa.column("id"), sa.column("plan_id"), sa.column("number", sa.Integer), sa.column("content", sa.Text),
        sa.column("changes", sa.JSON), sa.column("summary", sa.Text),
    )


def upgrade() -> None:
    # The derivation is the application's own (careplans.changes.derive), so stored and
    # new versions read the same way. It is pure: documents in, records out.
    from careplans import changes as ch
    from careplans import document

    with op.batch_alter_table("plan_versions") as batch:
        batch.add_column(sa.Column("changes", sa.JSON(), nullable=True))
    conn = op.get_bind()
    table = _versions(conn)
    previous: dict[object, dict] = {}
    rows = conn.execute(sa.select(table.c.id, table.c.plan_id, table.c.number, table.c.content)
                        .order_by(table.c.plan_id, table.c.number)).all()
    for row in rows:
        doc = document.parse(row.content)
        before = previous.get(row.plan_id)
        records = ch.to_stored(ch.derive(before, doc)) if before is not None else []
        conn.execute(sa.update(table).where(table.c.id == row.id).values(changes=records))
        previous[row.plan_id] = doc
    with op.batch_alter_table("plan_versions") as batch:
        batch.alter_column("changes", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("summary")


def downgrade() -> None:
    with op.batch_alter_table("plan_versions") as batch:
        batch.add_column(sa.Column("summary", sa.Text(), nullable=True))
    conn = op.get_bind()
    table = _versions(conn)
    for row in conn.execute(sa.select(table.c.id, table.c.number, table.c.changes)).all():
        changes = row.changes if isinstance(row.changes, list) else json.loads(row.changes or "[]")
        text = "Plan started" if row.number == 1 else f"{len(changes)} change(s)"
        conn.execute(sa.update(table).where(table.c.id == row.id).values(summary=text))
    with op.batch_alter_table("plan_versions") as batch:
        batch.alter_column("summary", existing_type=sa.Text(), nullable=False)
        batch.drop_column("changes")
