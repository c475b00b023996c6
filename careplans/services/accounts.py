"""Accounts: creating users and checking passwords, with lock-out after repeated failures."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans import audit
from careplans.services import throttle
from careplans.audit import Actor
from careplans.errors import AlreadyExists, InvalidInput, LoginFailed, LoginThrottled
from careplans.models import ROLES, User, utcnow
from careplans.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password



def create_user(db: Session, username: str, password: str, role: str, display_name: str,
                home_office_licence: str | None = None, *, check_strength: bool = True,
                password_hash: str | None = None) -> User:
    """A new account. `password_hash`: an argon2 hash of `password` already made (demo data
    that gives many accounts one password hashes it once)."""
    if role not in ROLES:
        raise InvalidInput("role", f"Role must be one of: {', '.join(ROLES)}.")
    if check_strength and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if db.execute(select(User.id).where(User.username == username)).first():
        raise AlreadyExists("That username is taken.")
    user = User(username=username, password_hash=password_hash or hash_password(password), role=role, display_name=display_name,
                home_office_licence=home_office_licence)
    db.add(user)
    db.flush()
    audit.record(db, Actor(None, "system"), "user.create", detail={"user_id": str(user.id), "role": role})
    return user


def authenticate(db: Session, username: str, password: str, now: dt.datetime | None = None,
                 address: str | None = None) -> User:
    """The user, or LoginFailed / LoginThrottled. Throttling (careplans.services.throttle) is
    decided before the account is looked up, so it answers alike for every username."""
    now = now or utcnow()
    attempt = throttle.keys(username, address)
    try:
        throttle.check(db, attempt, now)
    except LoginThrottled:
        audit.record(db, Actor(None, None), "login.throttled", detail={})
        raise
    user = db.execute(select(User).where(User.username == username).with_for_update()).scalar_one_or_none()
    if user is None or not user.is_active:
        verify_password(None, password)  # same cost as a real check
        throttle.record_failure(db, attempt, now)
        audit.record(db, Actor(None, None), "login.failed", detail={"reason": "unknown_or_inactive"})
        raise LoginFailed("That username and password did not match.")
    if not verify_password(user.password_hash, password):
        throttle.record_failure(db, attempt, now)
        audit.record(db, Actor(str(user.id), user.role), "login.failed", detail={"reason": "password"})
        raise LoginFailed("That username and password did not match.")
    throttle.record_success(db, attempt)
    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(db, Actor(str(user.id), user.role), "login.ok", detail={})
    db.flush()
    return user


def get_active_user(db: Session, user_id: str) -> User | None:
    try:
        uid = uuid.UUID(str(user_id))
    except ValueError:
        return None
    return db.execute(select(User).where(User.id == uid, User.is_active.is_(True))).scalar_one_or_none()


def unlock(db: Session, actor: Actor, username: str) -> int:
    """Let a person try again now: forget the delays on their username, from every address.
    Who may do this is the policy's `staff.unlock`, checked at the edge."""
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    # Delays are kept per username as typed, whether or not the account exists.
    cleared = throttle.unlock(db, username)
    if user is not None:
        user.failed_logins = 0
        user.locked_until = None
    audit.record(db, actor, "login.unlock",
                 detail={"user_id": str(user.id) if user else None, "keys": cleared})
    return cleared
