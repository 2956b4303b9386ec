"""Fix kinds, categories and the inference of a fix's kind from its text."""

from __future__ import annotations

import pytest

from vocabulary.fixkinds import (
    CATEGORIES,
    FALLBACK_KIND,
    FIX_KINDS,
    KIND_CHOICES,
    NEXT_STEPS,
    infer_fix_kind,
    is_band_aid,
    is_structural_for,
)

# docs/domain.md's table, in its order: slug, nature, structural for.
DOMAIN_TABLE = [
    ("meeting", "band_aid", set()),
    ("process", "band_aid", set()),
    ("reminder", "band_aid", set()),
    ("workaround", "band_aid", set()),
    ("escalation", "band_aid", set()),
    ("tooling", "structural", {"execution"}),
    ("infrastructure", "structural", {"execution"}),
    ("training", "structural", {"execution"}),
    ("staffing", "structural", {"execution"}),
    ("strategy", "structural", {"strategy"}),
    ("incentives", "structural", {"culture"}),
    ("coaching", "structural", {"interpersonal"}),
    ("reorg", "structural", {"strategy", "culture"}),
]


def test_fix_kinds_follow_the_domain_table_in_its_order() -> None:
    assert list(FIX_KINDS) == [slug for slug, _, _ in DOMAIN_TABLE]
    assert [slug for slug, _ in KIND_CHOICES] == list(FIX_KINDS)


@pytest.mark.parametrize(("slug", "nature", "structural_for"), DOMAIN_TABLE)
def test_each_kind_has_its_nature_and_targets(
    slug: str, nature: str, structural_for: set[str]
) -> None:
    kind = FIX_KINDS[slug]

    assert (kind.slug, kind.nature, set(kind.structural_for)) == (slug, nature, structural_for)
    assert is_band_aid(slug) is (nature == "band_aid")
    assert all(is_structural_for(slug, c) for c in structural_for)
    assert kind.label and kind.explanation.endswith(".") and len(kind.explanation) < 100


def test_categories_have_labels_and_a_next_step_each() -> None:
    assert list(CATEGORIES) == ["execution", "strategy", "culture", "interpersonal", "undetermined"]
    assert set(NEXT_STEPS) == set(CATEGORIES)
    assert all(step.endswith(".") for step in NEXT_STEPS.values())


def test_next_steps_fit_what_fixes_each_category() -> None:
    assert "coach" in NEXT_STEPS["interpersonal"]
    assert "incentives" in NEXT_STEPS["culture"]
    assert "strategy" in NEXT_STEPS["strategy"]
    assert "training" in NEXT_STEPS["execution"]
    assert "recording" in NEXT_STEPS["undetermined"]


def test_an_unknown_kind_is_an_error() -> None:
    with pytest.raises(KeyError):
        is_band_aid("magic")


# Varied phrasings of our own, two or three per kind.
INFERENCE = {
    "meeting": [
        "Set up a fortnightly check-in between design and QA",
        "Hold a stand-up with the on-call engineers every morning",
        "Book a recurring call with the vendor",
    ],
    "process": [
        "Require two approvals before merging to main",
        "Introduce a release checklist",
        "New definition of done for stories",
    ],
    "reminder": [
        "Send an announcement asking people to update tickets",
        "Remind the team to double-check migrations",
        "Post a note in the channel: be more careful with prod data",
    ],
    "workaround": [
        "Manually rerun the failed jobs each morning",
        "Hotfix the config on the broken node",
        "Temporary script to purge stale caches",
    ],
    "escalation": [
        "Escalate the vendor delay to the CTO",
        "Ask the engineering director to step in on the API dispute",
    ],
    "tooling": [
        "Automate dependency updates with a bot",
        "Add a lint rule for unused imports",
        "Configure alert rules for queue depth",
    ],
    "infrastructure": [
        "Migrate the reporting database to a bigger instance",
        "Rebuild the staging cluster on new hardware",
        "Scale out the message brokers",
    ],
    "training": [
        "Send two engineers on a Kubernetes course",
        "Hire a senior data engineer",
        "Mentoring programme for new joiners",
    ],
    "staffing": [
        "Add one more developer to the checkout squad",
        "Make the platform team the owner of the deploy pipeline",
        "Backfill the vacant QA position",
    ],
    "strategy": [
        "Publish a single ranked list of company priorities",
        "Align the quarterly OKRs of mobile and web",
        "Leadership to communicate the product strategy for next year",
    ],
    "incentives": [
        "Recognise cross-team help in performance reviews",
        "Tie part of the bonus to shared goals",
        "Reward people who unblock other teams",
    ],
    "coaching": [
        "Manager to mediate between the two tech leads",
        "Coaching sessions for Ana and Ben to work through their differences",
        "Facilitated conversation between the two managers",
    ],
    "reorg": [
        "Merge the web and mobile teams",
        "Split the platform team into infra and tooling",
        "Move the data team under product",
    ],
}
INFERENCE_CASES = [(kind, text) for kind, texts in INFERENCE.items() for text in texts]


def test_inference_covers_every_kind() -> None:
    assert set(INFERENCE) == set(FIX_KINDS)


@pytest.mark.parametrize(("kind", "text"), INFERENCE_CASES, ids=[t for _, t in INFERENCE_CASES])
def test_it_infers_the_kind_of_a_fix_from_its_text(kind: str, text: str) -> None:
    inferred = infer_fix_kind(text)

    assert inferred.kind == kind
    assert inferred.inferred is True
    assert 0.25 <= inferred.confidence <= 0.95


MECHANISM_OVER_TOPIC = {
    "a_priority_meeting_is_a_meeting": ("Priority sync every Monday", "meeting"),
    "a_planning_template_is_a_process": ("Quarterly planning template for all teams", "process"),
    "a_reminder_about_servers_is_a_reminder": ("Reminder: restart nothing on prod", "reminder"),
    "one_to_ones_between_two_people_are_a_meeting": ("Weekly 1:1 for Kim and Lou", "meeting"),
    "promoting_checks_is_not_an_incentive": ("Promote flaky checks to blocking CI jobs", "tooling"),
    "a_promotion_is_an_incentive": ("Promotions count help given to other teams", "incentives"),
    "paying_attention_is_a_reminder": ("Pay attention to public holidays when booking", "reminder"),
    "reconvening_is_a_meeting": ("Reconvene on Thursday to check progress", "meeting"),
    "following_up_with_leadership_is_escalation": (
        "Follow up with IT leadership on what they expect",
        "escalation",
    ),
    "an_automatic_behaviour_is_tooling": ("Auto-archive stale tickets after 30 days", "tooling"),
    # The compound is read whole: its second half ("purging") is no workaround of its own.
    "an_automatic_clean_up_is_tooling": ("Auto-purging should keep the newest images", "tooling"),
    "crashing_a_program_on_purpose_is_tooling": ("Crash the process on a corrupt feed", "tooling"),
    "meeting_a_need_is_no_meeting": ("Check the cache settings are meeting our needs", "tooling"),
    "a_numbered_bug_is_a_code_change": ("Bug 48213 - scheduler: drop stuck leases", "tooling"),
    # What was done while an incident went on stops something once; it changes nothing.
    "stopping_something_during_an_incident_is_a_workaround": (
        "The import job was disabled and its queue paused until morning",
        "workaround",
    ),
    "knowledge_of_a_system_is_training": ("Grow the team's billing knowledge", "training"),
    "a_list_of_things_to_check_is_a_checklist": (
        "Keep a list of things to check before a schema change",
        "process",
    ),
    "updating_people_on_a_process_is_a_reminder": (
        "Update the teams on the new on-call rota",
        "reminder",
    ),
}


@pytest.mark.parametrize(
    ("text", "kind"), MECHANISM_OVER_TOPIC.values(), ids=MECHANISM_OVER_TOPIC.keys()
)
def test_what_a_fix_changes_outweighs_what_it_is_about(text: str, kind: str) -> None:
    assert infer_fix_kind(text).kind == kind


@pytest.mark.parametrize(
    "text",
    ["Check the holiday calendar during sprint planning", "Use planning poker for estimates"],
)
def test_a_teams_planning_session_is_no_strategy(text: str) -> None:
    """ "Planning" names the team's own planning (a meeting, a process step), not the strategy
    or priorities set across teams."""
    assert infer_fix_kind(text).kind != "strategy"


@pytest.mark.parametrize(
    ("text", "reminder"),
    [
        ("Remind everyone to update the board", True),
        ("Not everyone needs to be involved in every sprint", False),
        ("Everyone reviews pull requests from the other team", False),
    ],
)
def test_everyone_alone_is_no_reminder(text: str, reminder: bool) -> None:
    """A reminder asks people to remember; naming everyone is not one."""
    assert (infer_fix_kind(text).kind == "reminder") is reminder


@pytest.mark.parametrize("text", ["", "Do something about it", "Look into it next sprint"])
def test_it_falls_back_to_a_low_confidence_workaround(text: str) -> None:
    inferred = infer_fix_kind(text)

    assert (inferred.kind, inferred.kind) == (FALLBACK_KIND, "workaround")
    assert inferred.confidence < 0.25


def test_a_clear_fix_is_surer_than_a_mixed_one() -> None:
    clear = infer_fix_kind("Replace the old database servers")
    mixed = infer_fix_kind("Meeting to plan replacing the servers")

    assert clear.confidence > mixed.confidence


# Where the domain table is silent, what a fix changes decides its side of the band-aid line:
# how-to documentation and people in other time zones change who can do the work
# (structural); a step written into the handbook or an appeal to habit does not (band-aid).
HOUSE_RULES = {
    "how_to_docs_are_training": (
        "Write instructions on running the slow tests locally",
        "training",
    ),
    "a_contributing_guide_is_training": (
        "Explain in the contributing guide how to review",
        "training",
    ),
    "people_in_other_time_zones_are_staffing": ("Find maintainers in other time zones", "staffing"),
    "more_reviewers_are_staffing": ("Get more reviewers for the docs area", "staffing"),
    "permissions_are_tooling": ("Grant the new maintainers permission to tag releases", "tooling"),
    "a_handbook_step_is_a_process": ("Note the freeze date in the handbook", "process"),
    "a_strict_definition_is_a_process": ("Define what a beta build means", "process"),
    "getting_back_into_a_habit_is_a_reminder": ("Let us get back into the habit", "reminder"),
    "a_video_call_is_a_meeting": ("Try a zoom for the planning", "meeting"),
}


@pytest.mark.parametrize(("text", "kind"), HOUSE_RULES.values(), ids=HOUSE_RULES.keys())
def test_house_rules_put_a_fix_on_its_side_of_the_band_aid_line(text: str, kind: str) -> None:
    inferred = infer_fix_kind(text)

    assert inferred.kind == kind
    assert is_band_aid(inferred.kind) == is_band_aid(kind)


def test_a_structural_fix_text_is_not_preselected_as_a_band_aid() -> None:
    inferred = infer_fix_kind("Add how-to instructions so new contributors can cut a release")

    assert not (inferred.sure and is_band_aid(inferred.kind))
