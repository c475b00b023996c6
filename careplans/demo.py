"""Demo accounts and plans that read like real ones. Loading is idempotent.

All demo accounts use the password `demo-password`. Names are invented.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans.policy import Principal
from careplans.models import User
from careplans import commands
from careplans.services import accounts, choices, clients, goals

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    ("demo-client", "client", "Jordan"),
    ("demo-client2", "client", "Kerry"),
    ("demo-keyworker", "keyworker", "Sam Okafor"),
    ("demo-keyworker2", "keyworker", "Priya Shah"),
    ("demo-clinician", "clinician", "Dr Alex Morgan"),
    ("demo-auditor", "auditor", "Chris Lane (audit)"),
    ("demo-admin", "admin", "Robin Hale (admin)"),
]


def demo_logins() -> list[tuple[str, str]]:
    return [(u, role) for u, role, _ in DEMO_USERS]


def load_demo(db: Session, today: dt.date | None = None) -> bool:
    """Create the demo accounts, caseloads and plans. Returns False if they already exist."""
    if db.execute(select(User.id).where(User.username == "demo-admin")).first():
        return False
    today = today or dt.date.today()
    users = {}
    for username, role, name in DEMO_USERS:
        licence = "HO-DEMO-0001" if role == "clinician" else None
        users[username] = accounts.create_user(db, username, DEMO_PASSWORD, role, name, licence, check_strength=False)

    def as_viewer(username: str) -> Principal:
        u = users[username]
        return Principal(id=u.id, role=u.role, name=u.display_name)

    kw, kw2, client_v, client2_v = (as_viewer(n) for n in ("demo-keyworker", "demo-keyworker2", "demo-client",
                                                              "demo-client2"))
    jordan = clients.create_client(db, kw, preferred_name="Jordan", date_of_birth=dt.date(1986, 4, 12),
                                   pronouns="he/him", nhs_number="9434765919", user_id=users["demo-client"].id)
    kerry = clients.create_client(db, kw2, preferred_name="Kerry", date_of_birth=dt.date(1979, 9, 3),
                                  pronouns="she/her", user_id=users["demo-client2"].id)
    import uuid

    clients.assign_staff(db, uuid.UUID(jordan["id"]), users["demo-clinician"].id, "prescriber")

    plan = commands.create_plan(db, kw, jordan["id"], today=today)
    pid, v = plan.id, plan.version
    v = goals.patch_plan(db, client_v, pid, v, {
        "what_matters": "My daughter, and getting back to football on Sundays.",
        "strengths": "I'm stubborn in a good way. I've stopped before and I know what it takes.",
        "what_helps": "Being told straight. Texts, not phone calls, before 10am.",
        "what_does_not_help": "Being talked about as if I'm not in the room.",
        "contact_preferences": "Text me first. Call me Jordan.",
    }, None).version
    v = goals.patch_plan(db, kw, pid, v, None, {"naloxone": {"offered": True, "offered_on": today.isoformat(),
                                                            "supplied": True, "product": "nyxoid",
                                                            "supplied_on": today.isoformat(),
                                                            "supplied_by": "Sam Okafor", "peer_supply": False}},
                         (today + dt.timedelta(days=90)).isoformat()).version
    r, g1 = goals.add_goal(db, client_v, pid, v, {
        "title": "Get my own place with a lock on the door",
        "why": "So my daughter can stay over at weekends.",
        "area": "social_functioning",
        "steps": [{"text": "Fill in the housing form together", "who_helps": "Sam", "when": "next Tuesday"},
                  {"text": "Ask the GP for a support letter", "who_helps": "me", "when": "this month"}],
        "target_date": (today + dt.timedelta(days=120)).isoformat(),
    })
    v = r.version
    r, g2 = goals.add_goal(db, client_v, pid, v, {
        "title": "Stay on a steady dose and stop topping up",
        "why": "I want my mornings back.",
        "area": "drug_alcohol_use",
        "target_date": (today + dt.timedelta(days=60)).isoformat(),
    })
    v = r.version
    r, _ = goals.add_check_in(db, client_v, pid, g1.id, v, 4, "Form half done. Waiting on ID.")
    v = r.version
    r, _ = goals.add_check_in(db, client_v, pid, g2.id, v, 6, "Only topped up once this fortnight.")
    v = r.version
    v = choices.set_substances(db, client_v, pid, v, ["opioids"]).version

    plan2 = commands.create_plan(db, kw2, kerry["id"], today=today)
    v2 = goals.patch_plan(db, client2_v, plan2.id, plan2.version, {
        "what_matters": "Keeping my job at the bakery.",
        "what_helps": "Appointments after 3pm so I don't miss shifts.",
    }, None).version
    v2 = choices.set_substances(db, client2_v, plan2.id, v2, ["alcohol"]).version
    goals.add_goal(db, client2_v, plan2.id, v2, {
        "title": "Cut down drinking on work nights",
        "why": "Early starts are hard after a drink.",
        "area": "drug_alcohol_use",
        "status": "active",
    })
    db.flush()
    return True
