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
    mine: str = ""  # in the client's own voice, where the client reads it: "I’ve had this"

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

    def mine(self, code: Any, default: str = "") -> str:
        """The words in the client's own voice (the label where there are none)."""
        t = self.term(code)
        if t is not None:
            return t.mine or t.words
        return self.words(code, default)

    def my_table(self) -> dict[str, str]:
        return {t.code: t.mine or t.words for t in self.terms}

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

# The names a person would choose for a goal's area. The codes are the care-plan domains
# (DOMAIN.md: drug and alcohol use; physical and psychological health; offending; social
# functioning; the Treatment Outcomes Profile's) plus harm reduction; reports group by
# CARE_PLAN_DOMAINS through GOAL_AREA_DOMAIN, never by these words.
GOAL_AREAS = Vocabulary(
    "goal area",
    Term("drug_alcohol_use", "Drugs and alcohol", "What I use, how much, and how.", phrase="drugs and alcohol"),
    Term("health", "My health, body and mind", "Physical and mental health.", phrase="health, body and mind"),
    Term("offending", "Staying out of trouble with the law", "Court, probation, police."),
    Term("social_functioning", "Home, friends, family and things I do", "Housing, work, money, people, days.",
         phrase="home, friends, family and daily life"),
    Term("harm_reduction", "Staying safer", "Naloxone, safer use, tests and vaccinations."),
)
# The four care-plan domains, in the words reports use (staff and auditors, not clients).
CARE_PLAN_DOMAINS = Vocabulary(
    "care plan domain",
    Term("drug_alcohol_use", "Drug and alcohol use"),
    Term("health", "Physical and psychological health"),
    Term("offending", "Offending"),
    Term("social_functioning", "Social functioning"),
)
# Each goal area's domain for reports. Harm reduction (overdose, blood-borne viruses,
# injecting) is reported under health.
GOAL_AREA_DOMAIN: dict[str, str] = {
    "drug_alcohol_use": "drug_alcohol_use", "health": "health", "offending": "offending",
    "social_functioning": "social_functioning", "harm_reduction": "health",
}


def domain_of(area: Any) -> str | None:
    """The care-plan domain a goal area is reported under."""
    return GOAL_AREA_DOMAIN.get(str(area)) if area is not None else None
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
    Term("not_discussed", "Not talked about yet", mine="We haven’t talked about this yet"),
    Term("offered", "Offered, not done yet", mine="I’ve been offered this"),
    Term("done", "Done", mine="I’ve had this"),
    Term("declined", "Does not want it", mine="I don’t want this"),
    Term("not_now", "Not now: ask again later", mine="Not now, maybe later"),
)
NSP_STATUSES = Vocabulary(
    "needle and syringe access",
    Term("has_access", "Can get sterile needles and syringes", mine="I can get sterile needles and syringes"),
    Term("needs_access", "Needs somewhere to get sterile needles and syringes",
         mine="I need somewhere to get sterile needles and syringes"),
    Term("not_needed", "Does not need them", mine="I don’t need them"),
    Term("not_discussed", "Not talked about yet", mine="We haven’t talked about this yet"),
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

# --- assessments -----------------------------------------------------------------------------

# Who may see one answer, most private first. The person chooses, per answer.
ANSWER_VISIBILITY = Vocabulary(
    "answer visibility",
    Term("only_me", "Only me", "Nobody else can see this answer, not even your keyworker.", "only the person"),
    Term("me_and_keyworker", "Me and my keyworker", "", "the person and their keyworker"),
    Term("care_team", "My care team", "Your keyworker and the clinician who prescribes for you.", "the care team"),
    Term("shareable", "Can go in copies I share",
         "Your care team, and any copy of your plan you choose to share.", "the care team and shared copies"),
)
# An answer that is not a value: a choice the person made, kept as an answer, never a blank.
ANSWER_STATUSES = Vocabulary(
    "answer status",
    Term("answered", "Answered"),
    Term("prefer_not_to_say", "Prefer not to say", phrase="preferred not to say"),
    Term("not_now", "Not now", "We can come back to this another time, only if you want to.", "left for later"),
)
ANSWER_TYPES = Vocabulary(
    "answer type",
    Term("text", "In your own words"),
    Term("choice", "Choose one"),
    Term("yes_no", "Yes or no"),
    Term("number", "A number"),
    Term("days_28", "Days in the last 4 weeks (0 to 28)"),
    Term("rating_20", "A rating from 0 to 20"),
)
TOP_STAGES = Vocabulary(
    "outcome stage",
    Term("start", "Start of treatment"),
    Term("review", "Review"),
    Term("exit", "Leaving treatment"),
)
ASSESSMENT_STATUSES = Vocabulary(
    "assessment status",
    Term("in_progress", "Saved part-way"),
    Term("complete", "Finished"),
)

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

# The treatment episode, for the national return (NDTMS, careplans.ndtms). The codes are
# ours; their mapping to the NDTMS codes is in docs/reporting.md and is not yet validated
# against the official data set specification.
INTERVENTION_TYPES = Vocabulary(
    "intervention type",
    Term("pharmacological", "Medicine (prescribing)", phrase="medicine"),
    Term("psychosocial", "Talking support (psychosocial)", phrase="talking support"),
    Term("recovery_support", "Recovery support", phrase="recovery support"),
)
INTERVENTION_SETTINGS = Vocabulary(
    "setting",
    Term("community", "Community service"),
    Term("primary_care", "GP or primary care"),
    Term("inpatient", "Inpatient unit"),
    Term("residential", "Residential rehabilitation"),
    Term("recovery_housing", "Recovery housing"),
    Term("prison", "Prison or secure setting"),
)
DISCHARGE_REASONS = Vocabulary(
    "reason for leaving treatment",
    Term("completed_free", "Finished treatment, no longer using"),
    Term("completed_occasional", "Finished treatment, occasional use"),
    Term("transferred_community", "Moved to another service"),
    Term("transferred_custody", "Moved to a service in prison"),
    Term("left_early", "Stopped coming before treatment finished"),
    Term("withdrawn_by_service", "Treatment ended by the service"),
    Term("retained_in_custody", "In prison, not transferred"),
    Term("declined_treatment", "Chose not to start treatment"),
    Term("died", "Died"),
)
