from django.urls import path

from diagnosis import views

app_name = "diagnosis"

urlpatterns = [
    path("dashboard/", views.overview, name="overview"),
]
