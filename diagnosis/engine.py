"""The diagnosis engine: one issue's history in, one finding out.

Pure: no Django, no clock (pass `today`), no settings (pass `Rules`). It implements the
diagnosis principles of docs/domain.md:

1. recurrence after a fix is the evidence; one raising stays `undetermined`;
2. band-aid loop: back after `band_aid_threshold` band-aid fixes (or structural fixes that did
   not fit the cause) → flagged, and the category is strategy, culture or interpersonal;
3. spread: many teams → organisation level; a pair of named people or teams → interpersonal;
   one team, technical symptoms, a structural fix that held → execution;
4. words (occurrences and fix texts) weigh less than these patterns;
5. a fix held when the quiet period passed (days and retros) → `resolved`;
6. shortening gaps between raisings → getting worse;
7. every reason is a sentence citing dates, teams and fixes, with ids in `cites`;
8. a leader's override replaces `category`/`flagged` but the engine's view is kept;
9. the rules version is recorded.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from vocabulary.dates import day_text
from vocabulary.fixkinds import CATEGORIES, FIX_KINDS, NEXT_STEPS, FixKind
from vocabulary.rules import DEFAULT_RULES, Rules
from vocabulary.signals import (
    SIGNAL_CATEGORIES,
    NamedPair,
    named_pair,
    score_text,
    team_words,
)

FixStatus = Literal["open", "done", "dropped"]
FixOutcome = Literal["worked", "did_not_work", "too_early"]
Status = Literal["active", "watching", "resolved"]

UNDETERMINED = "undetermined"
EXECUTION = "execution"
NOT_EXECUTION = ("strategy", "culture", "interpersonal")
ORG_LEVEL = ("strategy", "culture")


# --- Facts in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OccurrenceFact:
    """One raising of the issue in one team's retro."""

    id: str
    held_on: date
    team: str
    text: str


@dataclass(frozen=True)
class FixFact:
    """One fix decided for the issue. `kind` is a slug of `FIX_KINDS`."""

    id: str
    decided_on: date
    team: str
    text: str
    kind: str
    status: FixStatus = "open"
    outcome: FixOutcome | None = None
    completed_on: date | None = None
    due_on: date | None = None


@dataclass(frozen=True)
class Override:
    """A leader's view: a category that replaces the engine's, and/or a dismissed flag."""

    category: str | None = None
    flag_dismissed: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(
                f"Unknown category {self.category!r}; use one of: {', '.join(CATEGORIES)}."
            )


@dataclass(frozen=True)
class IssueHistory:
    """Everything the engine knows about one issue.

    `team_retro_dates` holds the dates of every retro each team held (extra teams are
    ignored); it counts the retros of the quiet period. `organisation_teams` are the names of
    all teams of the organisation, never read as people's names.
    """

    title: str
    occurrences: tuple[OccurrenceFact, ...]
    fixes: tuple[FixFact, ...] = ()
    team_retro_dates: Mapping[str, tuple[date, ...]] = field(default_factory=dict)
    override: Override | None = None
    organisation_teams: tuple[str, ...] = ()


# --- Finding out ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """A plain sentence and the ids it rests on ("occurrence:<id>", "fix:<id>")."""

    text: str
    cites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    category: str
    confidence: float
    flagged: bool
    status: Status
    reasons: tuple[Reason, ...]
    next_step: str
    engine_category: str
    engine_flagged: bool
    rules_version: str
    signals: Mapping[str, float]
    # Denormalised facts for lists and exports.
    occurrence_count: int = 0
    team_count: int = 0
    teams: tuple[str, ...] = ()
    first_seen: date | None = None
    last_seen: date | None = None
    fix_count: int = 0
    band_aid_fixes: int = 0
    structural_fixes: int = 0
    loop_fixes: int = 0  # fixes the issue came back after that count toward the flag
    worsening: bool = False
    # The why at a glance, one line built from the same evidence as the reasons.
    headline: str = ""


# --- Internal views ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fix:
    fact: FixFact
    kind: FixKind
    applied_on: date | None  # when it took effect; None when it was never carried out
    returns: tuple[OccurrenceFact, ...]  # raisings after it took effect

    @property
    def tried(self) -> bool:
        return self.applied_on is not None

    @property
    def did_not_work(self) -> bool:
        return self.fact.outcome == "did_not_work"

    @property
    def failed(self) -> bool:
        return self.tried and (bool(self.returns) or self.did_not_work)

    @property
    def structural(self) -> bool:
        return self.kind.nature == "structural"

    @property
    def cite(self) -> str:
        return f"fix:{self.fact.id}"

    def describe(self) -> str:
        """`"text" (meeting, Payments, done 17 Sep 2025)`."""
        when = f"done {day_text(self.applied_on)}" if self.applied_on else self.fact.status
        details = (self.kind.label.lower(), self.fact.team, when)
        return f'"{self.fact.text}" ({", ".join(d for d in details if d)})'


@dataclass(frozen=True)
class _Quiet:
    status: Status
    reason: Reason
    since_fix: _Fix | None  # the fix the quiet period is counted from
    days: int
    retros: int

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"


@dataclass
class _Scores:
    """Category scores with the pattern reasons and counts that produced them."""

    words: dict[str, float]
    patterns: dict[str, float]
    support: dict[str, int]  # number of patterns pointing at each category
    word_hits: dict[str, list[tuple[str, str, str]]]  # category -> (word, where, cite)
    notes: list[tuple[frozenset[str], Reason]]  # pattern reasons and the categories they back

    def total(self, category: str) -> float:
        return self.words.get(category, 0.0) + self.patterns.get(category, 0.0)

    def add(
        self,
        categories: Iterable[str],
        weight: float,
        reason: Reason | None,
        *,
        supports: bool = True,
    ) -> None:
        """Add a pattern's weight; `supports` counts it as evidence for the confidence."""
        cats = frozenset(categories)
        for category in cats:
            self.patterns[category] = self.patterns.get(category, 0.0) + weight
            if weight > 0 and supports:
                self.support[category] = self.support.get(category, 0) + 1
        if reason is not None:
            self.notes.append((cats, reason))


# --- The engine ----------------------------------------------------------------------------


def diagnose(history: IssueHistory, *, rules: Rules = DEFAULT_RULES, today: date) -> Finding:
    """The finding for one issue as of `today`."""
    occurrences = tuple(sorted(history.occurrences, key=lambda o: (o.held_on, o.id)))
    if not occurrences:
        return _empty_finding(history, rules)
    fixes = _fix_views(history.fixes, occurrences)
    teams = _teams(occurrences)
    quiet = _quiet(occurrences, fixes, teams, history.team_retro_dates, rules, today)
    scores = _score(history, occurrences, fixes, teams, quiet, rules, today)
    verdict = _decide(occurrences, fixes, scores, quiet, rules)
    worsening = _worsening(occurrences, rules, still_active=quiet.status == "active")
    getting_worse = worsening is not None and quiet.status == "active"

    reasons = [
        *_evidence_reasons(occurrences, fixes, teams, scores, verdict, quiet, rules),
        *([worsening] if worsening is not None else []),
        quiet.reason,
    ]
    category, flagged = verdict.category, verdict.flagged
    finding = Finding(
        category=category,
        confidence=_confidence(category, scores, flagged, getting_worse, fixes, rules),
        flagged=flagged,
        status=quiet.status,
        reasons=tuple(reasons),
        next_step=NEXT_STEPS[category],
        engine_category=category,
        engine_flagged=flagged,
        rules_version=rules.VERSION,
        signals={c: round(scores.total(c), 2) for c in SIGNAL_CATEGORIES},
        occurrence_count=len(occurrences),
        team_count=len(teams),
        teams=teams,
        first_seen=occurrences[0].held_on,
        last_seen=occurrences[-1].held_on,
        fix_count=len(fixes),
        band_aid_fixes=sum(1 for f in fixes if not f.structural),
        structural_fixes=sum(1 for f in fixes if f.structural),
        loop_fixes=len(verdict.loop),
        worsening=getting_worse,
        headline=_headline(category, verdict, fixes, teams, occurrences, scores),
    )
    return _with_override(history.override, finding)


_CAUSE = {
    "strategy": "strategy",
    "culture": "culture",
    "interpersonal": "friction between people",
    "execution": "execution",
}


def _headline(
    category: str,
    verdict: _Verdict,
    fixes: Sequence[_Fix],
    teams: Sequence[str],
    occurrences: Sequence[OccurrenceFact],
    scores: _Scores,
) -> str:
    """One line a leader reads in seconds: how it keeps coming back, and what points to the
    category — claiming only what the evidence holds (no words cited unless they were found
    for this category, no band-aids unless there were)."""
    in_teams = f" in {len(teams)} teams" if len(teams) > 1 else ""
    band_aids = sum(1 for f in fixes if not f.structural)
    if verdict.in_loop and verdict.loop:
        # The loop holds band-aids and structural fixes aimed at another category.
        loop_band_aids = sum(1 for f in verdict.loop if not f.structural)
        elsewhere = len(verdict.loop) - loop_band_aids
        after = []
        if loop_band_aids:
            after.append(f"{loop_band_aids} band-aid{'s' if loop_band_aids != 1 else ''}")
        if elsewhere:
            after.append(
                f"{elsewhere} structural fix{'es' if elsewhere != 1 else ''} aimed at another cause"
            )
        how = f"back after {' and '.join(after)}{in_teams}"
    elif len(occurrences) > 1 and band_aids:
        how = (
            f"raised {len(occurrences)} times{in_teams} "
            f"with {band_aids} band-aid{'s' if band_aids != 1 else ''} tried"
        )
    else:
        times = "once" if len(occurrences) == 1 else f"{len(occurrences)} times"
        how = f"raised {times}{in_teams}"
    words = list(dict.fromkeys(word for word, _, _ in scores.word_hits.get(category, [])))
    if category == "undetermined":
        what = "the cause is not clear yet"
    elif words:
        quoted = ", ".join(f"“{w}”" for w in words[:2])
        what = f"the words point to {_CAUSE[category]} ({quoted})"
    elif category in ("strategy", "culture") and len(teams) >= 3:
        what = f"the spread across teams points to {_CAUSE[category]}"
    else:
        what = f"the pattern points to {_CAUSE[category]}"
    return f"{how[0].upper()}{how[1:]}; {what}."


@dataclass(frozen=True)
class _Verdict:
    category: str
    in_loop: bool  # came back after enough band-aids (or mismatched structural fixes)
    loop_cleared: bool  # ... but a structural fix has held through the quiet period since
    loop: tuple[_Fix, ...]

    @property
    def flagged(self) -> bool:
        return self.in_loop and not self.loop_cleared


def _decide(
    occurrences: Sequence[OccurrenceFact],
    fixes: Sequence[_Fix],
    scores: _Scores,
    quiet: _Quiet,
    rules: Rules,
) -> _Verdict:
    """Category and band-aid loop. One raising stays undetermined unless a structural fix
    held through the quiet period; a loop rules out execution unless a structural fix then
    held (the loop is broken)."""
    held_structural = quiet.resolved and quiet.since_fix is not None and quiet.since_fix.structural
    enough = len(occurrences) > 1 or held_structural
    allowed: Sequence[str] = SIGNAL_CATEGORIES
    if len(occurrences) == 1 and quiet.since_fix is not None:
        allowed = tuple(c for c in SIGNAL_CATEGORIES if c in quiet.since_fix.kind.structural_for)
    if sum(1 for f in fixes if f.failed and not f.structural) >= rules.band_aid_threshold:
        allowed = NOT_EXECUTION
    category = _choose(scores, allowed, rules) if enough else UNDETERMINED

    loop = _loop_fixes(fixes, category)
    recurred_after_fix = any(f.returns for f in fixes)
    in_loop = enough and recurred_after_fix and len(loop) >= rules.band_aid_threshold
    if in_loop and category not in NOT_EXECUTION:
        category = _choose(scores, NOT_EXECUTION, rules, forced=True)
        loop = _loop_fixes(fixes, category)
    cleared = (
        in_loop
        and rules.held_fix_clears_loop
        and held_structural
        and all(f is not quiet.since_fix for f in loop)
    )
    if cleared:
        category = _choose(scores, SIGNAL_CATEGORIES, rules)
        loop = _loop_fixes(fixes, category)
    return _Verdict(category, in_loop, cleared, tuple(loop))


def _evidence_reasons(
    occurrences: Sequence[OccurrenceFact],
    fixes: Sequence[_Fix],
    teams: tuple[str, ...],
    scores: _Scores,
    verdict: _Verdict,
    quiet: _Quiet,
    rules: Rules,
) -> list[Reason]:
    """Summary, loop, fixes, patterns and words, in that order."""
    category = verdict.category
    reasons = [_summary(occurrences, teams)]
    if verdict.in_loop:
        reasons.append(_loop_reason(verdict.loop, rules, cleared=verdict.loop_cleared, quiet=quiet))
    reasons.extend(_fix_reasons(fixes, category))
    reasons.extend(r for cats, r in scores.notes if category in cats)
    if category == UNDETERMINED:
        if len(occurrences) > 1:
            reasons.append(
                Reason(
                    f"The {_times(len(occurrences))} it was raised do not yet point to any one "
                    "root cause.",
                    tuple(f"occurrence:{o.id}" for o in occurrences),
                )
            )
        return reasons
    reasons.extend(_word_reason(category, scores))
    if verdict.flagged and not scores.word_hits.get(category) and not scores.support.get(category):
        reasons.append(
            Reason(
                "Neither the spread nor the wording singles out one cause yet; "
                f"{category} is the likeliest reading of a loop like this, but the evidence "
                "for it is thin.",
                tuple(f.cite for f in verdict.loop),
            )
        )
    if len(occurrences) > 1 and not any(f.tried for f in fixes):
        reasons.append(
            Reason(
                f"No fix has been tried since it was first raised on "
                f"{day_text(occurrences[0].held_on)}, so this rests on the raisings and "
                "their wording; a fix and what happens after it will tell more.",
                (f"occurrence:{occurrences[0].id}",),
            )
        )
    return reasons


def _empty_finding(history: IssueHistory, rules: Rules) -> Finding:
    finding = Finding(
        category=UNDETERMINED,
        confidence=rules.undetermined_confidence,
        flagged=False,
        status="active",
        reasons=(Reason("No raising of this issue is recorded yet."),),
        next_step=NEXT_STEPS[UNDETERMINED],
        engine_category=UNDETERMINED,
        engine_flagged=False,
        rules_version=rules.VERSION,
        signals=dict.fromkeys(SIGNAL_CATEGORIES, 0.0),
        fix_count=len(history.fixes),
    )
    return _with_override(history.override, finding)


# --- Facts → views -------------------------------------------------------------------------


def _fix_views(fixes: Iterable[FixFact], occurrences: Sequence[OccurrenceFact]) -> list[_Fix]:
    views = []
    for fact in sorted(fixes, key=lambda f: (f.decided_on, f.id)):
        if fact.kind not in FIX_KINDS:
            raise ValueError(f"Fix {fact.id}: unknown kind {fact.kind!r}.")
        applied = _applied_on(fact)
        returns = tuple(o for o in occurrences if applied is not None and o.held_on > applied)
        views.append(_Fix(fact, FIX_KINDS[fact.kind], applied, returns))
    return views


def _applied_on(fact: FixFact) -> date | None:
    """When a fix took effect: done, or reported on (an outcome means it was carried out)."""
    if fact.status == "done" or fact.outcome in ("worked", "did_not_work"):
        return fact.completed_on or fact.decided_on
    return None


def _teams(occurrences: Sequence[OccurrenceFact]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(o.team for o in occurrences))


def _loop_fixes(fixes: Sequence[_Fix], category: str) -> list[_Fix]:
    """Fixes the issue came back after that count as band-aids for `category`: band-aids, and
    structural fixes that do not change what causes a `category` problem."""
    return [
        f for f in fixes if f.failed and (not f.structural or category not in f.kind.structural_for)
    ]


# --- Scoring -------------------------------------------------------------------------------


def _score(
    history: IssueHistory,
    occurrences: Sequence[OccurrenceFact],
    fixes: Sequence[_Fix],
    teams: tuple[str, ...],
    quiet: _Quiet,
    rules: Rules,
    today: date,
) -> _Scores:
    scores = _Scores(words={}, patterns={}, support={}, word_hits={}, notes=[])
    _score_words(scores, occurrences, fixes, rules)
    _score_spread(scores, history, occurrences, teams, rules)
    held = functools.partial(
        _held_long_enough,
        retro_dates=history.team_retro_dates,
        teams=teams,
        quiet=quiet,
        rules=rules,
        today=today,
    )
    _score_fixes(scores, fixes, rules, held)
    return scores


def _score_words(
    scores: _Scores, occurrences: Sequence[OccurrenceFact], fixes: Sequence[_Fix], rules: Rules
) -> None:
    sources: list[tuple[str, str, str, float, int]] = [
        (
            o.text,
            f"{o.team}, {day_text(o.held_on)}",
            f"occurrence:{o.id}",
            rules.occurrence_words_weight,
            len(occurrences),
        )
        for o in occurrences
    ]
    sources += [
        (f.fact.text, f'the fix "{f.fact.text}"', f.cite, rules.fix_words_weight, len(fixes))
        for f in fixes
    ]
    for text, where, cite, weight, count in sources:
        signal = score_text(text, rules=rules)
        for category, value in signal.scores.items():
            scores.words[category] = scores.words.get(category, 0.0) + weight * value / count
            hits = scores.word_hits.setdefault(category, [])
            hits.extend((word, where, cite) for word in signal.words[category])


def _score_spread(
    scores: _Scores,
    history: IssueHistory,
    occurrences: Sequence[OccurrenceFact],
    teams: tuple[str, ...],
    rules: Rules,
) -> None:
    first_in_team = [next(o for o in occurrences if o.team == t) for t in teams]
    team_cites = tuple(f"occurrence:{o.id}" for o in first_in_team)
    if len(teams) >= rules.org_level_team_count:
        scores.add(
            ORG_LEVEL,
            rules.org_spread_weight,
            Reason(
                f"Raised in {len(teams)} teams ({_join(_team_firsts(first_in_team))}): the same "
                "issue across several teams points to an organisation-level cause, strategy "
                "or culture.",
                team_cites,
            ),
        )
        scores.add(("interpersonal",), -rules.org_spread_interpersonal_penalty, None)

    not_names = team_words((*teams, *history.organisation_teams, *history.team_retro_dates))
    pair = named_pair([o.text for o in occurrences], not_names=not_names, rules=rules)
    if pair is not None:
        scores.add(
            ("interpersonal",),
            rules.named_pair_weight * pair.strength,
            _pair_reason(pair, occurrences),
        )

    friction = scores.words.get("interpersonal", 0.0) > 0
    if len(teams) == 2 and friction:
        scores.add(
            ("interpersonal",),
            rules.pair_of_teams_weight,
            Reason(
                f"Confined to one pair of teams, {teams[0]} and {teams[1]}, with friction in "
                "the wording: points to an interpersonal cause.",
                team_cites,
            ),
        )
    technical = scores.words.get(EXECUTION, 0.0) > 0
    if len(teams) == 1 and technical:
        scores.add(
            (EXECUTION,),
            rules.one_team_technical_weight,
            Reason(f"Confined to one team, {teams[0]}, with technical symptoms.", team_cites),
        )


def _pair_reason(pair: NamedPair, occurrences: Sequence[OccurrenceFact]) -> Reason:
    named = [occurrences[i] for i in pair.mentioned_in]
    dates = _join([f"{day_text(o.held_on)} ({o.team})" for o in named])
    return Reason(
        f"Names the same two people, {pair.names[0]} and {pair.names[1]}, on {dates}: "
        "friction between two people points to an interpersonal cause.",
        tuple(f"occurrence:{o.id}" for o in named),
    )


def _score_fixes(
    scores: _Scores, fixes: Sequence[_Fix], rules: Rules, held: Callable[[_Fix], bool]
) -> None:
    """Band-aids that failed point away from execution; a structural fix that failed
    counts against its categories, one that `held` (or is still holding) for them."""
    band_aid_failures = sum(1 for f in fixes if f.failed and not f.structural)
    if band_aid_failures:
        weight = rules.band_aid_failure_weight * min(band_aid_failures, rules.band_aid_failure_cap)
        scores.add(NOT_EXECUTION, weight, None, supports=False)
    if band_aid_failures >= rules.band_aid_threshold:
        scores.add(("culture",), rules.band_aid_loop_culture_bias, None, supports=False)
    for fix in fixes:
        if not fix.structural or not fix.tried:
            continue
        if fix.failed:
            scores.add(fix.kind.structural_for, -rules.failed_structural_penalty, None)
            continue
        weight = rules.held_structural_weight * (1.0 if held(fix) else rules.held_pending_factor)
        if fix.fact.outcome == "worked":
            weight += rules.worked_outcome_bonus
        targets = _join(sorted(fix.kind.structural_for), last=" or ")
        worked = ", which the team reported worked" if fix.fact.outcome == "worked" else ""
        scores.add(
            fix.kind.structural_for,
            weight,
            Reason(
                f"No return since the structural fix {fix.describe()}{worked}: a structural "
                f"fix for {targets} that holds points to a true {targets} problem.",
                (fix.cite,),
            ),
        )


def _held_long_enough(
    fix: _Fix,
    *,
    retro_dates: Mapping[str, tuple[date, ...]],
    teams: tuple[str, ...],
    quiet: _Quiet,
    rules: Rules,
    today: date,
) -> bool:
    """Whether a structural fix that has not been followed by a return held for the quiet
    period (the same test as `resolved`, for fixes that were not the last one)."""
    if quiet.since_fix is fix:
        return quiet.resolved
    assert fix.applied_on is not None
    days = (today - fix.applied_on).days
    later = _retros_after(fix.applied_on, retro_dates, (*teams, fix.fact.team), today)
    return days >= rules.quiet_days and later >= rules.quiet_retros


def _choose(scores: _Scores, allowed: Sequence[str], rules: Rules, *, forced: bool = False) -> str:
    """The allowed category with the highest score (ties: docs/domain.md's order), or
    `undetermined` when no score reaches `min_category_score` (unless `forced`)."""
    if not allowed:
        return UNDETERMINED
    best = max(allowed, key=lambda c: (scores.total(c), -SIGNAL_CATEGORIES.index(c)))
    if forced or scores.total(best) >= rules.min_category_score:
        return best
    return UNDETERMINED


def _confidence(
    category: str,
    scores: _Scores,
    flagged: bool,
    worsening: bool,
    fixes: Sequence[_Fix],
    rules: Rules,
) -> float:
    if category == UNDETERMINED:
        return rules.undetermined_confidence
    top = scores.total(category)
    rivals = [scores.total(c) for c in SIGNAL_CATEGORIES if c != category]
    if flagged:
        rivals = [scores.total(c) for c in NOT_EXECUTION if c != category]
    margin = (top - max(0.0, *rivals)) / top if top > 0 else 0.0
    words = scores.words.get(category, 0.0)
    clear_words = words >= rules.confidence_words_support and words == max(scores.words.values())
    support = scores.support.get(category, 0) + int(flagged) + int(clear_words)
    did_not_work = min(sum(1 for f in fixes if f.did_not_work), rules.confidence_did_not_work_max)
    value = (
        rules.confidence_base
        + rules.confidence_margin_weight * max(0.0, margin)
        + rules.confidence_pattern_bonus * support
        + (rules.confidence_worsening_bonus if worsening else 0.0)
        + rules.confidence_did_not_work_bonus * did_not_work
    )
    tried = any(f.tried for f in fixes)
    cap = rules.confidence_cap if tried else rules.confidence_untried_cap
    return round(min(cap, max(0.0, value)), 2)


# --- Time: quiet period and intervals ------------------------------------------------------


def _retros_after(
    after: date,
    retro_dates: Mapping[str, tuple[date, ...]],
    teams: Iterable[str],
    today: date | None,
) -> int:
    """Retros the teams held after `after` (up to `today`), each team's retro counted once."""
    return sum(
        1
        for team in dict.fromkeys(teams)
        for held in set(retro_dates.get(team, ()))
        if held > after and (today is None or held <= today)
    )


def _quiet(
    occurrences: Sequence[OccurrenceFact],
    fixes: Sequence[_Fix],
    teams: tuple[str, ...],
    retro_dates: Mapping[str, tuple[date, ...]],
    rules: Rules,
    today: date,
) -> _Quiet:
    """Status: resolved when the last fix held through the quiet period, watching while it
    runs, active when the issue came back (or nothing was done) since."""
    last = occurrences[-1]
    since = [f for f in fixes if f.applied_on is not None and f.applied_on >= last.held_on]
    working = [f for f in since if not f.did_not_work]
    rule = f"{rules.quiet_days} days and {rules.quiet_retros} retros"
    raised = f"last raised on {day_text(last.held_on)} in {last.team}"
    cite = f"occurrence:{last.id}"
    if working:
        fix = working[-1]
        assert fix.applied_on is not None
        days = (today - fix.applied_on).days
        retros = _retros_after(fix.applied_on, retro_dates, (*teams, fix.fact.team), today)
        held = f"{_days(days)} and {_plural(retros, 'retro')}"
        worked = " The team reported that it worked." if fix.fact.outcome == "worked" else ""
        if days >= rules.quiet_days and retros >= rules.quiet_retros:
            text = (
                f"Resolved: no return in the {held} since {fix.describe()}; "
                f"the quiet period is {rule}.{worked}"
            )
            return _Quiet("resolved", Reason(text, (fix.cite, cite)), fix, days, retros)
        text = (
            f"Watching: {fix.describe()} was done after it was {raised}; no return in the "
            f"{held} since, short of the {rule} that count as resolved.{worked}"
        )
        return _Quiet("watching", Reason(text, (fix.cite, cite)), fix, days, retros)
    if since:
        fix = since[-1]
        text = f"Active: {raised}, and the team reported that {fix.describe()} did not work."
        return _Quiet("active", Reason(text, (cite, fix.cite)), None, 0, 0)
    pending = [f for f in fixes if f.fact.status == "open" and f.fact.decided_on >= last.held_on]
    if pending:
        fix = pending[-1]
        due = f", due {day_text(fix.fact.due_on)}" if fix.fact.due_on else ""
        text = f'Active: {raised}; the fix "{fix.fact.text}" is still open{due}.'
        return _Quiet("active", Reason(text, (cite, fix.cite)), None, 0, 0)
    days = (today - last.held_on).days
    retros = _retros_after(last.held_on, retro_dates, teams, today)
    if days >= rules.quiet_days and retros >= rules.quiet_retros:
        text = (
            f"Watching: not raised again in the {_days(days)} and "
            f"{_plural(retros, 'retro')} since it was {raised}, although no fix was "
            "recorded."
        )
        return _Quiet("watching", Reason(text, (cite,)), None, days, retros)
    tried = any(f.tried for f in fixes)
    text = (
        f"Active: {raised}, with no fix done since."
        if tried
        else (f"Active: {raised}; no fix has been done yet.")
    )
    return _Quiet("active", Reason(text, (cite,)), None, days, retros)


def _worsening(
    occurrences: Sequence[OccurrenceFact], rules: Rules, *, still_active: bool
) -> Reason | None:
    """A reason when the latest gap between raisings is much shorter than the earlier ones
    (in the past tense when a fix since has not been followed by a return)."""
    dates = sorted({o.held_on for o in occurrences})
    gaps = [(b - a).days for a, b in itertools.pairwise(dates)]
    if len(gaps) < rules.shortening_min_intervals:
        return None
    earlier = sum(gaps[:-1]) / len(gaps[:-1])
    if gaps[-1] > rules.shortening_ratio * earlier:
        return None
    cites = tuple(f"occurrence:{o.id}" for o in occurrences)
    return Reason(
        f"The gaps between raisings are shortening ({_join([str(g) for g in gaps])} days, the "
        f"latest ending on {day_text(dates[-1])}): the problem "
        f"{'is getting' if still_active else 'was getting'} worse"
        f"{'' if still_active else ' before the last fix'}.",
        cites,
    )


# --- Reasons -------------------------------------------------------------------------------


def _summary(occurrences: Sequence[OccurrenceFact], teams: tuple[str, ...]) -> Reason:
    cites = tuple(f"occurrence:{o.id}" for o in occurrences)
    first, last = occurrences[0], occurrences[-1]
    if len(occurrences) == 1:
        return Reason(
            f"Raised once, in {first.team} on {day_text(first.held_on)}: one raising is not "
            "a pattern yet.",
            cites,
        )
    where = f"in {teams[0]}" if len(teams) == 1 else f"in {len(teams)} teams ({_join(teams)})"
    return Reason(
        f"Raised {_times(len(occurrences))} {where} between {day_text(first.held_on)} and "
        f"{day_text(last.held_on)}.",
        cites,
    )


def _loop_reason(loop: Sequence[_Fix], rules: Rules, *, cleared: bool, quiet: _Quiet) -> Reason:
    listed = _join([f.describe() for f in loop])
    cites = tuple(f.cite for f in loop)
    if cleared and quiet.since_fix is not None:
        return Reason(
            f"It came back after {_plural(len(loop), 'band-aid fix', 'band-aid fixes')} "
            f"({listed}), but it has stayed away since the structural fix "
            f"{quiet.since_fix.describe()}: the loop is broken, so it is not flagged.",
            (*cites, quiet.since_fix.cite),
        )
    return Reason(
        f"Band-aid loop: it came back after {_plural(len(loop), 'fix', 'fixes')} that treated "
        f"the symptom ({listed}); at {rules.band_aid_threshold} or more the cause is likely "
        "strategy, culture or interpersonal rather than execution.",
        cites,
    )


def _fix_reasons(fixes: Sequence[_Fix], category: str) -> list[Reason]:
    reasons = []
    for fix in fixes:
        if not fix.failed:
            continue
        if fix.returns:
            back = fix.returns[0]
            text = f"Came back on {day_text(back.held_on)} in {back.team} after {fix.describe()}."
            cites: tuple[str, ...] = (fix.cite, f"occurrence:{back.id}")
        else:
            text = f"The team reported that {fix.describe()} did not work."
            cites = (fix.cite,)
        if fix.returns and fix.did_not_work:
            text += " The team also reported that it did not work."
        if fix.structural:
            text += _structural_note(fix, category)
        reasons.append(Reason(text, cites))
    return reasons


def _structural_note(fix: _Fix, category: str) -> str:
    targets = _join(sorted(fix.kind.structural_for))
    note = f" It was a structural fix for {targets} problems, so the cause was elsewhere"
    if category == UNDETERMINED:
        return note + "."
    if category in fix.kind.structural_for:
        return note + " than what it changed."
    return note + f": for a {category} problem it counts like a band-aid."


def _word_reason(category: str, scores: _Scores) -> list[Reason]:
    hits = scores.word_hits.get(category, [])
    if not hits:
        return []
    seen: dict[str, tuple[str, str, str]] = {}
    for word, where, cite in hits:
        seen.setdefault(word, (word, where, cite))
    shown = list(seen.values())[:4]
    listed = _join([f'"{word}" ({where})' for word, where, _ in shown])
    return [
        Reason(
            f"The wording points to {category}: {listed}.",
            tuple(dict.fromkeys(cite for _, _, cite in shown)),
        )
    ]


# --- Override ------------------------------------------------------------------------------


def _with_override(override: Override | None, finding: Finding) -> Finding:
    """The leader's view replaces `category`/`flagged`; the engine's stays beside it."""
    if override is None:
        return finding
    category, flagged = finding.category, finding.flagged
    reasons = list(finding.reasons)
    note = f' Note: "{override.note.strip()}"' if override.note.strip() else ""
    if override.category is not None:
        category = override.category
        if category == finding.engine_category:
            reasons.append(Reason(f"A leader confirmed the category {category}.{note}"))
        else:
            reasons.append(
                Reason(
                    f"A leader set the category to {category}; the engine's own view is "
                    f"{finding.engine_category}.{note}"
                )
            )
    if override.flag_dismissed and finding.engine_flagged:
        flagged = False
        reasons.append(
            Reason(f"A leader dismissed the flag; the engine still sees a band-aid loop.{note}")
        )
    headline = finding.headline
    if category != finding.engine_category:
        how = headline.split(";", 1)[0]
        headline = f"{how}; a leader judged it {_CAUSE.get(category, category)}."
    return dataclasses.replace(
        finding,
        category=category,
        flagged=flagged,
        reasons=tuple(reasons),
        next_step=NEXT_STEPS[category],
        headline=headline,
    )


# --- Wording helpers -----------------------------------------------------------------------


def _join(items: Sequence[str], last: str = " and ") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + last + items[-1]


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _days(count: int) -> str:
    return _plural(count, "day")


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _team_firsts(first_in_team: Sequence[OccurrenceFact]) -> list[str]:
    return [f"{o.team} from {day_text(o.held_on)}" for o in first_in_team]
