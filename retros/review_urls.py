from django.urls import path

from retros import review_views

app_name = "review"

urlpatterns = [
    path("reviews/", review_views.review_queue, name="queue"),
    path("reviews/decide/", review_views.review_decide, name="decide"),
    path("reviews/undo/", review_views.review_undo, name="undo"),
]
