from django.urls import path

from diagnosis import views

app_name = "diagnosis"

urlpatterns = [
    path("dashboard/", views.overview, name="overview"),
    path("dashboard/export.csv", views.export_csv, name="export_csv"),
    path("dashboard/export.json", views.export_json, name="export_json"),
    path("dashboard/digest/", views.digest_toggle, name="digest_toggle"),
    path("dashboard/teams/<int:team_id>/", views.team_health, name="team_health"),
    path("dashboard/findings/<int:issue_id>/", views.finding, name="finding"),
    path(
        "dashboard/findings/<int:issue_id>/acknowledge/",
        views.finding_acknowledge,
        name="finding_acknowledge",
    ),
    path(
        "dashboard/findings/<int:issue_id>/confirm/", views.finding_confirm, name="finding_confirm"
    ),
    path(
        "dashboard/findings/<int:issue_id>/override/",
        views.finding_override,
        name="finding_override",
    ),
    path(
        "dashboard/findings/<int:issue_id>/dismiss/", views.finding_dismiss, name="finding_dismiss"
    ),
    path(
        "dashboard/findings/<int:issue_id>/restore/", views.finding_restore, name="finding_restore"
    ),
    path("dashboard/findings/<int:issue_id>/owner/", views.finding_owner, name="finding_owner"),
    path("dashboard/findings/<int:issue_id>/fixes/", views.finding_fix, name="finding_fix"),
    path("dashboard/findings/<int:issue_id>/group/", views.finding_group, name="finding_group"),
    path("dashboard/hypotheses/", views.hypothesis_list, name="hypothesis_list"),
    path("dashboard/hypotheses/new/", views.hypothesis_create, name="hypothesis_create"),
    path(
        "dashboard/hypotheses/<int:hypothesis_id>/",
        views.hypothesis_detail,
        name="hypothesis_detail",
    ),
    path(
        "dashboard/hypotheses/<int:hypothesis_id>/issues/<int:issue_id>/remove/",
        views.hypothesis_remove_issue,
        name="hypothesis_remove_issue",
    ),
]
