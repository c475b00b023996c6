"""Many realistic plans, fast: `careplans demo --plans N` (for the reports at scale and `bench`).

The ordinary write path (one audited version per change) would take hours for 100,000
plans, so this writes the same rows in bulk: each plan's document is built with the same
pure edits the services use (`plan_document`), its choice projection rows, signatures,
some prescribing decisions and "was I heard?" answers, the episode's dates for the
national return (referral, triage, discharge and reason, consent, interventions, TOP
dates and stages, without answers), and one audit event per plan
version and signature, hash-chained exactly as `audit.record` would chain them, so
`careplans audit verify` still passes. Names and dates of birth are invented.

The mix varies plan by plan (seeded, so two runs with the same seed make the same plans):
options discussed in different combinations, some plans with no options at all, unmet
wishes for heroin-assisted treatment, preferences waiting for a decision, reviews
overdue, plans agreed or not.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import uuid
from typing import Any, Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from careplans import plan_document as doc
from careplans.audit import event_hash
from careplans.catalogue import load_options
from careplans.models import (
    Agreement,
    Assessment,
    AuditEvent,
    AuditHead,
    CaseloadAssignment,
    ChoiceEntry,
    Client,
    FeedbackResponse,
    Intervention,
    Plan,
    PlanVersion,
    PrescribingDecision,
    User,
    utcnow,
)
from careplans.passwords import hash_password
from careplans.plan_document import canonical_json, fingerprint

NAMES = ("Alex", "Bea", "Cal", "Dee", "Eli", "Fran", "Gus", "Hana", "Ivo", "Jas", "Kit", "Lou", "Mo", "Nia", "Oz",
         "Pat", "Quinn", "Rae", "Sol", "Tam", "Uma", "Vic", "Wren", "Yas", "Zed")
MIXES: tuple[tuple[tuple[str, str | None, str | None], ...], ...] = (
    # (option, preference, outcome) per conversation; weights below
    (("harm_reduction", None, "chosen"), ("methadone", "preferred", "chosen"), ("buprenorphine", "open", "declined"),
     ("detox", "not_preferred", "declined"), ("abstinence_support", None, "undecided")),
    (("buprenorphine", "preferred", None), ("methadone", "open", None), ("harm_reduction", None, "chosen")),
    (("hat", "preferred", "not_available"), ("methadone", "open", "chosen"), ("harm_reduction", None, "chosen")),
    (("buvidal", "preferred", None), ("buprenorphine", "open", None)),
    (("detox", "preferred", "chosen"), ("abstinence_support", "preferred", "chosen"),
     ("residential_rehab", "open", "not_suitable"), ("naltrexone", "open", "undecided")),
    (),
    (("residential_rehab", None, "declined"),),
    (("methadone", "preferred", None),),
)
REASONS = {"declined": "Not right for me now", "not_suitable": "Needs a detox first",
           "not_available": "Not provided by this service"}
FORMATS = ("conversation", "leaflet", "easy_read", "peer", "interpreter")
DISCHARGES = ("completed_free", "completed_occasional", "transferred_community", "left_early",
              "withdrawn_by_service", "transferred_custody")
INTERVENTIONS = (("psychosocial", "community", 0.7), ("pharmacological", "community", 0.5),
                 ("recovery_support", "recovery_housing", 0.1), ("pharmacological", "primary_care", 0.05))


class _Chain:
    """Audit events appended in order, chained from the current head."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
        self.seq, self.hash = self.head.seq, self.head.hash
        self.rows: list[dict[str, Any]] = []

    def add(self, actor: Any, role: str, action: str, plan_id: Any, client_id: Any, detail: dict[str, Any]) -> None:
        self.seq += 1
        at = utcnow()
        d = canonical_json(detail)
        pid, cid, aid = str(plan_id), str(client_id), str(actor)
        digest = event_hash(self.hash, self.seq, at, aid, role, action, pid, cid, d)
        self.rows.append({"seq": self.seq, "at": at, "actor_id": aid, "actor_role": role, "action": action,
                          "plan_id": pid, "client_id": cid, "detail": d, "prev_hash": self.hash, "hash": digest})
        self.hash = digest

    def flush(self) -> None:
        if self.rows:
            _insert(self.db, AuditEvent, self.rows)
            self.rows = []
        self.head.seq, self.head.hash = self.seq, self.hash
        self.db.flush()


def _staff(db: Session, role: str, prefix: str, count: int, password_hash: str) -> list[User]:
    found = db.execute(select(User).where(User.username.like(f"{prefix}-%")).order_by(User.username)).scalars().all()
    for i in range(len(found), count):
        user = User(username=f"{prefix}-{i + 1:02d}", display_name=f"{role.title()} {i + 1}", role=role,
                    password_hash=password_hash, home_office_licence="HO-BULK" if role == "clinician" else None)
        db.add(user)
        found.append(user)
    db.flush()
    return list(found[:count])


def generate(db: Session, n: int, *, seed: int = 1, today: dt.date | None = None, batch: int = 1000,
             progress: Callable[[int], None] | None = None, password: str = "demo-password") -> int:
    """Create `n` plans (with clients, keyworkers, choices, signatures, decisions and answers)
    in batches, committing each batch. Returns how many were made."""
    today = today or dt.date.today()
    rng = random.Random(seed)
    shared_hash = hash_password(password)
    keyworkers = _staff(db, "keyworker", "bulk-keyworker", 20, shared_hash)
    clinician = _staff(db, "clinician", "bulk-clinician", 1, shared_hash)[0]
    options = {o.code: o for o in load_options()}
    made = 0
    while made < n:
        size = min(batch, n - made)
        _batch(db, rng, size, today, keyworkers, clinician, options)
        db.commit()
        made += size
        if progress:
            progress(size)
    # A bulk load leaves the planner's statistics behind (PostgreSQL then guessed 196 TOP
    # assessments instead of 92,000 and read the checklist 25 times slower): refresh them.
    db.execute(text("ANALYZE"))
    db.commit()
    return made


def _insert(db: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """One executemany per table (Core insert: the ORM's bulk path sends a row at a time here)."""
    if rows:
        db.connection().execute(model.__table__.insert(), rows)


def _batch(db: Session, rng: random.Random, size: int, today: dt.date, keyworkers: list[User], clinician: User,
           options: dict[str, Any]) -> None:
    chain = _Chain(db)
    clients, assignments, plans, versions, entries, agreements, decisions, answers = ([] for _ in range(8))
    interventions: list[dict[str, Any]] = []
    tops: list[dict[str, Any]] = []
    now = utcnow()
    for _ in range(size):
        kw = rng.choice(keyworkers)
        author = doc.Author(id=str(kw.id), name=kw.display_name, role="keyworker")
        client_id, plan_id = uuid.uuid4(), uuid.uuid4()
        started = today - dt.timedelta(days=rng.randint(1, 400))
        triaged = started - dt.timedelta(days=rng.randint(0, 14))
        discharged = today - dt.timedelta(days=rng.randint(0, (today - started).days)) if rng.random() < 0.12 \
            else None
        clients.append({"id": client_id, "client_reference": "BK-" + secrets.token_hex(6).upper(),
                        "preferred_name": rng.choice(NAMES),
                        "date_of_birth": dt.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)),
                        "referral_date": triaged - dt.timedelta(days=rng.randint(0, 21)), "triage_date": triaged,
                        "discharged_on": discharged,
                        "discharge_reason": rng.choice(DISCHARGES) if discharged else None,
                        "consent_to_report": None if rng.random() < 0.1 else rng.random() < 0.9,
                        "created_at": now, "updated_at": now})
        for kind, setting, chance in INTERVENTIONS:
            if rng.random() < chance:
                begun = min(started + dt.timedelta(days=rng.randint(0, 20)), discharged or today)
                ended = discharged or (begun + dt.timedelta(days=rng.randint(30, 200)) if rng.random() < 0.3
                                       else None)
                interventions.append({"id": uuid.uuid4(), "client_id": client_id, "plan_id": plan_id,
                                      "intervention_type": kind, "setting": setting, "start_date": begun,
                                      "end_date": ended if ended is None or ended <= today else None,
                                      "recorded_by": kw.id, "created_at": now, "updated_at": now})
        for stage, after, chance in (("start", 0, 0.7), ("review", 120, 0.4)):
            taken = started + dt.timedelta(days=after + rng.randint(0, 40))
            if taken <= today and rng.random() < chance:
                tops.append({"id": uuid.uuid4(), "plan_id": plan_id, "questionnaire": "top",
                             "questionnaire_version": 1, "stage": stage, "status": "complete", "taken_on": taken,
                             "started_at": now, "updated_at": now, "completed_at": now, "recorded_by": kw.id,
                             "recorded_role": "keyworker", "plan_version": 1})
        assignments.append({"id": uuid.uuid4(), "client_id": client_id, "staff_user_id": kw.id,
                            "relation": "keyworker", "created_at": now, "updated_at": now})
        content = doc.empty_content()
        mix = rng.choices(MIXES, weights=(3, 3, 1, 1, 1, 2, 1, 2))[0]
        for code, preference, outcome in mix:
            option = options[code]
            if rng.random() < 0.15:  # a conversation not yet finished
                outcome = None if outcome != "not_available" else outcome
            day = started + dt.timedelta(days=rng.randint(0, max(0, (today - started).days)))
            info = rng.random() > 0.08
            values = {"information_given": info, "discussed_on": day.isoformat(),
                      "information_format": rng.choice(FORMATS) if info else None, "preference": preference,
                      "outcome": outcome, "reason": REASONS.get(outcome or ""),
                      "client_view": "In my own words" if preference == "preferred" and rng.random() < 0.4 else None}
            entry_id = str(uuid.uuid4())
            # The services' own pure edit makes the entry; it is given a small document to
            # copy (copying the whole plan for every entry would dominate the run time).
            e = doc.find_choice(doc.add_choice({"choices": []}, entry_id, {
                "code": code, "name": option.name, "kind": option.kind,
                "available_locally": option.available_locally}, values, author, now.isoformat(timespec="seconds")),
                entry_id)
            content["choices"].append(e)
            entries.append({"id": uuid.UUID(entry_id), "plan_id": plan_id, "option": code, "option_kind": option.kind,
                            "information_given": e["information_given"],
                            "information_format": e["information_format"], "discussed_on": day,
                            "preference": e["preference"],
                            "preferred": doc.choice_is_preferred(e["outcome"], e["preference"]),
                            "outcome": e["outcome"], "has_reason": e["reason"] is not None,
                            "has_client_view": e["client_view"] is not None,
                            "available_locally": option.available_locally, "unmet_need": e["unmet_need"],
                            "recorded_by": kw.id, "recorded_role": "keyworker", "recorded_at": now,
                            "plan_version": 1})
            if (preference == "preferred" and option.kind == "medication" and outcome != "not_available"
                    and rng.random() < 0.6):
                decisions.append((plan_id, client_id, code, day))
        safe: dict[str, Any] = {}
        if rng.random() < 0.8:
            safe["naloxone"] = {"offered": True, "offered_on": started.isoformat(), "supplied": rng.random() < 0.6}
        if rng.random() < 0.7:
            safe["bbv"] = {k: rng.choice(("offered", "done", "declined", "not_discussed")) for k in
                           ("hepatitis_b_test", "hepatitis_c_test", "hiv_test", "hepatitis_b_vaccination")}
        safe["needle_syringe_access"] = rng.choice(("has_access", "needs_access", "not_needed", "not_discussed"))
        content["staying_safe"] = doc.set_staying_safe({"staying_safe": content["staying_safe"]}, safe,
                                                       author)["staying_safe"]
        review = today + dt.timedelta(days=rng.randint(-60, 120)) if rng.random() < 0.9 else None
        if review:
            content["next_review_date"] = review.isoformat()
        fp = fingerprint(content)
        client_signed = rng.random() < 0.7
        kw_signed = client_signed and rng.random() < 0.8
        plans.append({"id": plan_id, "client_id": client_id, "version": 1, "fingerprint": fp, "status": "active",
                      "start_date": started, "next_review_date": review,
                      "client_signed_version": 1 if client_signed else None,
                      "keyworker_signed_version": 1 if kw_signed else None,
                      "agreed_version": 1 if kw_signed else None, "agreed_fingerprint": fp if kw_signed else None,
                      "created_at": now, "updated_at": now})
        versions.append({"id": uuid.uuid4(), "plan_id": plan_id, "number": 1, "author_id": kw.id,
                         "author_role": "keyworker", "author_name": kw.display_name, "created_at": now,
                         "content": canonical_json(content), "fingerprint": fp, "changed_paths": [], "changes": []})
        chain.add(kw.id, "keyworker", "plan.create", plan_id, client_id, {"version": 1, "fingerprint": fp})
        for signed, role in ((client_signed, "client"), (kw_signed, "keyworker")):
            if signed:
                signer = kw.id if role == "keyworker" else clinician.id  # bulk clients have no login
                agreements.append({"id": uuid.uuid4(), "plan_id": plan_id, "version": 1, "fingerprint": fp,
                                   "signer_id": signer, "signer_role": role, "statement": None, "signed_at": now})
                chain.add(signer, role, "agreement.sign", plan_id, client_id,
                          {"version": 1, "fingerprint": fp, "as": role})
        if client_signed and rng.random() < 0.5:
            skipped = rng.random() < 0.2
            answers.append({"id": uuid.uuid4(), "plan_id": plan_id, "plan_version": 1, "asked_after": "agreed",
                            "listened": None if skipped else rng.randint(2, 5),
                            "options_explained": None if skipped else rng.randint(1, 5),
                            "plan_is_mine": None if skipped or rng.random() < 0.2 else rng.randint(2, 5),
                            "comment": None, "pass_on": False, "skipped": skipped,
                            "answered_at": now - dt.timedelta(days=rng.randint(0, 300))})
    _insert(db, Client, clients)
    _insert(db, CaseloadAssignment, assignments)
    _insert(db, Plan, plans)
    _insert(db, PlanVersion, versions)
    if entries:
        _insert(db, ChoiceEntry, entries)
    if agreements:
        _insert(db, Agreement, agreements)
    rows = []
    for plan_id, client_id, code, day in decisions:
        at = dt.datetime.combine(day + dt.timedelta(days=rng.randint(0, 60)), dt.time(12), dt.timezone.utc)
        rows.append({"id": uuid.uuid4(), "plan_id": plan_id, "client_id": client_id, "plan_version": 1,
                     "fingerprint": "", "clinician_id": clinician.id, "clinician_name": clinician.display_name,
                     "decision": "approved", "option": code, "rationale": "Bulk demo decision.",
                     "client_explanation": "Bulk demo decision.", "acknowledged_warnings": [], "suggestions": [],
                     "clinical_context": {}, "created_at": at})
    if rows:
        fps = {p["id"]: p["fingerprint"] for p in plans}
        for r in rows:
            r["fingerprint"] = fps[r["plan_id"]]
        _insert(db, PrescribingDecision, rows)
    if answers:
        _insert(db, FeedbackResponse, answers)
    _insert(db, Intervention, interventions)
    _insert(db, Assessment, tops)  # TOP done (the dates and stages only: no answers)
    chain.flush()
