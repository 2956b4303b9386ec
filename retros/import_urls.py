from django.urls import path

from retros import import_views

app_name = "imports"

urlpatterns = [
    path("imports/", import_views.import_start, name="start"),
    path("imports/<int:job_id>/", import_views.import_detail, name="detail"),
    path("imports/<int:job_id>/confirm/", import_views.import_confirm, name="confirm"),
    path("imports/<int:job_id>/undo/", import_views.import_undo, name="undo"),
]
