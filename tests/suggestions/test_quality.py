"""Suggestion quality through the production path (database, index, ranking) on both
databases: replay each sample history in date order and, before each recurrence is
written, ask suggest() for the issues raised before it."""

from __future__ import annotations

import json
from datetime import date

import pytest

from matching import embedding
from retros.models import Issue, Occurrence, Organization, Retrospective, Team
from retros.search import suggest
from tests.examples import example_files

pytestmark = [pytest.mark.evaluation, pytest.mark.django_db]


def _replay(path) -> tuple[int, int, int]:
    document = json.loads(path.read_text())
    org = Organization.objects.create(name=document["organization"])
    teams = {
        t["key"]: Team.objects.create(organization=org, name=t["name"]) for t in document["teams"]
    }
    issue_of: dict[str, Issue] = {}
    top1 = top3 = recurrences = 0
    for record in sorted(document["retrospectives"], key=lambda r: r["held_on"]):
        team = teams[record["team"]]
        retro = Retrospective.objects.create(
            organization=org,
            team=team,
            held_on=date.fromisoformat(record["held_on"]),
            title=record.get("title", ""),
        )
        for item in record["items"]:
            target = issue_of.get(item.get("same_as", ""))
            if target is not None:
                recurrences += 1
                ranked = [
                    s.issue.pk
                    for s in suggest(
                        organization=org,
                        text=item["text"],
                        team=team,
                        limit=3,
                        on=retro.held_on,
                        retro=retro,
                    )
                ]
                top1 += ranked[:1] == [target.pk]
                top3 += target.pk in ranked
            issue = target or Issue.objects.create(organization=org, title=item["text"][:200])
            Occurrence.objects.create(
                organization=org,
                issue=issue,
                retro=retro,
                team=team,
                held_on=retro.held_on,
                text=item["text"],
                votes=item.get("votes", 0),
                embedding=embedding.to_bytes(embedding.encode_one(item["text"])),
                embedding_model=embedding.MODEL_ID,
            )
            Issue.objects.filter(pk=issue.pk).update(last_seen=retro.held_on)
            issue_of[item["key"]] = issue
    return recurrences, top1, top3


def test_the_right_earlier_issue_is_in_the_top_three_for_nine_in_ten_recurrences(capsys):
    total = hits1 = hits3 = 0
    for path in example_files():
        recurrences, top1, top3 = _replay(path)
        total, hits1, hits3 = total + recurrences, hits1 + top1, hits3 + top3
        with capsys.disabled():
            print(
                f"\n{path.name}: {recurrences} recurrences, top-1 {top1 / recurrences:.3f},"
                f" top-3 {top3 / recurrences:.3f}"
            )
    assert total > 0
    with capsys.disabled():
        print(f"all samples: top-1 {hits1 / total:.3f}, top-3 {hits3 / total:.3f}")
    assert hits3 / total >= 0.9
