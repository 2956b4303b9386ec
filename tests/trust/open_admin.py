"""An admin site with one deliberately unscoped model admin, for the test of the admin
matrix: any staff member may see and change every organisation's issues and their history."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpResponse
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from retros.models import Issue


class LeakyIssueAdmin(SimpleHistoryAdmin):
    def has_module_permission(self, request):
        return request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff

    has_change_permission = has_add_permission = has_view_permission


leaky_site = AdminSite(name="leaky")
leaky_site.register(Issue, LeakyIssueAdmin)

urlpatterns = [
    path("leaky/", leaky_site.urls),
    path("login/", lambda r: HttpResponse(), name="login"),
    path("", lambda r: HttpResponse(), name="home"),
]
