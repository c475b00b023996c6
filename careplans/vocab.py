"""One vocabulary per concept: the codes stored and sent, and the words people read.

Validation (document, API schemas, forms), the catalogue loader, change sentences and
templates all take their codes and words from here, so they cannot disagree. Codes
are part of the API contract (`../shared/API.md`) and never change; the words may.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Literal


@dataclass(frozen=True)
class Term:
    code: str
    words: str  # as a label or in a list: "Let go"
    hint: str = ""
    phrase: str = ""  # inside a sentence, where it differs from the label: "let go"

    @property
    def in_sentence(self) -> str:
        return self.phrase or self.words[:1].lower() + self.words[1:]


class Vocabulary:
    """An ordered set of terms: `codes` for validation, `words(code)` for people."""

    def __init__(self, name: str, *terms: Term) -> None:
        self.name = name
        self.terms = terms
        self._by_code = {t.code: t for t in terms}
        self.codes: tuple[str, ...] = tuple(t.code for t in terms)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def term(self, code: Any) -> Term | None:
        return self._by_code.get(str(code)) if code is not None else None

    def words(self, code: Any, default: str = "") -> str:
        t = self.term(code)
        if t is not None:
            return t.words
        return str(code).replace("_", " ").capitalize() if code not in (None, "") else default

    def phrase(self, code: Any) -> str:
        t = self.term(code)
        return t.in_sentence if t is not None else str(code or "").replace("_", " ")

    def table(self) -> dict[str, str]:
        return {t.code: t.words for t in self.terms}

    def literal(self) -> Any:
        """A typing.Literal of the codes, for msgspec structs (API and document)."""
        return Literal[self.codes]  # type: ignore[valid-type]


ROLES = Vocabulary(
    "role",
    Term("client", "Client"),
    Term("keyworker", "Keyworker"),
    Term("clinician", "Clinician"),
    Term("auditor", "Auditor"),
    Term("admin", "Administrator"),
)
STAFF_RELATIONS = Vocabulary("relation", Term("keyworker", "Keyworker"), Term("prescriber", "Prescribing clinician"))

GOAL_AREAS = Vocabulary(
    "goal area",
    Term("drug_alcohol_use", "Drug and alcohol use"),
    Term("health", "Physical and psychological health"),
    Term("offending", "Offending"),
    Term("social_functioning", "Social functioning"),
    Term("harm_reduction", "Harm reduction"),
)
GOAL_STATUSES = Vocabulary(
    "goal status",
    Term("proposed", "Proposed", "Talked about, not started yet"),
    Term("active", "Active", "Working on it now"),
    Term("achieved", "Achieved", "Done"),
    Term("paused", "Paused", "On hold for now"),
    Term("let_go", "Let go", "Decided not to carry on with it, and that is okay"),
)

CHOICE_OUTCOMES = Vocabulary(
    "outcome",
    Term("chosen", "Chosen"),
    Term("declined", "Declined by the client", phrase="declined"),
    Term("not_suitable", "Not clinically suitable"),
    Term("not_available", "Not available here"),
    Term("undecided", "Not decided yet"),
)
# An outcome that closes an option for now must say why.
OUTCOMES_NEEDING_REASON: frozenset[str] = frozenset({"declined", "not_suitable", "not_available"})
PREFERENCES = Vocabulary(
    "preference",
    Term("preferred", "Would like this"),
    Term("open", "Open to it"),
    Term("not_preferred", "Would rather not"),
    Term("stated", "In their own words"),
)
INFORMATION_FORMATS = Vocabulary(
    "information format",
    Term("conversation", "Talking it through"),
    Term("leaflet", "A leaflet"),
    Term("easy_read", "An easy read leaflet"),
    Term("video", "A video"),
    Term("online", "Online information"),
    Term("interpreter", "With an interpreter"),
    Term("peer", "From a peer"),
    Term("other", "Another way"),
)
DECISIONS = Vocabulary(
    "decision",
    Term("approved", "Approved"),
    Term("approved_with_changes", "Approved with changes"),
    Term("declined", "Not approved"),
)

NALOXONE_PRODUCTS = Vocabulary("naloxone product", Term("prenoxad", "Prenoxad (injection)"),
                               Term("nyxoid", "Nyxoid (nasal spray)"))
BBV_ITEMS = Vocabulary(
    "blood-borne virus test",
    Term("hepatitis_b_test", "Hepatitis B test"),
    Term("hepatitis_c_test", "Hepatitis C test"),
    Term("hiv_test", "HIV test"),
    Term("hepatitis_b_vaccination", "Hepatitis B vaccination"),
)
BBV_STATUSES = Vocabulary(
    "test status",
    Term("not_discussed", "Not talked about yet"),
    Term("offered", "Offered"),
    Term("done", "Done"),
    Term("declined", "Not wanted for now"),
    Term("not_now", "Not now"),
)
NSP_STATUSES = Vocabulary(
    "needle and syringe access",
    Term("has_access", "Has access to clean needles and syringes"),
    Term("needs_access", "Needs access to clean needles and syringes"),
    Term("not_needed", "Not needed"),
    Term("not_discussed", "Not talked about yet"),
)
RISK_MOMENTS = Vocabulary(
    "time of higher risk",
    Term("prison_release", "Leaving prison"),
    Term("after_detox", "After a detox"),
    Term("break_in_treatment", "A break in treatment"),
    Term("hospital_discharge", "Leaving hospital"),
    Term("other", "Another time of higher risk"),
)
AGREEMENT_STATES = Vocabulary(
    "agreement",
    Term("agreed", "Agreed by both"),
    Term("awaiting_client", "Waiting for the client to sign"),
    Term("awaiting_keyworker", "Waiting for the keyworker to sign"),
    Term("changed_since_agreed", "Changed since agreed"),
)

ABOUT_ME = Vocabulary(
    "about me",
    Term("what_matters", "What matters to me", "People, places, plans: whatever matters most."),
    Term("strengths", "My strengths", "What you are good at, what has got you through before."),
    Term("what_helps", "What helps when things are hard"),
    Term("what_does_not_help", "What doesn’t help"),
    Term("contact_preferences", "How I want to be contacted and spoken to",
         "For example texts not calls, times, the name you use."),
    Term("important_people", "People important to me"),
)

# Supervision modes and dose frequencies are clinical facts with sources: they live in
# the option catalogue (careplans/catalogue/options.toml) and are read through
# careplans.catalogue.load_supervision_modes()/load_frequencies(); this module does not
# copy them.

# What a plan is about: the person chooses one or several. The treatment options page
# shows the options for these first (each option in careplans/catalogue/options.toml
# names the substances it is for).
SUBSTANCES = Vocabulary(
    "substance",
    Term("opioids", "Heroin or other opioids", phrase="heroin or other opioids"),
    Term("alcohol", "Alcohol", phrase="alcohol"),
    Term("stimulants", "Cocaine, crack or amphetamines", phrase="cocaine, crack or amphetamines"),
    Term("cannabis", "Cannabis", phrase="cannabis"),
    Term("other_drugs", "Other drugs", phrase="other drugs"),
)
