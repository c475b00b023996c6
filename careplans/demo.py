"""Demo accounts and plans that read like real ones. Loading is idempotent.

All demo accounts use the password `demo-password`. Names are invented.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans.policy import Principal
from careplans.models import User
from careplans import assessments, commands
from careplans.assessments import AnswerInput
from careplans.errors import RuleViolation
from careplans.services import accounts, choices, clients, episodes, goals, prescribing

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
    v = _demo_assessments(db, client_v, kw, pid, v, today)
    # Jordan shares his plan: a live link for his GP, and a pharmacy link he stopped.
    from careplans import shares

    shares.create_share(db, client_v, pid, "gp")
    stopped = shares.create_share(db, client_v, pid, "pharmacy")
    shares.revoke_share(db, client_v, stopped.id)

    # Prescribing: Jordan talked through methadone and wanted it; Dr Morgan approved it,
    # going ahead past a warning with a reason. Later Jordan asked about the weekly
    # injection, so his plan waits in the clinician's queue for a review.
    clinician = as_viewer("demo-clinician")
    r, _ = choices.add_choice(db, kw, pid, v, {
        "option": "methadone", "information_given": True, "information_format": "conversation",
        "discussed_on": (today - dt.timedelta(days=14)).isoformat(),
        "client_view": "I've been on it before and it kept me steady.", "preference": "preferred",
        "outcome": "chosen"})
    v = r.version
    try:
        prescribing.decide(db, clinician, pid, _methadone(v))
    except RuleViolation as exc:  # the rules' warnings, acknowledged with a reason as a clinician would
        prescribing.decide(db, clinician, pid, _methadone(v, [
            {"code": w["code"], "reason": "Known to the service: took 40 mg a day steadily last year, with no problems."}
            for w in exc.warnings]))
    r, _ = choices.add_choice(db, client_v, pid, v, {
        "option": "buvidal", "information_given": True, "information_format": "leaflet",
        "discussed_on": today.isoformat(),
        "client_view": "I can't get to the chemist every day once I'm back at work.", "preference": "preferred"})
    v = r.version

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

    # A third person, without a login of their own, who would like to start buprenorphine:
    # a second review waiting in the clinician's queue.
    dee = clients.create_client(db, kw, preferred_name="Dee", date_of_birth=dt.date(1992, 1, 20), pronouns="she/her")
    clients.assign_staff(db, uuid.UUID(dee["id"]), users["demo-clinician"].id, "prescriber")
    plan3 = commands.create_plan(db, kw, dee["id"], today=today)
    choices.add_choice(db, kw, plan3.id, plan3.version, {
        "option": "buprenorphine", "information_given": True, "information_format": "easy_read",
        "discussed_on": today.isoformat(), "client_view": "My friend takes it and still has a clear head.",
        "preference": "preferred"})
    _episode_for(db, kw, jordan["id"], today, 120, 110, True, (("pharmacological", 90), ("psychosocial", 90)))
    _episode_for(db, kw2, kerry["id"], today, 10, 7, None, (("psychosocial", 3),))
    _episode_for(db, kw, dee["id"], today, 5, 3, True)
    db.flush()
    load_report_demo(db, users, today)
    return True


def _answers(visibility: str | None, **values) -> list[AnswerInput]:
    out = []
    for code, value in values.items():
        if value in ("prefer_not_to_say", "not_now"):
            out.append(AnswerInput(question=code, status=value, visibility=visibility))
        else:
            out.append(AnswerInput(question=code, value=value, visibility=visibility))
    return out


def _demo_assessments(db: Session, client_v: Principal, kw: Principal, pid: str, v: int, today: dt.date) -> int:
    """Jordan's "what helps me feel safe" (one "not now", one "prefer not to say", one
    answer kept to himself), TOP at the start and at a review three months later, and
    BARC-10 twice, so the charts show change."""
    safe = [
        *_answers("me_and_keyworker", worker_preference="lived_experience",
                  worker_preference_words="Someone who won't look shocked.",
                  distress_signs="I go quiet and stop making eye contact.",
                  distress_helps="Give me a minute and a glass of water. Don't crowd me.",
                  hard_closed_doors=True, hard_retelling=True, people_involved="My sister Dee, when I say so."),
        *_answers("care_team", safer_places="A room with the door open, near the exit."),
        *_answers("shareable", safer_times="Mornings, before 11."),
        *_answers("only_me", hard_other="Being in a room with the blinds down."),
        *_answers(None, hard_touch="prefer_not_to_say", talk_about_past="not_now"),
    ]
    v = assessments.start_assessment(db, client_v, pid, v, "feel_safe", safe,
                                     taken_on=today - dt.timedelta(days=90)).plan_version
    top = {
        "start": dict(days_alcohol=8, days_opioids=20, days_crack=6, days_cocaine=0, days_amphetamines=0,
                      days_cannabis=12, other_substance="not_now", days_other=0, days_injected=14,
                      shared_needles=False, shared_paraphernalia=True, days_shoplifting=4, days_selling=0,
                      days_vehicle_theft=0, days_other_theft=0, assault=False, psychological_health=6,
                      physical_health=8, quality_of_life=5, days_paid_work=0, days_education=0,
                      acute_housing_problem=True, eviction_risk=False),
        "review": dict(days_alcohol=6, days_opioids=4, days_crack=1, days_cocaine=0, days_amphetamines=0,
                       days_cannabis=10, other_substance="not_now", days_other=0, days_injected=3,
                       shared_needles=False, shared_paraphernalia=False, days_shoplifting=0, days_selling=0,
                       days_vehicle_theft=0, days_other_theft=0, assault=False, psychological_health=11,
                       physical_health=12, quality_of_life=12, days_paid_work=0, days_education=4,
                       acute_housing_problem=True, eviction_risk=False),
    }
    for stage, when in (("start", today - dt.timedelta(days=90)), ("review", today)):
        v = assessments.start_assessment(db, kw, pid, v, "top", _answers("care_team", **top[stage]), stage=stage,
                                         taken_on=when).plan_version
    codes = ("important_things", "happy_with_life", "energy", "community", "support_friends", "fulfilling",
             "living_space", "responsibility", "professionals", "progress")
    for when, ratings in ((today - dt.timedelta(days=90), "4334233443"), (today, "5443344554")):
        v = assessments.start_assessment(db, kw, pid, v, "barc10",
                                         _answers("me_and_keyworker", **dict(zip(codes, ratings))),
                                         taken_on=when).plan_version
    return v
# --- plans for the assurance reports ------------------------------------------------------------

_REPORT_NAMES = ("Alex", "Bea", "Cal", "Dee", "Eli", "Fran", "Gus", "Hana", "Ivo", "Jas", "Kit", "Lou", "Mo",
                 "Nia", "Oz", "Pat", "Quinn", "Rae", "Sol", "Tam", "Uma", "Vic", "Wren", "Xan", "Yas", "Zed",
                 "Ash", "Bo")
_REPORT_MIXES = (
    # (option, information given, preference, outcome, reason) per conversation
    (("harm_reduction", True, None, "chosen", None), ("methadone", True, "preferred", "chosen", None),
     ("buprenorphine", True, "open", "declined", "Tried it before and felt sick"),
     ("detox", True, "not_preferred", "declined", "Not now, maybe next year"),
     ("abstinence_support", True, None, "undecided", None)),
    (("buprenorphine", True, "preferred", None, None), ("methadone", True, "open", None, None),
     ("harm_reduction", True, None, "chosen", None)),
    (("hat", True, "preferred", "not_available", "Not provided by this service"),
     ("methadone", True, "open", "chosen", None), ("harm_reduction", True, None, "chosen", None),
     ("detox", True, None, "declined", "Wants to stabilise first")),
    (("buvidal", True, "preferred", None, None), ("buprenorphine", True, "open", None, None)),
    (("detox", True, "preferred", "chosen", None), ("abstinence_support", True, "preferred", "chosen", None),
     ("residential_rehab", True, "open", "not_suitable", "Needs a detox first"),
     ("naltrexone", True, "open", "undecided", None), ("harm_reduction", True, None, "chosen", None)),
    (),  # a plan with no treatment options discussed yet
    (("residential_rehab", False, None, "declined", "Caring for children at home"),),
    (("methadone", True, "preferred", None, None),),
)


def load_report_demo(db: Session, users: dict, today: dt.date, count: int = 28) -> None:
    """A few dozen varied plans so the auditor's reports show real figures from the start:
    options discussed in different mixes (some plans with none), an unmet wish for
    heroin-assisted treatment, preferences waiting for a prescribing decision, reviews
    overdue, plans signed or not, and "was I heard?" answers from enough people to show.
    Names are invented; every write goes through the ordinary services (so it is audited)."""
    import random
    import uuid

    from careplans.services import choices, feedback, prescribing

    from careplans.passwords import hash_password

    rng = random.Random(20260401)
    shared_hash = hash_password(DEMO_PASSWORD)  # argon2 is slow on purpose: hash the demo password once
    staff = [users["demo-keyworker"], users["demo-keyworker2"]]
    clinician = users["demo-clinician"]
    doc = Principal(id=clinician.id, role=clinician.role, name=clinician.display_name)
    for i in range(count):
        kw_user = staff[i % 2]
        kw = Principal(id=kw_user.id, role=kw_user.role, name=kw_user.display_name)
        name = _REPORT_NAMES[i % len(_REPORT_NAMES)]
        user = accounts.create_user(db, f"demo-person-{i + 1:02d}", DEMO_PASSWORD, "client", name,
                                    check_strength=False, password_hash=shared_hash)
        person = Principal(id=user.id, role=user.role, name=user.display_name)
        c = clients.create_client(db, kw, preferred_name=name, date_of_birth=dt.date(1970 + i, 1 + i % 12, 1 + i),
                                  user_id=user.id)
        clients.assign_staff(db, uuid.UUID(c["id"]), clinician.id, "prescriber")
        started = today - dt.timedelta(days=rng.randint(5, 170))
        plan = commands.create_plan(db, kw, c["id"], today=started)
        pid, v = plan.id, plan.version
        mix = _REPORT_MIXES[i % len(_REPORT_MIXES)]
        for option, info, preference, outcome, reason in mix:
            days = rng.randint(0, max(0, (today - started).days))
            fields = {"option": option, "information_given": info,
                      "discussed_on": (started + dt.timedelta(days=days)).isoformat(),
                      "information_format": rng.choice(("conversation", "leaflet", "easy_read", "peer")),
                      "preference": preference, "outcome": outcome, "reason": reason}
            if preference == "preferred" and i % 3 == 0:
                fields["client_view"] = "I know what works for me."
            v = choices.add_choice(db, kw, pid, v, fields)[0].version
        safe: dict = {}
        if i % 4 != 3:
            safe["naloxone"] = {"offered": True, "offered_on": started.isoformat(), "supplied": i % 2 == 0,
                                "supplied_on": started.isoformat() if i % 2 == 0 else None}
        if i % 3 != 2:
            safe["bbv"] = {"hepatitis_b_test": "offered", "hepatitis_c_test": "done", "hiv_test": "offered",
                           "hepatitis_b_vaccination": "declined" if i % 2 else "offered"}
        safe["needle_syringe_access"] = ("has_access", "needs_access", "not_needed", "not_discussed")[i % 4]
        review = today + dt.timedelta(days=rng.randint(-30, 90)) if i % 7 != 6 else None
        v = goals.patch_plan(db, kw, pid, v, None, safe, review.isoformat() if review else None).version
        v = _demo_episode(db, kw, c["id"], pid, v, started, today, i, rng)
        wants_medicine = [m for m in mix if m[2] == "preferred" and m[0] in ("methadone", "buprenorphine")]
        if wants_medicine and i % 2 == 0:
            prescribing.decide(db, doc, pid, {
                "plan_version": v, "option": "methadone", "product": "methadone_oral_solution", "dose_mg": 30,
                "frequency": "daily", "supervision": "supervised_consumption", "decision": "approved",
                "rationale": "Starting dose, reviewed weekly.", "client_explanation": "30 mg a day to start.",
                "acknowledged_warnings": [], "clinical_context": {}})
        if i % 5 != 4:
            commands.sign_agreement(db, person, pid, v, None)
            if i % 3 != 1:
                commands.sign_agreement(db, kw, pid, v, None)
            if i % 4 == 3:
                feedback.give(db, person, pid, {}, skip=True)
            else:
                feedback.give(db, person, pid, {"listened": 3 + i % 3, "options_explained": 2 + i % 4,
                                                "plan_is_mine": None if i % 6 == 0 else 4 + i % 2})
    db.flush()


_DISCHARGES = ("completed_free", "transferred_community", "left_early", "completed_occasional")


def _demo_episode(db: Session, kw: Principal, client_id: str, pid: str, v: int, started: dt.date, today: dt.date,
                  i: int, rng) -> int:
    """The episode's dates for the national return: referral and triage before the plan
    started, consent (some not asked yet), interventions, TOP at the start and a review,
    and a few people who have left treatment, with the reason. Returns the plan version."""
    discharged = today - dt.timedelta(days=rng.randint(1, 4)) if i % 9 == 8 else None
    episodes.update_episode(db, kw, client_id, {
        "referral_date": started - dt.timedelta(days=rng.randint(7, 21)),
        "triage_date": started - dt.timedelta(days=rng.randint(0, 6)),
        "consent_to_report": None if i % 7 == 5 else i % 10 != 3,
        "discharged_on": discharged, "discharge_reason": _DISCHARGES[i % 4] if discharged else None}, today=today)
    kinds = [("psychosocial", "community", 0)] if i % 3 != 2 else []
    if i % 2 == 0:
        kinds.append(("pharmacological", "community", rng.randint(1, 10)))
    if i % 5 == 0:
        kinds.append(("recovery_support", "recovery_housing", rng.randint(10, 30)))
    for kind, setting, after in kinds:
        start = min(started + dt.timedelta(days=after), today)
        episodes.add_intervention(db, kw, client_id, {"intervention_type": kind, "setting": setting,
                                                      "start_date": start, "end_date": discharged}, today=today)
    if i % 3 != 1:
        v = assessments.start_assessment(db, kw, pid, v, "top", [], stage="start", taken_on=started).plan_version
        review = started + dt.timedelta(days=rng.randint(90, 150))
        if i % 2 == 0 and review <= today:
            v = assessments.start_assessment(db, kw, pid, v, "top", [], stage="review", taken_on=review).plan_version
    return v


def _episode_for(db: Session, kw: Principal, client_id: str, today: dt.date, referred: int, triaged: int,
                 consent: bool | None, interventions: tuple[tuple[str, int], ...] = ()) -> None:
    episodes.update_episode(db, kw, client_id, {"referral_date": today - dt.timedelta(days=referred),
                                                "triage_date": today - dt.timedelta(days=triaged),
                                                "consent_to_report": consent}, today=today)
    for kind, ago in interventions:
        episodes.add_intervention(db, kw, client_id, {"intervention_type": kind, "setting": "community",
                                                      "start_date": today - dt.timedelta(days=ago)}, today=today)


def _methadone(plan_version: int, acknowledged: list[dict[str, str]] | None = None) -> dict:
    return {"plan_version": plan_version, "decision": "approved", "option": "methadone",
            "product": "methadone_oral_solution", "dose_mg": 40, "frequency": "daily",
            "supervision": "supervised_consumption", "is_new_start": True,
            "rationale": "Restarting methadone at the dose that kept Jordan steady last year; daily supervised "
                         "pick-ups for the first weeks.",
            "client_explanation": "We agreed methadone, 40 mg a day, taken at the pharmacy for now. "
                                  "We will look at it again in two weeks.",
            "acknowledged_warnings": acknowledged or []}
