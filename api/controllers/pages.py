"""HTML pages (server-rendered, work without JavaScript). Routes are listed in PAGE_ROUTES.

The pages live in api/controllers/pages_*.py, one module per part of the service:
- pages_session: log in and out, the start page for each role, caseload, My plan
- pages_plan:    the plan, earlier versions, history and differences, agreement, review date, who viewed
- pages_about:   About me (with "we see this differently" and the merge page)
- pages_goals:   goals, the progress chart and check-ins
- pages_options:      talking about treatment options (the choice ledger)
- pages_prescribing:  the clinician's prescribing queue and review
- pages_staying_safe: naloxone, needles and syringes, blood-borne viruses, times of higher risk

Forms POST to these HTML routes and redirect (303) on success. Each form carries the plan
version it started from (`based_on`); when someone else saved first the page shows what
the person typed beside what is saved now, so nothing is lost or silently overwritten.
"""

from __future__ import annotations

from api.controllers import (
    pages_about,
    pages_admin_unlock,
    pages_goals,
    pages_options,
    pages_plan,
    pages_prescribing,
    pages_session,
    pages_staying_safe,
)

PAGE_ROUTES: list = [*pages_session.ROUTES, *pages_plan.ROUTES, *pages_about.ROUTES, *pages_goals.ROUTES,
                     *pages_options.ROUTES, *pages_prescribing.ROUTES, *pages_staying_safe.ROUTES,
                     *pages_admin_unlock.ROUTES]
