"""The admin site itself: its throttled login form and a "view on site" shortcut that 404s."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes import views as contenttype_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse

from listening.platform.authentication import ThrottledAdminAuthenticationForm

# Failed logins are counted per username and address (listening.platform.throttling).
admin.site.login_form = ThrottledAdminAuthenticationForm


def _view_on_site(request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponse:
    """The admin's "view on site" shortcut, with 404 for an id its model cannot read.

    Django's own answers 500 when the id is not of the primary key's type (the task
    results' keys are UUIDs: /admin/r/<their type>/2/ raised ValidationError).
    """
    try:
        return contenttype_views.shortcut(request, content_type_id, object_id)
    except ValidationError as exc:
        raise Http404("no such object") from exc


#: Routed before the admin's own (config/urls.py), for staff only like the rest of the admin.
view_on_site = admin.site.admin_view(_view_on_site, cacheable=True)
