"""Replay a ``recur-history/1`` document through the matcher and measure it. Pure, no Django.

Replay order: retrospectives by ``held_on``, ties in file order; items in file order; a
retrospective's actions count from the next retrospective on (they are decided after its
items are raised).

- :func:`evaluate_suggestions`: issues are built from the true ``same_as`` links. For every
  item whose true issue was already raised before it, the matcher ranks the issues raised so
  far and the rank of the true one is recorded (top-1, top-3, MRR, p95 latency including
  embedding the text), next to a trigram-only ranking of the same issues.
- :func:`evaluate_autolink`: the import without ``same_as``: each item joins its best match
  when that scores at or above the auto-link threshold, otherwise starts a new issue. Scored
  on pairs of items in the same issue against the ``same_as`` truth.

The issues raised so far live in an :class:`~matching.index.IssueIndex`, the same
in-memory index, candidate pool and :func:`~matching.ranker.rank` that production
``retros.search.suggest`` uses (int8 vectors, IDF wording over occurrence and fix texts,
root-cause profiles); only the context comes from the file instead of the database, and it
is rebuilt without running diagnosis: band-aid fixes are the actions of a band-aid kind,
open fixes those not yet completed on the query date, an issue is flagged once raised after
its second band-aid fix, and active when raised in the last 90 days. An action's text joins
its issue from the next retrospective on.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from matching import centring, embedding, lexical
from matching.centring import Centring
from matching.index import POOL, IssueIndex, OneRetroIssues
from matching.ranker import Candidate, Decision, Query, Suggestion, link_decision, review_pairs
from matching.weights import DEFAULT_WEIGHTS, MatchWeights
from vocabulary.fixkinds import BAND_AID_KINDS
from vocabulary.itemtype import PROBLEM, infer_item_type

Encoder = Callable[[Sequence[str]], np.ndarray]
QueryEncoder = Callable[[str, lexical.Vocabulary], np.ndarray]
QueryReader = Callable[[str, lexical.Vocabulary], tuple[str, np.ndarray]]

QUIET_DAYS = 90  # docs/domain.md: no recurrence for 90 days after a fix counts as resolved


@dataclass(frozen=True)
class Item:
    key: str
    text: str
    team: str
    on: date
    same_as: str | None
    position: int  # replay order
    type: str = PROBLEM  # appreciation is never matched: the replay skips it, as import does


@dataclass(frozen=True)
class Action:
    item: str
    kind: str | None
    status: str
    completed_on: date | None
    decided_on: date
    text: str = ""


@dataclass(frozen=True)
class Retro:
    on: date
    items: tuple[Item, ...]
    actions: tuple[Action, ...]


@dataclass
class IssueState:
    issue_id: int
    texts: list[str] = field(default_factory=list)
    teams: set[str] = field(default_factory=set)
    last_seen: date | None = None
    raisings: list[date] = field(default_factory=list)
    fixes: list[Action] = field(default_factory=list)

    def candidate(self, on: date, index: IssueIndex, cosines: tuple[float, float]) -> Candidate:
        band_aids = sorted(f.decided_on for f in self.fixes if f.kind in BAND_AID_KINDS)
        flagged = len(band_aids) >= 2 and max(self.raisings) > band_aids[1]
        open_fixes = sum(_is_open(f, on) for f in self.fixes)
        return index.candidate(
            self.issue_id,
            cosines,
            title=self.texts[0],
            last_seen=self.last_seen,
            active=self.last_seen is not None and (on - self.last_seen).days <= QUIET_DAYS,
            flagged=flagged,
            open_fixes=open_fixes,
            band_aid_fixes=len(band_aids),
        )


def _is_open(fix: Action, on: date) -> bool:
    if fix.status == "open":
        return True
    return fix.status == "done" and fix.completed_on is not None and fix.completed_on > on


def load_history(source: Path | str | dict[str, Any]) -> tuple[str, list[Retro]]:
    """(file name, retrospectives in replay order)."""
    if isinstance(source, dict):
        doc, name = source, str(source.get("organization", "history"))
    else:
        path = Path(source)
        doc, name = json.loads(path.read_text(encoding="utf-8")), path.name
    ordered = sorted(enumerate(doc["retrospectives"]), key=lambda p: (p[1]["held_on"], p[0]))
    retros, position = [], 0
    for _, raw in ordered:
        on = date.fromisoformat(raw["held_on"])
        items = []
        for it in raw.get("items", []):
            kind = it.get("type") or infer_item_type(it["text"], it.get("column"))
            items.append(
                Item(it["key"], it["text"], raw["team"], on, it.get("same_as"), position, kind)
            )
            position += 1
        actions = tuple(_action(a, on) for a in raw.get("actions", []))
        retros.append(Retro(on, tuple(items), actions))
    return name, retros


def item_type_scores(doc: dict[str, Any]) -> dict[str, Any]:
    """How often the type read from each item's column and text equals the file's ``type``,
    over the items that have one (``items_typed``, ``type_accuracy``)."""
    typed = [it for raw in doc["retrospectives"] for it in raw.get("items", []) if it.get("type")]
    right = sum(infer_item_type(it["text"], it.get("column")) == it["type"] for it in typed)
    return {
        "items_typed": len(typed),
        "type_accuracy": round(right / len(typed), 4) if typed else 0.0,
    }


def _action(raw: dict[str, Any], on: date) -> Action:
    done = raw.get("completed_on")
    return Action(
        item=raw["item"],
        kind=raw.get("kind"),
        status=raw.get("status", "open"),
        completed_on=date.fromisoformat(done) if done else None,
        decided_on=on,
        text=raw.get("text", ""),
    )


def true_issues(retros: Sequence[Retro]) -> dict[str, str]:
    """Item key -> key of the first item of its true issue (union of ``same_as`` links)."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    position = {it.key: it.position for r in retros for it in r.items}
    for item in (it for r in retros for it in r.items):
        parent.setdefault(item.key, item.key)
        if item.same_as in position:
            a, b = find(item.key), find(item.same_as)
            first, second = sorted((a, b), key=position.__getitem__)
            parent[second] = first
    return {key: find(key) for key in position}


class Replay:
    """The issues raised so far: an :class:`IssueIndex` plus each issue's history."""

    def __init__(
        self,
        weights: MatchWeights,
        dimension: int,
        pool: int = POOL,
        *,
        quantized: bool = True,
        centring: Centring | None = None,
    ) -> None:
        self.weights = weights
        self.index = IssueIndex(dimension, quantized=quantized, pool=pool, centring=centring)
        self.issues: dict[int, IssueState] = {}
        self.issue_of: dict[str, int] = {}
        self.one_retro = OneRetroIssues()

    @property
    def vocabulary(self) -> lexical.Vocabulary:
        return self.index.vocabulary

    def suggest(
        self,
        item: Item,
        vector: np.ndarray,
        reading: str | None = None,
        *,
        retro: int | None = None,
    ) -> list[Suggestion]:
        """All issues of the pool, ranked (no threshold), as ``retros.search.suggest`` does:
        with ``retro`` (the number of the item's retro), none raised only in that retro."""
        reading = reading or item.text
        pool = self.index.pool(reading, vector, exclude=self.one_retro.of(retro))
        candidates = [self.issues[i].candidate(item.on, self.index, c) for i, c in pool.items()]
        query = Query(item.text, vector, team=item.team, on=item.on, reading=reading)
        return self.index.rank(query, candidates, self.weights, min_score=float("-inf"))

    def lexical_rank(self, text: str, *, retro: int | None = None) -> list[int]:
        """Issue ids by trigram score alone (pg_trgm word_similarity), best first; with
        ``retro``, none raised only in that retro (as :meth:`suggest`)."""
        query = lexical.normalize(text)
        excluded = self.one_retro.of(retro)
        scores = {
            i: lexical.best_word_similarity(query, map(lexical.normalize, s.texts))
            for i, s in self.issues.items()
            if i not in excluded
        }
        return sorted(scores, key=lambda i: (-scores[i], i))

    def add(
        self, item: Item, vector: np.ndarray, issue_id: int, *, retro: int | None = None
    ) -> None:
        """Add a raising of ``issue_id`` (in the retro numbered ``retro``, when known)."""
        if retro is not None:
            self.one_retro.raised(issue_id, retro, new=issue_id not in self.issues)
        state = self.issues.setdefault(issue_id, IssueState(issue_id))
        state.texts.append(item.text)
        state.teams.add(item.team)
        state.raisings.append(item.on)
        state.last_seen = max(filter(None, (state.last_seen, item.on)))
        self.index.add_occurrence(
            occurrence_id=item.position,
            issue_id=issue_id,
            text=item.text,
            team=item.team,
            vector=vector,
        )
        self.issue_of[item.key] = issue_id

    def add_fixes(self, actions: Sequence[Action]) -> None:
        for action in actions:
            issue_id = self.issue_of.get(action.item)
            if issue_id is not None:
                self.issues[issue_id].fixes.append(action)
                if action.text:
                    self.index.add_fix(issue_id, action.text)


def _reader(query_encoder: QueryEncoder | None) -> QueryReader:
    """How a replay reads a typed text: production's ``embedding.read_query`` by default;
    a custom ``query_encoder`` (tests) gives vectors only, and the text is read as typed."""
    if query_encoder is None:
        return embedding.read_query
    encode = query_encoder
    return lambda text, vocabulary: (text, encode(text, vocabulary))


def _centring(encoder: Encoder | None) -> Centring | None:
    """Production's centring for the model's own vectors; none for a custom encoder, whose
    space the model's mean direction does not describe."""
    return centring.default() if encoder is None else None


def _rank_of(issue_id: int, ranked: Sequence[int]) -> int | None:
    return ranked.index(issue_id) + 1 if issue_id in ranked else None


def _encode_items(retros: Sequence[Retro], encoder: Encoder) -> np.ndarray:
    return encoder([it.text for r in retros for it in r.items])


def evaluate_suggestions(
    source: Path | str | dict[str, Any],
    weights: MatchWeights = DEFAULT_WEIGHTS,
    encoder: Encoder | None = None,
    query_encoder: QueryEncoder | None = None,
    *,
    quantized: bool = True,
    name: str | None = None,
) -> dict[str, Any]:
    """Replay with true issues; rank of the true issue for every recurrence.

    ``encoder`` embeds the stored items (default ``embedding.encode``), ``query_encoder``
    the text being typed (default ``embedding.read_query``, timed with the ranking).
    ``quantized=False`` keeps float32 vectors instead of production's int8; ``name``
    overrides the reported file name."""
    centred = _centring(encoder)
    encoder = encoder or embedding.encode
    reader = _reader(query_encoder)
    loaded_name, retros = load_history(source)
    name = name or loaded_name
    truth = true_issues(retros)
    vectors = _encode_items(retros, encoder)
    replay, ids = Replay(weights, vectors.shape[1], quantized=quantized, centring=centred), _IdMap()
    ranks, lexical_ranks, timings = [], [], []
    for number, retro in enumerate(retros):
        for item in retro.items:
            if item.type != PROBLEM:
                continue
            issue_id = ids[truth[item.key]]
            if issue_id in replay.issues:
                started = time.perf_counter()
                reading, query_vector = reader(item.text, replay.vocabulary)
                ranked = [
                    s.issue_id for s in replay.suggest(item, query_vector, reading, retro=number)
                ]
                timings.append(time.perf_counter() - started)
                ranks.append(_rank_of(issue_id, ranked))
                lexical_ranks.append(
                    _rank_of(issue_id, replay.lexical_rank(item.text, retro=number))
                )
            replay.add(item, vectors[item.position], issue_id, retro=number)
        replay.add_fixes(retro.actions)
    return _suggestion_metrics(name, ranks, lexical_ranks, timings)


class _IdMap(dict[str, int]):
    def __missing__(self, key: str) -> int:
        self[key] = len(self) + 1
        return self[key]


def _top(ranks: Sequence[int | None], n: int) -> float:
    return sum(r is not None and r <= n for r in ranks) / len(ranks) if ranks else 0.0


def _suggestion_metrics(
    name: str, ranks: list[int | None], lexical_ranks: list[int | None], timings: list[float]
) -> dict[str, Any]:
    mrr = sum(1 / r for r in ranks if r) / len(ranks) if ranks else 0.0
    p95 = float(np.percentile(np.array(timings) * 1000, 95)) if timings else 0.0
    return {
        "file": name,
        "recurrences": len(ranks),
        "top1": round(_top(ranks, 1), 4),
        "top3": round(_top(ranks, 3), 4),
        "mrr": round(mrr, 4),
        "p95_ms": round(p95, 2),
        "lexical_top1": round(_top(lexical_ranks, 1), 4),
        "lexical_top3": round(_top(lexical_ranks, 3), 4),
    }


def evaluate_autolink(
    source: Path | str | dict[str, Any],
    weights: MatchWeights = DEFAULT_WEIGHTS,
    encoder: Encoder | None = None,
    query_encoder: QueryEncoder | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Replay ignoring ``same_as``: pair precision, recall and F1 of automatic linking."""
    centred = _centring(encoder)
    encoder = encoder or embedding.encode
    reader = _reader(query_encoder)
    threshold = weights.auto_link if threshold is None else threshold
    name, retros = load_history(source)
    vectors = _encode_items(retros, encoder)
    replay = Replay(weights, vectors.shape[1], centring=centred)
    predicted: dict[str, Any] = {}
    links = reviews = 0
    for number, retro in enumerate(retros):
        for item in retro.items:
            if item.type != PROBLEM:
                predicted[item.key] = f"appreciation-{item.key}"
                continue
            vector = vectors[item.position]
            reading, query_vector = reader(item.text, replay.vocabulary)
            best = next(iter(replay.suggest(item, query_vector, reading, retro=number)), None)
            if best is not None and best.score >= threshold:
                issue_id, links = best.issue_id, links + 1
            else:
                issue_id = len(replay.issues) + 1
                reviews += best is not None and best.score >= weights.review
            replay.add(item, vector, issue_id, retro=number)
            predicted[item.key] = issue_id
        replay.add_fixes(retro.actions)
    scores = pair_scores(predicted, true_issues(retros))
    return {"file": name, "threshold": threshold, "links": links, "review": reviews, **scores}


def pair_scores(predicted: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """Precision, recall and F1 over pairs of items placed in the same issue."""
    both = Counter((predicted[k], truth[k]) for k in truth)
    correct = sum(n * (n - 1) // 2 for n in both.values())
    made = sum(n * (n - 1) // 2 for n in Counter(predicted[k] for k in truth).values())
    true = sum(n * (n - 1) // 2 for n in Counter(truth.values()).values())
    precision = correct / made if made else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "pairs_true": true,
        "pairs_predicted": made,
        "pairs_correct": correct,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def evaluate_import(
    source: Path | str | dict[str, Any],
    weights: MatchWeights = DEFAULT_WEIGHTS,
    encoder: Encoder | None = None,
    query_encoder: QueryEncoder | None = None,
) -> dict[str, Any]:
    """Replay an import with every ``same_as`` removed, as ``importing`` decides: an item
    whose best match scores at or above ``auto_link`` joins it; one in the review band
    (``review`` up to ``auto_link``) starts a new issue and its pairs (the best and its close
    contenders, :func:`~matching.ranker.review_pairs`) wait in the queue; the rest start new
    issues. Measured on the true recurrences (items whose true issue was
    raised before them):

    - ``queued_or_linked``: the share linked to, or queued with, an issue of their true
      issue (the rest are lost among new issues until someone notices);
    - ``queue_precision``: the share of queued pairs whose candidate is of the item's true
      issue;
    - ``autolink_precision``: the same for automatic links.

    A replay issue stands for the true issue of the first item that started it.
    """
    centred = _centring(encoder)
    encoder = encoder or embedding.encode
    reader = _reader(query_encoder)
    name, retros = load_history(source)
    truth = true_issues(retros)
    vectors = _encode_items(retros, encoder)
    replay = Replay(weights, vectors.shape[1], centring=centred)
    started_by: dict[int, str] = {}  # replay issue -> the true issue of its first item
    seen: set[str] = set()
    recurrences = caught = links = links_right = queued = queued_right = 0
    for number, retro in enumerate(retros):
        for item in retro.items:
            if item.type != PROBLEM:
                continue
            true_issue = truth[item.key]
            recurs = true_issue in seen
            reading, query_vector = reader(item.text, replay.vocabulary)
            ranked = replay.suggest(item, query_vector, reading, retro=number)
            best = ranked[0] if ranked else None
            if link_decision(best, weights) == Decision.LINK:
                assert best is not None
                issue_id = best.issue_id
                right = started_by.get(issue_id) == true_issue
                links, links_right = links + 1, links_right + right
            else:
                issue_id = len(replay.issues) + 1
                started_by[issue_id] = true_issue
                pairs = [
                    started_by.get(s.issue_id) == true_issue for s in review_pairs(ranked, weights)
                ]
                queued, queued_right = queued + len(pairs), queued_right + sum(pairs)
                right = any(pairs)
            recurrences += recurs
            caught += recurs and right
            seen.add(true_issue)
            replay.add(item, vectors[item.position], issue_id, retro=number)
        replay.add_fixes(retro.actions)
    return {
        "file": name,
        "recurrences": recurrences,
        "queued_or_linked": round(caught / recurrences, 4) if recurrences else 1.0,
        "links": links,
        "autolink_precision": round(links_right / links, 4) if links else 1.0,
        "queued": queued,
        "queue_precision": round(queued_right / queued, 4) if queued else 1.0,
    }
