"""Small values and sentences for a reader: fingerprints and doses, option names,
prescribing decisions, what a version changed, a choice in a line, naloxone in the
reader's voice. Pure functions of what the caller passes; nothing here decides who sees what."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from careplans import changes as ch
from careplans import vocab
from careplans.catalogue import option_by_code


# --- small values in words -------------------------------------------------------------------------

def short_fingerprint(fingerprint: str | None, length: int = 8) -> str:
    """The first characters of a fingerprint in groups of four: "3f9a 21c0"."""
    text = str(fingerprint or "")[:length]
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def fingerprint_label(version: int | None, fingerprint: str | None) -> str:
    """A version and its fingerprint, calm and short: "v7 · 3f9a 21c0" (the full value is
    shown on request, to check a printed copy)."""
    return f"v{version} · {short_fingerprint(fingerprint)}" if version else short_fingerprint(fingerprint)


# --- sentences for a reader -------------------------------------------------------------------------

def option_name(code: str) -> str:
    option = option_by_code(code) if code else None
    return option.name if option is not None else code.replace("_", " ")


def choice_standing(entry: dict[str, Any] | None) -> str:
    """Where things stand with one option, in a few words, from the latest conversation about it:
    its outcome, else the preference, else that it was talked about."""
    if not entry:
        return "Not talked about yet"
    if entry.get("outcome"):
        return vocab.CHOICE_OUTCOMES.words(entry["outcome"])
    if entry.get("preference") and entry["preference"] != "stated":
        return vocab.PREFERENCES.words(entry["preference"])
    return "Talked about"


def dose_text(dose: Any) -> str:
    """A dose in mg as people write it: 16.0 -> "16 mg", 2.5 -> "2.5 mg"."""
    if dose is None or dose == "":
        return ""
    value = float(dose)
    number = f"{value:.3f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
    return f"{number or '0'} mg"


def decision_summary(decision: dict[str, Any]) -> str:
    """A prescribing decision in plain words, for example
    "Methadone oral solution 60 mg once a day, supervised consumption: approved by Dr Ray (clinician)"."""
    what = decision.get("product_name") or decision.get("option_name") or decision.get("option") or "Medication"
    if decision.get("dose_mg") is not None:
        what += f" {dose_text(decision['dose_mg'])}"
    if decision.get("frequency_name"):
        what += f" {decision['frequency_name'].lower()}"
    if decision.get("supervision_name"):
        what += f", {decision['supervision_name'].lower()}"
    verdict = vocab.DECISIONS.phrase(decision.get("decision"))
    who = f" by {decision['by']} (clinician)" if decision.get("by") else " by a clinician"
    return f"{what}: {verdict}{who}, about plan version {decision.get('plan_version')}"


@dataclass
class Namer:
    """Goal names and areas a reader may see, looked up from documents they can read."""

    docs: list[dict[str, Any]]

    def _goal(self, goal_id: str) -> dict[str, Any] | None:
        for doc in self.docs:
            for g in doc.get("goals", []):
                if g.get("id") == goal_id:
                    return g
        return None

    def name(self, goal_id: str) -> str | None:
        goal = self._goal(goal_id)
        title = goal.get("title") if goal else None
        return title.get("text") if isinstance(title, dict) else None

    def area(self, goal_id: str) -> str | None:
        goal = self._goal(goal_id)
        return goal.get("area") if goal else None


def sentences(changes: list[ch.Change], author: ch.Author, reader: ch.Reader, namer: Namer) -> list[str]:
    return [ch.sentence(c, author, reader, goal_names=namer.name, goal_areas=namer.area, option_names=option_name)
            for c in changes]


def version_summary(lines: list[str], author: ch.Author, reader: ch.Reader, number: int) -> str:
    if number == 1 and not lines:
        return f"{ch.who(author, reader)} started the plan."
    if not lines:
        return f"{ch.who(author, reader)} saved the plan with no change to its content."
    return " ".join(f"{line}." for line in lines)


def choice_summary(entry: dict[str, Any], reader: ch.Reader) -> str:
    """A ledger entry in a line, for readers of the choices list."""
    author = ch.Author(id=None, name=entry.get("recorded_by"), role=entry.get("recorded_by_role"))
    change = ch.Change(section="choices", kind="added", item=entry.get("id"),
                       after=ch._choice_codes(entry))  # noqa: SLF001 - the same codes a stored change holds
    line = ch.sentence(change, author, reader, goal_names=lambda _: None, goal_areas=lambda _: None,
                       option_names=option_name)
    if reader.visibility.free_text and entry.get("preference") == "stated" and entry.get("preference_words"):
        line += f" (“{entry['preference_words'].get('text')}”)"
    return line


# --- staying safe, in the reader's voice ---------------------------------------------------------------

def naloxone_words(naloxone: dict[str, Any] | None, mine: bool) -> list[str]:
    """Naloxone in sentences: in the client's own voice for the client ("I have a naloxone
    kit (a nasal spray), since 3 March 2026."), a record of what was offered for workers."""
    nal = naloxone or {}
    kind = {"nyxoid": "a nasal spray", "prenoxad": "an injection"}.get(str(nal.get("product") or ""))
    offered_on = f" on {ch.long_date(nal['offered_on'])}" if nal.get("offered_on") else ""
    since = f", since {ch.long_date(nal['supplied_on'])}" if nal.get("supplied_on") else ""
    lines = []
    if mine:
        if nal.get("supplied"):
            lines.append(f"I have a naloxone kit{f' ({kind})' if kind else ''}{since}.")
        elif nal.get("offered"):
            lines.append(f"I’ve been offered naloxone{offered_on}. I don’t have a kit yet.")
        elif nal.get("offered") is False or nal.get("supplied") is False:
            lines.append("I don’t have a naloxone kit yet.")
        else:
            lines.append("We haven’t talked about naloxone yet.")
        if nal.get("peer_supply"):
            lines.append("I can pass kits on to people I know.")
        return lines
    if nal.get("offered"):
        lines.append(f"Offered{offered_on}.")
    elif nal.get("offered") is False:
        lines.append("Not offered yet.")
    else:
        lines.append("Not recorded whether it was offered.")
    if nal.get("supplied"):
        by = f" by {nal['supplied_by']}" if nal.get("supplied_by") else ""
        lines.append(f"Kit supplied{f' ({kind})' if kind else ''}{since.replace(', since', ' on')}{by}.")
    elif nal.get("supplied") is False:
        lines.append("No kit supplied yet.")
    if nal.get("peer_supply"):
        lines.append("Peer supply: can pass kits on to others.")
    return lines
