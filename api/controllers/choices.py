"""Treatment choices, the option catalogue and prescribing review (JSON API). Routes in ROUTES."""

from __future__ import annotations

ROUTES: list = []
