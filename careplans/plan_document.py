"""The plan's content as a plain document, and the pure operations that change it.

Every committed change produces a new document; the service stores it as a new
version. Nothing here touches a database or the web: inputs are validated plain
values, outputs are new dicts (the input is never mutated).

Free text is stored as a "voiced" object: {"text", "voice", "by", "by_role"} where
voice is "client" (in my words) or "worker" (a worker's note), set from who wrote
it, never from the request.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from careplans import vocab

ABOUT_ME_FIELDS: tuple[str, ...] = vocab.ABOUT_ME.codes
GOAL_AREAS: tuple[str, ...] = vocab.GOAL_AREAS.codes
GOAL_STATUSES: tuple[str, ...] = vocab.GOAL_STATUSES.codes

NALOXONE_PRODUCTS: tuple[str, ...] = vocab.NALOXONE_PRODUCTS.codes
BBV_ITEMS: tuple[str, ...] = vocab.BBV_ITEMS.codes
BBV_STATUSES: tuple[str, ...] = vocab.BBV_STATUSES.codes
NSP_STATUSES: tuple[str, ...] = vocab.NSP_STATUSES.codes
RISK_MOMENT_KINDS: tuple[str, ...] = vocab.RISK_MOMENTS.codes
SUBSTANCES: tuple[str, ...] = vocab.SUBSTANCES.codes


class DocumentError(ValueError):
    """A change that cannot apply to the document (for example an unknown goal)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Author:
    id: str
    name: str
    role: str

    @property
    def voice(self) -> str:
        return "client" if self.role == "client" else "worker"


SCHEMA_VERSION = 3  # the shape written today; careplans.document holds the schema and its upgrade chain


def empty_content() -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "about_me": {name: None for name in ABOUT_ME_FIELDS},
        "goals": [],
        "choices": [],
        "staying_safe": empty_staying_safe(),
        "next_review_date": None,
        "substances": [],
    }


def empty_staying_safe() -> dict[str, Any]:
    return {
        "naloxone": {
            "offered": None,
            "offered_on": None,
            "supplied": None,
            "product": None,
            "supplied_on": None,
            "supplied_by": None,
            "peer_supply": None,
        },
        "needle_syringe_access": None,
        "bbv": {item: "not_discussed" for item in BBV_ITEMS},
        "overdose_risk_moments": [],
        "notes": None,
    }


def canonical_json(content: Any) -> str:
    """One spelling for one content, so its fingerprint is stable across engines and runs."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(content: Any) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def voiced(text: str | None, author: Author) -> dict[str, Any] | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    return {"text": text, "voice": author.voice, "by": author.name, "by_role": author.role}


def text_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("text")
    return value


# --- about me -------------------------------------------------------------------

def set_about_me(content: dict[str, Any], changes: dict[str, Any], author: Author) -> dict[str, Any]:
    """Apply {field: str | None | {"different_view": str}}.

    A plain string sets the shared wording (and settles any recorded disagreement);
    None clears the field; {"different_view": text} keeps the current wording and
    records "we see this differently" with both views side by side.
    """
    new = copy.deepcopy(content)
    about = new["about_me"]
    for name, value in changes.items():
        if name not in ABOUT_ME_FIELDS:
            raise DocumentError(f"about_me.{name}", "This is not a part of About me.")
        current = about.get(name)
        if isinstance(value, dict) and "different_view" in value:
            about[name] = _record_disagreement(current, value["different_view"], author, f"about_me.{name}")
        else:
            about[name] = voiced(value, author)
    return new


def _record_disagreement(current: dict[str, Any] | None, view: str, author: Author, field: str) -> dict[str, Any]:
    mine = voiced(view, author)
    if mine is None:
        raise DocumentError(field, "Write your view so it can be kept beside the other one.")
    if current is None:
        raise DocumentError(field, "There is nothing written here yet to see differently. Add it as the text instead.")
    result = {k: v for k, v in current.items() if k != "disagreement"}
    views = dict(current.get("disagreement") or {})
    if current.get("voice") != author.voice and current.get("voice") not in views:
        views[current["voice"]] = {k: v for k, v in current.items() if k != "disagreement"}
    views[author.voice] = mine
    result["disagreement"] = {"client": views.get("client"), "worker": views.get("worker")}
    return result


# --- goals -----------------------------------------------------------------------

def _steps(steps: list[dict[str, Any]], author: Author, existing: list[dict[str, Any]], new_id) -> list[dict[str, Any]]:
    by_id = {s["id"]: s for s in existing}
    result = []
    for step in steps:
        old = by_id.get(step.get("id") or "")
        text = step["text"]
        if old is not None and text_of(old["text"]) == text.strip():
            text_obj = old["text"]  # unchanged wording keeps its voice
        else:
            text_obj = voiced(text, author)
        if text_obj is None:
            continue
        result.append(
            {
                "id": old["id"] if old is not None else new_id(),
                "text": text_obj,
                "who_helps": (step.get("who_helps") or "").strip() or None,
                "when": (step.get("when") or "").strip() or None,
            }
        )
    return result


def find_goal(content: dict[str, Any], goal_id: str) -> dict[str, Any]:
    for goal in content["goals"]:
        if goal["id"] == goal_id:
            return goal
    raise DocumentError("goal_id", "There is no such goal in this plan.")


def add_goal(
    content: dict[str, Any], goal_id: str, fields: dict[str, Any], author: Author, new_id, created_on: str
) -> dict[str, Any]:
    new = copy.deepcopy(content)
    title = voiced(fields["title"], author)
    if title is None:
        raise DocumentError("title", "Give the goal a name, in your own words.")
    status = fields.get("status") or ("active" if author.role == "client" else "proposed")
    goal = {
        "id": goal_id,
        "title": title,
        "why": voiced(fields.get("why"), author),
        "area": fields["area"],
        "steps": _steps(fields.get("steps") or [], author, [], new_id),
        "target_date": fields.get("target_date"),
        "status": status,
        "created_on": created_on,
        "check_ins": [],
    }
    new["goals"].append(goal)
    return new


def update_goal(content: dict[str, Any], goal_id: str, fields: dict[str, Any], author: Author, new_id) -> dict[str, Any]:
    new = copy.deepcopy(content)
    goal = find_goal(new, goal_id)
    for name, value in fields.items():
        if name == "title":
            title = voiced(value, author)
            if title is None:
                raise DocumentError("title", "A goal needs a name.")
            if text_of(goal["title"]) != title["text"]:
                goal["title"] = title
        elif name == "why":
            if text_of(goal.get("why")) != (value or "").strip():
                goal["why"] = voiced(value, author)
        elif name == "steps":
            goal["steps"] = _steps(value or [], author, goal["steps"], new_id)
        elif name in ("area", "status", "target_date"):
            goal[name] = value
        else:
            raise DocumentError(name, "This is not a part of a goal.")
    return new


def add_check_in(
    content: dict[str, Any], goal_id: str, check_in_id: str, rating: int, note: str | None, author: Author, at: str
) -> dict[str, Any]:
    """One more check-in on the goal. Only the path to it is copied, the rest shared with
    `content` (neither changes): a check-in does not copy the whole, growing, document."""
    goal = find_goal(content, goal_id)
    item = {"id": check_in_id, "rating": rating, "note": voiced(note, author), "at": at, "by": author.name}
    changed = {**goal, "check_ins": [*goal["check_ins"], item]}
    return {**content, "goals": [changed if g is goal else g for g in content["goals"]]}


# --- plan-level fields -------------------------------------------------------------

def set_next_review_date(content: dict[str, Any], value: str | None) -> dict[str, Any]:
    new = copy.deepcopy(content)
    new["next_review_date"] = value
    return new


def set_staying_safe(content: dict[str, Any], changes: dict[str, Any], author: Author) -> dict[str, Any]:
    """Merge a partial staying-safe update. Free-text notes are voiced."""
    new = copy.deepcopy(content)
    safe = new.setdefault("staying_safe", empty_staying_safe())
    for name, value in changes.items():
        if name == "naloxone":
            safe["naloxone"] = {**safe["naloxone"], **value}
        elif name == "bbv":
            safe["bbv"] = {**safe["bbv"], **value}
        elif name == "needle_syringe_access":
            safe["needle_syringe_access"] = value
        elif name == "overdose_risk_moments":
            safe["overdose_risk_moments"] = [
                {"kind": m["kind"], "date": m.get("date"), "note": voiced(m.get("note"), author)} for m in value
            ]
        elif name == "notes":
            safe["notes"] = voiced(value, author)
        else:
            raise DocumentError(f"staying_safe.{name}", "This is not a part of Staying safe.")
    return new


# --- treatment choices (the ledger) -------------------------------------------------------

CHOICE_OUTCOMES: tuple[str, ...] = vocab.CHOICE_OUTCOMES.codes
OUTCOMES_NEEDING_REASON: frozenset[str] = vocab.OUTCOMES_NEEDING_REASON
PREFERENCES: tuple[str, ...] = vocab.PREFERENCES.codes
# Words people and systems use for a preference, mapped to the stored code.
_PREFERENCE_WORDS = {
    "preferred": "preferred", "prefers": "preferred", "prefer": "preferred", "yes": "preferred",
    "first_choice": "preferred", "wants": "preferred", "want": "preferred",
    "open": "open", "open_to": "open", "open_to_it": "open", "maybe": "open", "unsure": "open",
    "not_sure": "open", "considering": "open",
    "not_preferred": "not_preferred", "no": "not_preferred", "does_not_want": "not_preferred",
    "not_wanted": "not_preferred", "prefers_not": "not_preferred",
}
INFORMATION_FORMATS: tuple[str, ...] = vocab.INFORMATION_FORMATS.codes
_FORMAT_WORDS = {
    "conversation": "conversation", "verbal": "conversation", "spoken": "conversation", "talk": "conversation",
    "discussion": "conversation", "face_to_face": "conversation", "in_person": "conversation",
    "phone": "conversation", "leaflet": "leaflet", "written": "leaflet", "booklet": "leaflet",
    "printed": "leaflet", "easy_read": "easy_read", "video": "video", "online": "online", "website": "online",
    "web": "online", "interpreter": "interpreter", "peer": "peer", "peer_support": "peer", "other": "other",
}


def _code_word(value: str) -> str:
    return "_".join(value.strip().lower().replace("-", " ").split())


def normalise_preference(value: Any, author: Author) -> tuple[str | None, dict[str, Any] | None]:
    """A preference as (code, words): True/False, one of PREFERENCES (or a common
    synonym), or the person's own words (code "stated", the words kept in their voice)."""
    if value is None:
        return None, None
    if value is True:
        return "preferred", None
    if value is False:
        return "not_preferred", None
    text = str(value).strip()
    if not text:
        return None, None
    code = _PREFERENCE_WORDS.get(_code_word(text))
    if code is not None:
        return code, None
    return "stated", voiced(text, author)


def normalise_information_format(value: str | None) -> str | None:
    """A known format code; anything else is kept as "other" (formats are not free text)."""
    if value is None or not str(value).strip():
        return None
    return _FORMAT_WORDS.get(_code_word(str(value)), "other")


def choice_is_unmet_need(outcome: str | None, preference: str | None, available_locally: bool) -> bool:
    """"Not available here" is unmet need; so is choosing, or asking for, an option the
    service cannot provide locally."""
    if outcome == "not_available":
        return True
    return not available_locally and (outcome == "chosen" or preference in ("preferred", "stated"))


def choice_is_preferred(outcome: str | None, preference: str | None) -> bool:
    return outcome == "chosen" or preference in ("preferred", "stated")


def add_choice(
    content: dict[str, Any],
    entry_id: str,
    option: dict[str, Any],
    fields: dict[str, Any],
    author: Author,
    at: str,
) -> dict[str, Any]:
    """Append one ledger entry: one option, one discussion.

    `option` is {"code", "name", "kind", "available_locally"} from the catalogue;
    `fields` holds information_given, information_format, discussed_on, client_view,
    preference, outcome and reason. Entries are never edited: a later discussion of
    the same option is a new entry.
    """
    outcome = fields.get("outcome")
    if outcome is not None and outcome not in CHOICE_OUTCOMES:
        raise DocumentError("outcome", "Choose one of: chosen, declined, not suitable, not available, undecided.")
    reason = voiced(fields.get("reason"), author)
    if outcome in OUTCOMES_NEEDING_REASON and reason is None:
        raise DocumentError("reason", "Say why, in a few words: it is part of the record of the choice offered.")
    preference, preference_words = normalise_preference(fields.get("preference"), author)
    available = bool(option.get("available_locally", True))
    new = copy.deepcopy(content)
    entry = {
        "id": entry_id,
        "option": option["code"],
        "option_name": option["name"],
        "kind": option["kind"],
        "information_given": bool(fields.get("information_given")),
        "information_format": normalise_information_format(fields.get("information_format")),
        "discussed_on": fields["discussed_on"],
        "client_view": voiced(fields.get("client_view"), author),
        "preference": preference,
        "preference_words": preference_words,
        "outcome": outcome,
        "reason": reason,
        "available_locally": available,
        "unmet_need": choice_is_unmet_need(outcome, preference, available),
        "recorded_by": author.name,
        "recorded_by_role": author.role,
        "recorded_at": at,
    }
    new.setdefault("choices", []).append(entry)
    return new


def find_choice(content: dict[str, Any], entry_id: str) -> dict[str, Any]:
    for entry in content.get("choices", []):
        if entry["id"] == entry_id:
            return entry
    raise DocumentError("choice_id", "There is no such entry in this plan's treatment options.")


def latest_choice_by_option(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The most recent ledger entry for each option (by discussion date, then entry order)."""
    latest: dict[str, tuple[tuple[str, int], dict[str, Any]]] = {}
    for index, entry in enumerate(content.get("choices", [])):
        key = (str(entry.get("discussed_on") or ""), index)
        if entry["option"] not in latest or key >= latest[entry["option"]][0]:
            latest[entry["option"]] = (key, entry)
    return {code: entry for code, (_, entry) in latest.items()}


def set_substances(content: dict[str, Any], substances: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """What the plan is about: one or several of vocab.SUBSTANCES, chosen by the person (kept in
    vocabulary order; none is allowed, "not said yet")."""
    unknown = [s for s in substances if s not in SUBSTANCES]
    if unknown:
        raise DocumentError("substances", f"Choose from the list: {', '.join(vocab.SUBSTANCES.words(s) for s in SUBSTANCES)}.")
    out = copy.deepcopy(content)
    chosen = set(substances)
    out["substances"] = [s for s in SUBSTANCES if s in chosen]
    return out
