"""Domain errors. The web edge maps each to its HTTP status; the domain never knows HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any


class DomainError(Exception):
    status_hint = 400
    # True when the transaction should still be committed (it holds an audit row
    # worth keeping, such as a refused write or a failed login).
    commit = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The record does not exist, or the caller may not know it exists."""

    status_hint = 404


class NotAllowed(DomainError):
    status_hint = 403


class InvalidInput(DomainError):
    status_hint = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.errors = [{"field": field, "message": message}]


def date_or_refuse(value: Any, field: str, message: str) -> dt.date:
    """A date given as a date or an ISO string (YYYY-MM-DD), or InvalidInput(field, message).
    Each caller applies its own bounds after."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(field, message) from exc


class AuditUnavailable(DomainError):
    """A read's audit row could not be committed: the read is not answered (try again)."""

    status_hint = 503
    retry_after = 5

    def __init__(self, detail: str = "The service cannot record this access just now, so it cannot show it. "
                                     "Try again in a few seconds.") -> None:
        super().__init__(detail)


class AlreadyExists(DomainError):
    status_hint = 409


class VersionConflict(DomainError):
    """The write was based on a version that is no longer current."""

    status_hint = 409
    commit = True

    def __init__(self, current_version: int, your_version: int, current: dict[str, Any]) -> None:
        super().__init__(
            f"Someone else saved this plan first (now version {current_version}; your change was based on "
            f"version {your_version}). Nothing of yours was lost: compare both and save again."
        )
        self.current_version = current_version
        self.your_version = your_version
        self.current = current


class LoginFailed(DomainError):
    status_hint = 401
    commit = True


class LoginLocked(DomainError):
    status_hint = 429
    commit = True


class LoginThrottled(LoginLocked):
    """Too many failed logins from this address or for this username: try again later."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class RuleViolation(DomainError):
    """A proposal broke a rule (errors), or has warnings nobody has acknowledged yet.

    `errors` and `warnings` are lists of {"code", "field", "message", "source"}; the
    web edge puts both in the problem body."""

    status_hint = 422

    def __init__(self, errors: list[dict[str, Any]] | None = None, warnings: list[dict[str, Any]] | None = None,
                 detail: str | None = None, acknowledged: list[dict[str, Any]] | None = None) -> None:
        self.errors = list(errors or [])
        self.warnings = list(warnings or [])
        # Warnings already acknowledged in this attempt (for pages that show the form again).
        self.acknowledged = list(acknowledged or [])
        if detail is None:
            if self.errors:
                detail = "This cannot be recorded as it stands: see the errors."
            else:
                detail = "Some checks need you to look again: acknowledge each warning with a reason, or change the prescription."
        super().__init__(detail)
