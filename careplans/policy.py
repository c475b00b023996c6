"""Who sees what: the one place that decides it.

Three questions, three parts of this module:

1. **May this principal do this at all?** `ACTIONS` maps every action to the roles
   that may take it; `may()` and `require()` read it. A role not named is refused
   with 403 (`NotAllowed`): the action is never theirs, whatever the record.
2. **Which records may they know exist?** The `*_scope()` functions return SQL
   predicates that go inside the query that reads the record, so there is no window
   between check and read. A record outside the scope is "not found" (404) — the
   caller cannot tell a record they may not see from one that does not exist.
3. **What of a plan may this audience read?** `AUDIENCES` says, for each reader of
   a plan (client, keyworker, clinician, auditor, and the share audiences GP,
   pharmacy and custom), which sections and which kinds of value they see.
   `careplans.present` applies it; pages, the JSON API, PDF copies and exports
   render only what `present()` returns.

Deny by default everywhere: an unknown role, action or audience gets nothing.
`docs/security.md` holds the same matrix in words; `tests/unit/test_policy_doc.py`
fails when the two disagree.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, false, select, true

from careplans.errors import InvalidInput, NotAllowed
from careplans.models import AssessmentAnswer, CaseloadAssignment, Client, Plan, User
from careplans.plan_document import Author

CLIENT, KEYWORKER, CLINICIAN, AUDITOR, ADMIN = "client", "keyworker", "clinician", "auditor", "admin"
EVERYONE = frozenset({CLIENT, KEYWORKER, CLINICIAN, AUDITOR, ADMIN})


@dataclass(frozen=True)
class Principal:
    """Someone logged in: their user id, role and the name others see them by."""

    id: uuid.UUID
    role: str
    name: str

    @property
    def author(self) -> Author:
        return Author(id=str(self.id), name=self.name, role=self.role)


# --- 1. actions ------------------------------------------------------------------------

ACTIONS: dict[str, frozenset[str]] = {
    # being logged in
    "session.use": EVERYONE,                         # who am I, log out, the start page
    "options.read": EVERYONE,                        # the treatment option catalogue
    # people
    "clients.list": frozenset({KEYWORKER, CLINICIAN, ADMIN}),
    "clients.create": frozenset({KEYWORKER, ADMIN}),
    "clients.read": frozenset({CLIENT, KEYWORKER, CLINICIAN, ADMIN}),
    "caseload.read": frozenset({KEYWORKER}),         # the keyworker's caseload page
    "my_plan.read": frozenset({CLIENT}),             # the client's own start page
    "care_team.read": frozenset({CLIENT}),           # "who works with me": my keyworker and clinician
    "clients.assign": frozenset({ADMIN}),            # assign or reassign a client's keyworker and clinician
    # staff accounts (administrators: people and access, never care)
    "staff.list": frozenset({ADMIN}),
    "staff.create": frozenset({ADMIN}),
    "staff.deactivate": frozenset({ADMIN}),          # their open sessions end at once
    "staff.reset_password": frozenset({ADMIN}),      # a temporary password, shown once, stored as a hash
    # plans
    "plans.create": frozenset({KEYWORKER}),
    "plans.read": frozenset({CLIENT, KEYWORKER, CLINICIAN}),
    "plans.write": frozenset({CLIENT, KEYWORKER}),   # co-produced content: about me, goals, choices, staying safe
    "plans.sign": frozenset({CLIENT, KEYWORKER}),
    "plans.access_log": frozenset({CLIENT, KEYWORKER}),
    "plans.export": frozenset({CLIENT, KEYWORKER, CLINICIAN}),  # FHIR record of what the caller or an audience sees
    # copies of a plan (PDF, preview) and links the client shares
    "plans.pdf": frozenset({CLIENT, KEYWORKER, CLINICIAN}),
    "shares.read": frozenset({CLIENT, KEYWORKER}),
    "shares.create": frozenset({CLIENT, KEYWORKER}),     # a keyworker only together with the client
    "shares.revoke": frozenset({CLIENT, KEYWORKER}),
    # assessments: which answers each reader sees is `ANSWER_AUDIENCES`, in the query
    "questionnaires.read": EVERYONE,                 # the questionnaires themselves (no answers)
    "assessments.read": frozenset({CLIENT, KEYWORKER, CLINICIAN}),
    "assessments.write": frozenset({CLIENT, KEYWORKER}),
    "assessments.visibility": frozenset({CLIENT}),   # only the person decides who sees their answers
    # prescribing
    "prescribing.queue": frozenset({CLINICIAN}),
    "prescribing.decide": frozenset({CLINICIAN}),
    # assurance
    "audit.events": frozenset({AUDITOR}),
    "audit.prescribing": frozenset({AUDITOR}),
    "audit.verify": frozenset({AUDITOR, ADMIN}),
    "audit.reports": frozenset({AUDITOR}),            # choice report, service figures, sample, "was I heard?" totals
    "audit.ndtms": frozenset({AUDITOR}),              # the national return's dates as CSV (pseudonymised)
    # the treatment episode, for the national return (careplans.services.episodes; client_scope)
    "episode.read": frozenset({KEYWORKER, ADMIN}),
    "episode.write": frozenset({KEYWORKER, ADMIN}),   # referral, triage, discharge and consent: admin work too
    "interventions.write": frozenset({KEYWORKER}),    # interventions are care: the keyworker records them
    # the person's own voice on the service ("was I heard?")
    "feedback.give": frozenset({CLIENT}),             # their own plan only (plan_scope)
    "feedback.read": frozenset({CLIENT, KEYWORKER}),  # answers and comments about one plan (plan_scope)
    # accounts
    "staff.unlock": frozenset({ADMIN}),                # clear login delays so a person can try again now
}


def may(principal: Principal | None, action: str) -> bool:
    return principal is not None and principal.role in ACTIONS.get(action, frozenset())


def require(principal: Principal, action: str) -> None:
    """403 unless the principal's role may take this action (on any record)."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}: add it to careplans.policy.ACTIONS")
    if not may(principal, action):
        raise NotAllowed("Your role does not give access to this.")


def roles_for(action: str) -> frozenset[str]:
    return ACTIONS[action]


# --- 2. record scopes ----------------------------------------------------------------------

# A member of staff reaches a client through an open caseload assignment of this kind.
RELATION_FOR_ROLE = {KEYWORKER: "keyworker", CLINICIAN: "prescriber"}
PlanPurpose = Literal["read", "write", "prescribe"]


def _assigned(principal: Principal, client_id_col, relation: str) -> ColumnElement[bool]:
    return exists().where(
        and_(
            CaseloadAssignment.client_id == client_id_col,
            CaseloadAssignment.staff_user_id == principal.id,
            CaseloadAssignment.relation == relation,
            CaseloadAssignment.ended_at.is_(None),
        )
    )


def _own_client_ids(principal: Principal):
    return select(Client.id).where(Client.user_id == principal.id).scalar_subquery()


def client_scope(principal: Principal) -> ColumnElement[bool]:
    """Clients the principal may know exist: the client themself, their keyworker and
    prescribing clinician, and administrators (who see no clinical fields, see
    `sees_clinical_identity`)."""
    if principal.role == CLIENT:
        return Client.user_id == principal.id
    if principal.role in RELATION_FOR_ROLE:
        return _assigned(principal, Client.id, RELATION_FOR_ROLE[principal.role])
    if principal.role == ADMIN:
        return true()
    return false()


def plan_scope(principal: Principal, purpose: PlanPurpose = "read") -> ColumnElement[bool]:
    """Plans the principal may read, change ("write": the client and their keyworker)
    or make prescribing decisions about ("prescribe": their prescribing clinician).
    Administrators and auditors read no plan content through this scope."""
    if principal.role == CLIENT and purpose in ("read", "write"):
        return Plan.client_id.in_(_own_client_ids(principal))
    if principal.role == KEYWORKER and purpose in ("read", "write"):
        return _assigned(principal, Plan.client_id, "keyworker")
    if principal.role == CLINICIAN and purpose in ("read", "prescribe"):
        return _assigned(principal, Plan.client_id, "prescriber")
    return false()


def staff_scope(principal: Principal) -> ColumnElement[bool]:
    """Accounts an administrator manages: every account (staff and the login accounts of
    clients they added); nobody else reaches another person's account."""
    if principal.role == ADMIN:
        return true()
    return false()


def assignable_roles(relation: str) -> frozenset[str]:
    """Who can hold a caseload relation: a keyworker for "keyworker", a clinician for "prescriber"."""
    return frozenset({role for role, rel in RELATION_FOR_ROLE.items() if rel == relation})


def audit_event_scope(principal: Principal) -> ColumnElement[bool]:
    """Audit events the principal may read through the audit log: auditors, all of
    them (pseudonymised by `pseudonymised()`); nobody else reads the log directly (a
    plan's own access log is scoped by `plan_scope`)."""
    if principal.role == AUDITOR:
        return true()
    return false()


def report_plan_scope(principal: Principal) -> ColumnElement[bool]:
    """Plans counted in the assurance reports: every plan, for auditors (who read them
    only as pseudonymised facts selected by `careplans.reports`); nobody else."""
    if principal.role == AUDITOR:
        return true()
    return false()


def report_client_scope(principal: Principal) -> ColumnElement[bool]:
    """Clients counted in the national return's extract: every client, for auditors (who
    read only pseudonymised dates and codes selected by `careplans.ndtms`); nobody else."""
    if principal.role == AUDITOR:
        return true()
    return false()


# "Was I heard?": what an auditor may see of the answers. Aggregates only, and only where
# at least this many people answered a question in the period (small numbers suppressed,
# so nobody can be picked out). Comments never reach auditors.
FEEDBACK_MIN_ANSWERS = 5


def sees_feedback_comments(principal: Principal) -> bool:
    """Comments on "was I heard?" stay with the person and their keyworker."""
    return principal.role in (CLIENT, KEYWORKER)


def sees_clinical_identity(principal: Principal) -> bool:
    """Date of birth, NHS number and plan details in a client list: not for administrators,
    who manage accounts and caseloads, not care."""
    return principal.role in (CLIENT, KEYWORKER, CLINICIAN)


def keyworker_for_new_client(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID | None:
    """Whose caseload a new client joins. A keyworker adds people to their own caseload
    only; an administrator may name any keyworker (checked to exist by the service)."""
    if principal.role == KEYWORKER:
        if requested is not None and requested != principal.id:
            raise InvalidInput("keyworker_id", "You can add people to your own caseload only.")
        return principal.id
    return requested


def signs_as(principal: Principal) -> str:
    """The party a signature stands for: the client, or the keyworker."""
    return CLIENT if principal.role == CLIENT else KEYWORKER


# --- 3. what of a plan each audience reads ---------------------------------------------------

Audience = Literal["client", "keyworker", "clinician", "auditor", "gp", "pharmacy", "custom"]
SECTIONS: tuple[str, ...] = (
    "about_me", "goals", "choices", "prescribing", "staying_safe", "next_review_date", "agreement",
)
SHARE_AUDIENCES: tuple[str, ...] = ("gp", "pharmacy", "custom")


@dataclass(frozen=True)
class Visibility:
    """What one audience may read of a plan.

    - `sections`: the parts of the plan shown at all; others are absent.
    - `free_text`: words people wrote (about me, goal names, notes, reasons, the
      client's preference in their own words). False: every such value is absent.
    - `names`: who wrote or decided something, and the person's name. False: roles only.
    - `identity`: date of birth and NHS number.
    - `history`: earlier versions, their changes and who viewed the plan.
    - `current_prescribing_only`: only the latest decision about each medicine.
    - `naloxone_only`: of staying safe, only the naloxone supply.
    """

    audience: str
    sections: frozenset[str]
    free_text: bool = True
    names: bool = True
    identity: bool = True
    history: bool = True
    current_prescribing_only: bool = False
    naloxone_only: bool = False
    pseudonymised: bool = False
    notes: tuple[str, ...] = field(default=())

    def shows(self, section: str) -> bool:
        return section in self.sections


_ALL = frozenset(SECTIONS)
AUDIENCES: dict[str, Visibility] = {
    "client": Visibility("client", _ALL),
    "keyworker": Visibility("keyworker", _ALL),
    "clinician": Visibility("clinician", _ALL),
    # Assurance reads the shape of care, never the person: client reference only, no
    # names, no dates of birth, no words anyone wrote.
    "auditor": Visibility("auditor", _ALL, free_text=False, names=False, identity=False, pseudonymised=True),
    # Copies the client chooses to share (PDF, link, export). Never history.
    "gp": Visibility("gp", frozenset({"choices", "prescribing", "staying_safe", "goals", "agreement"}),
                     history=False),
    "pharmacy": Visibility("pharmacy", frozenset({"prescribing", "staying_safe"}), free_text=False,
                           identity=True, history=False, current_prescribing_only=True, naloxone_only=True),
    "custom": Visibility("custom", frozenset(), history=False),
}

ROLE_AUDIENCE = {CLIENT: "client", KEYWORKER: "keyworker", CLINICIAN: "clinician", AUDITOR: "auditor"}


def audience_of(principal: Principal) -> str | None:
    """The audience a logged-in principal reads a plan as; None reads no plan content."""
    return ROLE_AUDIENCE.get(principal.role)


def visibility(audience: str, sections: frozenset[str] | None = None) -> Visibility:
    """The visibility of an audience. A custom copy shows the sections the client ticked
    (and never more than the GP copy's kinds of value)."""
    if audience not in AUDIENCES:
        raise KeyError(f"unknown audience {audience!r}")
    vis = AUDIENCES[audience]
    if audience == "custom":
        return Visibility("custom", frozenset(sections or ()) & _ALL, history=False)
    return vis


def narrowed(reader: Visibility, audience: Visibility) -> Visibility:
    """What a reader may hand to an audience: never more than either may see."""
    return Visibility(
        audience.audience, reader.sections & audience.sections,
        free_text=reader.free_text and audience.free_text, names=reader.names and audience.names,
        identity=reader.identity and audience.identity, history=reader.history and audience.history,
        current_prescribing_only=reader.current_prescribing_only or audience.current_prescribing_only,
        naloxone_only=reader.naloxone_only or audience.naloxone_only,
        pseudonymised=reader.pseudonymised or audience.pseudonymised,
    )


def export_visibility(principal: Principal, audience: str | None = None,
                      sections: frozenset[str] | None = None) -> Visibility:
    """What an export (FHIR bundle, pack) made by this principal holds: their own view,
    or the view of a share audience they name, narrowed to their own."""
    own = AUDIENCES[audience_of(principal) or ""] if audience_of(principal) else None
    if own is None:
        raise NotAllowed("You cannot export plans.")
    if audience is None or audience == audience_of(principal):
        return own
    if audience not in COPY_AUDIENCES:
        raise InvalidInput("audience", f"Choose one of: {', '.join(COPY_AUDIENCES)}.")
    return narrowed(own, copy_visibility(audience, sections))
# --- copies: PDF, preview and share links -----------------------------------------------------------

COPY_AUDIENCES: tuple[str, ...] = ("client", "gp", "pharmacy", "custom")
SHARE_EXPIRY_DEFAULT_DAYS = 14
SHARE_EXPIRY_MAX_DAYS = 90
SHARE_PASSCODE_ATTEMPTS = 5


def copy_visibility(audience: str, ticked: frozenset[str] | None = None) -> Visibility:
    """What a copy of the plan for this audience holds ("client" is the person's own copy).

    The audience's visibility, narrowed to the sections the client ticked: ticking can
    only take sections away, never add one the audience may not read (a custom copy is
    exactly the ticked sections). A copy never holds history."""
    if audience not in COPY_AUDIENCES:
        raise KeyError(f"unknown copy audience {audience!r}")
    if audience == "custom":
        return visibility("custom", ticked)
    vis = AUDIENCES[audience]
    sections = vis.sections if ticked is None else vis.sections & frozenset(ticked)
    return Visibility(vis.audience, sections, free_text=vis.free_text, names=vis.names, identity=vis.identity,
                      history=False, current_prescribing_only=vis.current_prescribing_only,
                      naloxone_only=vis.naloxone_only, pseudonymised=vis.pseudonymised)


def pack_needs_share(principal: Principal) -> bool:
    """"Take my plan with me": the client takes their own copy; anyone else makes a pack
    only for a receiving service the client chose (a live share of the plan)."""
    return principal.role != CLIENT


def share_needs_client_present(principal: Principal) -> bool:
    """A share is the client's choice: anyone but the client makes one only together with
    the client, and the share records both."""
    return principal.role != CLIENT


def share_scope(principal: Principal) -> ColumnElement[bool]:
    """Shares the principal may see and revoke: those of plans they may write (the client's
    own, their keyworker's caseload). Use with a query on `careplans.models.Share`."""
    from careplans.models import Share

    return Share.plan_id.in_(select(Plan.id).where(plan_scope(principal, "write")))
# --- 4. who sees each assessment answer ----------------------------------------------------------

# The person chooses, per answer, one of these levels (most private first). Each
# audience reads the answers whose level names it; an answer outside is absent from
# every query (never blanked), on every path: API, pages, history, PDFs and exports.
ANSWER_LEVELS: tuple[str, ...] = ("only_me", "me_and_keyworker", "care_team", "shareable")
ANSWER_AUDIENCES: dict[str, frozenset[str]] = {
    "client": frozenset(ANSWER_LEVELS),
    "keyworker": frozenset({"me_and_keyworker", "care_team", "shareable"}),
    "clinician": frozenset({"care_team", "shareable"}),
    "auditor": frozenset(),            # counts only, never an answer
    "gp": frozenset({"shareable"}),
    "pharmacy": frozenset(),           # dose, supervision and pick-up only
    "custom": frozenset({"shareable"}),
}


def answer_levels(audience: str, *, copy: bool = False) -> frozenset[str]:
    """The visibility levels an audience reads. `copy=True` is any copy that leaves the
    service (PDF, share link, export), whoever it is for, the client's own copy included:
    only answers the person marked `shareable` go into copies."""
    levels = ANSWER_AUDIENCES.get(audience, frozenset())
    return levels & {"shareable"} if copy else levels


def answer_scope(audience: str | None, *, copy: bool = False) -> ColumnElement[bool]:
    """SQL predicate on `assessment_answers`: the answers this audience may read.
    Goes inside the query that reads answers (with `plan_scope` for the plan)."""
    levels = answer_levels(audience, copy=copy) if audience else frozenset()
    if not levels:
        return false()
    return AssessmentAnswer.visibility.in_(sorted(levels))


def default_answer_visibility(principal: Principal) -> str:
    """The most private level that still includes the person typing: only the client,
    when the client answers; the client and their keyworker when a keyworker records
    answers with them."""
    return "only_me" if principal.role == CLIENT else "me_and_keyworker"


# --- pseudonyms for assurance -------------------------------------------------------------------

def pseudonym(secret: str, kind: str, value: Any) -> str | None:
    """A stable, non-reversible label for auditors: same record, same label; no name.
    "P-3f9a21c0…" for a plan, "C-…" a client, "S-…" staff. The only id form an auditor
    sees or may send."""
    if value is None:
        return None
    mac = hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[:1].upper()}-{mac[:12]}"


def actor_pseudonym(secret: str, role: str | None, actor_id: Any) -> str | None:
    return pseudonym(secret, "client" if role == CLIENT else "staff", actor_id)
