from django.urls import path

from retros import views

app_name = "retros"

urlpatterns = [
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:team_id>/", views.team_home, name="team_home"),
    path("retros/<int:retro_id>/", views.retro_board, name="retro_board"),
    path("issues/", views.issue_list, name="issue_list"),
    path("issues/<int:issue_id>/", views.issue_detail, name="issue_detail"),
]
