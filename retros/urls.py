from django.urls import path

from retros import live_views, organization_views, views

app_name = "retros"

urlpatterns = [
    path(
        "organisation/new/",
        organization_views.organization_create,
        name="organization_create",
    ),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:team_id>/", views.team_home, name="team_home"),
    path("teams/<int:team_id>/retros/", views.retro_start, name="retro_start"),
    path("retros/<int:retro_id>/", views.retro_board, name="retro_board"),
    path("retros/<int:retro_id>/suggestions/", views.retro_suggestions, name="retro_suggestions"),
    path("retros/<int:retro_id>/close/", views.retro_close, name="retro_close"),
    # The live board: the whole team writes, groups and votes (retros.live_views).
    path("retros/<int:retro_id>/live/", live_views.live_board, name="live_board"),
    path("retros/<int:retro_id>/live/cards/", live_views.live_cards, name="live_cards"),
    path("retros/<int:retro_id>/live/stream/", live_views.retro_stream, name="live_stream"),
    path("retros/<int:retro_id>/live/settings/", live_views.live_settings, name="live_settings"),
    path("retros/<int:retro_id>/live/phase/", live_views.live_phase, name="live_phase"),
    path("retros/<int:retro_id>/live/timer/", live_views.live_timer, name="live_timer"),
    path("cards/<int:card_id>/edit/", live_views.card_edit, name="card_edit"),
    path("cards/<int:card_id>/remove/", live_views.card_remove, name="card_remove"),
    path("cards/<int:card_id>/restore/", live_views.card_restore, name="card_restore"),
    path("cards/<int:card_id>/group/", live_views.card_group, name="card_group"),
    path("cards/<int:card_id>/vote/", live_views.card_vote, name="card_vote"),
    path(
        "occurrences/<int:occurrence_id>/live-review/",
        live_views.live_review,
        name="live_review",
    ),
    path("retros/<int:retro_id>/issues/", views.occurrence_create, name="occurrence_create"),
    path("occurrences/<int:occurrence_id>/", views.occurrence_row, name="occurrence_row"),
    path("occurrences/<int:occurrence_id>/edit/", views.occurrence_edit, name="occurrence_edit"),
    path("occurrences/<int:occurrence_id>/vote/", views.occurrence_vote, name="occurrence_vote"),
    path(
        "occurrences/<int:occurrence_id>/archive/",
        views.occurrence_archive,
        name="occurrence_archive",
    ),
    path(
        "occurrences/<int:occurrence_id>/restore/",
        views.occurrence_restore,
        name="occurrence_restore",
    ),
    path("occurrences/<int:occurrence_id>/link/", views.occurrence_link, name="occurrence_link"),
    path("occurrences/<int:occurrence_id>/type/", views.occurrence_type, name="occurrence_type"),
    path(
        "occurrences/<int:occurrence_id>/review/",
        views.occurrence_review,
        name="occurrence_review",
    ),
    path("occurrences/<int:occurrence_id>/fixes/", views.fix_create, name="fix_create"),
    path("fixes/kind/", views.fix_kind_field, name="fix_kind_field"),
    path("fixes/<int:fix_id>/edit/", views.fix_edit, name="fix_edit"),
    path("fixes/<int:fix_id>/outcome/", views.fix_outcome, name="fix_outcome"),
    path("fixes/<int:fix_id>/status/", views.fix_status, name="fix_status"),
    path("issues/", views.issue_list, name="issue_list"),
    path("issues/<int:issue_id>/", views.issue_detail, name="issue_detail"),
    path("issues/<int:issue_id>/rename/", views.issue_rename, name="issue_rename"),
    path("issues/<int:issue_id>/merge/", views.issue_merge, name="issue_merge"),
    path("merges/<int:merge_id>/undo/", views.merge_undo, name="merge_undo"),
]
