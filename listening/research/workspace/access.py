"""Which study a workspace page may show: the researcher's own or one shared with them."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from listening.models import Study


def study_for(request: HttpRequest, pk: int) -> Study:
    """The study ``pk`` if the signed-in researcher may reach it; 404 otherwise (never 403,
    so a page does not tell whether another researcher's study exists)."""
    try:
        return Study.objects.for_user(request.user).get(pk=pk)
    except Study.DoesNotExist:
        raise Http404("No such study.") from None
