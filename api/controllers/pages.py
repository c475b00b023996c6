"""HTML pages (server-rendered, work without JavaScript). Routes are listed in PAGE_ROUTES."""

from __future__ import annotations

PAGE_ROUTES: list = []
