"""Text signals: which root-cause categories the words of an issue point to, and who it names.

Pure and deterministic. Vocabulary lives here (word stems and phrases, each marked strong or
weak); the numbers that weigh them live in `vocabulary.rules`. Matching works on stems
(`priorit*` covers priority, priorities, prioritise) and on short phrases; a phrase that
matches consumes its words, so "conflicting priorities" counts once, for strategy, and not
again as interpersonal "conflict".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vocabulary.rules import DEFAULT_RULES, Rules

SIGNAL_CATEGORIES = ("execution", "strategy", "culture", "interpersonal")

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str) -> str:
    """Lower case with straight quotes; the same length as `text`, so spans line up."""
    return text.translate(_QUOTES).lower()


def compile_term(spec: str) -> re.Pattern[str]:
    """A regex for a vocabulary term.

    `word*` is a stem (any ending), words separated by spaces match any whitespace, a `-`
    inside a word may also be a space or nothing (`on-call`, `on call`, `oncall`), and a spec
    starting with `re:` is a raw regular expression.
    """
    if spec.startswith("re:"):
        return re.compile(spec[3:])
    parts = []
    for word in spec.split():
        stem = word.endswith("*")
        core = re.escape(word.rstrip("*")).replace(r"\-", "[-\\s]?")
        parts.append(core + (r"\w*" if stem else r"\b"))
    return re.compile(r"(?<![\w'])" + r"\s+".join(parts))


@dataclass(frozen=True)
class Term:
    category: str
    pattern: re.Pattern[str]
    strong: bool


def build_lexicon(vocabulary: dict[str, tuple[Sequence[str], Sequence[str]]]) -> tuple[Term, ...]:
    """Terms from {category: (strong specs, weak specs)}, phrases before single words so that a
    phrase consumes its words first."""
    terms = [
        Term(category, compile_term(spec), strong)
        for category, (strong_specs, weak_specs) in vocabulary.items()
        for strong, specs in ((True, strong_specs), (False, weak_specs))
        for spec in specs
    ]
    return tuple(sorted(terms, key=lambda t: _is_single_word(t.pattern.pattern)))


def _is_single_word(pattern: str) -> bool:
    """One word to match: no space, alternative or group, and no hyphenated compound
    ("auto-purging" is read whole before "purg*" takes its second half)."""
    return (
        r"\s" not in pattern
        and "|" not in pattern
        and "(" not in pattern.replace("(?<!", "")
        and not re.search(r"[A-Za-z]-", pattern)
    )


# Category vocabulary: (strong, weak). Stems and phrases that describe the *kind* of problem,
# never the subject matter of one sample history.
# fmt: off
CATEGORY_VOCABULARY: dict[str, tuple[Sequence[str], Sequence[str]]] = {
    "strategy": (
        (
            "priorit*", "okr*", "roadmap*", "strateg*", "misalign*", "vision*", "pivot*",
            "reshuffl*", "re-prioriti*", "moving target*", "scope chang*", "scope creep",
            "different direction*", "pulling in different", "different goal*",
            "different priorit*", "conflicting priorit*", "competing priorit*",
            "conflicting goal*", "competing goal*", "changing requirement*",
            "requirements chang*", "direction chang*", "change* direction*",
            "what success looks like", "what matters most", "sprint goal*",
            r"re:\bno ?(?:body|one)\s+(?:\w+\s+){0,3}?(?:knows?|can\s+(?:tell|say|explain)|"
            r"is\s+sure|understands?)\s+(?:us\s+)?(?:what|which|why|whether|if|where)\b",
            r"re:\bwhat\s+(?:the|this|our|a)\s+(?:quarter|year|release|milestone|update|"
            r"product|project|team)\s+is\s+(?:about|for)\b",
            r"re:\bargu\w*\s+(?:\w+\s+){0,4}?(?:over|about)\s+(?:which|what|the|whose)?\s*"
            r"(?:features?|scope|priorit\w*|resourc\w*|roadmap|allocation|headcount)",
            "resource allocation", "which feature*", "context switch*", "switching between",
            "too many projects", "want* different things", "different things",
            "opposite instructions", "conflicting instructions", "conflicting requests",
            "contradicting instructions", "wrong thing", "wrong things", "wrong feature*",
            r"re:\b(?:adding|adds|added|add)\s+(?:more\s+)?(?:urgent|new|extra)\s+"
            r"(?:projects?|work|requests?|initiatives?)\b",
            r"re:\bno\s+agreement\s+on\s+(?:what|which|the\s+priorit\w*|priorit\w*|scope)",
            r"re:\bcompeting\s+(?:requests|demands|asks|projects|deadlines|stakeholders)\b",
            r"re:\bwhere\s+(?:the\s+\w+|we|this|our\s+\w+)\s+(?:is|are)\s+heading\b",
            r"re:\bwhat\s+(?:we\s+)?should\s+(?:we\s+)?(?:work|focus)\s+on\b",
        ),
        (
            "goal*", "objective*", "milestone*", "align*", "target*", "focus*", "quarter*",
            "direction*", "mission*", "unclear", "plan*", "trade-off*", "abandon*",
            "thrown away", "keeps changing", "changed twice", "mid-sprint", "whiplash",
            "feature work", "allocation", "urgent", "matters more", "instructions",
            "stakeholder*", "initiative*",
        ),
    ),
    "culture": (
        (
            "blam*", "incentiv*", "credit", "reward*", "recogni*", "penalis*", "penaliz*",
            "punish*", "silo*", "fault", "over the wall", "finger-point*", "pointed at",
            "point* fingers", "scapegoat*", "turf", "territorial", "politics", "political",
            "not our job", "not my job", "not their job", "not our problem", "not my problem",
            "not their problem", "not our team's job", r"re:\b\w+'s\s+job\b",
            r"re:\bjob,?\s+not\s+(?:ours|mine|theirs)\b", "us vs them", "us versus them",
            "us and them", "cover* themselves", "cover our", "throw* it over",
            r"re:\b(?:their|our|its|my)\s+own\s+(?:\w+\s+)?(?:okrs?|goals?|objectives?|"
            r"targets?|kpis?|metrics?|priorit\w*|work|backlog|roadmap)\b",
            r"re:\bnot\s+(?:in|on|part\s+of)\s+(?:our|their|my)\s+(?:okrs?|goals?|"
            r"objectives?|targets?|roadmap|backlog|kpis?)\b",
            r"re:\bwhose\s+(?:okrs?|goals?|objectives?|targets?|budget|credit|kpis?)\b",
            "count* toward*", "refus* to help", "won't help", "will not help", "said no",
            r"re:\b(?:help\w*|unblock\w*|support\w*|assist\w*)\s+(?:the\s+)?(?:other|another)"
            r"\s+teams?\b",
            "cross-team help", "nobody owns", "no one owns", "bonus*", "performance review*",
            r"re:\bnot\s+(?:their|our|my|his|her)\s+priorit\w*",
            r"re:\bonly\s+(?:care|cares|caring|measured|rewarded|judged|evaluated|count)\w*\s+"
            r"(?:about|on|for|by)\b",
            "measured on", "judged on", "hurts our numbers", "nobody wants to", "no one wants to",
            "someone else's problem", "someone else's job", "somebody else's problem", "praise*",
            r"re:\b(?:our|their|your)\s+problem,?\s+not\s+(?:ours|theirs|yours)\b", "hero*",
            r"re:\b(?:help\w*|unblock\w*|support\w*)\s+(?:the\s+)?other\s+(?:squads?|departments?|"
            r"groups?|tribes?)\b",
            "rewarded", "hero culture", "afraid to", "fear of",
        ),
        (
            "help*", "refus*", "other team*", "other squad*", "accountab*", "responsib*",
            "trust*", "fear*", "invisible", "weakness", "seen as",
            "ownership", "competing", "compete*", "competition", "hoard*", "gatekeep*",
            "our fault", "negotiat*",
        ),
    ),
    "interpersonal": (
        (
            "tension*", "tense", "clash*", "shout*", "yell*", "feud*", "friction", "hostil*",
            "bicker*", "rude*", "insult*", "disrespect*", "dismissive", "grudge*", "resent*",
            "undermin*", "disagree*", "personality", "personal*", "bad blood", "power struggle",
            "butt* heads", "at each other", "at odds", "don't get along", "do not get along",
            "can't stand", "not speaking", "won't talk", "don't talk to each other",
            "passive-aggressive*", "ego*", "at war", "stopped talking", "fight* between",
            r"re:\brefus\w*\s+to\s+(?:talk|speak|work|sit|meet|cooperate|collaborate|be\s+in)\b",
            "overrul*", "bad atmosphere", "talk* past each other",
            "each other", "ignores every", "ignores all", "ignores our", "ignores his",
            "ignores her", "steamroll*", "belittl*",
            r"re:\b(?:can'?t|cannot|can\s+not|couldn'?t|won'?t|will\s+not|wouldn'?t|would\s+not|"
            r"don'?t|do\s+not|never)\s+agree\b",
            r"re:\bbetween\s+(?:the\s+)?\w+\s+and\s+\w+\s+(?:leads?|managers?|heads?|"
            r"directors?|owners?|architects?)\b",
        ),
        (
            "argu*", "conflict*", "escalat*", "interrupt*", "blocked", "stonewall*",
            "snipe*", "snipi*", "vs", "versus", "atmosphere", "fight*",
        ),
    ),
    "execution": (
        (
            "outage*", "legacy", "outdated", "flak*", "slow*", "disk*", "out of space",
            "out of memory", "build farm", "build server*", "build machine*", r"re:\bbuilds?\b",
            "deploy*", "pipeline*", "ci", "runner*", "server*", "crash*", "timeout*",
            "time* out", "latency", "memory", "cpu", "infrastructur*", "infra", "hardware",
            "machine*", "database*", "performance", "pager*", "paging", "paged",
            "night pages", "alert*", "on-call", "incident*", "skill*", "know* how to",
            "expertise", "inexperienc*", "tech debt", "technical debt", "monolith*",
            "staging", "fell over", "fall* over", "falls over", "went down", "goes down",
            r"re:\b(?:was|is|are|were|been|being|keeps?\s+going)\s+down\b", "bottleneck*",
            "flaky", "regression*", "test suite*", "certificate*", "tooling", "load time*",
            "response time*", "page load", "bus factor", "single point of failure", "timing out",
            "leak*", "load balancer*",
            r"re:\black\w*\s+(?:\w+\s+)?(?:experience|knowledge|expertise|skills?)\b",
            r"re:\b(?:only|just)\s+(?:one|a\s+single)\s+(?:person|engineer|dev|developer)\s+"
            r"(?:knows|understands|can)\b",
            "overload*",
        ),
        (
            "test*", "broke*", "broken", "stuck", "debug*", "lag", "error*", "fail*",
            "old", "production", "prod", "config*", "migrat*", "environment*", "nightly",
            "rerun*", "service*", "documentation", "docs", "manual*", "tool*", "capacity",
            "bug*", "onboard*", "junior*", "experience", "logs", "logging",
        ),
    ),
}
# fmt: on

CATEGORY_LEXICON = build_lexicon(CATEGORY_VOCABULARY)


@dataclass(frozen=True)
class TextSignal:
    """The category scores of one text and the words that produced them."""

    scores: dict[str, float]
    words: dict[str, tuple[str, ...]]


_LEADS = ("(?<![\\w'])", "\\b")
_SPECIAL = frozenset(".^$*+?{}[]|()")


def leading_literal(pattern: str) -> str | None:
    """Text every match of `pattern` starts with (after its word-boundary guard), if any.

    Only plain characters and escaped punctuation count; a quantifier after the last one
    makes it optional, so it is dropped. None when the pattern starts with anything else.
    A term whose leading literal is absent from a text cannot match it."""
    for lead in _LEADS:
        if pattern.startswith(lead):
            rest = pattern[len(lead) :]
            break
    else:
        return None
    chars: list[str] = []
    i = 0
    while i < len(rest):
        ch = rest[i]
        if ch == "\\":
            if i + 1 < len(rest) and not rest[i + 1].isalnum():
                chars.append(rest[i + 1])
                i += 2
                continue
            break
        if ch in _SPECIAL:
            break
        chars.append(ch)
        i += 1
    if chars and i < len(rest) and rest[i] in "*?{":
        chars.pop()
    return "".join(chars) or None


_LITERALS: dict[int, str | None] = {}


def _literal(term: Term) -> str | None:
    key = id(term)
    if key not in _LITERALS:
        _LITERALS[key] = leading_literal(term.pattern.pattern)
    return _LITERALS[key]


def score_text(
    text: str, *, rules: Rules = DEFAULT_RULES, lexicon: Sequence[Term] = ()
) -> TextSignal:
    """Category scores for one text: strong and weak hits summed, capped per text. A term
    consumes the words it matched, so a phrase is not counted again as its single words."""
    remaining = normalise(text)
    scores: dict[str, float] = {}
    words: dict[str, list[str]] = {}
    for term in lexicon or CATEGORY_LEXICON:
        literal = _literal(term)
        if literal is not None and literal not in remaining:
            continue  # cannot match: skip the regular expression
        hit = False
        for match in term.pattern.finditer(remaining):
            if not match.group(0).strip():
                continue
            hit = True
            weight = rules.word_strong if term.strong else rules.word_weak
            scores[term.category] = scores.get(term.category, 0.0) + weight
            words.setdefault(term.category, []).append(match.group(0).strip())
        if hit:
            remaining = term.pattern.sub(lambda m: " " * len(m.group(0)), remaining)
    return TextSignal(
        scores={c: min(rules.word_text_cap, s) for c, s in scores.items()},
        words={c: tuple(ws) for c, ws in words.items()},
    )


# --- Named people --------------------------------------------------------------------------

# Capitalised words that are not first names when they appear mid-sentence.
_NOT_NAMES = frozenset(
    """
    i i'm ok monday tuesday wednesday thursday friday saturday sunday january february march
    april may june july august september october november december q1 q2 q3 q4 product
    engineering design sales marketing support finance legal security ops operations
    leadership management team teams sprint release retro staging production prod mobile web
    android ios linux windows mac macos google microsoft amazon apple azure aws gcp github
    gitlab bitbucket jira confluence slack teams zoom notion figma excel sheets docs
    jenkins circleci travis docker kubernetes terraform ansible kafka redis postgres mysql
    mongo python java javascript typescript go rust ruby rails django react angular vue node
    graphql rest sentry datadog grafana prometheus pagerduty splunk salesforce hubspot zendesk
    christmas easter covid europe america asia london berlin paris new york
    """.split()
)

_NAME = re.compile(r"(?<![\w'\-])([A-Z][a-z]+)\b(?!'[a-rt-z])(?!-\w)")
_PAIR_AFTER = re.compile(r"^(?:'s(?:\s+\w+)?)?\s*(?:and|&|vs\.?|versus|or|with)\s+([A-Z][a-z]+)\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?;:\n\"(]\s*|\s-\s)$")


def person_names(
    text: str,
    *,
    not_names: Iterable[str] = (),
    known: Iterable[str] = (),
    rules: Rules = DEFAULT_RULES,
) -> tuple[str, ...]:
    """First names a text mentions, in order, without repeats.

    A capitalised word counts mid-sentence; at the start of a sentence only when it is paired
    with another name ("Sam and Alex ...", "Marco's team and Priya's team"), possessive, or
    one of the `known` names (read elsewhere mid-sentence). `not_names` are words never taken
    for names (team names, product names).
    """
    text = text.translate(_QUOTES)
    if _is_title_case(text, rules):
        return ()
    excluded = _NOT_NAMES | {w.lower() for w in not_names}
    known_names = set(known)
    found: list[str] = []
    for match in _NAME.finditer(text):
        word = match.group(1)
        if word.lower() in excluded or word in found:
            continue
        at_start = bool(_SENTENCE_START.search(text[: match.start()]))
        if at_start and word not in known_names:
            if not _starts_pair(text[match.end() :], excluded):
                continue
        found.append(word)
    return tuple(found)


def _is_title_case(text: str, rules: Rules) -> bool:
    """Headline-style or shouted text, where capitals say nothing about names."""
    words = re.findall(r"[A-Za-z]+", text)
    if len(words) < rules.title_case_min_words:
        return False
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised / len(words) > rules.title_case_share


def _starts_pair(rest: str, excluded: frozenset[str] | set[str]) -> bool:
    if rest.startswith("'s "):
        return True
    pair = _PAIR_AFTER.match(rest)
    return bool(pair) and pair.group(1).lower() not in excluded  # type: ignore[union-attr]


@dataclass(frozen=True)
class NamedPair:
    """Two people an issue keeps naming, and how much of the issue is about them."""

    names: tuple[str, str]
    mentioned_in: tuple[int, ...]  # indexes of the texts naming either of them
    strength: float  # 0..1: share of texts naming them x share of name mentions that are theirs


def named_pair(
    texts: Sequence[str], *, not_names: Iterable[str] = (), rules: Rules = DEFAULT_RULES
) -> NamedPair | None:
    """The pair of people that a series of texts keeps naming, if there is one.

    A pair needs either one text naming two people, or two people each named in two texts.
    """
    excluded = tuple(not_names)
    first_reading = [person_names(t, not_names=excluded, rules=rules) for t in texts]
    known = {name for names in first_reading for name in names}
    per_text = [person_names(t, not_names=excluded, known=known, rules=rules) for t in texts]
    counts = Counter(name for names in per_text for name in names)
    if len(counts) < 2:
        return None
    (first, n_first), (second, n_second) = counts.most_common(2)
    together = any(first in names and second in names for names in per_text)
    if not together and n_second < rules.named_pair_min_texts:
        return None
    mentioned = tuple(i for i, names in enumerate(per_text) if first in names or second in names)
    share_of_texts = len(mentioned) / len(texts)
    share_of_mentions = (n_first + n_second) / sum(counts.values())
    return NamedPair((first, second), mentioned, round(share_of_texts * share_of_mentions, 4))


def team_words(team_names: Iterable[str]) -> frozenset[str]:
    """Every word of every team name, lower case: never a person's name."""
    return frozenset(w.lower() for name in team_names for w in re.findall(r"[A-Za-z]+", name))
