"""A synthetic organisation's retro history, planned in memory (no database, no model).

Texts come from problem families (strategy, culture, interpersonal, execution and one-off
items). Each family has several phrasings with slots for products, tools, environments,
people, other teams and ticket codes; typos, "again"-style additions and rewordings by other
teams vary them further. Every issue belongs to one family and one of its *base sentences*;
each raising uses that base sentence or another of its family, so a small number of distinct
base sentences (a few thousand) covers the whole history. ``seed_scale`` embeds only those
with the real model and derives each raising's vector from its base sentence's vector plus
small noise.

Deterministic for a given seed and ``today``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# --- Vocabulary ---------------------------------------------------------------------------

TEAM_NAMES = (
    "Payments", "Checkout", "Mobile", "Data", "Design", "Support", "Platform", "Search",
    "Billing", "Identity", "Growth", "Routing", "Tracking", "Warehouse", "Fleet", "Customs",
    "Pricing", "Partner API", "Notifications", "Reporting", "Onboarding", "Driver App",
    "Storefront", "Infrastructure", "Security", "SRE", "QA Guild", "Analytics",
    "Machine Learning", "Content", "Localisation", "Accessibility", "Finance Systems",
    "People Systems", "Internal Tools", "Developer Experience", "Customer Care", "Integrations",
    "Marketplace", "Subscriptions", "Loyalty", "Inventory", "Dispatch", "Returns", "Invoicing",
    "Compliance", "Maps", "Telematics", "Supplier Portal", "Experimentation",
)  # fmt: skip
PRODUCTS = (
    "Checkout", "the mobile app", "the Billing API", "Route Planner", "the warehouse portal",
    "the driver app", "the invoice service", "the partner API", "the tracking page",
    "the admin console", "the customs module", "the fleet dashboard", "the pricing engine",
    "the returns flow", "the search page", "the loyalty programme", "the booking widget",
)  # fmt: skip
TOOLS = (
    "Jenkins", "GitLab CI", "Jira", "Terraform", "Kubernetes", "the feature-flag service",
    "Datadog", "PagerDuty", "Confluence", "the test farm", "Sentry", "Argo", "Vault",
)  # fmt: skip
ENVIRONMENTS = ("staging", "UAT", "preview", "perf", "QA", "integration")
VENDORS = ("the payment provider", "the map vendor", "the SMS gateway", "the customs broker")
PEOPLE = (
    "Priya", "Marco", "Dana", "Lee", "Ravi", "Sofia", "Tomasz", "Aisha", "Jonas", "Mei",
    "Carlos", "Ingrid", "Kwame", "Elena", "Omar", "Hannah", "Yuki", "Felix", "Nadia", "Pieter",
)  # fmt: skip
ROLES = ("product owner", "tech lead", "designer", "QA lead", "architect", "engineering manager")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
NUMBERS = ("two", "three", "four", "five", "2", "3", "4", "6")
TICKET_PREFIXES = ("PAY", "CHK", "OPS", "MOB", "DATA", "PLAT", "WEB", "API", "INFRA", "SUP")
SUFFIXES = (
    " again", " (again)", ", still", " this sprint", " - see {ticket}", " ({ticket})",
    ", same as last time", " for the third time", "!!", ", really hurting us",
)  # fmt: skip
PREFIXES = ("Again: ", "Still: ", "As last retro, ", "Same old: ", "FYI ", "Ugh, ")
QUERY_OPENERS = ("", "", "", "again ", "still ", "")


# --- Problem families ---------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    slug: str
    category: str  # strategy, culture, interpersonal, execution or undetermined (one-offs)
    spread: float  # chance that a raising happens in another team than the first one
    recurring: float  # chance that an issue of this family is raised more than once
    templates: tuple[str, ...]
    topics: tuple[str, ...]  # what band-aid fixes talk about


FAMILIES: tuple[Family, ...] = (
    # Strategy: priorities and goals that change or conflict across teams.
    Family("priorities_churn", "strategy", 0.55, 0.8, (
        "Priorities changed {n} times mid-sprint, half our work on {product} was thrown away",
        "Scope changed again after sprint planning",
        "Nobody can say which roadmap item matters most this quarter",
        "Mid-sprint switch to {product} again, {ticket} parked half done",
        "Direction on {product} changed after we had started",
        "Roadmap unclear, features of {product} cut late without explanation",
    ), ("sprint scope", "priorities", "the roadmap")),
    Family("conflicting_goals", "strategy", 0.6, 0.75, (
        "Our OKRs contradict what {other} was told to deliver",
        "{other} and we are working toward different goals for the same release",
        "Two directors asked for opposite things on {product}",
        "Quarter goals for {product} conflict with the platform migration",
        "{other} was told {product} is top priority, we were told the opposite",
    ), ("goals", "OKRs", "release goals")),
    Family("product_ownership", "strategy", 0.45, 0.7, (
        "Nobody owns {product} end to end, decisions stall",
        "Unclear who decides on {product} scope, the {role} or {other}",
        "Three teams touch {product} and nobody can say no to a request",
        "Decisions on {product} wait for a steering group that rarely meets",
    ), ("ownership of {product}", "decisions on {product}")),
    Family("initiative_overload", "strategy", 0.5, 0.7, (
        "Too many parallel initiatives, we are spread over {n} projects",
        "Asked to start {product} work on top of the current roadmap",
        "New initiative announced before the last one was finished",
        "Every stakeholder has a top priority and we have {n} of them",
    ), ("parallel initiatives", "incoming requests")),
    Family("fixed_dates", "strategy", 0.4, 0.65, (
        "Release date for {product} set before the work was estimated",
        "Fixed date for {product} again, quality cut to make it",
        "Deadline for {ticket} promised to a customer without asking us",
    ), ("release dates", "deadlines")),
    # Culture: incentives and norms that punish helping, speaking up or resting.
    Family("no_help_across_teams", "culture", 0.55, 0.75, (
        "Nobody helps with shared pipelines because it does not count toward our own goals",
        "Helping {other} hurt our numbers, so people stopped offering",
        "Silos again: each team protects its own targets",
        "Asked {other} for help with {product}, they said it is not on their board",
    ), ("cross-team help", "shared pipelines")),
    Family("blame", "culture", 0.5, 0.7, (
        "{other} gets blamed for every incident even when the cause is elsewhere",
        "Blame game after the outage review on {product}",
        "Post-mortem for {ticket} turned into finger-pointing",
        "People defending their own team instead of fixing {product}",
    ), ("incident reviews", "post-mortems")),
    Family("tickets_bounce", "culture", 0.5, 0.7, (
        "Tickets bounce between {other} and us, nobody takes {ticket}",
        "Escalations are not their job according to {other}",
        "{ticket} reassigned {n} times between teams before anyone looked at it",
    ), ("ticket hand-offs", "escalations")),
    Family("hero_culture", "culture", 0.35, 0.6, (
        "Only late-night heroics got {product} out the door",
        "People are praised for firefighting, not for preventing incidents",
        "{person} worked all weekend again to save the {product} release",
    ), ("firefighting", "weekend work")),
    Family("speaking_up", "culture", 0.4, 0.6, (
        "People don't raise risks in planning because it is seen as negativity",
        "Nobody challenged the {product} estimate although everyone knew it was wrong",
        "Concerns about {product} were raised in private but never in the meeting",
    ), ("raising risks", "planning")),
    Family("overtime_norm", "culture", 0.35, 0.6, (
        "Weekend work expected again for the {product} launch",
        "Evening messages from the {role} treated as urgent",
        "Overtime is the plan, not the exception, for {product}",
    ), ("working hours", "out-of-hours messages")),
    # Interpersonal: friction between named people, mostly inside one or two teams.
    Family("two_leads", "interpersonal", 0.12, 0.7, (
        "{person} and {person2} argued through the architecture review again",
        "Tension between {person} and {person2} is slowing every decision",
        "Hand-off to {other} blocked for a week because {person} and {person2} can't agree",
        "{person} refuses {person2}'s specs, {product} designs stuck again",
    ), ("the architecture review", "review ground rules")),
    Family("dominating_meetings", "interpersonal", 0.1, 0.6, (
        "{person} talks over everyone in planning",
        "Same two voices decide everything in refinement",
        "{person} cut {person2} off again in the retro",
    ), ("meeting etiquette", "speaking time")),
    Family("review_friction", "interpersonal", 0.1, 0.6, (
        "Code review comments from {person} feel personal",
        "{person} rejects {person2}'s pull requests without explanation",
        "Review of {ticket} turned into an argument between {person} and {person2}",
    ), ("code review tone", "review comments")),
    Family("estimate_trust", "interpersonal", 0.15, 0.55, (
        "The {role} and the developers don't trust each other's estimates",
        "{person} keeps second-guessing {person2}'s estimates for {product}",
    ), ("estimates", "planning poker")),
    # Execution: tools, environments, skills and capacity.
    Family("ci_flaky", "execution", 0.25, 0.85, (
        "CI builds take {mins} minutes and fail randomly",
        "Flaky builds blocked {n} releases",
        "{tool} pipeline red for no reason, retried {n} times",
        "Integration tests flaky on {product}, see {ticket}",
        "Build queue backed up for hours on {day}",
    ), ("flaky builds", "the build runners", "CI")),
    Family("env_down", "execution", 0.3, 0.85, (
        "The {env} environment was down for {n} days",
        "The {env} environment unavailable again during the release test",
        "Couldn't test {product} because the {env} environment was broken",
        "Test data on {env} wiped on {day} without warning",
    ), ("the test environment", "staging")),
    Family("bus_factor", "execution", 0.15, 0.7, (
        "Only {person} knows how to run the {tool} upgrades",
        "{person} on holiday and nobody could deploy {product}",
        "Single point of knowledge for the billing jobs of {product}",
    ), ("the upgrades", "deployments")),
    Family("design_late", "execution", 0.3, 0.8, (
        "Designs for {product} arrived {n} days before the sprint ended",
        "Mock-ups late for the third sprint in a row",
        "Waiting on design again for {ticket}",
        "Design requests arrive out of order, nobody ranks them",
    ), ("design hand-offs", "mock-ups")),
    Family("slow_reviews", "execution", 0.2, 0.8, (
        "Code reviews wait {n} days for an approver",
        "Pull requests for {product} sit unreviewed over the weekend",
        "{ticket} waited a week for review",
    ), ("code reviews", "pull requests")),
    Family("oncall_load", "execution", 0.25, 0.8, (
        "On-call rota puts the same two people on every weekend",
        "Paged {n} times at night for {product} alerts nobody acts on",
        "Alert noise from {tool} makes on-call miserable",
    ), ("on-call", "alerts")),
    Family("unclear_requirements", "execution", 0.3, 0.75, (
        "Acceptance criteria for {ticket} missing until mid-sprint",
        "Stories arrive without enough detail, lots of back and forth with the {role}",
        "Requirements for {product} changed during development",
    ), ("acceptance criteria", "story refinement")),
    Family("legacy_code", "execution", 0.2, 0.75, (
        "Legacy code in {product} slows every change",
        "Spent half the sprint working around the old data model of {product}",
        "Nobody dares to touch the batch jobs behind {product}",
    ), ("the legacy code", "the data model")),
    Family("manual_deploys", "execution", 0.2, 0.75, (
        "Release of {product} took {n} hours of manual steps",
        "Deploys still need {person} to run scripts by hand",
        "Rollback of {product} failed, had to fix the database by hand",
    ), ("releases", "deploy scripts")),
    Family("meeting_overload", "execution", 0.4, 0.7, (
        "Too many meetings, no focus time on {day}s",
        "Calendar full of status meetings, coding only after 4pm",
        "Three different stand-ups for the same {product} work",
    ), ("meetings", "focus time")),
    Family("test_data", "execution", 0.25, 0.65, (
        "No realistic test data for {product}",
        "Test data on {env} reset without warning",
        "Test accounts for {product} expire every week",
    ), ("test data", "test accounts")),
    Family("vendor_dependency", "execution", 0.35, 0.65, (
        "{vendor} changed their API without notice and broke {product}",
        "Waiting on {vendor} for {n} weeks",
        "{vendor} sandbox down again, blocked {ticket}",
    ), ("the vendor", "vendor changes")),
    Family("onboarding", "execution", 0.35, 0.6, (
        "New joiners take weeks to get a working laptop",
        "Onboarding docs for {product} are out of date",
        "New colleague spent {n} days setting up a dev environment for {product}",
    ), ("onboarding", "setup docs")),
    Family("overcommitment", "execution", 0.3, 0.8, (
        "We committed to too much again, {n} stories carried over",
        "Carry-over from last sprint is now {n} tickets",
        "Sprint goal missed, {ticket} and {n} others rolled over",
    ), ("sprint commitment", "carry-over")),
    Family("monitoring_gaps", "execution", 0.25, 0.65, (
        "Found out about the {product} outage from customers",
        "No dashboard for {product} error rates",
        "Logs for {product} rotated before we could investigate {ticket}",
    ), ("monitoring", "dashboards")),
    Family("access_requests", "execution", 0.35, 0.6, (
        "Waited {n} days for access to {tool}",
        "Production access requests stuck with IT",
        "New engineer still has no access to {tool} after {n} weeks",
    ), ("access requests", "permissions")),
    Family("capacity", "execution", 0.25, 0.65, (
        "Team down to {n} developers after two people left",
        "Support rotation eats a third of our capacity",
        "Nobody on {product} while {person} is on parental leave",
    ), ("capacity", "the support rotation")),
    # One-off items: praise, office and calendar events; rarely raised twice.
    Family("praise", "undetermined", 0.0, 0.05, (
        "Great pairing session on the {product} form",
        "Loved the user research day",
        "The new {tool} dashboard saved us hours",
        "Shout-out to {person} for fixing {ticket}",
        "Demo of {product} went really well",
    ), ("celebrations",)),
    Family("office", "undetermined", 0.0, 0.15, (
        "Office too noisy on {day}s",
        "Coffee machine broken all week",
        "Meeting rooms always booked on {day}",
        "VPN slow from home",
    ), ("the office",)),
    Family("calendar", "undetermined", 0.0, 0.1, (
        "Holiday cover was thin in December",
        "Release notes for {product} were late for the app store",
        "Certificate expiry caught us by surprise on {product}",
        "Offsite planning clashed with the {product} release",
    ), ("the calendar",)),
)  # fmt: skip

BAND_AIDS: dict[str, tuple[str, ...]] = {
    "meeting": (
        "Weekly sync with {other} about {topic}",
        "Add a check-in on {topic} to stand-up",
        "Fortnightly cross-team triage meeting on {topic}",
    ),
    "process": (
        "Add an approval step for {topic}",
        "Checklist for {topic}",
        "Written template for {topic}",
    ),
    "reminder": (
        "Remind everyone about {topic}",
        "Post a reminder in the team channel about {topic}",
    ),
    "workaround": (
        "Manual workaround for {topic} this time",
        "Restart things by hand when {topic} breaks",
    ),
    "escalation": (
        "Escalate {topic} to the director this time",
        "Ask {person}'s manager to step in on {topic}",
    ),
}
STRUCTURAL: dict[str, tuple[tuple[str, str], ...]] = {
    "execution": (
        ("tooling", "Automate {topic} with {tool}"),
        ("infrastructure", "Rebuild {topic} from infrastructure-as-code"),
        ("training", "Pair two engineers on {topic} and write a runbook"),
        ("staffing", "Hire a second {role} for {topic}"),
    ),
    "strategy": (
        ("strategy", "Agree one ranked roadmap for {product} with all teams"),
        ("reorg", "Move ownership of {product} to a single team"),
    ),
    "culture": (
        ("incentives", "Count cross-team help in every team's goals"),
        ("reorg", "Create a shared team for {topic}"),
    ),
    "interpersonal": (("coaching", "The engineering manager coaches {person} and {person2}"),),
    "undetermined": (("tooling", "Automate {topic} with {tool}"),),
}

_SLOT = re.compile(r"\{(\w+)\}")
_WORD = re.compile(r"[A-Za-z]{4,}")


def _slot_value(name: str, rng: random.Random, other_teams: Sequence[str]) -> str:
    if name == "product":
        return rng.choice(PRODUCTS)
    if name == "tool":
        return rng.choice(TOOLS)
    if name == "env":
        return rng.choice(ENVIRONMENTS)
    if name == "vendor":
        return rng.choice(VENDORS)
    if name in ("person", "person2"):
        return rng.choice(PEOPLE)
    if name == "role":
        return rng.choice(ROLES)
    if name == "day":
        return rng.choice(DAYS)
    if name == "n":
        return rng.choice(NUMBERS)
    if name == "mins":
        return str(rng.choice((35, 40, 45, 50, 55, 70, 90)))
    if name == "ticket":
        return f"{rng.choice(TICKET_PREFIXES)}-{rng.randint(100, 9999)}"
    if name == "other":
        return rng.choice(other_teams) if other_teams else "the other team"
    raise KeyError(name)


def render(template: str, rng: random.Random, other_teams: Sequence[str] = TEAM_NAMES) -> str:
    """Fill a template's slots; two people in one sentence are two different people."""
    values: dict[str, str] = {}
    for name in _SLOT.findall(template):
        if name in values:
            continue
        value = _slot_value(name, rng, other_teams)
        while name == "person2" and value == values.get("person"):
            value = _slot_value(name, rng, other_teams)
        values[name] = value
    text = _SLOT.sub(lambda m: values[m.group(1)], template)
    return text[0].upper() + text[1:]


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip in a word of four letters or more: swap, drop or double a letter."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    match = rng.choice(words)
    word = match.group(0)
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        changed = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    elif kind == 1:
        changed = word[:i] + word[i + 1 :]
    else:
        changed = word[:i] + word[i] + word[i:]
    return text[: match.start()] + changed + text[match.end() :]


def vary(text: str, rng: random.Random, *, typo_rate: float = 0.18) -> str:
    """A raising as a facilitator writes it: additions, lower case, typos."""
    roll = rng.random()
    if roll < 0.12:
        text = text + _SLOT.sub(lambda _m: _slot_value("ticket", rng, ()), rng.choice(SUFFIXES))
    elif roll < 0.18:
        text = rng.choice(PREFIXES) + text[0].lower() + text[1:]
    if rng.random() < 0.05:
        text = text.lower()
    while rng.random() < typo_rate:
        text = typo(text, rng)
        typo_rate /= 3
    return text


# --- Plan -----------------------------------------------------------------------------------


@dataclass(slots=True)
class PlannedOccurrence:
    team: int  # index into Plan.teams
    retro: int  # index into Plan.retros
    text: str
    base: int  # index into Plan.base_texts
    votes: int


@dataclass(slots=True)
class PlannedFix:
    occurrence: int  # index into the issue's occurrences (the raising it was decided at)
    text: str
    kind: str
    owner: str
    status: str
    outcome: str
    decided_on: dt.date
    due_on: dt.date
    completed_on: dt.date | None


@dataclass(slots=True)
class PlannedIssue:
    family: int
    occurrences: list[PlannedOccurrence] = field(default_factory=list)
    fixes: list[PlannedFix] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PlannedRetro:
    team: int
    held_on: dt.date
    number: int


@dataclass
class Plan:
    teams: list[str]
    retros: list[PlannedRetro]
    base_texts: list[str]
    base_family: list[int]
    issues: list[PlannedIssue]

    @property
    def occurrence_count(self) -> int:
        return sum(len(i.occurrences) for i in self.issues)

    @property
    def fix_count(self) -> int:
        return sum(len(i.fixes) for i in self.issues)


def team_names(count: int) -> list[str]:
    names = list(TEAM_NAMES[:count])
    round_ = 2
    while len(names) < count:
        names.extend(f"{n} {round_}" for n in TEAM_NAMES[: count - len(names)])
        round_ += 1
    return names


def issue_sizes(total: int, rng: random.Random, recurring: float, mean_recurring: float) -> int:
    """How many raisings one issue gets: one, or (with chance `recurring`) a geometric
    number with mean `mean_recurring`."""
    if rng.random() >= recurring:
        return 1
    p = 1.0 / max(1.0, mean_recurring - 1.0)
    n = 2 + int(math.log(1.0 - rng.random()) / math.log(1.0 - p)) if p < 1 else 2
    return min(n, total)


def base_sentences(
    families: Sequence[Family], per_family: int, rng: random.Random
) -> tuple[list[str], list[int]]:
    """`per_family` distinct renderings of each family's templates."""
    texts: list[str] = []
    owners: list[int] = []
    for index, family in enumerate(families):
        seen: set[str] = set()
        attempts = 0
        while len(seen) < per_family and attempts < per_family * 20:
            attempts += 1
            text = render(rng.choice(family.templates), rng)
            if text not in seen:
                seen.add(text)
                texts.append(text)
                owners.append(index)
    return texts, owners


def plan(
    *,
    teams: int,
    occurrences: int,
    today: dt.date,
    years: float = 5.0,
    seed: int = 1,
    base_count: int = 3000,
    fix_rate: float = 0.4,
) -> Plan:
    """The whole history: fortnightly retros per team, issues with their raisings (about five
    per issue on average) and fixes (about `fix_rate` per raising), ending at `today`."""
    if teams < 1 or occurrences < 1:
        raise ValueError("teams and occurrences must be at least 1")
    rng = random.Random(seed)
    names = team_names(teams)
    per_team = max(2, round(years * 365.25 / 14))
    retros: list[PlannedRetro] = []
    first_retro: list[int] = []
    for t in range(teams):
        last = today - dt.timedelta(days=rng.randrange(14))
        first_retro.append(len(retros))
        for k in range(per_team):
            held_on = last - dt.timedelta(days=14 * (per_team - 1 - k))
            retros.append(PlannedRetro(team=t, held_on=held_on, number=k + 1))
    per_family = max(2, math.ceil(base_count / len(FAMILIES)))
    base_texts, base_family = base_sentences(FAMILIES, per_family, rng)
    by_family: list[list[int]] = [[] for _ in FAMILIES]
    for i, f in enumerate(base_family):
        by_family[f].append(i)
    # Recurring families are chosen more often: most raisings are about a few dozen themes.
    weights = [3.0 if f.category != "undetermined" else 1.5 for f in FAMILIES]
    # Mean raisings per issue is about 5: recurring issues get a geometric count.
    issues: list[PlannedIssue] = []
    remaining = occurrences
    while remaining > 0:
        family_index = rng.choices(range(len(FAMILIES)), weights)[0]
        family = FAMILIES[family_index]
        size = min(remaining, issue_sizes(remaining, rng, family.recurring, 7.0), per_team)
        issue = PlannedIssue(family=family_index)
        _place(issue, size, family, rng, names, per_team, first_retro, by_family[family_index])
        issue.occurrences.sort(key=lambda o: (retros[o.retro].held_on, o.retro))
        for occ in issue.occurrences:
            occ.text = vary(base_texts[occ.base], rng)
        _fixes(issue, family, rng, retros, today, fix_rate)
        issues.append(issue)
        remaining -= len(issue.occurrences)
    return Plan(names, retros, base_texts, base_family, issues)


def _place(
    issue: PlannedIssue,
    size: int,
    family: Family,
    rng: random.Random,
    names: Sequence[str],
    per_team: int,
    first_retro: Sequence[int],
    bases: Sequence[int],
) -> None:
    """Choose the teams, retros and base sentences of an issue's raisings."""
    teams = len(names)
    home = rng.randrange(teams)
    involved = [home]
    if family.spread and teams > 1:
        extra = sum(1 for _ in range(size - 1) if rng.random() < family.spread)
        others = rng.sample([t for t in range(teams) if t != home], min(teams - 1, 6))
        involved += others[: max(0, min(len(others), extra))]
    counts = dict.fromkeys(involved, 0)
    for i in range(size):
        t = home if i == 0 or len(involved) == 1 else rng.choice(involved)
        counts[t] += 1
    # Each team's raisings fall on distinct retros inside one window of the history.
    need = max(counts.values())
    window = min(per_team, max(need, 4, int(size * rng.uniform(1.5, 4.0))))
    start = rng.randrange(per_team - window + 1)
    canonical = rng.choice(bases)
    for t, n in counts.items():
        for k in rng.sample(range(window), n):
            # Mostly the issue's own wording; sometimes another team's rewording.
            base = canonical if rng.random() < 0.55 else rng.choice(bases)
            issue.occurrences.append(
                PlannedOccurrence(
                    team=t,
                    retro=first_retro[t] + start + k,
                    text="",
                    base=base,
                    votes=min(9, int(rng.expovariate(0.5))),
                )
            )


def _fixes(
    issue: PlannedIssue,
    family: Family,
    rng: random.Random,
    retros: Sequence[PlannedRetro],
    today: dt.date,
    fix_rate: float,
) -> None:
    """Fixes decided at some raisings: mostly band-aids; structural fixes tend to end a
    thread (execution problems) or are rare (the other categories)."""
    last = len(issue.occurrences) - 1
    for i, occ in enumerate(issue.occurrences):
        if rng.random() >= fix_rate:
            continue
        decided_on = retros[occ.retro].held_on
        structural_chance = 0.5 if family.category == "execution" and i == last else 0.1
        if rng.random() < structural_chance:
            kind, template = rng.choice(STRUCTURAL[family.category])
        else:
            kind = rng.choice(tuple(BAND_AIDS))
            template = rng.choice(BAND_AIDS[kind])
        topic = render(rng.choice(family.topics), rng)
        text = render(template.replace("{topic}", topic[0].lower() + topic[1:]), rng)
        due_on = decided_on + dt.timedelta(days=14)
        status, outcome, completed_on = "done", "", None
        if (today - decided_on).days < 21:
            status = "open"
        elif rng.random() < 0.06:
            status = "dropped"
        else:
            completed_on = min(today, decided_on + dt.timedelta(days=rng.randint(3, 20)))
            roll = rng.random()
            if i < last:
                outcome = "did_not_work" if roll < 0.65 else ""
            else:
                outcome = "worked" if roll < 0.6 else ("too_early" if roll < 0.75 else "")
        issue.fixes.append(
            PlannedFix(
                occurrence=i,
                text=text,
                kind=kind,
                owner=rng.choice(PEOPLE),
                status=status,
                outcome=outcome,
                decided_on=decided_on,
                due_on=due_on,
                completed_on=completed_on,
            )
        )


def queries(count: int, seed: int = 7) -> Iterator[str]:
    """Distinct texts as a facilitator types them into the board: fresh phrasings of the
    families, often with a typo, sometimes only partly typed."""
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < count:
        family = rng.choice(FAMILIES)
        text = rng.choice(QUERY_OPENERS) + render(rng.choice(family.templates), rng)
        text = vary(text, rng, typo_rate=0.5)
        if rng.random() < 0.3:
            cut = text.rfind(" ", 0, max(12, int(len(text) * rng.uniform(0.5, 0.9))))
            text = text[:cut] if cut > 10 else text
        if text not in seen:
            seen.add(text)
            yield text


def history_document(
    organization: str,
    *,
    items: int,
    teams: int = 12,
    years: float = 2.0,
    seed: int = 11,
    today: dt.date,
    same_as_rate: float = 0.5,
) -> dict[str, Any]:
    """A recur-history/1 document of `items` items planned like ``plan``; about half of the
    recurrences name their first raising in `same_as`, the rest are left to the matcher."""
    history = plan(
        teams=teams, occurrences=items, today=today, years=years, seed=seed, base_count=600
    )
    rng = random.Random(seed)
    slugs = [f"t{t + 1}" for t in range(len(history.teams))]
    by_retro: dict[int, list[dict[str, Any]]] = {}
    actions: dict[int, list[dict[str, Any]]] = {}
    counter = 0
    for n, issue in enumerate(history.issues):
        first_key = ""
        keys: list[str] = []
        for occ in issue.occurrences:
            counter += 1
            key = f"i{counter}"
            item: dict[str, Any] = {"key": key, "text": occ.text, "votes": occ.votes}
            if first_key and rng.random() < same_as_rate:
                item["same_as"] = first_key
            first_key = first_key or key
            keys.append(key)
            by_retro.setdefault(occ.retro, []).append(item)
        for j, fix in enumerate(issue.fixes):
            occ = issue.occurrences[fix.occurrence]
            action: dict[str, Any] = {
                "key": f"a{n}-{j}",
                "item": keys[fix.occurrence],
                "text": fix.text,
                "kind": fix.kind,
                "owner": fix.owner,
                "due_on": fix.due_on.isoformat(),
                "status": fix.status,
            }
            if fix.completed_on is not None and fix.status == "done":
                action["completed_on"] = fix.completed_on.isoformat()
            actions.setdefault(occ.retro, []).append(action)
    retros = []
    for index in sorted(by_retro.keys() | actions.keys()):
        retro = history.retros[index]
        retros.append(
            {
                "key": f"r{index}",
                "team": slugs[retro.team],
                "held_on": retro.held_on.isoformat(),
                "title": f"Sprint {retro.number}",
                "items": by_retro.get(index, []),
                "actions": actions.get(index, []),
            }
        )
    return {
        "format": "recur-history/1",
        "organization": organization,
        "teams": [{"key": s, "name": n} for s, n in zip(slugs, history.teams, strict=True)],
        "retrospectives": retros,
    }
