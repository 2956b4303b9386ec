"""Findings (the engine's view of an issue, with history), leaders' assessments and actions,
root-cause hypotheses and the weekly digest log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from retros.models import Issue, Organization
from vocabulary.fixkinds import CATEGORIES

CATEGORY_CHOICES = [(slug, label) for slug, label in CATEGORIES.items()]


class FindingStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    WATCHING = "watching", "Watching"
    RESOLVED = "resolved", "Resolved"


class Finding(models.Model):
    """One version of the engine's finding for an issue. A new row is written only when the
    finding changes; the newest row has `is_current` set."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="findings"
    )
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="findings")
    is_current = models.BooleanField(default=True)
    category = models.CharField(max_length=20, choices=CATEGORY_CHOICES)
    confidence = models.FloatField()
    flagged = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=FindingStatus.choices)
    reasons = models.JSONField(default=list)
    next_step = models.TextField(blank=True, default="")
    # One line: how it keeps coming back and what points to the category (engine.Finding).
    headline = models.CharField(max_length=300, blank=True, default="")
    signals = models.JSONField(default=dict, blank=True)
    # The engine's own view, kept beside a leader's override (category/flag above).
    engine_category = models.CharField(
        max_length=20, choices=CATEGORY_CHOICES, blank=True, default=""
    )
    engine_flagged = models.BooleanField(default=False)
    rules_version = models.CharField(max_length=40)
    # Denormalised from the issue when the finding was computed, for the dashboard's
    # ranking (recurrences x teams x recency) without joining occurrences.
    occurrence_count = models.PositiveIntegerField(default=0)
    team_count = models.PositiveIntegerField(default=0)
    band_aid_fixes = models.PositiveIntegerField(default=0)
    last_seen = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue"], condition=Q(is_current=True), name="finding_one_current_per_issue"
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1),
                name="finding_confidence_0_1",
            ),
            models.CheckConstraint(
                condition=Q(category__in=list(CATEGORIES)), name="finding_category_valid"
            ),
        ]
        indexes = [
            # Dashboard: an organisation's current flagged findings.
            models.Index(
                fields=["organization", "flagged", "category"],
                name="finding_org_current",
                condition=Q(is_current=True),
            ),
            # Finding history on the finding page.
            models.Index(fields=["issue", "-created_at"], name="finding_issue_history"),
        ]

    def __str__(self) -> str:
        return f"{self.issue}: {self.category} ({self.confidence:.2f})"


class Assessment(models.Model):
    """A leader's view of an issue, kept beside the engine's and never overwritten by it."""

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, related_name="assessment")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    category_override = models.CharField(
        max_length=20, choices=CATEGORY_CHOICES, blank=True, default=""
    )
    category_confirmed = models.BooleanField(default=False)
    flag_dismissed = models.BooleanField(default=False)
    dismiss_note = models.CharField(max_length=2000, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="root_cause_assignments",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Assessment of {self.issue}"


class LeaderAction(models.Model):
    """Audit log: every action a leader took on a finding, with who and when."""

    class Kind(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", "Acknowledged"
        CONFIRM = "confirm", "Confirmed the category"
        OVERRIDE = "override", "Overrode the category"
        DISMISS = "dismiss", "Dismissed the flag"
        RESTORE = "restore", "Restored the flag"
        ASSIGN = "assign", "Assigned an owner"
        FIX = "fix", "Recorded a structural fix"
        GROUP = "group", "Grouped under a hypothesis"
        UNGROUP = "ungroup", "Removed from a hypothesis"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="leader_actions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=2000, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Finding page: an issue's actions, newest first.
            models.Index(fields=["issue", "-created_at"], name="leaderaction_issue"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.actor} on {self.created_at:%Y-%m-%d}"


class Hypothesis(models.Model):
    """A leader's grouping of issues under one suspected root cause."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="hypotheses"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=4000, blank=True, default="")
    category = models.CharField(max_length=20, choices=CATEGORY_CHOICES, blank=True, default="")
    issues = models.ManyToManyField(Issue, blank=True, related_name="hypotheses")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(m2m_fields=[issues])

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "hypotheses"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "title"], name="hypothesis_unique_title_per_org"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DigestDelivery(models.Model):
    """One weekly digest per leader per ISO week: the unique constraint makes sending
    idempotent even when the task runs twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.CharField(max_length=8, help_text="ISO week, e.g. 2026-W48")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "week"], name="digest_once_per_user_week"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.week}"


class PendingRecompute(models.Model):
    """An issue changed and its finding has not been recomputed since.

    Written in the same transaction as the change (diagnosis.tasks.schedule_recompute) and
    deleted in the same transaction as the recompute that saw it, so it survives a queued
    task lost with its worker: the periodic sweep (recompute_stale_findings) recomputes every
    issue whose marker is older than a few minutes."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"issue {self.issue_id} changed at {self.requested_at:%Y-%m-%d %H:%M:%S}"
