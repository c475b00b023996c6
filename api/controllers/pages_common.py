"""What the HTML page handlers share: guards, responses and loading a plan for a page.

Every handler does all its database work inside one `transact` call (or a few, each
closed) and hands templates plain dicts only: no ORM object outlives its transaction.
"""

from __future__ import annotations

from typing import Any

from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

import msgspec

from api.guards import READERS, SIGNED_IN, WRITERS  # noqa: F401 - the guards pages use, in one place
from careplans import policy, queries
from careplans.errors import NotFound
from careplans.policy import Principal
from careplans.services import clients
from careplans.views import People, changed_since_i_agreed, last_signed_by_role, my_signature

ANYONE = SIGNED_IN

SAVED_MESSAGES = {
    "about-me": "About me is saved.",
    "goal": "The goal is saved.",
    "check-in": "The check-in is saved.",
    "signed": "Your signature is saved against this version.",
    "review-date": "The next review date is saved.",
    "nothing": "Nothing had changed, so no new version was made.",
    "plan-started": "The plan is started. Write it together, then both sign it.",
    "feedback": "Thank you. Your answers are saved.",
    "feedback-skipped": "That’s fine. We won’t ask again until your plan changes.",
}

# After a save on the treatment options, prescribing and staying safe pages (?saved=<key>);
# one set for the three, as when they were one module.
SAVED = {
    "choice": "What you talked about is saved in the plan.",
    "substances": "What the plan is about is saved. The options for it are listed first.",
    "staying-safe": "Staying safe is saved.",
    "nothing": "Nothing had changed, so no new version was made.",
    "decision": "The prescribing decision is saved against that plan version.",
}


def page(template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=template, context=context, status_code=status_code)


def see_other(path: str) -> Redirect:
    """After a successful POST: go to a page with GET (so a refresh never posts twice)."""
    return Redirect(path=path, status_code=303)


def saved_message(key: str | None) -> str | None:
    return SAVED_MESSAGES.get(key or "")


def people_for(viewer: Principal, client_name: str) -> People:
    party = policy.signs_as(viewer) if policy.may(viewer, "plans.sign") else ""
    return People(viewer_role=viewer.role, viewer_name=viewer.name, client_name=client_name, party=party)


def plain(view: Any) -> Any:
    """A presented view (careplans.present) as plain values for the page templates."""
    return msgspec.to_builtins(view)


def load_plan(db: Session, viewer: Principal, plan_id: str, *, audited: bool = True,
              signatures: bool = False) -> dict[str, Any]:
    """The current plan, its client and (optionally) who signed what, as plain values.

    read_plan checks the viewer may see the plan (404 otherwise) before anything else
    is read; call inside transact.
    """
    plan = plain(queries.read_plan(db, viewer, plan_id, audited=audited))
    client = clients.get_client(db, viewer, plan["client_id"])
    context: dict[str, Any] = {
        "plan": plan,
        "client": client,
        "people": people_for(viewer, client["preferred_name"]),
        "can_write": policy.may(viewer, "plans.write"),
    }
    if signatures:
        context["signatures"] = queries.list_signatures(db, queries.parse_id(plan["id"]))
    return context


def agreement_context(plan: dict[str, Any], viewer: Principal, signatures: list[dict[str, Any]] | None) -> dict[str, Any]:
    agreement = plan["agreement"]
    return {
        "my_signed_version": my_signature(agreement, viewer.role),
        "changed_since_i_agreed": changed_since_i_agreed(agreement, viewer.role),
        "latest_signatures": last_signed_by_role(signatures or []),
    }


def find_goal(plan: dict[str, Any], goal_id: str) -> dict[str, Any]:
    for goal in plan.get("goals", []):
        if goal["id"] == goal_id:
            return goal
    raise NotFound("There is no such goal in this plan.")
