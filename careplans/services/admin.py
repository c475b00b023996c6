"""What an administrator does: accounts and who works with whom. Never care.

- Staff accounts: add one (role and name), deactivate one, give a temporary password.
  A temporary password is made here, returned once for the administrator to pass on, and
  stored only as its argon2id hash; the person replaces it at their next login
  (`must_change_password`). Deactivating ends the person's access at once: every request
  loads the account and refuses an inactive one (api/security.py), and the web edge also
  deletes their session rows.
- Clients: add a person (preferred name, pronouns, optional NHS number checked with the
  modulus 11 rule), optionally with a login; assign or reassign their keyworker and
  prescribing clinician. Every assignment is an audit event, and the client reads the
  result as "Who works with me" (`care_team`).

Every function asks the policy first (`careplans.policy`): 403 for a role without the action,
and records outside `staff_scope`/`client_scope` are "not found".
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from careplans import audit, policy, vocab
from careplans.errors import AlreadyExists, InvalidInput, LoginFailed, NotFound
from careplans.models import CaseloadAssignment, Client, User, utcnow
from careplans.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from careplans.policy import Principal
from careplans.queries import actor
from careplans.services import accounts, clients

STAFF_ROLES = (policy.KEYWORKER, policy.CLINICIAN, policy.AUDITOR, policy.ADMIN)
RELATIONS = ("keyworker", "prescriber")
# Letters and digits that cannot be misread when read out or copied by hand.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """Four groups of four, e.g. "k7mp-3xq2-wr8d-9hta": 20 characters, about 79 bits."""
    groups = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)


def _account_view(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "username": user.username, "display_name": user.display_name,
            "role": user.role, "role_words": vocab.ROLES.words(user.role), "is_active": bool(user.is_active),
            "must_change_password": bool(user.must_change_password)}


def _parse(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"There is no such {what}.") from exc


def _account(db: Session, viewer: Principal, user_id: Any, *, lock: bool = False) -> User:
    query = select(User).where(User.id == _parse(user_id, "account"), policy.staff_scope(viewer))
    if lock:
        query = query.with_for_update()
    user = db.execute(query).scalar_one_or_none()
    if user is None:
        raise NotFound("There is no such account.")
    return user


# --- staff accounts -----------------------------------------------------------------------------

def list_staff(db: Session, viewer: Principal) -> list[dict[str, Any]]:
    """Every staff account, active first, by role then name."""
    policy.require(viewer, "staff.list")
    rows = db.execute(select(User).where(policy.staff_scope(viewer), User.role != policy.CLIENT)
                      .order_by(User.is_active.desc(), User.role, User.display_name, User.id)).scalars().all()
    return [_account_view(u) for u in rows]


def create_staff(db: Session, viewer: Principal, *, username: str, display_name: str, role: str
                 ) -> tuple[dict[str, Any], str]:
    """A new staff account with a temporary password: (the account, the password to pass on once)."""
    policy.require(viewer, "staff.create")
    username, display_name = username.strip(), display_name.strip()
    if role not in STAFF_ROLES:
        raise InvalidInput("role", "Choose the person's role.")
    _check_username(username)
    if not display_name:
        raise InvalidInput("display_name", "Enter the person's name, as others will see it.")
    if len(display_name) > 120:
        raise InvalidInput("display_name", "Names are 120 characters or fewer.")
    password = temporary_password()
    try:
        user = accounts.create_user(db, username, password, role, display_name)
    except AlreadyExists as exc:
        raise InvalidInput("username", "That username is taken. Choose another.") from exc
    user.must_change_password = True
    audit.record(db, actor(viewer), "staff.create", detail={"user_id": str(user.id), "role": role})
    db.flush()
    return _account_view(user), password


def _check_username(username: str) -> None:
    if not username:
        raise InvalidInput("username", "Enter a username.")
    if len(username) > 64 or not all(ch.isalnum() or ch in "-_." for ch in username):
        raise InvalidInput("username", "Use up to 64 letters, numbers, dots, dashes or underscores.")


def deactivate(db: Session, viewer: Principal, user_id: Any) -> dict[str, Any]:
    """Turn an account off. Its sessions are refused from the next request (every request loads
    the account); the web edge deletes the session rows too."""
    policy.require(viewer, "staff.deactivate")
    user = _account(db, viewer, user_id, lock=True)
    if user.id == viewer.id:
        raise InvalidInput("user_id", "You cannot deactivate your own account. Ask another administrator.")
    if user.is_active:
        user.is_active = False
        audit.record(db, actor(viewer), "staff.deactivate", detail={"user_id": str(user.id), "role": user.role})
        db.flush()
    return _account_view(user)


def reset_password(db: Session, viewer: Principal, user_id: Any) -> tuple[dict[str, Any], str]:
    """A new temporary password for an account: returned once, stored only as its hash; the person
    must choose their own at their next login."""
    policy.require(viewer, "staff.reset_password")
    user = _account(db, viewer, user_id, lock=True)
    if not user.is_active:
        raise InvalidInput("user_id", "This account is deactivated. Its password cannot be reset.")
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    audit.record(db, actor(viewer), "staff.reset_password", detail={"user_id": str(user.id), "role": user.role})
    db.flush()
    return _account_view(user), password


def change_own_password(db: Session, principal: Principal, current: str, new: str) -> None:
    """The person replaces their password (a temporary one, or any): the current one is checked."""
    policy.require(principal, "session.use")
    user = db.execute(select(User).where(User.id == principal.id, User.is_active.is_(True)).with_for_update()
                      ).scalar_one_or_none()
    if user is None:
        raise NotFound("There is no such account.")
    if not verify_password(user.password_hash, current):
        audit.record(db, actor(principal), "password.change_refused", detail={})
        raise LoginFailed("Your current password is not right.")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("new_password", f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if new == current:
        raise InvalidInput("new_password", "Choose a password different from the one you were given.")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    audit.record(db, actor(principal), "password.change", detail={})
    db.flush()


def must_change_password(db: Session, principal: Principal) -> bool:
    return bool(db.execute(select(User.must_change_password).where(User.id == principal.id)).scalar())


# --- clients and who works with them ------------------------------------------------------------

def staff_choices(db: Session, viewer: Principal, relation: str) -> list[dict[str, str]]:
    """Active accounts that can hold this relation (keyworkers, or prescribing clinicians)."""
    policy.require(viewer, "clients.assign")
    roles = policy.assignable_roles(relation)
    rows = db.execute(select(User.id, User.display_name).where(
        policy.staff_scope(viewer), User.role.in_(roles), User.is_active.is_(True)).order_by(User.display_name)).all()
    return [{"id": str(r.id), "name": r.display_name} for r in rows]


def add_client(db: Session, viewer: Principal, *, preferred_name: str, pronouns: str | None = None,
               nhs_number: str | None = None, keyworker_id: str | None = None, clinician_id: str | None = None,
               username: str | None = None) -> tuple[dict[str, Any], str | None]:
    """A new client record (administrator or keyworker), optionally with a login: (the client, a
    temporary password shown once, or None). A keyworker's new client joins their own caseload."""
    password = None
    user_id = None
    username = (username or "").strip()
    if username:
        policy.require(viewer, "clients.create")
        _check_username(username)
        password = temporary_password()
        try:
            user = accounts.create_user(db, username, password, policy.CLIENT, preferred_name.strip() or username)
        except AlreadyExists as exc:
            raise InvalidInput("username", "That username is taken. Choose another.") from exc
        user.must_change_password = True
        user_id = user.id
    client = clients.create_client(db, viewer, preferred_name=preferred_name, pronouns=pronouns,
                                   nhs_number=nhs_number, keyworker_id=keyworker_id or None, user_id=user_id)
    if keyworker_id and policy.may(viewer, "clients.assign"):
        audit.record(db, actor(viewer), "client.assign", client_id=client["id"],
                     detail={"relation": "keyworker", "staff_user_id": str(keyworker_id), "previous": None})
    if clinician_id:
        assign(db, viewer, client["id"], "prescriber", clinician_id)
    return client, password


def assign(db: Session, viewer: Principal, client_id: Any, relation: str, staff_user_id: Any) -> dict[str, Any]:
    """Make `staff_user_id` this client's keyworker or prescribing clinician. The open assignment of
    that kind to anyone else ends (reassignment); the change is an audit event."""
    policy.require(viewer, "clients.assign")
    if relation not in RELATIONS:
        raise InvalidInput("relation", "Choose keyworker or prescribing clinician.")
    cid = _parse(client_id, "client")
    if db.execute(select(Client.id).where(Client.id == cid, policy.client_scope(viewer))).first() is None:
        raise NotFound("There is no such client.")
    sid = _parse(staff_user_id, "account")
    staff = db.execute(select(User).where(User.id == sid, policy.staff_scope(viewer),
                                          User.role.in_(policy.assignable_roles(relation)),
                                          User.is_active.is_(True))).scalar_one_or_none()
    if staff is None:
        raise InvalidInput("staff_user_id", "Choose someone from the list.")
    current = db.execute(select(CaseloadAssignment).where(
        CaseloadAssignment.client_id == cid, CaseloadAssignment.relation == relation,
        CaseloadAssignment.ended_at.is_(None)).with_for_update()).scalars().all()
    previous = [str(a.staff_user_id) for a in current if a.staff_user_id != sid]
    if not previous and any(a.staff_user_id == sid for a in current):
        return {"client_id": str(cid), "relation": relation, "staff_user_id": str(sid), "changed": False}
    now = utcnow()
    for a in current:
        if a.staff_user_id != sid:
            a.ended_at = now
    clients.assign_staff(db, cid, sid, relation)
    audit.record(db, actor(viewer), "client.assign", client_id=cid,
                 detail={"relation": relation, "staff_user_id": str(sid), "previous": previous or None})
    db.flush()
    return {"client_id": str(cid), "relation": relation, "staff_user_id": str(sid), "changed": True}


def clients_with_team(db: Session, viewer: Principal) -> list[dict[str, Any]]:
    """Every client an administrator reaches, with their current keyworker and clinician by name
    (no date of birth, NHS number or plan details)."""
    policy.require(viewer, "clients.assign")
    kw, dr = aliased(CaseloadAssignment), aliased(CaseloadAssignment)
    kwu, dru = aliased(User), aliased(User)
    rows = db.execute(
        select(Client.id, Client.client_reference, Client.preferred_name, Client.pronouns,
               kwu.display_name.label("keyworker"), dru.display_name.label("clinician"))
        .outerjoin(kw, and_(kw.client_id == Client.id, kw.relation == "keyworker", kw.ended_at.is_(None)))
        .outerjoin(kwu, kwu.id == kw.staff_user_id)
        .outerjoin(dr, and_(dr.client_id == Client.id, dr.relation == "prescriber", dr.ended_at.is_(None)))
        .outerjoin(dru, dru.id == dr.staff_user_id)
        .where(policy.client_scope(viewer))
        .order_by(Client.preferred_name, Client.id)
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        item = out.setdefault(str(r.id), {"id": str(r.id), "client_reference": r.client_reference,
                                          "preferred_name": r.preferred_name, "pronouns": r.pronouns,
                                          "keyworkers": [], "clinicians": []})
        if r.keyworker and r.keyworker not in item["keyworkers"]:
            item["keyworkers"].append(r.keyworker)
        if r.clinician and r.clinician not in item["clinicians"]:
            item["clinicians"].append(r.clinician)
    return list(out.values())


def client_team(db: Session, viewer: Principal, client_id: Any) -> dict[str, Any]:
    """One client (administrator's view: no clinical identity) with the ids of their current team."""
    policy.require(viewer, "clients.assign")
    cid = _parse(client_id, "client")
    client = db.execute(select(Client).where(Client.id == cid, policy.client_scope(viewer))).scalar_one_or_none()
    if client is None:
        raise NotFound("There is no such client.")
    team = db.execute(select(CaseloadAssignment.relation, CaseloadAssignment.staff_user_id).where(
        CaseloadAssignment.client_id == cid, CaseloadAssignment.ended_at.is_(None))).all()
    return {"id": str(client.id), "client_reference": client.client_reference,
            "preferred_name": client.preferred_name, "pronouns": client.pronouns,
            "keyworker_id": next((str(t.staff_user_id) for t in team if t.relation == "keyworker"), ""),
            "clinician_id": next((str(t.staff_user_id) for t in team if t.relation == "prescriber"), "")}


def care_team(db: Session, viewer: Principal) -> list[dict[str, str]]:
    """"Who works with me": the client's own current keyworker and prescribing clinician, by name."""
    policy.require(viewer, "care_team.read")
    rows = db.execute(
        select(CaseloadAssignment.relation, User.display_name, CaseloadAssignment.created_at)
        .join(User, User.id == CaseloadAssignment.staff_user_id)
        .join(Client, Client.id == CaseloadAssignment.client_id)
        .where(policy.client_scope(viewer), CaseloadAssignment.ended_at.is_(None), User.is_active.is_(True))
        .order_by(CaseloadAssignment.relation, User.display_name)  # keyworker first, then prescriber
    ).all()
    audit.record(db, actor(viewer), "care_team.read", detail={"count": len(rows)})
    return [{"relation": vocab.STAFF_RELATIONS.words(r.relation), "name": r.display_name,
             "since": r.created_at.date().isoformat()} for r in rows]
