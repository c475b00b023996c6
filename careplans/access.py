"""Who may see which record, as SQL predicates used inside every query.

Deny by default: a role not named here sees nothing. The predicates go in the
same query that reads the record, so there is no window between check and read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, select, true

from careplans.models import CaseloadAssignment, Client, Plan
from careplans.plan_document import Author


@dataclass(frozen=True)
class Viewer:
    id: uuid.UUID
    role: str
    name: str

    @property
    def author(self) -> Author:
        return Author(id=str(self.id), name=self.name, role=self.role)


RELATION_FOR_ROLE = {"keyworker": "keyworker", "clinician": "prescriber"}


def _assigned(viewer: Viewer, client_id_col, relation: str) -> ColumnElement[bool]:
    return exists().where(
        and_(
            CaseloadAssignment.client_id == client_id_col,
            CaseloadAssignment.staff_user_id == viewer.id,
            CaseloadAssignment.relation == relation,
            CaseloadAssignment.ended_at.is_(None),
        )
    )


def client_scope(viewer: Viewer) -> ColumnElement[bool]:
    """Clients the viewer may know exist."""
    if viewer.role == "client":
        return Client.user_id == viewer.id
    if viewer.role in RELATION_FOR_ROLE:
        return _assigned(viewer, Client.id, RELATION_FOR_ROLE[viewer.role])
    if viewer.role == "admin":
        return true()
    return false()


def plan_scope(viewer: Viewer, *, keyworker_only: bool = False) -> ColumnElement[bool]:
    """Plans whose content the viewer may read. Admins and auditors read no plan content."""
    if viewer.role == "client":
        return Plan.client_id.in_(select(Client.id).where(Client.user_id == viewer.id).scalar_subquery())
    if viewer.role == "keyworker":
        return _assigned(viewer, Plan.client_id, "keyworker")
    if viewer.role == "clinician" and not keyworker_only:
        return _assigned(viewer, Plan.client_id, "prescriber")
    return false()


def plan_write_scope(viewer: Viewer) -> ColumnElement[bool]:
    """Plans whose co-produced content the viewer may change: the client and their keyworker."""
    return plan_scope(viewer, keyworker_only=True)
