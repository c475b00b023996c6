"""Copies of a plan the person controls: the view model of a copy, the PDF cache, share links.

- `CopyView` is what one audience's copy holds: `present(snapshot, copy_visibility)`
  (careplans.present, careplans.policy) plus the facts printed around it (the person's
  preferred name, version, fingerprint, agreement state, date). The preview page and
  the PDF are both rendered from it by the one Jinja environment, so the preview is
  exactly the copy.
- PDF bytes are kept in `pdf_copies` under a key of everything a copy depends on
  (`copy_key`): the same request gets the same bytes (and ETag); a new plan version or
  agreement makes a new key.
- Shares: a random token (256 bits) shown once, stored as its SHA-256 only; an expiry
  (14 days by default, 90 at most); revoke; an optional passcode (argon2) with attempts
  limited; every open is an audit event ("share.open") in the plan's access log. A share
  serves the version that was shared and says when the plan has changed since.

Reads are scoped in their query by the policy (404 outside) and audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans import assessments, audit, policy, queries, versions, views
from careplans.errors import InvalidInput, NotFound
from careplans.models import Agreement, AuditEvent, Client, PdfCopy, Plan, PlanVersion, Share, utcnow
from careplans.passwords import hash_password, verify_password
from careplans.policy import Principal
from careplans.present import PlanView, iso, present

ROOT = Path(__file__).resolve().parent.parent
PDF_TEMPLATES = ROOT / "templates" / "pdf"

AUDIENCE_WORDS = {
    "client": "the person (their own copy)",
    "gp": "the GP",
    "pharmacy": "the pharmacy",
    "custom": "someone the person chose",
}
AUDIENCE_HINTS = {
    "client": "Everything you can see in your plan.",
    "gp": "Treatment choices, prescribing, staying safe and your goals: what your GP needs to know.",
    "pharmacy": "Only your current dose, supervision and pick-up arrangements, and naloxone. None of your words.",
    "custom": "Only the parts of your plan you tick.",
}
SECTION_WORDS = {
    "about_me": "About me",
    "goals": "Goals",
    "choices": "Treatment choices",
    "prescribing": "Prescribing",
    "staying_safe": "Staying safe",
    "next_review_date": "Next review date",
    "agreement": "Agreement",
}
PASSCODE_MIN, PASSCODE_MAX = 4, 64


class ShareableAnswer(msgspec.Struct, kw_only=True):
    """An assessment answer the client marked shareable (filled in by `shareable_answers`)."""

    question: str
    answer: str


class CopyView(msgspec.Struct, kw_only=True):
    """One audience's copy of one plan version: what the preview and the PDF show."""

    audience: str
    audience_words: str
    sections: list[str]
    section_names: list[str]
    large_print: bool
    person: str
    title: str
    plan: PlanView
    version: int
    fingerprint: str
    short_fingerprint: str
    made_on: str
    agreement_line: str
    current_version: int
    changed_since_shared: bool = False
    shareable_answers: list[ShareableAnswer] = msgspec.field(default_factory=list)

    def cache_facts(self) -> dict[str, Any]:
        return {"plan": self.plan.id, "version": self.version, "fingerprint": self.fingerprint,
                "audience": self.audience, "sections": self.sections, "large_print": self.large_print,
                "made_on": self.made_on, "agreement": self.agreement_line,
                "changed_since_shared": self.changed_since_shared, "person": self.person}


def parse_sections(raw: str | list[str] | None) -> frozenset[str] | None:
    """Ticked sections from `sections=goals,choices` (or a list); None when not given."""
    if raw is None:
        return None
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    ticked = frozenset(s.strip() for s in items if s and s.strip())
    unknown = sorted(ticked - set(policy.SECTIONS))
    if unknown:
        raise InvalidInput("sections", f"Unknown sections: {', '.join(unknown)}. "
                                       f"Choose from: {', '.join(policy.SECTIONS)}.")
    return ticked


def check_audience(audience: str) -> str:
    if audience not in policy.COPY_AUDIENCES:
        raise InvalidInput("audience", f"Choose one of: {', '.join(policy.COPY_AUDIENCES)}.")
    return audience


# --- the copy's view model ----------------------------------------------------------------------

def shareable_answers(db: Session, plan: Plan, version: PlanVersion,
                      vis: policy.Visibility) -> list[ShareableAnswer]:
    """The assessment answers the client marked `shareable`, as this audience may read
    them (`careplans.assessments.shareable_answers` filters them in SQL; pharmacy gets
    none). Only answers saved by this plan version; each as "questionnaire: question"
    and the answer in words. Rendered under "Assessment answers I chose to share"."""
    out = []
    for view in assessments.shareable_answers(db, plan.id, vis.audience, up_to_version=version.number):
        for answer in view.answers:
            out.append(ShareableAnswer(question=f"{view.title}: {answer.question_text}", answer=answer.words))
    return out


def _agreement_line(db: Session, plan: Plan, version_number: int) -> str:
    if plan.agreed_version == version_number:
        signed = db.execute(
            select(Agreement.signed_at).where(Agreement.plan_id == plan.id, Agreement.version == version_number)
            .order_by(Agreement.signed_at.desc()).limit(1)
        ).scalar_one_or_none()
        return f"Agreed by both on {views.format_date(signed)}" if signed else "Agreed by both"
    if plan.agreed_version is not None and plan.agreed_version < version_number:
        return f"Changed since agreed (version {plan.agreed_version} was agreed by both)"
    if plan.agreed_version is not None and plan.agreed_version > version_number:
        return f"An earlier version: version {plan.agreed_version} was agreed by both"
    return "Not yet agreed by both"


@dataclass
class PreparedCopy:
    """A copy about to be read: its facts and cache key, known from a few small reads;
    the presented view is built only when the PDF is not stored yet (or for a preview)."""

    plan: Plan
    version: PlanVersion
    audience: str
    vis: policy.Visibility
    large_print: bool
    made_on: str
    person: str
    agreement_line: str
    changed_since_shared: bool

    @property
    def sections(self) -> list[str]:
        return [s for s in policy.SECTIONS if self.vis.shows(s)]

    @property
    def key(self) -> str:
        return _key({"plan": str(self.plan.id), "version": self.version.number,
                     "fingerprint": self.version.fingerprint, "audience": self.audience,
                     "sections": self.sections, "large_print": self.large_print, "made_on": self.made_on,
                     "agreement": self.agreement_line, "changed_since_shared": self.changed_since_shared,
                     "person": self.person})

    def view(self, db: Session) -> CopyView:
        decisions = queries.decisions_for_plan(db, self.plan.id, up_to_version=self.version.number)
        presented = present(queries.snapshot(self.plan, self.version, decisions,
                                             versions.document_of(db, self.version)), self.vis)
        return CopyView(
            audience=self.audience, audience_words=AUDIENCE_WORDS[self.audience], sections=self.sections,
            section_names=[SECTION_WORDS[s] for s in self.sections], large_print=self.large_print,
            person=self.person, title=f"{views.possessive(self.person)} care plan, version {self.version.number}",
            plan=presented, version=self.version.number, fingerprint=self.version.fingerprint,
            short_fingerprint=self.version.fingerprint[:12], made_on=self.made_on,
            agreement_line=self.agreement_line, current_version=self.plan.version,
            changed_since_shared=self.changed_since_shared,
            shareable_answers=shareable_answers(db, self.plan, self.version, self.vis),
        )


def _prepare(db: Session, plan: Plan, version: PlanVersion, audience: str, ticked: frozenset[str] | None,
             large_print: bool, made_on: dt.date, *, shared: bool = False) -> PreparedCopy:
    person = db.execute(select(Client.preferred_name).where(Client.id == plan.client_id)).scalar_one()
    return PreparedCopy(plan=plan, version=version, audience=audience, vis=policy.copy_visibility(audience, ticked),
                        large_print=large_print, made_on=views.format_date(made_on), person=person,
                        agreement_line=_agreement_line(db, plan, version.number),
                        changed_since_shared=shared and plan.version != version.number)


def prepare_copy(db: Session, principal: Principal, plan_id: str | uuid.UUID, audience: str,
                 ticked: frozenset[str] | None = None, large_print: bool = False, *,
                 today: dt.date | None = None, action: str = "plan.copy.read") -> PreparedCopy:
    """The current version of a plan the principal may read, as `audience`'s copy (scoped
    in the query, 404 outside; audited)."""
    check_audience(audience)
    plan, version = queries.load_current(db, principal, queries.parse_id(plan_id))
    prepared = _prepare(db, plan, version, audience, ticked, large_print, today or dt.date.today())
    audit.record(db, queries.actor(principal), action, plan_id=plan.id, client_id=plan.client_id,
                 detail={"version": version.number, "audience": audience, "sections": prepared.sections,
                         "large_print": large_print})
    return prepared


def build_copy(db: Session, principal: Principal, plan_id: str | uuid.UUID, audience: str,
               ticked: frozenset[str] | None = None, large_print: bool = False, *,
               today: dt.date | None = None, action: str = "plan.copy.read") -> CopyView:
    """`prepare_copy` and its presented view model."""
    return prepare_copy(db, principal, plan_id, audience, ticked, large_print, today=today, action=action).view(db)


# --- PDF cache ------------------------------------------------------------------------------------------

def template_revision() -> str:
    """A hash of the print templates: a change to them makes every copy anew."""
    digest = hashlib.sha256()
    for path in sorted(PDF_TEMPLATES.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_REVISION = template_revision()


def _key(facts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({**facts, "templates": _REVISION}, sort_keys=True).encode()).hexdigest()


def copy_key(view: CopyView) -> str:
    """The cache key of a copy: everything it depends on (the same as `PreparedCopy.key`)."""
    return _key(view.cache_facts())


def cached_pdf(db: Session, key: str) -> bytes | None:
    return db.execute(select(PdfCopy.content).where(PdfCopy.key == key)).scalar_one_or_none()


def store_pdf(db: Session, key: str, plan_id: str, content: bytes) -> None:
    """Keep a rendered copy; a copy stored meanwhile by another request wins (same key, same facts)."""
    values = {"key": key, "plan_id": uuid.UUID(plan_id), "content": content, "created_at": utcnow()}
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.execute(insert(PdfCopy).values(**values).on_conflict_do_nothing(index_elements=["key"]))


def etag_for(key: str) -> str:
    return f'"pdf-{key[:32]}"'


# --- shares -------------------------------------------------------------------------------------------------

class ShareView(msgspec.Struct, kw_only=True):
    id: str
    plan_id: str
    audience: str
    audience_words: str
    sections: list[str]
    large_print: bool
    plan_version: int
    created_at: str
    created_by_role: str
    with_client: bool
    expires_at: str
    revoked_at: str | None
    state: str  # "live", "expired", "revoked", "locked"
    has_passcode: bool
    uses: list[str]  # when it was opened, newest first


class ShareCreated(msgspec.Struct, kw_only=True):
    id: str
    url: str
    expires_at: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _as_utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)


def share_state(share: Share, now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    if share.revoked_at is not None:
        return "revoked"
    if _as_utc(share.expires_at) <= now:
        return "expired"
    if share.passcode_hash and share.failed_attempts >= policy.SHARE_PASSCODE_ATTEMPTS:
        return "locked"
    return "live"


def expiry_from(expires_at: dt.datetime | None, now: dt.datetime | None = None) -> dt.datetime:
    now = now or utcnow()
    if expires_at is None:
        return now + dt.timedelta(days=policy.SHARE_EXPIRY_DEFAULT_DAYS)
    at = _as_utc(expires_at)
    if at <= now:
        raise InvalidInput("expires_at", "Choose a date in the future for the link to stop working.")
    if at > now + dt.timedelta(days=policy.SHARE_EXPIRY_MAX_DAYS, minutes=5):
        raise InvalidInput("expires_at", f"A link can work for {policy.SHARE_EXPIRY_MAX_DAYS} days at most.")
    return at


def create_share(db: Session, principal: Principal, plan_id: str | uuid.UUID, audience: str, *,
                 ticked: frozenset[str] | None = None, expires_at: dt.datetime | None = None,
                 passcode: str | None = None, large_print: bool = False, with_client: bool = False,
                 base_url: str = "") -> ShareCreated:
    """A new link to the current version of the plan, for `audience` (never "client").

    The token is returned once, inside the URL, and never stored."""
    policy.require(principal, "shares.create")
    plan, version = queries.load_current(db, principal, queries.parse_id(plan_id), purpose="write")
    if audience not in policy.SHARE_AUDIENCES:
        raise InvalidInput("audience", f"Choose who the link is for: {', '.join(policy.SHARE_AUDIENCES)}.")
    if policy.share_needs_client_present(principal) and not with_client:
        raise InvalidInput("with_client", "A link can only be made together with the client. "
                                          "Confirm they are with you and want to share their plan.")
    if audience == "custom" and not ticked:
        raise InvalidInput("sections", "Tick at least one part of the plan to share.")
    if passcode is not None:
        passcode = passcode.strip()
        if not PASSCODE_MIN <= len(passcode) <= PASSCODE_MAX:
            raise InvalidInput("passcode", f"A passcode must be {PASSCODE_MIN} to {PASSCODE_MAX} characters.")
    at = expiry_from(expires_at)
    vis = policy.copy_visibility(audience, ticked)
    token = new_token()
    share = Share(
        plan_id=plan.id, client_id=plan.client_id, plan_version=version.number, fingerprint=version.fingerprint,
        audience=audience, sections=[s for s in policy.SECTIONS if vis.shows(s)], large_print=large_print,
        token_hash=token_hash(token), passcode_hash=hash_password(passcode) if passcode else None,
        failed_attempts=0, expires_at=at, created_by=principal.id, created_by_role=principal.role,
        with_client=principal.role == policy.CLIENT or with_client, created_at=utcnow(),
    )
    db.add(share)
    db.flush()
    audit.record(db, queries.actor(principal), "share.create", plan_id=plan.id, client_id=plan.client_id,
                 detail={"share_id": str(share.id), "audience": audience, "version": version.number,
                         "sections": share.sections, "expires_at": iso(at), "passcode": bool(passcode),
                         "with_client": share.with_client})
    return ShareCreated(id=str(share.id), url=f"{base_url}/s/{token}", expires_at=iso(at))


def _uses(db: Session, plan_ids: list[str]) -> dict[str, list[str]]:
    rows = db.execute(
        select(AuditEvent.at, AuditEvent.detail).where(AuditEvent.plan_id.in_(plan_ids),
                                                       AuditEvent.action == "share.open")
        .order_by(AuditEvent.seq.desc())
    ).all()
    out: dict[str, list[str]] = {}
    for at, detail in rows:
        share_id = json.loads(detail).get("share_id")
        out.setdefault(share_id, []).append(iso(at))
    return out


def share_view(share: Share, uses: list[str], now: dt.datetime | None = None) -> ShareView:
    return ShareView(
        id=str(share.id), plan_id=str(share.plan_id), audience=share.audience,
        audience_words=AUDIENCE_WORDS[share.audience], sections=list(share.sections or []),
        large_print=share.large_print, plan_version=share.plan_version, created_at=iso(share.created_at),
        created_by_role=share.created_by_role, with_client=share.with_client, expires_at=iso(share.expires_at),
        revoked_at=iso(share.revoked_at) if share.revoked_at else None, state=share_state(share, now),
        has_passcode=share.passcode_hash is not None, uses=uses,
    )


def list_shares(db: Session, principal: Principal, plan_id: str | uuid.UUID, *, audited: bool = True) -> list[ShareView]:
    policy.require(principal, "shares.read")
    plan, _ = queries.load_current(db, principal, queries.parse_id(plan_id), purpose="write")
    rows = db.execute(
        select(Share).where(Share.plan_id == plan.id, policy.share_scope(principal))
        .order_by(Share.created_at.desc())
    ).scalars().all()
    uses = _uses(db, [str(plan.id)]) if rows else {}
    if audited:
        audit.record(db, queries.actor(principal), "shares.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"count": len(rows)})
    now = utcnow()
    return [share_view(s, uses.get(str(s.id), []), now) for s in rows]


def revoke_share(db: Session, principal: Principal, share_id: str | uuid.UUID) -> ShareView:
    policy.require(principal, "shares.revoke")
    share = db.execute(
        select(Share).where(Share.id == queries.parse_id(share_id, "share"), policy.share_scope(principal))
        .with_for_update()
    ).scalar_one_or_none()
    if share is None:
        raise NotFound("There is no such share.")
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        share.revoked_by = principal.id
        audit.record(db, queries.actor(principal), "share.revoke", plan_id=share.plan_id,
                     client_id=share.client_id, detail={"share_id": str(share.id)})
    db.flush()
    return share_view(share, [])


# --- opening a share (no login: the token is the key) ------------------------------------------------------

class PasscodeNeeded(msgspec.Struct, kw_only=True):
    """The share has a passcode and none, or a wrong one, was given."""

    wrong: bool
    attempts_left: int


class _Locked(NotFound):
    """Too many wrong passcodes: the link no longer works (the count is committed)."""

    commit = True

    def __init__(self) -> None:
        super().__init__("This link does not work. It may have expired or been stopped.")


def open_share(db: Session, token: str, passcode: str | None = None) -> PreparedCopy | PasscodeNeeded:
    """The copy a live share holds, for whoever has the link (audited as "share.open").

    Not found (404) once expired, revoked or locked, and for any token that is not a
    share's: nothing tells a wrong token from an old one."""
    if not token or len(token) > 100:
        raise NotFound("This link does not work. It may have expired or been stopped.")
    share = db.execute(select(Share).where(Share.token_hash == token_hash(token)).with_for_update()
                       ).scalar_one_or_none()
    if share is None or share_state(share) != "live":
        raise NotFound("This link does not work. It may have expired or been stopped.")
    actor = audit.Actor(id=None, role="recipient")
    if share.passcode_hash is not None:
        if passcode is None:
            return PasscodeNeeded(wrong=False, attempts_left=policy.SHARE_PASSCODE_ATTEMPTS - share.failed_attempts)
        if not verify_password(share.passcode_hash, passcode.strip()):
            share.failed_attempts += 1
            audit.record(db, actor, "share.passcode_refused", plan_id=share.plan_id, client_id=share.client_id,
                         detail={"share_id": str(share.id), "attempt": share.failed_attempts})
            db.flush()
            left = policy.SHARE_PASSCODE_ATTEMPTS - share.failed_attempts
            if left <= 0:
                raise _Locked()
            return PasscodeNeeded(wrong=True, attempts_left=left)
    plan = db.execute(select(Plan).where(Plan.id == share.plan_id)).scalar_one()
    version = db.execute(select(PlanVersion).where(PlanVersion.plan_id == plan.id,
                                                   PlanVersion.number == share.plan_version)).scalar_one()
    ticked = frozenset(share.sections or ())
    prepared = _prepare(db, plan, version, share.audience, ticked, share.large_print, share.created_at.date(),
                        shared=True)
    audit.record(db, actor, "share.open", plan_id=plan.id, client_id=plan.client_id,
                 detail={"share_id": str(share.id), "version": share.plan_version, "audience": share.audience})
    return prepared
