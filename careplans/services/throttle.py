"""Login throttling: growing delays per address, per username and per (username, address).

Not a hard lock-out: a lock anyone can trigger lets anyone lock a real person out. Instead
each key earns a few free failures, then a delay that doubles with every further failure,
up to a cap. A person logging in from elsewhere is held back only by the per-username key,
whose allowance is large (it is there against slow guessing from many addresses).

Keys are hashes of the username as typed (people sometimes type a password into the
username box) and of the address; they never depend on whether the account exists, so
a known and an unknown username get the same answers, statuses and timings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from careplans.errors import LoginThrottled
from careplans.models import LoginThrottle, utcnow


@dataclass(frozen=True)
class Rule:
    kind: str
    free_failures: int  # failures answered at once; after the last of them a delay starts
    first_delay_seconds: int  # the first delay; each further failure doubles it
    max_delay_seconds: int


# The rules as data. "pair" slows one guesser at one account; "addr" slows one address
# guessing across accounts; "acct" slows many addresses guessing at one account.
RULES = (
    Rule("pair", free_failures=5, first_delay_seconds=30, max_delay_seconds=15 * 60),
    Rule("addr", free_failures=30, first_delay_seconds=60, max_delay_seconds=60 * 60),
    Rule("acct", free_failures=100, first_delay_seconds=60, max_delay_seconds=15 * 60),
)
RULE = {r.kind: r for r in RULES}
# Failures older than this, with no delay running, are forgotten.
WINDOW = dt.timedelta(hours=1)


def _h(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def username_key(username: str) -> str:
    return _h(username.strip().lower())


def keys(username: str, address: str | None) -> dict[str, str]:
    """kind → key for this attempt."""
    user = username_key(username)
    addr = _h(address or "unknown")
    return {"pair": f"pair:{user}:{addr}", "addr": f"addr:{addr}", "acct": f"acct:{user}"}


def minutes_words(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def check(db: Session, attempt_keys: dict[str, str], now: dt.datetime | None = None) -> None:
    """Raise LoginThrottled if any key is in a delay (before the password is looked at)."""
    now = now or utcnow()
    rows = db.execute(select(LoginThrottle).where(LoginThrottle.key.in_(attempt_keys.values()))).scalars().all()
    waits = [(row.blocked_until - now).total_seconds() for row in rows
             if row.blocked_until is not None and row.blocked_until > now]
    if waits:
        seconds = math.ceil(max(waits))
        raise LoginThrottled(f"Too many attempts. Try again in {minutes_words(seconds)}, "
                             "or ask an administrator to let you in sooner.", retry_after=seconds)


def _row_for_update(db: Session, key: str, now: dt.datetime) -> LoginThrottle:
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.execute(insert(LoginThrottle).values(key=key, failures=0, first_failure_at=now)
               .on_conflict_do_nothing(index_elements=["key"]))
    return db.execute(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()).scalar_one()


def record_failure(db: Session, attempt_keys: dict[str, str], now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    for kind, key in attempt_keys.items():
        rule = RULE[kind]
        row = _row_for_update(db, key, now)
        if row.failures and row.first_failure_at < now - WINDOW and not (
                row.blocked_until and row.blocked_until > now):
            row.failures = 0
            row.first_failure_at = now
        row.failures += 1
        over = row.failures - rule.free_failures  # 0 at the last free failure: the delay starts
        if over >= 0:
            delay = min(rule.max_delay_seconds, rule.first_delay_seconds * 2 ** min(over, 20))
            row.blocked_until = now + dt.timedelta(seconds=delay)
    db.flush()


def record_success(db: Session, attempt_keys: dict[str, str]) -> None:
    """The person proved who they are: forget their username's failures (not the address's)."""
    db.execute(delete(LoginThrottle).where(LoginThrottle.key.in_([attempt_keys["pair"], attempt_keys["acct"]])))


def unlock(db: Session, username: str) -> int:
    """Forget every delay on this username, from every address. The number of keys cleared."""
    user = username_key(username)
    result = db.execute(delete(LoginThrottle).where(
        (LoginThrottle.key == f"acct:{user}") | LoginThrottle.key.like(f"pair:{user}:%")))
    return result.rowcount or 0


def delete_expired(db: Session, now: dt.datetime | None = None) -> int:
    """Rows with no delay running and no failure within the window: nothing to remember."""
    now = now or utcnow()
    result = db.execute(delete(LoginThrottle).where(
        LoginThrottle.first_failure_at < now - WINDOW,
        (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < now)))
    return result.rowcount or 0
