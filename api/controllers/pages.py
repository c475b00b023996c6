"""HTML pages (server-rendered, work without JavaScript). Routes are listed in PAGE_ROUTES.

The pages live in api/controllers/pages_*.py, one module per part of the service:
- pages_session: log in and out, the start page for each role, caseload, My plan
- pages_plan:    the plan, earlier versions, history and differences, agreement, review date, who viewed
- pages_about:   About me (with "we see this differently" and the merge page)
- pages_goals:   goals, the progress chart and check-ins
- pages_options:      talking about treatment options (the choice ledger)
- pages_prescribing:  the clinician's prescribing queue and review
- pages_staying_safe: naloxone, needles and syringes, blood-borne viruses, times of higher risk
- pages_shares:  share my plan (PDF copies, previews, links), the recipient's passcode page is in controllers/shares
- pages_assessments:  questionnaires one part at a time, who sees each answer, outcomes over time
- pages_reports:      the auditor's reports (checklists, service figures, sample, "was I heard?", audit log)
                      and the client's "was I heard?" questions
- pages_episode:      the treatment episode's dates for the national return (referral, triage,
                      interventions, leaving treatment, consent to report)
- pages_admin:        the administrator's home (staff accounts, clients and their team), adding a
                      person, "Who works with me", choosing your own password

Forms POST to these HTML routes and redirect (303) on success. Each form carries the plan
version it started from (`based_on`); when someone else saved first the page shows what
the person typed beside what is saved now, so nothing is lost or silently overwritten.
"""

from __future__ import annotations

from api.controllers import (
    pages_about,
    pages_assessments,
    pages_admin,
    pages_episode,
    pages_admin_unlock,
    pages_exports,
    pages_goals,
    pages_options,
    pages_plan,
    pages_reports,
    pages_prescribing,
    pages_shares,
    pages_session,
    pages_staying_safe,
)

PAGE_ROUTES: list = [*pages_session.ROUTES, *pages_plan.ROUTES, *pages_about.ROUTES, *pages_goals.ROUTES,
                     *pages_options.ROUTES, *pages_prescribing.ROUTES, *pages_staying_safe.ROUTES,
                     *pages_shares.ROUTES, *pages_assessments.ROUTES, *pages_reports.ROUTES, *pages_admin.ROUTES,
                     *pages_admin_unlock.ROUTES, *pages_exports.ROUTES, *pages_episode.ROUTES]
