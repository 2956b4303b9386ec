"""Every weight and threshold of the recurrence matcher, in one versioned place.

Why these numbers (chosen from what the signals mean, then checked on replays of sample and
held-out histories; never fitted item by item):

- **Meaning dominates** (``semantic_weight`` 0.60 of the match). Teams describe the same
  problem in new words each time ("designs arrived late" / "mock-ups late again"); only the
  embedding sees that. The cosines are centred (:mod:`~matching.centring`: half the mean
  direction of retro text taken out of both vectors); centred all-MiniLM-L6-v2 cosines below
  about 0.05 are what unrelated sentences score, and about 0.78 is a restatement of the same
  sentence (0.15 and 0.85 before centring), so the cosine is mapped linearly from
  ``[semantic_floor, semantic_ceiling]`` onto 0..1. The cosine used is
  half the issue's best occurrence and half the mean of its two best (``top2_share`` 0.5):
  the best alone lets an issue with many occurrences win on one lucky cosine, the mean of
  two asks for a second occurrence that agrees, and an issue raised once is unaffected.
- **Wording is secondary** (``lexical_weight`` 0.25): the share of the query's distinctive
  words that the issue's occurrences and fixes use, each word weighted by its inverse
  document frequency over the organisation's issues, so words every retro uses ("again",
  "sprint", "team") count little and names, systems and ticket codes count most. Typos are
  read through the organisation's vocabulary first. A coverage of 0.8 (nearly all
  distinctive words present) counts as full agreement; nothing counts as nothing, so no
  floor is needed (``lexical_floor`` 0). It replaced raw trigram ``word_similarity``, which
  gives shared filler the same weight as shared subject words; trigrams remain the
  lexical-only baseline of the evaluation. Words found only in
  the issue's fixes count fully (``fix_share`` 1.0): a fix names the problem's subject
  ("replace the build servers") as specifically as a raising does. Counting them at the
  diagnosis engine's fix-to-occurrence ratio (0.375) gained one sample recurrence and lost
  two on a held-out history, so it was not kept.
- **Root cause is a small feature** (``cause_weight`` 0.15): agreement of the category words
  (docs/domain.md: strategy, culture, interpersonal, execution) of the query and of the issue's
  occurrences and fixes, weighed as the diagnosis engine weighs them (a fix's category
  words, "escalate", "meeting", describe the fix more than the problem, so they count
  less). Two problems of one kind are not one problem, so it can only reorder candidates
  that match about equally well; it is the diagnosis engine's vocabulary and, like words
  there, weighs less than meaning. docs/domain.md's premise is that a problem with a
  strategy, culture or interpersonal cause comes back in other words ("Priya and Marco
  disagree on the API" / "tension between the two leads"): that is where meaning and
  wording are weakest and the kind of problem is what stays the same. Agreement counts
  on those three categories only (``cause_execution_share`` 0): execution words ("build",
  "tests", "deploy") say what a problem is about, which meaning and wording already
  weigh, and let two unrelated delivery problems agree. It only adds to a likeness of
  meaning or wording: a candidate with neither scores 0, however well its kind agrees.
- **Context only breaks ties**: the same team, a recent raising, an issue still active or
  flagged, open fixes, combined into 0..1 and applied as a factor,
  ``score = match * (1 - context_weight + context_weight * context)``. With 0.08 it moves a
  score by at most 8 % of itself: it reorders near-ties between real candidates but never
  lifts a text that matches nothing (match 0 stays 0) and never decides on its own.
- **Thresholds on the final score.** ``suggest`` (0.10): below it nothing is shown. A
  suggestion is for a person to judge, so the floor only hides what shares nothing real:
  meaning alone needs a centred cosine of about 0.17 (a plain one of about 0.26), above
  what unrelated sentences score, and agreeing category words alone score 0. Replayed over
  the four files with 2026.4's weights, a floor of 0.10 hides the true issue of 2 of 95
  recurrences (0.15 would hide 8), and first raisings show something 34 times in 56. Real
  rewordings of one problem ("tension between the two leads" / "the two managers disagree
  again") often score 0.1 to 0.3; a floor at "a cosine of 0.5" (0.30, version 2026.1) hid
  about a third of the sample recurrences from the facilitator. ``review`` (0.25, see 2026.5): from
  here up to ``auto_link`` an import puts the pair in the review queue as a likely
  recurrence. A person decides each one, so the band favours recall: replayed without
  `same_as`, pairs above 0.30 were true recurrences 55 to 100 % of the time across the two
  samples and two held-out histories, and 43 to 69 % of true links reached it.
  ``auto_link`` (0.75, see 2026.6): an import links without asking, aiming at a precision of 0.95 or
  better because a wrong automatic link pollutes a diagnosis while a missed one only waits
  in the review queue. 0.50 was the lowest threshold with precision 1.0 on all four files;
  0.55 keeps a margin. Known limit: two different problems about the same thing ("CI
  builds are slow" / "CI builds are flaky") share meaning, wording and category and can
  score above it; no threshold on these signals separates them.

Version history: 2026.1 meaning 0.75 (best cosine) + trigram word_similarity 0.25.
2026.2 meaning 0.65 (best and top-2 blend) + IDF wording over occurrences and fixes 0.25 +
root-cause agreement 0.10 (fix words weighed as diagnosis weighs them); suggestions shown
from 0.10 instead of 0.30.
2026.3 review band from 0.30 (was 0.45) and automatic links from 0.55 (was 0.75), chosen on
the precision of automatic links replayed over two samples and two held-out histories.
2026.4 root cause 0.15 (was 0.10) on strategy, culture and interpersonal words only, and
only on top of a likeness; meaning 0.60 (was 0.65). Replayed top-1 / top-3: contoso
1.00 / 1.00 (unchanged), northwind 1.00 / 1.00 (was 0.875 / 1.00), held-out fabrikam
0.829 / 0.914 (unchanged) and tailspin 0.818 / 0.939 (was 0.758 / 0.909); automatic links
still precise (1.00) on all four. Taking the 0.05 from wording instead scored the same
top-1 but 0.909 top-3 on tailspin, and let a query sharing one word with an issue's fix
fall under the floor. Counting execution words too scored the same on the
samples and ranked a "mock-ups late" raising under "flaky tests block merges" (both
"execution").

2026.5 review band from 0.25 (was 0.30) and automatic links from 0.70 (was 0.55), chosen on
the import replay with every ``same_as`` removed over three real retro histories (appium,
kubeflow, openedx) and the two held-out written ones. At 0.55 automatic links were right only
3 times in 7 on kubeflow and once in 2 on openedx, where release items share most of their
words and meaning; at 0.70 they were right every time on all five files. Lowering the review
floor to 0.25 raised the recurrences linked or queued by 0.06 to 0.14 per file while queued
pairs stayed right 0.61 to 0.70 of the time on appium and the written histories (openedx 0.45,
kubeflow 0.11: its release retros raise many near-identical items that are different
problems). 0.20 caught a few more but dropped queue precision to 0.50 to 0.65 on those files.

2026.6 automatic links from 0.75 (was 0.70), on two more real histories (Taskcluster's sprint
and incident retrospectives). Over the nine files, an import replay linked four pairs at 0.70
or more: three right at 0.79 to 0.82 ("still forgetting standups" / "Keep forgetting
standups!") and one wrong at 0.74, two incident impacts alike in words with different causes
("All trees were closed for 17 hours" / "trees were closed for 1-1.5 hours"). At 0.75 every
automatic link is right on every file; the wrong pair waits in the review queue instead.

2026.7 a raising's close contenders wait in the review queue too: besides its best match,
the candidates within 0.05 of it (``review_margin``), three in all (``review_contenders``).
Replayed without ``same_as`` over the six real retro histories, the two written held-out
ones and the two samples, 23 of the 46 recurrences whose best match was wrong had the right
issue second or third. Recurrences linked or queued with their true
issue: real 0.41 -> 0.49 (pairs right 0.15 -> 0.13; 158 -> 248 pairs), written 0.66 -> 0.72
(pairs right 0.74 -> 0.75; 79 -> 93 pairs). A margin of 0.10 caught no more and queued 20 to
50 % more pairs; two contenders instead of three caught 0.48 and 0.70.

2026.8 cosines centred on the mean direction of real retro text (``matching/centre.json``,
443 items of ``examples/real/``; half of it subtracted), with the meaning ramp and the
"similar meaning" reason moved to where the same pairs land after centring (a centred cosine
is 1.027 x the plain one - 0.098 on average over every pair of items of the ten evaluated
files, so 0.15 / 0.85 / 0.50 became 0.05 / 0.78 / 0.42): the thresholds on the score keep their
meaning and only the order changes. Release retros share most of their language ("release",
"docs", "WG"), and a plain cosine lets an item that is mostly that language come close to
everything. Replayed over the six real histories (59 recurrences): top-1 35 -> 37, top-3
43 -> 44, recurrences linked or queued 29 -> 32 with as many pairs queued (248 -> 247, right
32 -> 36); samples top-3 22 -> 23 of 23, linked or queued 17 -> 19; written held-out histories
top-1 and top-3 unchanged (57 and 64 of 68), linked or queued 48 either way with 85 pairs
queued instead of 72 (right 0.71 -> 0.64); automatic links still right every time. The mean
of five of the six real projects ranks the sixth exactly as the mean of all six (top-1 0.644,
top-3 0.763 on the real files in an encoder-level replay); a share of 0.3 or 0.7 ranked
worse than 0.5, and centring on each file's own mean no better than on the shared one.
Measured and not kept: each sentence of a long item as a further reading of the query
(top-1 on openedx 0.70 -> 0.50); with centring, a review band from 0.20: linked or queued
32 -> 34 of 59 on the real histories for 47 more pairs of which 2 were right (openedx's pairs
right 0.54 -> 0.33), 48 -> 54 of 68 on the written ones (pairs right 0.64 -> 0.57).

Bump ``version`` whenever a number changes; suggestions and import links record it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MatchWeights:
    version: str = "2026.8"

    # Match = semantic_weight * meaning + lexical_weight * wording + cause_weight * cause
    # (meaning and wording rescaled to 0..1, cause the 0..1 agreement of category words).
    semantic_weight: float = 0.60
    lexical_weight: float = 0.25
    cause_weight: float = 0.15
    cause_execution_share: float = 0.0  # execution words in the cause agreement
    top2_share: float = 0.5
    fix_share: float = 1.0  # a word found only in fixes, against one it was raised with
    semantic_floor: float = 0.05
    semantic_ceiling: float = 0.78
    lexical_floor: float = 0.0
    lexical_ceiling: float = 0.80

    # Score = match * (1 - context_weight + context_weight * context), context in 0..1.
    context_weight: float = 0.08
    same_team: float = 0.40
    recency: float = 0.30
    recency_half_life_days: float = 90.0
    active: float = 0.10
    flagged: float = 0.10
    open_fixes: float = 0.10

    # Thresholds on the final score.
    suggest: float = 0.10
    review: float = 0.25
    auto_link: float = 0.75
    # A raising's review pairs: its best match and those this close behind it, so many in all.
    review_margin: float = 0.05
    review_contenders: int = 3

    # When a reason is worth saying (best raw cosine / wording score).
    reason_semantic: float = 0.42
    reason_lexical: float = 0.30

    def __post_init__(self) -> None:
        _require(
            abs(self.semantic_weight + self.lexical_weight + self.cause_weight - 1.0) < 1e-9,
            "semantic_weight + lexical_weight + cause_weight must be 1",
        )
        _require(0.0 <= self.cause_weight <= 0.2, "cause is a small feature (0 to 0.2)")
        _require(0.0 <= self.top2_share <= 1.0, "top2_share must be within 0..1")
        _require(
            0.0 <= self.cause_execution_share <= 1.0, "cause_execution_share must be within 0..1"
        )
        _require(0.0 <= self.fix_share <= 1.0, "fix_share must be within 0..1")
        context = self.same_team + self.recency + self.active + self.flagged + self.open_fixes
        _require(abs(context - 1.0) < 1e-9, "context feature weights must add up to 1")
        _require(0.0 <= self.context_weight <= 0.2, "context is a tie-breaker (0 to 0.2)")
        _require(self.semantic_floor < self.semantic_ceiling, "semantic floor >= ceiling")
        _require(self.lexical_floor < self.lexical_ceiling, "lexical floor >= ceiling")
        _require(
            0.0 <= self.suggest <= self.review <= self.auto_link <= 1.0,
            "thresholds must satisfy 0 <= suggest <= review <= auto_link <= 1",
        )
        _require(self.recency_half_life_days > 0, "recency half-life must be positive")
        _require(0.0 <= self.review_margin <= 1.0, "review_margin must be within 0..1")
        _require(self.review_contenders >= 1, "review_contenders must be at least 1")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"MatchWeights: {message}")


DEFAULT_WEIGHTS = MatchWeights()
