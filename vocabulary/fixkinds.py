"""Fix kinds, root-cause categories and the inference of a fix's kind from its text.

The kind says what a fix changes; whether it is a band-aid depends on what it changes, not on
how much effort it took (docs/domain.md, "Fix kinds").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vocabulary.rules import DEFAULT_RULES, Rules
from vocabulary.signals import Term, build_lexicon, normalise

Nature = Literal["band_aid", "structural"]

CATEGORIES: dict[str, str] = {
    "execution": "Execution",
    "strategy": "Strategy",
    "culture": "Culture",
    "interpersonal": "Interpersonal",
    "undetermined": "Undetermined",
}
CATEGORY_CHOICES: list[tuple[str, str]] = list(CATEGORIES.items())

# What actually fixes each category (docs/domain.md), as the next step a leader can take.
NEXT_STEPS: dict[str, str] = {
    "execution": "Invest in the infrastructure or tooling behind it, or close the skills gap "
    "with training, pairing or hiring.",
    "strategy": "Clarify the strategy and communicate it, then align priorities and OKRs across "
    "the teams involved.",
    "culture": "Change incentives, goals and recognition so that helping other teams is "
    "rewarded rather than penalised.",
    "interpersonal": "A leader coaches the people involved through their differences, "
    "rather than adding process around them.",
    "undetermined": "Keep recording: link the next raising of this issue and the fixes tried, "
    "so a pattern can show.",
}


@dataclass(frozen=True)
class FixKind:
    slug: str
    label: str
    nature: Nature
    structural_for: frozenset[str]
    explanation: str


def _kind(
    slug: str, label: str, nature: Nature, structural_for: tuple[str, ...], explanation: str
) -> FixKind:
    return FixKind(slug, label, nature, frozenset(structural_for), explanation)


_KINDS = (
    _kind("meeting", "Meeting", "band_aid", (),
          "Adds or changes a meeting; it treats the symptom, not its cause."),
    _kind("process", "Process step", "band_aid", (),
          "Adds a step, checklist, approval or gate; it works around the cause."),
    _kind("reminder", "Reminder", "band_aid", (),
          "Asks people to remember or be careful; nothing about the situation changes."),
    _kind("workaround", "Workaround", "band_aid", (),
          "A manual or one-off fix that gets past this occurrence only."),
    _kind("escalation", "Escalation", "band_aid", (),
          "Asks a manager to step in this time; the next time needs them again."),
    _kind("tooling", "Tooling", "structural", ("execution",),
          "Changes tools or configuration: structural for execution problems."),
    _kind("infrastructure", "Infrastructure", "structural", ("execution",),
          "Invests in infrastructure: structural for execution problems."),
    _kind("training", "Training or hiring", "structural", ("execution",),
          "Closes a skills gap by training, pairing or hiring: structural for execution."),
    _kind("staffing", "Staffing", "structural", ("execution",),
          "Changes capacity or ownership of the work: structural for execution problems."),
    _kind("strategy", "Strategy", "structural", ("strategy",),
          "Clarifies strategy or priorities across teams: structural for strategy problems."),
    _kind("incentives", "Incentives", "structural", ("culture",),
          "Changes goals or recognition to reward collaboration: structural for culture."),
    _kind("coaching", "Coaching", "structural", ("interpersonal",),
          "A leader coaches or mediates the people involved: structural for interpersonal."),
    _kind("reorg", "Reorganisation", "structural", ("strategy", "culture"),
          "Changes team boundaries or responsibilities: structural for strategy and culture."),
)  # fmt: skip

FIX_KINDS: dict[str, FixKind] = {k.slug: k for k in _KINDS}
KIND_CHOICES: list[tuple[str, str]] = [(k.slug, k.label) for k in _KINDS]
#: The band-aid kinds, in the taxonomy's order.
BAND_AID_KINDS: tuple[str, ...] = tuple(k.slug for k in _KINDS if k.nature == "band_aid")
FALLBACK_KIND = "workaround"


def is_band_aid(kind: str) -> bool:
    """True for band-aid kinds. Raises KeyError for an unknown slug."""
    return FIX_KINDS[kind].nature == "band_aid"


def is_structural_for(kind: str, category: str) -> bool:
    """True when a fix of `kind` changes what causes a `category` problem."""
    return category in FIX_KINDS[kind].structural_for


# --- Inference ------------------------------------------------------------------------------

# What each kind of fix *changes*, as stems and phrases: (strong, weak). Mechanism words
# (meeting, checklist, replace, coach) are strong; topic words (priorities, servers) weak.
# fmt: off
KIND_VOCABULARY: dict[str, tuple[Sequence[str], Sequence[str]]] = {
    "meeting": (
        (
            # Not "meeting our needs": meeting what is asked of something is no meeting.
            r"re:\bmeet\w*\b(?!\s+(?:our|the|its|their|your|all|these|those|any|every)\b"
            r"(?:\s+[\w-]+){0,3}?\s+(?:needs|requirements|expectations|deadlines?|targets?|"
            r"standards|criteria|demands|slas?)\b)",
            "sync*", "stand-up*", "standup*", "1:1*", "1-on-1*", "one-on-one*",
            "huddle*", "check-in*", "office hours", "catch-up*", "retro*", "forum*",
            "council*", "get together", "ceremon*", "review session*", "zoom", "video call*",
            "hangout*", "reconven*",
            # A call people join: not an on-call queue, nor code calling a function.
            r"re:\b(?:a|the|weekly|daily|monthly|regular|video|phone|conference|team|sync|"
            r"quick|short|joint|follow-up)\s+calls?\b",
            r"re:(?<!-)\bcalls?\s+(?:with|between|among)\b",
        ),
        (
            "weekly", "daily", "monthly", "biweekly", "fortnightly", "session*", "demo*",
            "facilitat*", "agenda*", "triage", "discuss*", "talk*", "invite*", "review*",
        ),
    ),
    "process": (
        (
            "process*", "checklist*", "approv*", "sign-off*", "gate*", "template*", "procedure*",
            "workflow*", "guideline*", "definition of done", "raci", "intake", "playbook*",
            "protocol*", "wip limit*", "add a step", "handoff doc*", "hand-off doc*",
            "criteria", "handbook*", "runbook*", "timeline*", "decision log*",
            "story point*", "by default",
            r"re:\blists?\s+of\s+(?:things|items|steps|checks)\s+to\s+(?:check|verify|test|do)\b",
        ),
        (
            "step*", "form", "forms", "rule*", "require*", "ticket*", "must", "sla*",
            "document*", "written", "before merging", "before release*", "code review*",
            "defin*", "terminolog*", "in advance", "schedule*",
        ),
    ),
    "reminder": (
        (
            "remind*", "announc*", "be careful", "be more careful", "remember*", "awareness",
            "habit*", "visibility",
            "heads-up", "memo*", "newsletter*", "poster*", "policy note*",
            "pay attention", "keep in mind", "be mindful", "watch out for", "keep an eye",
            # Telling people, once: "update teams on the escalation process".
            r"re:\b(?:update|inform|notify|brief)\s+(?:the\s+|all\s+|other\s+)?(?:teams?|"
            r"everyone|people|stakeholders|users|customers)\s+(?:on|about|of)\b",
        ),
        (
            "email*", "message*", "post*", "note*", "encourag*", "tell*", "please",
            "communicat*", "shared responsibility", "ask everyone", "ask people",
        ),
    ),
    "workaround": (
        (
            "workaround*", "work around", "manual*", "one-off", "hotfix*", "hot-fix*",
            "patch*", "restart*", "reboot*", "temporar*",
            "quick fix*", "by hand", "heroic*", "overtime", "weekend*", "rerun*", "retry*",
            "revert*", "rollback*", "roll back", "band-aid*", "stopgap*", "hack*", "bump*",
            "for now", "this time", "just fix",
            # What was done while it happened: something stopped, not changed for good.
            r"re:\b(?:was|were|got)\s+(?:\w+\s+)?(?:disabled|terminated|killed|stopped|"
            r"paused|shut\s+down|turned\s+off|switched\s+off)\b",
        ),
        # Removing things is often what a lasting change does too ("delete the noisy alert").
        ("script*", "clear*", "kick*", "free up", "fix it", "clean*", "purg*", "delet*"),
    ),
    "escalation": (
        (
            "escalat*", "step in", "steps in", "take it to", "raise it with",
            r"re:\bask\s+(?:the\s+|a\s+|our\s+|their\s+|his\s+|her\s+)?(?:\w+\s+)?"
            r"(?:managers?|directors?|vps?|heads?|cto|ceo|leadership|management|boss)\b",
            r"re:\binvolve\s+(?:the\s+)?(?:managers?|directors?|leadership|management)\b",
            r"re:\bfollow[-\s]?up\s+with\s+(?:the\s+|our\s+)?(?:\w+\s+)?"
            r"(?:managers?|directors?|vps?|leadership|management)\b",
        ),
        # A manager, not a program named after one ("worker-manager").
        ("director*", "management", r"re:(?<![-\w])managers?\b", "vp", "cto", "ceo", "boss"),
    ),
    "tooling": (
        (
            "tool*", "config*", "automat*", "lint*", "plugin*", "bot", "bots", "dashboard*",
            "monitor*", "alert rule*", "feature flag*", "pre-commit", "static analysis",
            "test suite*", "ci check*", "ci job*", "setting*", "acl", "acls", "permission*",
            "access right*", "repositor*", "repo", "repos",
            # The product's own code changed so the failure cannot happen again.
            "error handling", "error report*", "regression test*", "unit test*",
            "integration test*", "test coverage", "logging", "validation", "in the ui",
            r"re:\bauto-\w+",
            # A numbered bug or pull request to be fixed: a change to the code.
            r"re:\b(?:bug|pr|pull request)\s*#?\d{3,}",
            r"re:\b(?:crash|fork|spawn)\w*\s+(?:the\s+|a\s+|its\s+)?process",
        ),
        ("script*", "install*", "integrat*", "upgrad*", "set up", "switch* to", "add* tests",
         "alert*", "tests", "log*", "schema*", "api", "apis", "librar*", "graph*", "ui",
         "exception*", "enforce*", "disabl*", "enabl*"),
    ),
    "infrastructure": (
        (
            "infrastructur*", "infra", "replac*", "rebuild*", "rebuilt", "re-architect*",
            "hardware", "server*", "machine*", "cluster*", "scal*", "autoscal*", "migrat*",
            "database*", "network*", "storage", "datacent*", "data cent*", "rewrit*",
            "build farm", "decommission*", "new runner*", "staging",
        ),
        ("runner*", "cloud", "disk*", "capacity", "legacy", "move* builds", "environment*"),
    ),
    "training": (
        (
            "train*", "course*", "pair", "pairs", "pairing", "paired", "mentor*", "hire*",
            "hiring", "recruit*", "onboard*", "teach*", "upskill*", "learn*", "certif*",
            "knowledge sharing", "knowledge transfer", "brown bag*", "bootcamp*", "shadow*",
            "tutor*", "instruction*", "how to", "how-to*", "contributing", "guide", "guides",
        ),
        ("skill*", "workshop*", "junior*", "senior*", "expert*", "study", "knowledge"),
    ),
    "staffing": (
        (
            "staff*", "headcount", "backfill*", "contractor*", "owner", "owners", "ownership",
            r"re:\badd\s+(?:an?\s+|one\s+|two\s+|three\s+|more\s+|another\s+)?(?:\w+\s+)?"
            r"(?:engineers?|developers?|devs?|people|persons?|testers?|sres?|designers?)\b",
            "dedicated", "on-call rotation", "timezone*", "time zone*",
            r"re:\bmore\s+(?:\w+\s+)?(?:reviewers?|maintainers?|approvers?|members?|"
            r"volunteers?|contributors?)\b",
        ),
        ("assign*", "rotat*", "capacity", "allocat*", "budget*", "borrow*", "loan*", "workload*",
         "free up time"),
    ),
    "strategy": (
        (
            "strateg*", "okr*", "roadmap*", "vision", "north star", "stack-rank*", "prioritis*",
            "prioritiz*", r"re:\b(?:clarify|set|agree|define|publish|communicate|decide|rank|"
            r"align)\w*\s+(?:on\s+)?(?:the\s+|our\s+|team\s+|company\s+)?(?:\w+\s+)?"
            r"(?:goals?|priorit\w*|direction|strategy|objectives?|scope|okrs?|mission)\b",
            "single backlog", "one backlog",
        ),
        ("priorit*", "goal*", "objective*", "direction", "align*", "mission", "milestone*",
         "scope", "quarter*"),
    ),
    "incentives": (
        (
            "incentiv*", "bonus*", "reward*", "recogni*", "credit", "performance review*",
            # A promotion of people, not "promote the work items to epics".
            r"re:\bpromotions?\b", "compensat*", "kudos", "appraisal*", "career ladder*",
            "count* toward*",
            r"re:\bshared\s+(?:okrs?|goals?|targets?|objectives?|kpis?|metrics?)\b",
            r"re:\bchange\s+(?:the\s+|our\s+|their\s+)?(?:\w+\s+)?(?:goals?|targets?|metrics?|"
            r"kpis?|objectives?)\b",
            "review criteria",
        ),
        ("pay", "evaluat*", "goal*", "target*", "metric*", "celebrat*"),
    ),
    "coaching": (
        (
            "coach*", "mediat*", "work through", "conflict resolution", "reconcil*",
            "difficult conversation*", "facilitated conversation*", "counsel*", "therap*",
            r"re:\bresolve\s+(?:their\s+|the\s+)?(?:conflict|differences|tension|dispute)\w*",
            r"re:\bsit\s+(?:down\s+)?with\s+(?:both|them|\w+\s+and\s+\w+)\b",
        ),
        ("feedback", "relationship*", "team-building", "conflict*", "differences", "tension*"),
    ),
    "reorg": (
        (
            "reorg*", "reorganis*", "reorganiz*", "re-org*", "restructur*", "team boundar*",
            r"re:\b(?:merge|split|combine|dissolve|form)\w*\s+(?:[\w&-]+\s+){0,5}?teams?\b",
            r"re:\bmove\s+(?:the\s+)?\w+\s+team\b", "reporting line*", "report to",
            "new team",
        ),
        ("boundar*", "responsibilit*", "charter*", "transfer*", "hand over"),
    ),
}
# fmt: on

KIND_LEXICON: tuple[Term, ...] = build_lexicon(KIND_VOCABULARY)

# What a typical fix of each kind says, in plain sentences. When a fix's words match nothing
# in KIND_VOCABULARY (or only weakly), its meaning is compared with these
# (matching.fixkind). Written from the kinds' definitions in docs/domain.md, in no team's
# wording: add sentences that describe a kind, never a copy of one history's fix.
# fmt: off
KIND_EXAMPLES: dict[str, tuple[str, ...]] = {
    "meeting": (
        "hold a weekly sync meeting", "add a daily stand-up to discuss it",
        "schedule a call with the other team", "set up a recurring review session",
        "a monthly check-in with stakeholders", "book a meeting to talk it through",
        "run another workshop together",
    ),
    "process": (
        "add a step to the release checklist", "require approval before merging",
        "write the procedure in the handbook", "define a template for requests",
        "make it a rule that every ticket has an owner", "document the steps in the runbook",
        "change how we hand over work between people",
    ),
    "reminder": (
        "remind everyone to be careful", "announce it in the channel",
        "ask people to remember to update the ticket", "raise awareness of the problem",
        "send a heads-up before the change", "encourage people to ask for help",
    ),
    "workaround": (
        "fix it by hand this time", "manually patch the broken data",
        "restart the service when it fails", "copy the files over manually",
        "a quick temporary hack to get past it",
    ),
    "escalation": (
        "ask the manager to decide", "escalate to the director",
        "the head of department settles the dispute", "raise it with leadership to unblock",
        "get a senior leader to intervene this time",
    ),
    "tooling": (
        "automate the check in the CI pipeline", "add a linter rule",
        "write a script that generates the report",
        "a bot that posts the reminders automatically",
        "use a tool to create the release notes",
    ),
    "infrastructure": (
        "migrate to a managed cloud service", "upgrade the servers",
        "build a dedicated test environment", "replace the legacy database",
        "move the pipeline to a new platform",
    ),
    "training": (
        "train the team on the new framework", "pair junior developers with seniors",
        "hire an experienced engineer", "run a course on testing",
        "onboarding documentation and mentoring for new contributors",
    ),
    "staffing": (
        "add another person to the team", "a named owner for the component",
        "assign a dedicated release manager", "rotate who is on call",
        "find more maintainers",
    ),
    "strategy": (
        "clarify the product priorities", "agree on the roadmap with leadership",
        "align the OKRs across teams", "decide what we will stop doing",
        "set a clear goal for the release",
    ),
    "incentives": (
        "count cross-team help in everyone's goals", "reward helping other teams",
        "change the bonus criteria", "recognise collaboration in performance reviews",
    ),
    "coaching": (
        "the manager coaches the two leads", "mediate between the two people",
        "facilitated conversation to resolve the conflict",
        "give feedback to the person privately",
    ),
    "reorg": (
        "merge the two teams", "move ownership of the service to another team",
        "split the team by product area", "change team boundaries",
    ),
}
# fmt: on


@dataclass(frozen=True)
class InferredKind:
    kind: str
    confidence: float
    inferred: bool = True
    # Confident enough to pre-select; otherwise a person is asked to choose.
    sure: bool = False


def infer_fix_kind(text: str, *, rules: Rules = DEFAULT_RULES) -> InferredKind:
    """The most likely kind of a fix described in free text, with a confidence in 0..1.

    Every kind scores the stems and phrases it matches (strong mechanism words outweigh weak
    topic words; a strong match on the first word, usually the imperative verb, gets a bonus). Ties
    go to the kind listed first in docs/domain.md. Text matching nothing falls back to
    `workaround` at a low confidence: an action that names no structural change is, until a
    person says otherwise, a one-off, and a band-aid is the conservative reading for the
    band-aid loop. `sure` is False below `rules.infer_sure_confidence` (no match, or a tie
    between kinds): forms then ask the person instead of pre-selecting the kind.
    """
    scores = _kind_scores(text, rules)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], list(FIX_KINDS).index(kv[0])))
    if not ranked or ranked[0][1] <= 0:
        return InferredKind(FALLBACK_KIND, rules.infer_fallback_confidence)
    (kind, top), second = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
    confidence = (
        rules.infer_confidence_base
        + rules.infer_confidence_per_point * top
        - rules.infer_confidence_tie_penalty * (second / top)
    )
    confidence = round(
        min(rules.infer_confidence_cap, max(rules.infer_confidence_floor, confidence)), 2
    )
    return InferredKind(kind, confidence, sure=confidence >= rules.infer_sure_confidence)


def _kind_scores(text: str, rules: Rules) -> dict[str, float]:
    remaining = normalise(text).strip()
    lead = len(remaining) - len(remaining.lstrip(" -*•\t"))
    scores: dict[str, float] = {}
    for term in KIND_LEXICON:
        for match in term.pattern.finditer(remaining):
            weight = rules.infer_strong if term.strong else rules.infer_weak
            if term.strong and match.start() == lead:
                weight += rules.infer_lead_bonus
            scores[term.category] = scores.get(term.category, 0.0) + weight
        remaining = term.pattern.sub(lambda m: " " * len(m.group(0)), remaining)
    return scores
