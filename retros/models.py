"""Organisations, teams, people, retrospectives, issues, occurrences and fixes.

Every row that belongs to an organisation carries `organization` so that each query can be
scoped to the tenant with one indexed condition. Cross-table rules that a CHECK cannot
express (a retro's team and an occurrence's issue belong to the same organisation) are
enforced by database triggers installed in migration 0002 (see retros/db_rules.py).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from retros.validators import validate_sane_date
from vocabulary import limits
from vocabulary.fixkinds import FIX_KINDS


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    LEADER = "leader", "Leader"
    FACILITATOR = "facilitator", "Facilitator"
    MEMBER = "member", "Member"


FIX_KIND_CHOICES = [(slug, kind.label) for slug, kind in FIX_KINDS.items()]


class ArchivableQuerySet[M: models.Model](models.QuerySet[M]):
    def live(self) -> ArchivableQuerySet[M]:
        """Rows nobody archived: what pages show."""
        return self.filter(archived_at__isnull=True)

    def problems(self) -> ArchivableQuerySet[M]:
        """Occurrences that raise a problem: what is matched, counted and diagnosed
        (appreciation is kept and shown, never counted as a raising of a problem)."""
        return self.filter(item_type="problem")


ArchivableManager = models.Manager.from_queryset(ArchivableQuerySet)


class Organization(models.Model):
    name = models.CharField(max_length=limits.ORGANIZATION_NAME_MAX, unique=True)
    # Threshold overrides for the diagnosis rules, validated by vocabulary.rules.Rules.
    rules_overrides = models.JSONField(default=dict, blank=True)
    auto_link_threshold = models.FloatField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(limits.AUTO_LINK_THRESHOLD_MIN),
            MaxValueValidator(limits.AUTO_LINK_THRESHOLD_MAX),
        ],
        help_text="Score (0 to 1) above which imports link a recurrence automatically; "
        "empty uses the matcher's default. Below the review threshold it acts as that.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Bumped by every structural change to its issues (relink, merge, split, archive): a web
    # process rebuilds its in-memory matcher index when the stamp it loaded has moved
    # (retros.search). Read with the newest ids, in the keystroke's one query.
    matching_stamp = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    auto_link_threshold__gte=limits.AUTO_LINK_THRESHOLD_MIN,
                    auto_link_threshold__lte=limits.AUTO_LINK_THRESHOLD_MAX,
                )
                | Q(auto_link_threshold__isnull=True),
                name="organization_auto_link_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=limits.TEAM_NAME_MAX)
    import_key = models.CharField(max_length=limits.IMPORT_KEY_MAX, blank=True, default="")
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ArchivableManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="team_unique_name_per_org"
            ),
            models.UniqueConstraint(
                fields=["organization", "import_key"],
                condition=~Q(import_key=""),
                name="team_unique_import_key_per_org",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's place in one organisation: their role and, for facilitators and members,
    the teams they belong to."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    teams = models.ManyToManyField(Team, blank=True, related_name="memberships")
    digest_enabled = models.BooleanField(
        default=True, help_text="Leaders receive the weekly digest e-mail."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]
        indexes = [
            # Digest: leaders of an organisation who want the e-mail.
            models.Index(fields=["organization", "role"], name="membership_org_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.organization})"


class RetroFormat(models.TextChoices):
    START_STOP_CONTINUE = "start_stop_continue", "Start / Stop / Continue"
    MAD_SAD_GLAD = "mad_sad_glad", "Mad / Sad / Glad"
    FOUR_LS = "four_ls", "4Ls (Liked, Learned, Lacked, Longed for)"
    FREE = "free", "Free form"


class RetroStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class RetroPhase(models.TextChoices):
    """Where a retro held live on the board stands: members write, then the facilitator
    groups duplicates, everyone votes, and the groups are discussed as raisings."""

    WRITE = "write", "Write"
    GROUP = "group", "Group"
    VOTE = "vote", "Vote"
    DISCUSS = "discuss", "Discuss"


class Anonymity(models.TextChoices):
    NAMED = "named", "Names shown"
    FACILITATOR = "facilitator", "Names shown to the facilitator only"
    ANONYMOUS = "anonymous", "Anonymous: no names stored"


class Retrospective(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="retrospectives"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="retrospectives")
    held_on = models.DateField(default=timezone.localdate, validators=[validate_sane_date])
    title = models.CharField(max_length=limits.TITLE_MAX, blank=True, default="")
    format = models.CharField(max_length=30, choices=RetroFormat.choices, default=RetroFormat.FREE)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="facilitated_retros",
    )
    status = models.CharField(max_length=10, choices=RetroStatus.choices, default=RetroStatus.OPEN)
    import_key = models.CharField(max_length=limits.IMPORT_KEY_MAX, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The live board (retros.cards): its phase, how cards are shown, and a counter that
    # every change moves, for open boards to catch up from.
    phase = models.CharField(
        max_length=10, choices=RetroPhase.choices, default=RetroPhase.WRITE, db_default="write"
    )
    private_until_reveal = models.BooleanField(default=True, db_default=True)
    revealed_at = models.DateTimeField(null=True, blank=True)
    anonymity = models.CharField(
        max_length=12, choices=Anonymity.choices, default=Anonymity.NAMED, db_default="named"
    )
    vote_budget = models.PositiveSmallIntegerField(default=3, db_default=3)
    # Whether the team's members group cards too (the facilitator always may).
    members_group = models.BooleanField(default=False, db_default=False)
    # When the facilitator's countdown for the current phase ends (None: no countdown).
    timer_ends_at = models.DateTimeField(null=True, blank=True)
    live_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-held_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in RetroStatus]), name="retro_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(phase__in=[p.value for p in RetroPhase]), name="retro_phase_valid"
            ),
            models.CheckConstraint(
                condition=Q(anonymity__in=[a.value for a in Anonymity]),
                name="retro_anonymity_valid",
            ),
            models.CheckConstraint(
                condition=Q(vote_budget__gte=1, vote_budget__lte=20),
                name="retro_vote_budget_range",
            ),
            models.UniqueConstraint(
                fields=["organization", "import_key"],
                condition=~Q(import_key=""),
                name="retro_unique_import_key_per_org",
            ),
        ]
        indexes = [
            # Team home: a team's retros, newest first.
            models.Index(fields=["team", "-held_on"], name="retro_team_held_on"),
        ]

    def __str__(self) -> str:
        return self.label(self.title, self.held_on)

    @staticmethod
    def label(title: str, held_on: dt.date) -> str:
        """A retro's name: its title, or its date when it has none ("Retro of 5 December
        2026", as dates read everywhere else on the pages)."""
        return title or f"Retro of {held_on.day} {held_on:%B %Y}"

    @property
    def is_open(self) -> bool:
        return self.status == RetroStatus.OPEN


class Issue(models.Model):
    """The problem itself: a thread of occurrences, possibly across teams and months.

    `occurrence_count`, `team_count`, `first_seen` and `last_seen` are kept by
    retros.services.issue_refresh_stats so lists never aggregate occurrences per request.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="issues")
    title = models.CharField(max_length=limits.TITLE_MAX)
    # Whose words the title is (retros.visibility): the team of the raising it was taken
    # from; or a name a person chose for the whole organisation (a rename). Neither known:
    # only leaders read the stored title, everyone else the text of a raising they may see.
    title_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title_renamed = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_issues"
    )
    # The issue a raising was split off from, so that the split can be undone (merged back).
    split_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    occurrence_count = models.PositiveIntegerField(default=0)
    team_count = models.PositiveIntegerField(default=0)
    first_seen = models.DateField(null=True, blank=True)
    last_seen = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ArchivableManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-last_seen", "-id"]
        indexes = [
            # Issue lists and matcher candidates: an organisation's live issues by recency.
            models.Index(
                fields=["organization", "-last_seen"],
                name="issue_org_last_seen",
                condition=Q(archived_at__isnull=True, merged_into__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ItemType(models.TextChoices):
    PROBLEM = "problem", "Problem"
    APPRECIATION = "appreciation", "Went well"


class LinkSource(models.TextChoices):
    NEW = "new", "Started a new issue"
    SUGGESTION = "suggestion", "Linked from a suggestion"
    MANUAL = "manual", "Linked by hand"
    AUTO = "auto", "Linked automatically on import"
    SAME_AS = "same_as", "Linked by the import file"
    REVIEW = "review", "Confirmed in the review queue"


class Occurrence(models.Model):
    """One raising of an issue in one retro, with the text as written."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="occurrences"
    )
    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="occurrences")
    retro = models.ForeignKey(Retrospective, on_delete=models.PROTECT, related_name="occurrences")
    # Denormalised from the retro for date- and team-ordered scans (timelines, trends).
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="occurrences")
    held_on = models.DateField(validators=[validate_sane_date])
    text = models.CharField(max_length=limits.TEXT_MAX)
    # Problem or appreciation (vocabulary.itemtype). An issue's raisings are all of one type.
    item_type = models.CharField(
        max_length=12, choices=ItemType.choices, default=ItemType.PROBLEM, db_default="problem"
    )
    votes = models.IntegerField(default=0)
    import_key = models.CharField(max_length=limits.IMPORT_KEY_MAX, blank=True, default="")
    link_source = models.CharField(
        max_length=20, choices=LinkSource.choices, default=LinkSource.NEW
    )
    link_score = models.FloatField(null=True, blank=True)
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedding_model = models.CharField(max_length=100, blank=True, default="", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ArchivableManager()
    history = HistoricalRecords(excluded_fields=["embedding"])

    class Meta:
        ordering = ["held_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(votes__gte=0), name="occurrence_votes_not_negative"),
            models.CheckConstraint(
                condition=Q(item_type__in=["problem", "appreciation"]),
                name="occurrence_item_type_valid",
            ),
            models.UniqueConstraint(
                fields=["organization", "import_key"],
                condition=~Q(import_key=""),
                name="occurrence_unique_import_key_per_org",
            ),
        ]
        indexes = [
            # Issue page timeline and issue stats: an issue's occurrences in date order.
            models.Index(fields=["issue", "held_on"], name="occurrence_issue_held_on"),
            # Retro board: a retro's occurrences in the order they were raised.
            models.Index(fields=["retro", "id"], name="occurrence_retro"),
            # Trend chart and team health: an organisation's occurrences by month and team.
            models.Index(fields=["organization", "held_on"], name="occurrence_org_held_on"),
            # Team home: a team's live raisings counted per issue (an index-only scan).
            models.Index(
                fields=["team", "issue"],
                condition=models.Q(archived_at=None),
                name="occurrence_team_issue_live",
            ),
            # Issue list: the few issues whose raisings are praise (all else is a problem).
            models.Index(
                fields=["issue"],
                condition=models.Q(archived_at=None, item_type="appreciation"),
                name="occurrence_praise_live",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def retro_label(self) -> str:
        """The retro's name as lists show it; from a ``retro_title`` annotation when the
        query has one (the occurrence's held_on is the retro's), else from the retro."""
        if "retro_title" in self.__dict__:
            return Retrospective.label(self.__dict__["retro_title"], self.held_on)
        return str(self.retro)


class Card(models.Model):
    """What one member wrote on a live board, before it becomes a raising. Grouped cards
    follow their ``lead``; at the discuss phase each lead with its group becomes one
    raising (``occurrence``). In an anonymous retro ``author`` is never stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    retro = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="cards")
    column = models.CharField(max_length=40, blank=True, default="")
    text = models.CharField(max_length=limits.TEXT_MAX)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="grouped"
    )
    occurrence = models.ForeignKey(
        Occurrence, on_delete=models.SET_NULL, null=True, blank=True, related_name="cards"
    )
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ArchivableManager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["retro", "id"], name="card_retro")]

    def __str__(self) -> str:
        return self.text[:80]


class CardVote(models.Model):
    """One dot of one person on one card (a lead card: votes go to groups)."""

    retro = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="+")
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="dots")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["card", "voter"], name="card_vote_once_per_person")
        ]
        indexes = [models.Index(fields=["retro", "voter"], name="card_vote_retro_voter")]

    def __str__(self) -> str:
        return f"a vote on card {self.card_id}"


class FixStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class FixOutcome(models.TextChoices):
    WORKED = "worked", "Worked"
    DID_NOT_WORK = "did_not_work", "Did not work"
    TOO_EARLY = "too_early", "Too early to tell"


class Fix(models.Model):
    """An action item decided to address an issue, and whether it held."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="fixes")
    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="fixes")
    retro = models.ForeignKey(
        Retrospective, on_delete=models.PROTECT, null=True, blank=True, related_name="fixes"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="fixes"
    )
    decided_on = models.DateField(default=timezone.localdate, validators=[validate_sane_date])
    text = models.CharField(max_length=limits.TEXT_MAX)
    kind = models.CharField(max_length=20, choices=FIX_KIND_CHOICES)
    kind_inferred = models.BooleanField(
        default=False, help_text="The kind was inferred from the text, not chosen by a person."
    )
    owner = models.CharField(max_length=limits.OWNER_MAX, blank=True, default="")
    due_on = models.DateField(null=True, blank=True, validators=[validate_sane_date])
    status = models.CharField(max_length=10, choices=FixStatus.choices, default=FixStatus.OPEN)
    outcome = models.CharField(max_length=20, choices=FixOutcome.choices, blank=True, default="")
    completed_on = models.DateField(null=True, blank=True, validators=[validate_sane_date])
    import_key = models.CharField(max_length=limits.IMPORT_KEY_MAX, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ArchivableManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["decided_on", "id"]
        verbose_name_plural = "fixes"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=list(FIX_KINDS)), name="fix_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in FixStatus]), name="fix_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["", *[o.value for o in FixOutcome]]),
                name="fix_outcome_valid",
            ),
            models.UniqueConstraint(
                fields=["organization", "import_key"],
                condition=~Q(import_key=""),
                name="fix_unique_import_key_per_org",
            ),
        ]
        indexes = [
            # Issue page timeline and diagnosis: an issue's fixes in date order.
            models.Index(fields=["issue", "decided_on"], name="fix_issue_decided_on"),
            # Review of earlier fixes at the top of a retro: a team's open fixes and those
            # completed lately, each arm of the OR read from the index.
            models.Index(fields=["team", "status", "completed_on"], name="fix_team_review"),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def is_band_aid(self) -> bool:
        return FIX_KINDS[self.kind].nature == "band_aid"


class IssueMerge(models.Model):
    """A merge of one issue into another, kept so that it can be undone exactly."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="merges_out")
    target = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="merges_in")
    occurrence_ids = models.JSONField(default=list)
    fix_ids = models.JSONField(default=list)
    source_title = models.CharField(max_length=limits.TITLE_MAX)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.source_title} → {self.target}"


class MatchingChange(models.Model):
    """Issues whose raisings or fixes moved (a relink, split, merge, archive, restore or edited
    text): each web process applies the changes it has not seen to its in-memory matcher
    index on its next query, re-reading just those issues, instead of rebuilding the whole
    index (retros.search). Appended after the change commits; never updated."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    issue_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "id"], name="matching_change_org_id")]

    def __str__(self) -> str:
        return f"change {self.pk} of {self.issue_ids}"


class TextProfile(models.Model):
    """The root-cause profile and the words of an occurrence's or a fix's text, kept for the
    matcher's index loads (retros.search): computing them is most of a load's work (0.15 ms
    a text), reading them back a bulk read. Stored by the first load that computes them;
    ``text_key`` is a keyed hash of the text and of the code that reads it, so an edited
    text or a changed vocabulary is read again."""

    class Kind(models.TextChoices):
        OCCURRENCE = "o", "occurrence"
        FIX = "f", "fix"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=1, choices=Kind.choices)
    row_id = models.BigIntegerField()
    text_key = models.BigIntegerField()
    profile = models.BinaryField()
    # The text's distinctive words (stems) and its normalised words, space-separated.
    terms = models.TextField(blank=True, default="")
    words = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "row_id"], name="text_profile_unique_row")
        ]
        indexes = [models.Index(fields=["organization", "kind"], name="text_profile_org_kind")]

    def __str__(self) -> str:
        return f"profile of {self.get_kind_display()} {self.row_id}"


class MatcherSnapshot(models.Model):
    """An organisation's built matcher index, saved whole (``retros.snapshot``), so that a
    process loads it in one read instead of building it from every row: the int8 vectors,
    the word index, vocabulary, profiles and ids as one binary blob of plain arrays. It
    covers the rows up to its newest ids and the changes up to its newest change; a load
    applies what came after. Ignored unless built for the organisation's current matching
    stamp, the embedding model, weights and vocabulary in use, and this layout."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    stamp = models.BigIntegerField()
    model_id = models.CharField(max_length=200)
    weights_version = models.CharField(max_length=40)
    vocabulary_key = models.CharField(max_length=64)
    layout = models.PositiveSmallIntegerField()
    newest_occurrence_id = models.BigIntegerField()
    newest_fix_id = models.BigIntegerField()
    newest_change_id = models.BigIntegerField()
    rows = models.PositiveIntegerField()
    built_at = models.DateTimeField(default=timezone.now)
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"matcher snapshot of {self.organization_id} at change {self.newest_change_id}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    CONFIRMED = "confirmed", "Confirmed recurrence"
    REJECTED = "rejected", "Not the same issue"


class ReviewSource(models.TextChoices):
    IMPORT = "import", "An import"
    BOARD = "board", "Logged as new on a retro board"


class LinkReview(models.Model):
    """A possible recurrence waiting for a person: an occurrence that may belong to an earlier
    issue. A rejected pair is never suggested again."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    occurrence = models.ForeignKey(Occurrence, on_delete=models.CASCADE, related_name="reviews")
    candidate = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    source = models.CharField(
        max_length=10, choices=ReviewSource.choices, default=ReviewSource.IMPORT
    )
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # What undoing a decision restores: the issue a confirmation moved the raising from, and,
    # on a pair rejected because another of the raising's pairs was confirmed, that one.
    moved_from = models.ForeignKey(
        Issue, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    settled_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "candidate"], name="linkreview_unique_pair"
            ),
        ]
        indexes = [
            # Review queue: an organisation's pending reviews, best first.
            models.Index(
                fields=["organization", "-score"],
                name="linkreview_pending",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurrence} ~ {self.candidate} ({self.score:.2f})"


class ImportJob(models.Model):
    """A history import: previewed, confirmed, run in the background with its progress and
    report, and undoable as a whole.

    `organization` is the one chosen when the job was created (the importer's own): the
    import writes there, by id, whatever the document names. `document` holds the parsed,
    validated content in canonical form (vocabulary.history.dump_history), never the
    uploaded bytes. `created` lists what the import created and changed, so that an undo
    removes exactly that (retros.import_jobs.import_job_undo)."""

    class Status(models.TextChoices):
        PREVIEW = "preview", "Waiting for confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNDONE = "undone", "Undone"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    filename = models.CharField(max_length=255, blank=True, default="")
    document = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life of a running import; a job silent for RECUR_IMPORT_STALE_SECONDS
    # is marked failed (retros.import_jobs.import_job_fail_if_stale).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.filename or self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else 0
