"""HTML pages for treatment options and the clinician's prescribing review. Routes in ROUTES."""

from __future__ import annotations

ROUTES: list = []
