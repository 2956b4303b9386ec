"""Who reads which words inside one organisation.

The rule: a person reads a raising's words (an occurrence's text) only if they may open its
team's retros, or are a leader or an admin. A fix's text follows the same rule by the fix's
team (a fix of no team, decided by leaders, by leaders only). An issue's title is words too:

- Leaders and admins read every title as stored.
- Anyone else who may see at least one of the issue's live raisings reads the stored title
  when it is theirs to read: a name a person chose for the issue (a rename, meant for the
  whole organisation), or the text of a raising of one of their teams. Otherwise they read
  the text of the first raising they may see.
- Someone who may see none of its raisings reads a neutral title made of its counts and teams
  ("Issue raised 5 times in Mobile and Data"), never its words.

Pages never choose for themselves: selectors and views pass every issue they show through
:func:`show_titles`, and templates render ``issue.display_title``. Searching titles follows
the same rule (:func:`matching_words`), so a search never confirms words the person may not
read. The leader pages (dashboard, exports, digest) are for leaders and admins only, who read
every team's words: :func:`sees_every_team` is what lets them show stored titles as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q, Subquery

from retros import sql
from retros.access import Access
from retros.models import Issue, IssueMerge, Occurrence
from vocabulary.limits import title_from_text

# The attributes show_titles sets: the title pages render, and whether the person may see
# at least one of the issue's raisings.
DISPLAY = "display_title"
SEES_RAISINGS = "sees_raisings"


def sees_every_team(access: Access) -> bool:
    """Leaders and admins read what every team of their organisation wrote."""
    return access.is_leader


def sees_words(access: Access, team_id: int | None) -> bool:
    """Whether the person may read what `team_id` wrote (None: leaders' own fixes)."""
    if sees_every_team(access):
        return True
    return team_id is not None and team_id in access.team_ids


def neutral_title(occurrences: int, team_names: Iterable[str]) -> str:
    """An issue's title for someone who may read none of its raisings: counts and teams."""
    names = sorted(set(team_names))
    if occurrences == 0:
        return "Issue with no raisings left"
    times = "once" if occurrences == 1 else f"{occurrences} times"
    if not names:
        return f"Issue raised {times}"
    if len(names) == 1:
        where = names[0]
    elif len(names) <= 3:
        where = f"{', '.join(names[:-1])} and {names[-1]}"
    else:
        where = f"{', '.join(names[:2])} and {len(names) - 2} other teams"
    return f"Issue raised {times} in {where}"


def _visible_raisings(access: Access) -> Q:
    return Q(archived_at=None, team_id__in=access.team_ids)


class Provenance(NamedTuple):
    """What deciding an issue's title for one person reads: the stored title, whose words it
    is, the issue's count of raisings and the text of the first raising the person may see
    (None: they may see none)."""

    title: str
    title_team_id: int | None
    renamed: bool
    occurrences: int
    first_seen_text: str | None


def readable_teams(access: Access) -> frozenset[int] | None:
    """The teams whose raisings this person may read; None when every team's (leaders)."""
    return None if sees_every_team(access) else frozenset(access.team_ids)


def first_readable_raising_sql(
    teams: frozenset[int], *, issue: str, vendor: str
) -> tuple[str, list[int] | list[list[int]]]:
    """SQL (and its parameters) for the text of the first live raising of the issue whose id
    is the column ``issue`` among the raisings of ``teams`` (:func:`readable_teams`), for a
    query that reads an issue's :class:`Provenance` with other columns in one round trip.
    The same rule as :func:`show_titles` (live raisings of the person's teams, the earliest
    first)."""
    if not teams:
        return "NULL", []
    among, params = sql.among(sorted(teams), vendor=vendor)
    fragment = (
        "(SELECT o.text FROM retros_occurrence o"
        f" WHERE o.issue_id = {issue} AND o.archived_at IS NULL AND o.team_id {among}"
        " ORDER BY o.held_on, o.id LIMIT 1)"
    )
    return fragment, params


def show_titles[I: Issue](
    access: Access, issues: Iterable[I], *, teams: Mapping[int, Iterable[str]] | None = None
) -> list[I]:
    """Set each issue's ``display_title`` to the title this person may read (see the module
    docstring): no query for leaders; otherwise one for the issues' provenance and the
    first raising the person may see, and one more for the team names of the issues they
    may see no raising of, when there are some and the caller does not know them (`teams`:
    issue id -> the teams of its live raisings, as suggestions carry them)."""
    return show_titles_read(access, issues, {}, teams=teams)


def show_titles_read[I: Issue](
    access: Access,
    issues: Iterable[I],
    provenance: Mapping[int, Provenance],
    *,
    teams: Mapping[int, Iterable[str]] | None = None,
) -> list[I]:
    """:func:`show_titles` with the :class:`Provenance` of some issues already read (by a
    query that used :func:`first_readable_raising_sql`, or from rows just written): only
    the others' is queried."""
    issues = list(issues)
    if sees_every_team(access):
        for issue in issues:
            setattr(issue, DISPLAY, issue.title)
            setattr(issue, SEES_RAISINGS, True)
        return issues
    missing = {issue.pk for issue in issues} - provenance.keys()
    if missing:
        provenance = {**provenance, **_read_provenance(access, missing)}
    shown: dict[int, str] = {}
    unseen: dict[int, int] = {}
    for pk, (title, title_team_id, renamed, count, seen_text) in provenance.items():
        if seen_text is None:
            unseen[pk] = count
        elif renamed or (title_team_id is not None and title_team_id in access.team_ids):
            shown[pk] = title
        else:
            shown[pk] = title_from_text(seen_text)
    names: dict[int, set[str]] = defaultdict(set)
    if teams is not None:
        names.update((pk, set(teams.get(pk, ()))) for pk in unseen)
    elif unseen:
        for issue_id, name in (
            Occurrence.objects.filter(issue_id__in=unseen, archived_at=None)
            .order_by()  # DISTINCT on the pair alone, not on the model's ordering too
            .values_list("issue_id", "team__name")
            .distinct()
        ):
            names[issue_id].add(name)
    for pk, count in unseen.items():
        shown[pk] = neutral_title(count, names[pk])
    for issue in issues:
        setattr(issue, DISPLAY, shown.get(issue.pk) or neutral_title(issue.occurrence_count, ()))
        setattr(issue, SEES_RAISINGS, issue.pk not in unseen and issue.pk in shown)
    return issues


def _read_provenance(access: Access, ids: set[int]) -> dict[int, Provenance]:
    first_seen = (
        Occurrence.objects.filter(_visible_raisings(access), issue_id=OuterRef("pk"))
        .order_by("held_on", "id")
        .values("text")[:1]
    )
    rows = Issue.objects.filter(pk__in=ids).values_list(
        "pk", "title", "title_team_id", "title_renamed", "occurrence_count", Subquery(first_seen)
    )
    return {pk: Provenance(*row) for pk, *row in rows}


def show_title[I: Issue](access: Access, issue: I) -> I:
    return show_titles(access, [issue])[0]


def display_title(access: Access, issue: Issue) -> str:
    """The title of one issue as this person may read it (for messages)."""
    shown = getattr(issue, DISPLAY, None)
    return shown if shown is not None else getattr(show_title(access, issue), DISPLAY)


def matching_words(access: Access, query: str) -> Q:
    """Issues whose words *this person may read* contain `query`: for leaders the stored
    title; for anyone else the text of a live raising of their teams, or a renamed title of
    an issue they may see a raising of (a search must not confirm words they cannot read)."""
    if sees_every_team(access):
        return Q(title__icontains=query)
    mine = Occurrence.objects.filter(_visible_raisings(access), issue_id=OuterRef("pk"))
    return Q(Exists(mine.filter(text__icontains=query))) | Q(
        Q(title__icontains=query),
        Q(title_renamed=True) | Q(title_team_id__in=access.team_ids),
        Exists(mine),
    )


def merge_source_title(access: Access, merge: IssueMerge, *, target: Issue) -> str:
    """The title an issue merged into `target` had (target passed through show_titles), for
    the target's page: as stored when the person may read it (a leader; a renamed title or
    their team's words, while they may see a raising of the target), else its count of
    raisings."""
    source = merge.source
    if sees_every_team(access) or (
        getattr(target, SEES_RAISINGS, False)
        and (source.title_renamed or (source.title_team_id or 0) in access.team_ids)
    ):
        return merge.source_title
    count = len(merge.occurrence_ids)
    return f"An issue raised {'once' if count == 1 else f'{count} times'}"
