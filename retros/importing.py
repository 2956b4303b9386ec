"""Import and export of `recur-history/1` documents (docs/history-format.md).

Import is all or nothing: the document is validated first (vocabulary.history), then
written in one transaction. It is idempotent: teams are matched by name, and retros, items
and actions by their keys, remembered per organisation, so importing the same file twice
changes nothing and a longer version of a file adds only what is new. Items without
`same_as` are matched against the organisation's earlier issues by the same matcher that
facilitators see as suggestions: above the auto-link threshold they join the best match,
in the review band they start a new issue and wait in the link review queue.

Every import records what it created (`ImportReport.created`): the rows it added, the team
keys it set and the earlier issues it linked to, so that an import job can be undone exactly
(retros.import_jobs.import_job_undo). Rows an import only reuses are never in that record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from diagnosis.tasks import schedule_recompute
from matching import embedding
from matching.fixkind import infer_fix_kind
from matching.ranker import Suggestion
from retros import history_log, services
from retros.models import (
    Fix,
    Issue,
    ItemType,
    LinkReview,
    LinkSource,
    Occurrence,
    Organization,
    Retrospective,
    RetroStatus,
    Team,
)
from retros.services import issue_refresh_stats
from vocabulary.history import (
    HistoryDocument,
    ItemRecord,
    RetroRecord,
    TeamRecord,
    dump_history,
    parse_history,
    retrospectives_in_date_order,
)
from vocabulary.itemtype import infer_item_type
from vocabulary.limits import title_from_text

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

# What an import records of its own writes: rows it created, teams it gave an import key,
# and the earlier issues it linked new raisings or fixes to.
LEDGER_KINDS = (
    "teams",
    "keyed_teams",
    "retros",
    "issues",
    "occurrences",
    "fixes",
    "reviews",
    "linked_issues",
)


@dataclass
class AutoLink:
    item: str
    text: str
    issue_id: int
    issue_title: str
    score: float


@dataclass
class ImportReport:
    organization: str = ""
    organization_id: int = 0
    teams_created: int = 0
    retros_created: int = 0
    items_created: int = 0
    items_skipped: int = 0
    actions_created: int = 0
    actions_skipped: int = 0
    linked_by_file: int = 0
    auto_links: list[AutoLink] = field(default_factory=list)
    queued_for_review: int = 0
    appreciations: int = 0
    new_issues: int = 0
    kinds_inferred: int = 0
    created: dict[str, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "teams_created": self.teams_created,
            "retros_created": self.retros_created,
            "items_created": self.items_created,
            "items_skipped": self.items_skipped,
            "actions_created": self.actions_created,
            "actions_skipped": self.actions_skipped,
            "linked_by_file": self.linked_by_file,
            "linked_automatically": len(self.auto_links),
            "queued_for_review": self.queued_for_review,
            "appreciations": self.appreciations,
            "new_issues": self.new_issues,
            "kinds_inferred": self.kinds_inferred,
            "auto_links": [
                {
                    "item": a.item,
                    "issue": a.issue_id,
                    "issue_title": a.issue_title,
                    "score": round(a.score, 3),
                }
                for a in self.auto_links
            ],
        }


def report_lines(report: dict[str, Any]) -> list[str]:
    """The import report as lines for a terminal or a page."""
    lines = [
        f"Organisation: {report['organization']}",
        f"Teams created: {report['teams_created']}; "
        f"retrospectives created: {report['retros_created']}",
        f"Items created: {report['items_created']} (already present: {report['items_skipped']})",
        f"Actions created: {report['actions_created']} "
        f"(already present: {report['actions_skipped']}); "
        f"kinds inferred from text: {report['kinds_inferred']}",
        f"Recurrences linked by the file (same_as): {report['linked_by_file']}",
        f"Recurrences linked automatically: {report['linked_automatically']}",
        f"Possible recurrences waiting for review: {report['queued_for_review']}",
        f"New issues: {report['new_issues']}",
        f"Things that went well (kept, never matched or diagnosed): "
        f"{report.get('appreciations', 0)}",
    ]
    for link in report["auto_links"]:
        lines.append(
            f"  auto-linked {link['item']} → issue {link['issue']} "
            f"“{link['issue_title']}” (score {link['score']:.2f})"
        )
    return lines


def history_import(
    data: bytes | str | dict[str, Any] | HistoryDocument,
    *,
    organization: Organization | None = None,
    progress: Progress | None = None,
    link_automatically: bool = True,
) -> ImportReport:
    """Validate and import a history document. Raises HistoryValidationError (nothing
    written) when the document is invalid.

    With `organization` the rows go there, whatever organisation the document names (an
    import job's organisation, chosen by id when the job was created); without it, into the
    organisation the document names, created when missing (the command line)."""
    doc = data if isinstance(data, HistoryDocument) else parse_history(data)
    with transaction.atomic(), history_log.batched():
        importer = _Importer(
            doc, organization=organization, progress=progress, link_automatically=link_automatically
        )
        report = importer.run()
        schedule_recompute(importer.touched_issue_ids)
    return report


class _Importer:
    def __init__(
        self,
        doc: HistoryDocument,
        *,
        organization: Organization | None,
        progress: Progress | None,
        link_automatically: bool,
    ) -> None:
        from retros.search import ImportLinker

        self.doc = doc
        self.progress = progress
        if organization is None:
            organization, _ = Organization.objects.get_or_create(name=doc.organization)
        self.org = organization
        self.report = ImportReport(organization=self.org.name, organization_id=self.org.pk)
        self.created: dict[str, list[int]] = {name: [] for name in LEDGER_KINDS}
        self.report.created = self.created
        self.linker = ImportLinker(self.org) if link_automatically else None
        self.touched_issue_ids: set[int] = set()
        self.teams: dict[str, Team] = {}
        self.item_issue: dict[str, int] = {}  # item key -> issue id
        self.issue_types: dict[int, str | None] = {}  # issue id -> its raisings' type

    def run(self) -> ImportReport:
        self._teams()
        self.item_issue.update(
            Occurrence.objects.filter(organization=self.org)
            .exclude(import_key="")
            .values_list("import_key", "issue_id")
        )
        existing_fixes = set(
            Fix.objects.filter(organization=self.org)
            .exclude(import_key="")
            .values_list("import_key", flat=True)
        )
        existing_retros = {
            r.import_key: r
            for r in Retrospective.objects.filter(organization=self.org).exclude(import_key="")
        }
        retros = retrospectives_in_date_order(self.doc)
        total = sum(len(r.items) for r in retros)
        new_items = [
            (retro, item)
            for retro in retros
            for item in retro.items
            if item.key not in self.item_issue
        ]
        if self.linker is not None:
            self.linker.prepare([item.text for _, item in new_items])
        done = 0
        if self.progress:
            self.progress(0, total)
        for retro_record in retros:
            retro = existing_retros.get(retro_record.key) or self._retro(retro_record)
            for item in retro_record.items:
                if item.key in self.item_issue:
                    self.report.items_skipped += 1
                else:
                    self._item(retro, item)
                done += 1
                if self.progress and (done % 200 == 0 or done == total):
                    self.progress(done, total)
            for action in retro_record.actions:
                if action.key in existing_fixes:
                    self.report.actions_skipped += 1
                    continue
                self._action(retro, action)
        issue_refresh_stats(issue_ids=self.touched_issue_ids)
        new_issues = set(self.created["issues"])
        self.created["linked_issues"] = sorted(self.touched_issue_ids - new_issues)
        return self.report

    def _teams(self) -> None:
        existing = list(Team.objects.filter(organization=self.org))
        by_name = {t.name: t for t in existing}
        by_key = {t.import_key: t for t in existing if t.import_key}
        for record in self.doc.teams:
            # The key first: a team renamed since the last import of this file is the same
            # team (and its key is taken: a new team with it could not be created).
            team = by_key.get(record.key) or by_name.get(record.name)
            if team is None:
                team = Team.objects.create(
                    organization=self.org, name=record.name, import_key=record.key
                )
                self.report.teams_created += 1
                self.created["teams"].append(team.pk)
            elif not team.import_key:
                team.import_key = record.key
                team.save(update_fields=["import_key"])
                self.created["keyed_teams"].append(team.pk)
            self.teams[record.key] = team

    def _retro(self, record: RetroRecord) -> Retrospective:
        self.report.retros_created += 1
        retro = Retrospective.objects.create(
            organization=self.org,
            team=self.teams[record.team],
            held_on=record.held_on,
            title=record.title,
            status=RetroStatus.CLOSED,
            import_key=record.key,
        )
        self.created["retros"].append(retro.pk)
        return retro

    def _issue(self, issue_id: int) -> Issue:
        """The issue a fix is recorded on, without a read: every id in item_issue is one of
        this organisation's issues (created here, linked by the file or by the organisation's
        own matcher), and the database refuses a fix across organisations anyway."""
        return Issue(pk=issue_id, organization_id=self.org.pk)

    def _issue_type(self, issue_id: int) -> str | None:
        if issue_id not in self.issue_types:
            self.issue_types[issue_id] = (
                Occurrence.objects.filter(issue_id=issue_id)
                .values_list("item_type", flat=True)
                .first()
            )
        return self.issue_types[issue_id]

    def _item(self, retro: Retrospective, item: ItemRecord) -> None:
        link_source, score, issue_id = LinkSource.NEW, None, None
        review: tuple[Suggestion, ...] = ()
        item_type = item.read_type
        if item.same_as:
            issue_id = self.item_issue[item.same_as]
            # The file says it is the same issue: an inferred type follows the issue's.
            item_type = item.type or self._issue_type(issue_id) or item_type
            link_source = LinkSource.SAME_AS
            self.report.linked_by_file += 1
        elif item_type == ItemType.APPRECIATION:
            self.report.appreciations += 1  # kept, never linked to a problem
        elif self.linker is not None:
            decision = self.linker.decide(
                item.text, team=retro.team.name, on=retro.held_on, retro_id=retro.pk
            )
            if decision.link_to is not None:
                issue_id, score = decision.link_to, decision.score
                link_source = LinkSource.AUTO
            else:
                review = decision.review
        if issue_id is None:
            issue = Issue(organization=self.org, title=title_from_text(item.text))
            history_log.save(issue)
            issue_id = issue.pk
            self.created["issues"].append(issue_id)
            self.report.new_issues += 1
        vector = self.linker.vector(item.text) if self.linker is not None else None
        occurrence = Occurrence(
            embedding=embedding.to_bytes(vector) if vector is not None else None,
            embedding_model=embedding.MODEL_ID if vector is not None else "",
            organization=self.org,
            issue_id=issue_id,
            retro=retro,
            team=retro.team,
            held_on=retro.held_on,
            text=item.text,
            item_type=item_type,
            votes=item.votes,
            import_key=item.key,
            link_source=link_source,
            link_score=score,
        )
        history_log.save(occurrence)
        self.created["occurrences"].append(occurrence.pk)
        self.issue_types.setdefault(issue_id, item_type)
        if self.linker is not None and item_type == ItemType.PROBLEM:
            self.linker.add(occurrence, team=retro.team.name)
        if link_source == LinkSource.AUTO:
            self.report.auto_links.append(
                AutoLink(
                    item.key,
                    item.text,
                    issue_id,
                    self.linker.title_of(issue_id) if self.linker else "",
                    score or 0.0,
                )
            )
        pairs = [
            LinkReview(
                organization=self.org,
                occurrence=occurrence,
                candidate_id=pair.issue_id,
                score=pair.score,
                reasons=list(pair.reasons),
            )
            for pair in review
        ]
        history_log.create_all(pairs)
        self.created["reviews"].extend(p.pk for p in pairs)
        self.report.queued_for_review += bool(pairs)
        self.item_issue[item.key] = issue_id
        self.touched_issue_ids.add(issue_id)
        self.report.items_created += 1

    def _action(self, retro: Retrospective, action: Any) -> None:
        kind, inferred = action.kind, False
        if not kind:
            kind, inferred = infer_fix_kind(action.text).kind, True
            self.report.kinds_inferred += 1
        issue_id = self.item_issue[action.item]
        fix = services.fix_record(
            issue=self._issue(issue_id),
            retro=retro,
            decided_on=retro.held_on,
            text=action.text,
            kind=kind,
            kind_inferred=inferred,
            owner=action.owner,
            due_on=action.due_on,
            status=action.status,
            completed_on=action.completed_on,
            import_key=action.key,
            user=None,
            schedule=False,  # the import schedules all it touched at its end
        )
        self.created["fixes"].append(fix.pk)
        self.touched_issue_ids.add(issue_id)
        self.report.actions_created += 1


# --- export ---------------------------------------------------------------------------------


def history_export(organization: Organization) -> dict[str, Any]:
    """The organisation's history as a canonical recur-history/1 document.

    Keys are the import keys where known and generated ones otherwise. Each recurrence
    names the first raising of its issue in `same_as`; each action names the raising of its
    issue in the same retro (or the latest one before it). Archived raisings and fixes are
    left out, as they are on every page.
    """
    from vocabulary.history import ActionRecord

    teams = list(Team.objects.filter(organization=organization).order_by("pk"))
    team_keys = _unique_keys({t.pk: t.import_key or _slug(t.name) or f"team-{t.pk}" for t in teams})
    retros = list(Retrospective.objects.filter(organization=organization).order_by("held_on", "pk"))
    retro_keys = {r.pk: r.import_key or f"retro-{r.pk}" for r in retros}
    occurrences = list(
        Occurrence.objects.live()
        .filter(organization=organization)
        .order_by("held_on", "retro_id", "pk")
    )
    retro_order = {r.pk: i for i, r in enumerate(retros)}
    occurrences.sort(key=lambda o: (retro_order[o.retro_id], o.pk))
    item_keys = {o.pk: o.import_key or f"item-{o.pk}" for o in occurrences}
    first_of_issue: dict[int, Occurrence] = {}
    by_retro: dict[int, list[ItemRecord]] = {r.pk: [] for r in retros}
    issue_raisings: dict[int, list[Occurrence]] = {}
    for occ in occurrences:
        first = first_of_issue.setdefault(occ.issue_id, occ)
        same_as = item_keys[first.pk] if first.pk != occ.pk else None
        by_retro[occ.retro_id].append(
            ItemRecord(
                key=item_keys[occ.pk],
                text=occ.text,
                votes=occ.votes,
                same_as=same_as,
                # Written when reading the text again would not give the stored type.
                type=occ.item_type if occ.item_type != infer_item_type(occ.text) else None,
            )
        )
        issue_raisings.setdefault(occ.issue_id, []).append(occ)
    actions: dict[int, list[ActionRecord]] = {r.pk: [] for r in retros}
    for fix in Fix.objects.live().filter(organization=organization).order_by("decided_on", "pk"):
        raisings = issue_raisings.get(fix.issue_id)
        if not raisings:
            continue
        item = _raising_for_fix(fix, raisings, retro_order)
        retro_id = fix.retro_id if fix.retro_id in actions else item.retro_id
        if retro_order[item.retro_id] > retro_order[retro_id]:
            retro_id = item.retro_id
        actions[retro_id].append(
            ActionRecord(
                key=fix.import_key or f"fix-{fix.pk}",
                item=item_keys[item.pk],
                text=fix.text,
                kind=fix.kind,
                owner=fix.owner,
                due_on=fix.due_on,
                status=fix.status,
                completed_on=fix.completed_on if fix.status == "done" else None,
            )
        )
    doc = HistoryDocument(
        format="recur-history/1",
        organization=organization.name,
        teams=tuple(TeamRecord(key=team_keys[t.pk], name=t.name) for t in teams),
        retrospectives=tuple(
            RetroRecord(
                key=retro_keys[r.pk],
                team=team_keys[r.team_id],
                held_on=r.held_on,
                title=r.title,
                items=tuple(by_retro[r.pk]),
                actions=tuple(actions[r.pk]),
            )
            for r in retros
        ),
    )
    return dump_history(doc)


def _raising_for_fix(
    fix: Fix, raisings: list[Occurrence], retro_order: dict[int, int]
) -> Occurrence:
    if fix.retro_id is not None:
        same_retro = [o for o in raisings if o.retro_id == fix.retro_id]
        if same_retro:
            return same_retro[0]
        position = retro_order.get(fix.retro_id, len(retro_order))
        before = [o for o in raisings if retro_order[o.retro_id] <= position]
        if before:
            return before[-1]
    before = [o for o in raisings if o.held_on <= fix.decided_on]
    return before[-1] if before else raisings[0]


def _slug(name: str) -> str:
    return "-".join("".join(c.lower() if c.isalnum() else " " for c in name).split())[:100]


def _unique_keys(keys: dict[int, str]) -> dict[int, str]:
    seen: set[str] = set()
    result: dict[int, str] = {}
    for pk, key in keys.items():
        candidate, n = key, 2
        while candidate in seen:
            candidate, n = f"{key}-{n}", n + 1
        seen.add(candidate)
        result[pk] = candidate
    return result


# --- preview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportPlan:
    """What importing a document into an organisation would create, read before any write."""

    file_organization: str
    new_team_names: tuple[str, ...]
    teams_reused: int
    retros_new: int
    retros_present: int
    items_new: int
    items_present: int
    actions_new: int
    actions_present: int
    links_by_file: int
    items_to_match: int
    went_well: int = 0  # new items read as praise: kept, never matched


def import_plan(*, organization: Organization, doc: HistoryDocument) -> ImportPlan:
    """The preview of `doc` imported into `organization` (reads only)."""
    team_names = set(Team.objects.filter(organization=organization).values_list("name", flat=True))
    retro_keys = _import_keys(Retrospective, organization)
    item_keys = _import_keys(Occurrence, organization)
    fix_keys = _import_keys(Fix, organization)
    new_teams = tuple(t.name for t in doc.teams if t.name not in team_names)
    items = [item for retro in doc.retrospectives for item in retro.items]
    new_items = [item for item in items if item.key not in item_keys]
    actions = [action for retro in doc.retrospectives for action in retro.actions]
    new_actions = sum(1 for action in actions if action.key not in fix_keys)
    new_retros = sum(1 for retro in doc.retrospectives if retro.key not in retro_keys)
    linked = sum(1 for item in new_items if item.same_as)
    praise = sum(
        1 for item in new_items if not item.same_as and item.read_type == ItemType.APPRECIATION
    )
    return ImportPlan(
        file_organization=doc.organization,
        new_team_names=new_teams,
        teams_reused=len(doc.teams) - len(new_teams),
        retros_new=new_retros,
        retros_present=len(doc.retrospectives) - new_retros,
        items_new=len(new_items),
        items_present=len(items) - len(new_items),
        actions_new=new_actions,
        actions_present=len(actions) - new_actions,
        links_by_file=linked,
        items_to_match=len(new_items) - linked - praise,
        went_well=praise,
    )


def _import_keys(model: Any, organization: Organization) -> set[str]:
    return set(
        model.objects.filter(organization=organization)
        .exclude(import_key="")
        .values_list("import_key", flat=True)
    )
