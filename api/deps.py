"""Small pieces shared by handlers: the unit of work and the If-Match version."""

from __future__ import annotations

import logging
import re
import time
from typing import Callable, TypeVar

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, HTTPException
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from careplans.errors import DomainError

T = TypeVar("T")
# The database session advanced-alchemy's plugin provides, named explicitly (Litestar 3
# drops dependencies inferred from a parameter's name).
DbSession = NamedDependency[Session]
log = logging.getLogger("careplans")
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock (PostgreSQL)


class PreconditionRequired(HTTPException):
    status_code = 428


def transact(db: Session, work: Callable[[], T], attempts: int = 4) -> T:
    """Run `work` in one transaction and commit it; roll back on error.

    Domain errors that carry an audit row worth keeping (a refused write, a failed
    login) commit before they propagate. PostgreSQL serialization failures and
    deadlocks are retried a few times with a short back-off.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.commit()
            # Release the connection now: on SQLite a transaction reopened by a stray
            # attribute load would hold the write lock the session store needs next.
            db.close()
            return result
        except DomainError as exc:
            if exc.commit:
                db.commit()
            else:
                db.rollback()
            db.close()
            raise
        except DBAPIError as exc:
            db.rollback()
            if retryable(exc) and attempt < attempts:
                log.info("retrying transaction after sqlstate %s (attempt %d)", _sqlstate(exc), attempt)
                time.sleep(0.02 * attempt)
                continue
            raise
        except BaseException:
            db.rollback()
            db.close()
            raise
    raise RuntimeError("unreachable")  # pragma: no cover


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def retryable(exc: DBAPIError) -> bool:
    """A PostgreSQL serialization failure or deadlock: the transaction may simply run again."""
    return _sqlstate(exc) in RETRYABLE_SQLSTATES


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def if_match_version(request: Request) -> int:
    """The plan version a write was based on, from If-Match. Missing → 428."""
    raw = request.headers.get("if-match")
    if raw is None or not raw.strip():
        raise PreconditionRequired(
            'Send If-Match with the plan version your change is based on, for example If-Match: "3".'
        )
    m = _ETAG.match(raw)
    if not m:
        raise ClientException('If-Match must be a plan version, for example "3".')
    return int(m.group(1))


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
