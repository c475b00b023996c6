"""A plan's history: its versions, visits, what changed since someone last looked, and diffs
(split out of careplans.queries; every read is scoped by the policy and audited as there)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from careplans import audit, policy
from careplans import changes as ch
from careplans import document, versions
from careplans.errors import InvalidInput, NotFound
from careplans.models import AuditEvent, Plan, PlanVersion, PrescribingDecision
from careplans.policy import Principal
from careplans.present import (
    AgreementView,
    DiffChange,
    DiffView,
    Namer,
    News,
    PlanVersionView,
    VersionEntry,
    Visit,
    agreement_words,
    fingerprint_label,
    group_visits,
    iso,
    predicate,
    present,
    present_decision,
    sentences,
    version_summary,
)
from careplans.present import news as present_news
from careplans.queries import (
    actor,
    agreement_snapshot,
    decision_record,
    decisions_for_plan,
    load_current,
    parse_id,
    reader_of,
)


def _history_rows(db: Session, plan_id: uuid.UUID):
    return db.execute(
        select(PlanVersion.number, PlanVersion.author_id, PlanVersion.author_name, PlanVersion.author_role,
               PlanVersion.created_at, PlanVersion.changes, PlanVersion.fingerprint)
        .where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.number)
    ).all()


def list_versions(db: Session, principal: Principal, plan_id: str | uuid.UUID, *,
                  audited: bool = True) -> list[VersionEntry]:
    """Every version, oldest first, each with what changed in sentences for this reader.
    Goal names come from the current document (one read), which the reader may see."""
    plan, current = load_current(db, principal, parse_id(plan_id))
    vis, reader = reader_of(principal)
    namer = Namer([document.parse(current.content)])
    out = []
    for r in _history_rows(db, plan.id):
        author = ch.Author(id=str(r.author_id), name=r.author_name, role=r.author_role)
        lines = sentences(ch.from_stored(r.changes), author, reader, namer)
        out.append(VersionEntry(
            version=r.number, author=r.author_name if vis.names else None, role=r.author_role,
            at=iso(r.created_at), summary=version_summary(lines, author, reader, r.number), changes=lines,
            fingerprint=r.fingerprint, label=fingerprint_label(r.number, r.fingerprint)))
    if audited:
        audit.record(db, actor(principal), "plan.history.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version})
    return out


def list_visits(db: Session, principal: Principal, plan_id: str | uuid.UUID, *,
                audited: bool = True) -> list[Visit]:
    """The history grouped by visit, newest first, in plain lines for this reader."""
    plan, current = load_current(db, principal, parse_id(plan_id))
    _, reader = reader_of(principal)
    namer = Namer([document.parse(current.content)])
    versions = []
    for r in _history_rows(db, plan.id):
        author = ch.Author(id=str(r.author_id), name=r.author_name, role=r.author_role)
        at = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=dt.timezone.utc)
        versions.append({"number": r.number, "author": author, "at": at, "fingerprint": r.fingerprint,
                         "lines": sentences(ch.from_stored(r.changes), author, reader, namer)})
    if audited:
        audit.record(db, actor(principal), "plan.history.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version})
    return group_visits(versions, reader)


def last_looked(db: Session, principal: Principal, plan_ids: list[uuid.UUID]) -> dict[str, dt.datetime]:
    """When the principal last opened or changed each plan (from the audit log)."""
    if not plan_ids:
        return {}
    rows = db.execute(
        select(AuditEvent.plan_id, func.max(AuditEvent.at))
        .where(AuditEvent.actor_id == str(principal.id), AuditEvent.plan_id.in_([str(p) for p in plan_ids]),
               AuditEvent.action != "access_log.read")
        .group_by(AuditEvent.plan_id)
    ).all()
    return {pid: (at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)) for pid, at in rows if at is not None}


def news_since_last_look(db: Session, principal: Principal, plan_ids: list[uuid.UUID], *,
                         today: dt.date | None = None) -> dict[str, News]:
    """For each plan in the principal's scope: what is new since they last looked (call it
    before the page records its own read). Reads version metadata, decisions and the plan
    rows; scoped by the policy like every plan read. Not audited here: the page that shows
    it records its read."""
    if not plan_ids:
        return {}
    today = today or dt.date.today()
    vis, reader = reader_of(principal)
    plans = db.execute(
        select(Plan, PlanVersion.content)
        .join(PlanVersion, and_(PlanVersion.plan_id == Plan.id, PlanVersion.number == Plan.version))
        .where(Plan.id.in_(plan_ids), policy.plan_scope(principal))
    ).all()
    looked = last_looked(db, principal, [p.id for p, _ in plans])
    earliest = min(looked.values()) if len(looked) == len(plans) and looked else None
    stmt = select(PlanVersion.plan_id, PlanVersion.number, PlanVersion.author_id, PlanVersion.author_name,
                  PlanVersion.author_role, PlanVersion.created_at, PlanVersion.changes, PlanVersion.fingerprint
                  ).where(PlanVersion.plan_id.in_([p.id for p, _ in plans]))
    if earliest is not None:
        stmt = stmt.where(PlanVersion.created_at > earliest)
    by_plan: dict[uuid.UUID, list[dict[str, Any]]] = {}
    namer = Namer([])
    for r in db.execute(stmt.order_by(PlanVersion.plan_id, PlanVersion.number)).all():
        at = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=dt.timezone.utc)
        since = looked.get(str(r.plan_id))
        if since is not None and at <= since:
            continue
        author = ch.Author(id=str(r.author_id), name=r.author_name, role=r.author_role)
        by_plan.setdefault(r.plan_id, []).append(
            {"number": r.number, "author": author, "at": at, "fingerprint": r.fingerprint,
             "lines": sentences(ch.from_stored(r.changes), author, reader, namer)})
    dstmt = select(PrescribingDecision).where(PrescribingDecision.plan_id.in_([p.id for p, _ in plans]))
    if earliest is not None:
        dstmt = dstmt.where(PrescribingDecision.created_at > earliest)
    decisions: dict[uuid.UUID, list[PrescribingDecision]] = {}
    for d in db.execute(dstmt.order_by(PrescribingDecision.created_at)).scalars():
        since = looked.get(str(d.plan_id))
        at = d.created_at if d.created_at.tzinfo else d.created_at.replace(tzinfo=dt.timezone.utc)
        if since is None or at > since:
            decisions.setdefault(d.plan_id, []).append(d)
    out = {}
    for plan, content in plans:
        ag = AgreementView(state="", version=plan.agreed_version, fingerprint=None, current_version=plan.version,
                           current_fingerprint=plan.fingerprint, client_signed_version=plan.client_signed_version,
                           keyworker_signed_version=plan.keyworker_signed_version)
        words = agreement_words(ag, [], {}, vis, str(principal.id)) if vis.shows("agreement") else None
        review = document.parse(content).get("next_review_date") if vis.shows("next_review_date") else None
        since = looked.get(str(plan.id))
        decided = [present_decision(decision_record(d), vis) for d in decisions.get(plan.id, [])] \
            if vis.shows("prescribing") and since else []
        out[str(plan.id)] = present_news(str(plan.id), since, by_plan.get(plan.id, []) if since else [],
                                         decided, words, review, today, reader, plan.version)
    return out


def get_version(db: Session, principal: Principal, plan_id: str | uuid.UUID, number: int, *,
                audited: bool = True) -> PlanVersionView:
    plan, current = load_current(db, principal, parse_id(plan_id))
    pv = db.execute(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == number)
    ).scalar_one_or_none()
    if pv is None:
        raise NotFound("There is no such version of this plan.")
    vis, reader = reader_of(principal)
    snap = agreement_snapshot(db, plan, pv, decisions_for_plan(db, plan.id, up_to_version=number))
    view = present(snap, vis, str(principal.id))
    author = ch.Author(id=str(pv.author_id), name=pv.author_name, role=pv.author_role)
    lines = sentences(snap.changes, author, reader, Namer([snap.content, document.parse(current.content)]))
    if audited:
        audit.record(db, actor(principal), "plan.version.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": number})
    fields = {f: getattr(view, f) for f in view.__struct_fields__}
    return PlanVersionView(**fields, author=pv.author_name if vis.names else None, role=pv.author_role,
                           at=iso(pv.created_at), summary=version_summary(lines, author, reader, pv.number),
                           is_current=pv.number == plan.version)


def _value_for(value: Any, vis: policy.Visibility) -> Any:
    """A before/after value in a difference, for a reader who may not see free text."""
    if vis.free_text:
        return value
    return None if isinstance(value, (dict, list, str)) and not _is_code(value) else value


def _is_code(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 40 and value.replace("_", "").replace("-", "").isalnum()


def diff_versions(db: Session, principal: Principal, plan_id: str | uuid.UUID, a: int, b: int, *,
                  audited: bool = True) -> DiffView:
    plan, _ = load_current(db, principal, parse_id(plan_id))
    lo, hi = min(a, b), max(a, b)
    rows = db.execute(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number >= lo,
                                  PlanVersion.number <= hi).order_by(PlanVersion.number)
    ).scalars().all()
    by_number = {r.number: r for r in rows}
    for n, field in ((a, "from"), (b, "to")):
        if n not in by_number:
            raise InvalidInput(field, f"This plan has no version {n}.")
    vis, reader = reader_of(principal)
    before = versions.document_of(db, by_number[a])
    after = versions.document_of(db, by_number[b])
    namer = Namer([after, before])
    items = []
    for change in ch.derive(before, after):
        author = None
        for r in reversed(rows):
            if r.number > lo and any(ch.paths_overlap(change.path, c.get("path", "")) for c in (r.changes or [])):
                author = ch.Author(id=str(r.author_id), name=r.author_name, role=r.author_role)
                break
        subject_author = author or ch.Author(id=None, name=None, role=None)
        line = sentences([change], subject_author, reader, namer)[0]
        raw_before, raw_after = _raw_values(before, after, change.path)
        items.append(DiffChange(path=change.path, before=_value_for(raw_before, vis),
                                after=_value_for(raw_after, vis),
                                by=ch.who(author, reader) if author else None, summary=line,
                                what=predicate(line, ch.who(subject_author, reader))))
    if audited:
        audit.record(db, actor(principal), "plan.diff.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"from": a, "to": b})
    return DiffView(from_=a, to=b, changes=items)


def _raw_values(before: dict[str, Any], after: dict[str, Any], path: str) -> tuple[Any, Any]:
    return _at(before, path), _at(after, path)


def _at(doc: Any, path: str) -> Any:
    """The value at a document path such as goals[<id>].target_date."""
    import re

    node = doc
    for name, item in re.findall(r"([^.\[\]]+)|\[([^\]]+)\]", path):
        if item:
            node = next((x for x in (node or []) if isinstance(x, dict) and x.get("id") == item), None)
        else:
            node = node.get(name) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


