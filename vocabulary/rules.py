"""Every threshold and weight the diagnosis engine uses, in one versioned place.

`DEFAULT_RULES` is what the engine runs with. An organisation may override the few rules
listed in `OVERRIDABLE` (validated by `Rules.with_overrides`); every finding records the
`VERSION` of the rules that produced it. Change a number here → bump `RULES_VERSION`.

Each field carries its allowed range in its metadata, so validation needs no second table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

RULES_VERSION = "2026.12.7"


def _rule(default: int | float | bool, low: float | None = None, high: float | None = None) -> Any:
    """A rule field with its default and inclusive bounds (checked by `with_overrides`)."""
    return field(default=default, metadata={"low": low, "high": high})


@dataclass(frozen=True)
class Rules:
    """The engine's thresholds and weights. Scores are unitless; only their order matters."""

    VERSION: str = RULES_VERSION

    # --- Band-aid loop and status -------------------------------------------------------------
    band_aid_threshold: int = _rule(2, 1, 20)
    quiet_days: int = _rule(90, 1, 3650)
    quiet_retros: int = _rule(3, 0, 100)
    # A band-aid loop that a structural fix then ended (quiet period held) is no longer flagged.
    held_fix_clears_loop: bool = _rule(True)

    # --- Spread -------------------------------------------------------------------------------
    org_level_team_count: int = _rule(3, 2, 1000)
    org_spread_weight: float = _rule(1.0, 0.0, 10.0)
    org_spread_interpersonal_penalty: float = _rule(0.3, 0.0, 10.0)
    pair_of_teams_weight: float = _rule(0.3, 0.0, 10.0)
    named_pair_weight: float = _rule(1.5, 0.0, 10.0)
    one_team_technical_weight: float = _rule(0.4, 0.0, 10.0)
    # A pair of people not named together in one text must each be named in this many texts.
    named_pair_min_texts: int = _rule(2, 1, 100)
    # Texts with more capitalised words than this share are headlines: no names read from them.
    title_case_share: float = _rule(0.5, 0.0, 1.0)
    title_case_min_words: int = _rule(4, 1, 100)

    # --- Fixes --------------------------------------------------------------------------------
    held_structural_weight: float = _rule(1.2, 0.0, 10.0)
    # Share of `held_structural_weight` given while the quiet period is still running.
    held_pending_factor: float = _rule(0.5, 0.0, 1.0)
    worked_outcome_bonus: float = _rule(0.3, 0.0, 10.0)
    failed_structural_penalty: float = _rule(0.8, 0.0, 10.0)
    band_aid_failure_weight: float = _rule(0.2, 0.0, 10.0)
    band_aid_failure_cap: int = _rule(3, 0, 100)
    band_aid_loop_culture_bias: float = _rule(0.1, 0.0, 10.0)

    # --- Words (weigh less than the patterns above) -------------------------------------------
    word_strong: float = _rule(1.0, 0.0, 10.0)
    word_weak: float = _rule(0.5, 0.0, 10.0)
    word_text_cap: float = _rule(1.0, 0.0, 10.0)
    occurrence_words_weight: float = _rule(0.8, 0.0, 10.0)
    fix_words_weight: float = _rule(0.3, 0.0, 10.0)
    # Below this score no category is named: one failed band-aid alone says nothing of the cause.
    min_category_score: float = _rule(0.3, 0.0, 10.0)

    # --- Shortening intervals -----------------------------------------------------------------
    # Worse when the latest gap is at most this share of the mean of the earlier gaps.
    shortening_ratio: float = _rule(0.75, 0.01, 1.0)
    shortening_min_intervals: int = _rule(2, 2, 100)

    # --- Confidence ---------------------------------------------------------------------------
    confidence_base: float = _rule(0.3, 0.0, 1.0)
    confidence_margin_weight: float = _rule(0.35, 0.0, 1.0)
    confidence_pattern_bonus: float = _rule(0.1, 0.0, 1.0)
    # Wording that points mostly to the category counts as one more supporting pattern.
    confidence_words_support: float = _rule(0.4, 0.0, 10.0)
    confidence_worsening_bonus: float = _rule(0.05, 0.0, 1.0)
    confidence_did_not_work_bonus: float = _rule(0.05, 0.0, 1.0)
    confidence_did_not_work_max: int = _rule(2, 0, 100)
    # Recurrence after a fix is the evidence: without any fix tried, confidence stays modest.
    confidence_untried_cap: float = _rule(0.6, 0.0, 1.0)
    confidence_cap: float = _rule(0.95, 0.0, 1.0)
    undetermined_confidence: float = _rule(0.1, 0.0, 1.0)

    # --- Fix-kind inference from free text ----------------------------------------------------
    infer_strong: float = _rule(1.0, 0.0, 10.0)
    infer_weak: float = _rule(0.4, 0.0, 10.0)
    infer_lead_bonus: float = _rule(0.3, 0.0, 10.0)
    infer_confidence_base: float = _rule(0.45, 0.0, 1.0)
    infer_confidence_per_point: float = _rule(0.25, 0.0, 1.0)
    infer_confidence_tie_penalty: float = _rule(0.35, 0.0, 1.0)
    infer_confidence_floor: float = _rule(0.25, 0.0, 1.0)
    infer_confidence_cap: float = _rule(0.95, 0.0, 1.0)
    infer_fallback_confidence: float = _rule(0.15, 0.0, 1.0)
    # Below this confidence an inferred kind is not pre-selected: the form asks the person.
    infer_sure_confidence: float = _rule(0.6, 0.0, 1.0)
    # Words weaker than this: the fix's meaning is compared with KIND_EXAMPLES instead.
    infer_meaning_below: float = _rule(0.3, 0.0, 1.0)

    def with_overrides(self, overrides: Mapping[str, object], *, allow_all: bool = False) -> Self:
        """A copy with `overrides` applied, validated.

        By default only the rules in `OVERRIDABLE` (what an organisation admin may change) are
        accepted; `allow_all=True` accepts any rule except `VERSION` (for tuning and tests).
        Raises ValueError naming the rule and what it accepts.
        """
        if not isinstance(overrides, Mapping):
            raise ValueError("Rule overrides must be a mapping of rule name to value.")
        fields = {f.name: f for f in dataclasses.fields(self) if f.name != "VERSION"}
        allowed = set(fields) if allow_all else set(OVERRIDABLE)
        changes: dict[str, object] = {}
        for name, value in overrides.items():
            if name not in fields:
                raise ValueError(
                    f"Unknown rule {name!r}; known rules: {', '.join(sorted(allowed))}."
                )
            if name not in allowed:
                raise ValueError(
                    f"Rule {name!r} cannot be overridden by an organisation; "
                    f"overridable rules: {', '.join(sorted(OVERRIDABLE))}."
                )
            changes[name] = _checked(fields[name], value, getattr(DEFAULT_RULES, name))
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def overridden(self) -> dict[str, object]:
        """The rules that differ from `DEFAULT_RULES` (recorded next to the version)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(DEFAULT_RULES, f.name)
        }


def _checked(spec: dataclasses.Field[Any], value: object, default: object) -> object:
    """`value` converted to the type of `default` and checked against the field's bounds."""
    name = spec.name
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"Rule {name!r} must be true or false, not {value!r}.")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"Rule {name!r} must be a whole number, not {value!r}.")
        number: float = value
    else:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"Rule {name!r} must be a number, not {value!r}.")
        number = float(value)
        if number != number:  # NaN
            raise ValueError(f"Rule {name!r} must be a number, not NaN.")
    low, high = spec.metadata.get("low"), spec.metadata.get("high")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"Rule {name!r} must be between {low:g} and {high:g}, not {value!r}.")
    return number


DEFAULT_RULES = Rules()

# What an organisation admin may change, with the one line the admin sees.
OVERRIDABLE: dict[str, str] = {
    "band_aid_threshold": "Flag an issue once it has come back after this many band-aid fixes.",
    "quiet_days": "Days without a return after a fix before an issue counts as resolved.",
    "quiet_retros": "Retros of the team(s) without a return after a fix before it is resolved.",
    "org_level_team_count": "Teams raising the same issue before it points to an "
    "organisation-level cause.",
    "shortening_ratio": "The latest gap between raisings, as a share of the earlier gaps, "
    "below which the issue is getting worse.",
}
