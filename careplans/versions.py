"""The version store: how a plan version's document is kept and read back."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplans.models import PlanVersion


def content_of(db: Session, plan_id: uuid.UUID, number: int) -> str:
    """The canonical JSON of one version, exactly as it was written."""
    return db.execute(select(PlanVersion.content).where(PlanVersion.plan_id == plan_id,
                                                        PlanVersion.number == number)).scalar_one()


def stored_bytes(db: Session, plan_id: uuid.UUID) -> int:
    """Bytes held for this plan's version documents."""
    return int(db.execute(select(func.coalesce(func.sum(func.length(PlanVersion.content)), 0))
                          .where(PlanVersion.plan_id == plan_id)).scalar_one())
