"""The server-side session table, at the web edge.

`SessionModelMixin` comes from advanced-alchemy's Litestar extension, and importing
it loads Litestar; `careplans/` never imports Litestar, so the model lives here. It
is on the same metadata as the domain's models (advanced-alchemy's `DefaultBase`
registry), so Alembic and `tests/integration/test_migrations.py` see the same
`user_sessions` table as before: `migrations/env.py` imports this module.
"""

from __future__ import annotations

from advanced_alchemy.extensions.litestar.session import SessionModelMixin


class UserSession(SessionModelMixin):
    """Server-side session rows, shared by every app process."""

    __tablename__ = "user_sessions"
