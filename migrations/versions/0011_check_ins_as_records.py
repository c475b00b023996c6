"""Check-ins kept once as records, not copied into every later version's document.

- `check_in_records`: one row per check-in (plan, seq, goal id, its canonical JSON, the
  hash chain up to it, the version that added it).
- `plan_versions.check_ins`: how many of the plan's records belong to the version (its
  `content` is then the document without them); NULL: `content` is the whole document.
- `plan_versions.check_in_chain`: the chain head after those records (so a write extends
  the chain without reading it).
- `plan_versions.fingerprint_scheme`: 1 (SHA-256 of the whole document, every version
  written before this) or 2 (careplans.versions).

Upgrade moves the check-ins of every stored version into records, plan by plan in
version order, and keeps a version whole wherever its check-ins are not the records
before it followed by new ones, or where the document read back would not be byte for
byte what was stored (checked for every version). Fingerprints are not touched: each
migrated version reads back exactly as written, so its fingerprint still matches.

Downgrade writes every version's whole document back. It refuses when a version has a
scheme 2 fingerprint: the older release could not verify it, and a fingerprint people
signed is never rewritten.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _versions():
    return sa.table(
        "plan_versions",
        sa.column("id", GUID(length=16)), sa.column("plan_id", GUID(length=16)), sa.column("number", sa.Integer),
        sa.column("content", sa.Text), sa.column("check_ins", sa.Integer), sa.column("check_in_chain", sa.String),
        sa.column("fingerprint_scheme", sa.Integer),
    )


def _records():
    return sa.table(
        "check_in_records",
        sa.column("id", GUID(length=16)), sa.column("plan_id", GUID(length=16)), sa.column("seq", sa.Integer),
        sa.column("goal_id", sa.String), sa.column("body", sa.Text), sa.column("chain", sa.String),
        sa.column("plan_version", sa.Integer),
    )


def upgrade() -> None:
    op.create_table(
        "check_in_records",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("plan_id", GUID(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_check_in_records_plan_id_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in_records")),
        sa.UniqueConstraint("plan_id", "seq", name=op.f("uq_check_in_records_plan_id")),
    )
    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint_scheme", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("check_ins", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("check_in_chain", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    plan_ids = conn.execute(sa.select(_versions().c.plan_id).distinct()).scalars().all()
    for plan_id in plan_ids:
        _convert_plan(conn, plan_id)


def _convert_plan(conn, plan_id) -> None:
    # The store's own pure functions, so migrated and new versions read back the same way.
    from careplans.plan_document import canonical_json
    from careplans.versions import GENESIS, assemble, chain_step, decode, split

    table, records = _versions(), _records()
    log: dict[str, list[str]] = {}
    items: list[tuple[str, object]] = []  # every record so far, decoded, in seq order
    chain = GENESIS
    rows = conn.execute(sa.select(table.c.id, table.c.number, table.c.content)
                        .where(table.c.plan_id == plan_id).order_by(table.c.number)).all()
    for row in rows:
        parts = split(decode(row.content), log)
        if parts is None:
            continue  # kept whole
        base, new = parts
        base_json = canonical_json(base)
        added = [(goal_id, decode(body)) for goal_id, body in new]
        if canonical_json(assemble(decode(base_json), items + added)) != row.content:
            continue  # would not read back byte for byte: kept whole
        inserts = []
        for goal_id, body in new:
            chain = chain_step(chain, goal_id, body)
            inserts.append({"id": uuid.uuid4(), "plan_id": plan_id, "seq": len(items) + len(inserts),
                            "goal_id": goal_id, "body": body, "chain": chain, "plan_version": row.number})
            log.setdefault(goal_id, []).append(body)
        items.extend(added)
        if inserts:
            conn.execute(records.insert(), inserts)
        conn.execute(sa.update(table).where(table.c.id == row.id)
                     .values(content=base_json, check_ins=len(items), check_in_chain=chain))


def downgrade() -> None:
    from careplans.plan_document import canonical_json
    from careplans.versions import assemble, decode

    conn = op.get_bind()
    table, records = _versions(), _records()
    chained = conn.execute(sa.select(sa.func.count()).select_from(table)
                           .where(table.c.fingerprint_scheme != 1)).scalar_one()
    if chained:
        raise RuntimeError(f"{chained} plan versions have a fingerprint the older release cannot check "
                           "(scheme 2): not downgrading, so no signed fingerprint is rewritten.")
    plan_ids = conn.execute(sa.select(table.c.plan_id).where(table.c.check_ins.is_not(None)).distinct()).scalars().all()
    for plan_id in plan_ids:
        items = [(goal_id, decode(body)) for goal_id, body in conn.execute(
            sa.select(records.c.goal_id, records.c.body).where(records.c.plan_id == plan_id)
            .order_by(records.c.seq)).all()]
        for row in conn.execute(sa.select(table.c.id, table.c.content, table.c.check_ins)
                                .where(table.c.plan_id == plan_id, table.c.check_ins.is_not(None))).all():
            whole = canonical_json(assemble(decode(row.content), items[:row.check_ins]))
            conn.execute(sa.update(table).where(table.c.id == row.id).values(content=whole))
    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.drop_column("check_in_chain")
        batch_op.drop_column("check_ins")
        batch_op.drop_column("fingerprint_scheme")
    op.drop_table("check_in_records")
