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
    # The leaders' actions on a finding, one URL each: diagnosis:finding_<action>.
    *(
        path(
            f"dashboard/findings/<int:issue_id>/{action.route or name}/",
            views.finding_action,
            {"action": name},
            name=f"finding_{name}",
        )
        for name, action in views.LEADER_ACTIONS.items()
    ),
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
