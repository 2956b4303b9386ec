"""First run: a superuser who belongs to no organisation creates one and becomes its admin.

Everyone else never sees this page: a member of an organisation is sent home, and an account
without an organisation that is not a superuser gets the same 404 as on every other page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from retros import access as acl
from retros import services
from retros.forms import OrganizationCreateForm

INVALID = 422


@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    if acl.belongs_to_organization(request.user):
        return redirect("home")
    if not request.user.is_superuser:
        raise Http404("You do not belong to an organisation yet.")
    form = OrganizationCreateForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            organization = services.organization_create(
                name=form.cleaned_data["name"], admin=request.user
            )
        except ValidationError as error:
            form.add_error("name", error)
        else:
            messages.success(request, f"{organization.name} is ready, and you are its admin.")
            return redirect("retros:team_list")
    status = INVALID if form.errors else 200
    return render(request, "retros/organization_create.html", {"form": form}, status=status)
