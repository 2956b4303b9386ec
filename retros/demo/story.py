"""The demo organisation's history, built as a `recur-history/1` document.

Fabrikam Freight has seven teams and fourteen months of monthly retrospectives. Its threads
show every root-cause category: a strategy problem that meetings and approval gates keep
papering over, a culture problem of teams penalised for helping each other, friction
between two leads, infrastructure problems that structural fixes really solved, a skills
gap closed by pairing, a structural fix of the wrong kind, and one-off items. The dates are
fixed so the document is the same on every machine and seeding is idempotent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

ORGANIZATION = "Fabrikam Freight"
TEAMS = {
    "platform": "Platform",
    "payments": "Payments",
    "checkout": "Checkout",
    "mobile": "Mobile",
    "data": "Data",
    "design": "Design",
    "support": "Support",
}
FIRST_MONTH = dt.date(2025, 9, 1)
MONTHS = 14


@dataclass(frozen=True)
class Action:
    text: str
    kind: str
    owner: str = ""
    status: str = "done"
    days_to_complete: int = 10


@dataclass(frozen=True)
class Raising:
    month: int  # 0-based month of the history
    team: str
    text: str
    votes: int = 2
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Thread:
    raisings: tuple[Raising, ...] = field(default_factory=tuple)


THREADS: tuple[Thread, ...] = (
    # Strategy: priorities churn across teams; syncs and gates do not stop it.
    Thread(
        (
            Raising(
                0,
                "payments",
                "Priorities changed twice mid-sprint, half our work was thrown away",
                5,
                (
                    Action(
                        "Weekly priority sync between product and engineering leads",
                        "meeting",
                        "Dana",
                    ),
                ),
            ),
            Raising(
                2,
                "checkout",
                "Nobody can say which roadmap item matters most this quarter",
                4,
                (
                    Action(
                        "Add an approval step before new work enters the sprint", "process", "Lee"
                    ),
                ),
            ),
            Raising(
                4,
                "payments",
                "Scope changed again after sprint planning",
                4,
                (
                    Action(
                        "Remind stakeholders that the sprint scope is frozen", "reminder", "Dana"
                    ),
                ),
            ),
            Raising(
                6,
                "mobile",
                "Mobile and Checkout are working toward different goals for the same release",
                3,
            ),
            Raising(
                8,
                "data",
                "Our OKRs contradict what Payments was told to deliver",
                4,
                (
                    Action(
                        "Escalate the conflicting asks to the VP this time", "escalation", "Ravi"
                    ),
                ),
            ),
            Raising(
                10, "checkout", "Priorities shifted mid-sprint again, nobody knows the real plan", 5
            ),
            Raising(
                11, "payments", "Third change of direction this quarter, the team is demoralised", 5
            ),
            Raising(
                12,
                "checkout",
                "We still don't know which of the two launch goals wins",
                4,
                (
                    Action(
                        "Ask leadership for one ranked list of quarterly priorities",
                        "strategy",
                        "Dana",
                        status="open",
                        days_to_complete=30,
                    ),
                ),
            ),
            Raising(13, "mobile", "Roadmap unclear, features cut late without explanation", 3),
        )
    ),
    # Culture: helping other teams is penalised by team-only incentives.
    Thread(
        (
            Raising(
                1,
                "platform",
                "Platform gets blamed for every incident even when the cause is elsewhere",
                4,
                (Action("Reminder that incidents are a shared responsibility", "reminder", "Sam"),),
            ),
            Raising(
                3,
                "support",
                "Other teams say escalations are not their job, tickets bounce between teams",
                4,
                (Action("Fortnightly cross-team triage meeting", "meeting", "Kim"),),
            ),
            Raising(
                5,
                "data",
                "Nobody helps with shared pipelines because it does not count toward our own goals",
                3,
                (Action("Checklist for hand-offs between teams", "process", "Ravi"),),
            ),
            Raising(
                7,
                "platform",
                "Blame game after the outage review, people defending their own team",
                4,
            ),
            Raising(
                9, "support", "Helping another team hurt our numbers, so people stopped offering", 4
            ),
            Raising(12, "data", "Silos again: each team protects its own targets", 3),
        )
    ),
    # Interpersonal: two leads who cannot work together.
    Thread(
        (
            Raising(
                2,
                "mobile",
                "Priya and Marco argued through the architecture review again",
                3,
                (
                    Action(
                        "Review ground rules: written comments first, one speaker at a time",
                        "process",
                        "Lee",
                    ),
                ),
            ),
            Raising(
                4,
                "design",
                "Hand-off to Mobile blocked for a week because Marco and Priya can't agree",
                3,
                (Action("Ask their manager to step in and decide this once", "escalation", "Lee"),),
            ),
            Raising(6, "mobile", "Tension between the two leads is slowing every decision", 4),
            Raising(9, "design", "Priya refuses Marco's specs, designs stuck again", 3),
        )
    ),
    # Execution, resolved: slow, flaky CI fixed by new build infrastructure.
    Thread(
        (
            Raising(
                0,
                "platform",
                "CI builds take 50 minutes and fail randomly",
                4,
                (
                    Action(
                        "Restart the stuck runners by hand when builds hang", "workaround", "Sam"
                    ),
                ),
            ),
            Raising(
                1,
                "platform",
                "Flaky builds blocked two releases",
                4,
                (
                    Action(
                        "Replace the old build runners with autoscaling ones",
                        "infrastructure",
                        "Sam",
                        days_to_complete=20,
                    ),
                ),
            ),
        )
    ),
    # Execution: staging outages until the environment was rebuilt.
    Thread(
        (
            Raising(
                1,
                "payments",
                "Staging environment was down for two days",
                3,
                (
                    Action(
                        "Rebuild staging from infrastructure-as-code",
                        "infrastructure",
                        "Ravi",
                        days_to_complete=25,
                    ),
                ),
            ),
            Raising(2, "checkout", "Staging unavailable again during the release test", 2),
        )
    ),
    # Execution: a skills gap closed by pairing.
    Thread(
        (
            Raising(
                3,
                "data",
                "Only one person knows how to run the Kubernetes upgrades",
                3,
                (
                    Action(
                        "Pair two engineers on the next upgrades and write a runbook",
                        "training",
                        "Kim",
                        days_to_complete=30,
                    ),
                ),
            ),
        )
    ),
    # A structural fix of the wrong kind: more designers did not fix unclear priorities.
    Thread(
        (
            Raising(
                1,
                "design",
                "Designs arrive two days before the sprint ends",
                3,
                (Action("Hire a second product designer", "staffing", "Lee", days_to_complete=45),),
            ),
            Raising(5, "mobile", "Mock-ups late for the third sprint in a row", 3),
            Raising(
                8,
                "design",
                "Design requests keep arriving out of order, nobody ranks them",
                3,
                (
                    Action(
                        "Weekly design intake meeting with every product manager", "meeting", "Lee"
                    ),
                ),
            ),
            Raising(11, "checkout", "Waiting on design again because priorities were unclear", 2),
        )
    ),
)

ONE_OFFS: tuple[Raising, ...] = (
    Raising(0, "support", "The new ticket macros saved us hours", 2),
    Raising(1, "checkout", "Great pairing session on the payment form", 1),
    Raising(2, "data", "Dashboard queries timed out during the board meeting", 2),
    Raising(3, "payments", "Office too noisy on Fridays", 1),
    Raising(4, "platform", "On-call handbook is out of date", 2),
    Raising(5, "design", "Loved the user research day", 1),
    Raising(6, "support", "Holiday cover was thin in December", 2),
    Raising(7, "checkout", "Release notes were late for the app store", 1),
    Raising(8, "mobile", "Crash reporting tool is noisy with duplicate alerts", 2),
    Raising(9, "payments", "Onboarding buddy system worked well for the new joiner", 1),
    Raising(10, "data", "Too many ad-hoc data requests in one week", 2),
    Raising(11, "platform", "Certificate expiry caught us by surprise on the API gateway", 3),
    Raising(12, "design", "Design system tokens drifted between web and mobile", 2),
    Raising(13, "support", "Chat widget went down for an hour on Sunday", 2),
    Raising(0, "mobile", "App store review rejected the build over a privacy label", 2),
    Raising(1, "data", "Warehouse costs doubled after the new event stream", 2),
    Raising(2, "support", "Customers confused by the new invoice layout", 3),
    Raising(3, "checkout", "Payment provider sandbox was slow all week", 1),
    Raising(4, "mobile", "Tablet layout broke on the smallest screens", 2),
    Raising(
        5,
        "payments",
        "Refund reports do not match the ledger at month end",
        3,
        (Action("Reconcile refunds by hand for this month", "workaround", "Ravi"),),
    ),
    Raising(6, "platform", "Log retention filled the disks on the monitoring cluster", 2),
    Raising(
        7,
        "design",
        "Accessibility audit found low-contrast buttons",
        2,
        (
            Action(
                "Add contrast checks to the design system linter",
                "tooling",
                "Kim",
                status="open",
                days_to_complete=40,
            ),
        ),
    ),
    Raising(8, "support", "Knowledge base search returns outdated articles", 2),
    Raising(9, "checkout", "Coupon codes stacked in a way nobody intended", 3),
    Raising(10, "mobile", "Push notification opt-in rate dropped after the redesign", 2),
    Raising(
        11,
        "payments",
        "Chargeback emails land in a shared inbox nobody owns",
        3,
        (
            Action(
                "Assign chargebacks to the on-call payments engineer",
                "staffing",
                "Dana",
                status="open",
                days_to_complete=20,
            ),
        ),
    ),
    Raising(12, "platform", "Terraform plan takes twenty minutes on the main stack", 2),
    Raising(13, "data", "Weekly metrics email went out with last week's numbers", 2),
    Raising(13, "payments", "Celebrate: zero payment incidents this month", 1),
    Raising(13, "checkout", "Pairing with Support on the returns flow was great", 1),
)


def _retro_date(month: int, team_index: int) -> dt.date:
    year = FIRST_MONTH.year + (FIRST_MONTH.month - 1 + month) // 12
    month_of_year = (FIRST_MONTH.month - 1 + month) % 12 + 1
    # Teams hold their retro on different weekdays of the month's second week.
    return dt.date(year, month_of_year, 8 + team_index)


def build_history() -> dict:
    """The demo history as a recur-history/1 document (a JSON-ready dict)."""
    team_index = {key: i for i, key in enumerate(TEAMS)}
    retros: dict[tuple[int, str], dict] = {}
    for month in range(MONTHS):
        for key in TEAMS:
            held_on = _retro_date(month, team_index[key])
            retros[(month, key)] = {
                "key": f"{key}-{held_on.isoformat()}",
                "team": key,
                "held_on": held_on.isoformat(),
                "title": f"{TEAMS[key]} retro {held_on:%B %Y}",
                "items": [],
                "actions": [],
            }
    counter = 0

    def add(raising: Raising, same_as: str | None) -> str:
        nonlocal counter
        counter += 1
        retro = retros[(raising.month, raising.team)]
        item_key = f"demo-i{counter:03d}"
        item: dict = {"key": item_key, "text": raising.text, "votes": raising.votes}
        if same_as:
            item["same_as"] = same_as
        retro["items"].append(item)
        held_on = dt.date.fromisoformat(retro["held_on"])
        for n, action in enumerate(raising.actions, start=1):
            entry = {
                "key": f"{item_key}-a{n}",
                "item": item_key,
                "text": action.text,
                "kind": action.kind,
                "status": action.status,
            }
            if action.owner:
                entry["owner"] = action.owner
            entry["due_on"] = (held_on + dt.timedelta(days=action.days_to_complete)).isoformat()
            if action.status == "done":
                entry["completed_on"] = entry["due_on"]
            retro["actions"].append(entry)
        return item_key

    for thread in THREADS:
        first: str | None = None
        for raising in thread.raisings:
            key = add(raising, first)
            first = first or key
    for raising in ONE_OFFS:
        add(raising, None)
    ordered = sorted(retros.values(), key=lambda r: (r["held_on"], r["key"]))
    return {
        "format": "recur-history/1",
        "organization": ORGANIZATION,
        "teams": [{"key": key, "name": name} for key, name in TEAMS.items()],
        "retrospectives": ordered,
    }


# Demo logins: (username, first name, last name, role, team keys). One password for all.
DEMO_PASSWORD = "recur-demo-2026"  # noqa: S105 (published demo logins)
DEMO_PEOPLE: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("admin", "Ada", "Admin", "admin", ()),
    ("leader", "Lee", "Leader", "leader", ()),
    ("facilitator", "Fay", "Facilitator", "facilitator", ("payments", "checkout")),
    ("member", "Mo", "Member", "member", ("payments",)),
)
