"""The workspace's shared parts: study access and the study tabs."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory

from listening.models import Study
from listening.research.workspace.access import study_for
from listening.research.workspace.navigation import STUDY_TABS, study_tabs

pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_a_researcher_reaches_own_and_shared_studies_only(researcher, other_researcher):
    own = Study.objects.create(title="Own", owner=researcher)
    theirs = Study.objects.create(title="Theirs", owner=other_researcher)
    assert study_for(_request(researcher), own.pk) == own
    with pytest.raises(Http404):
        study_for(_request(researcher), theirs.pk)
    theirs.collaborators.add(researcher)
    assert study_for(_request(researcher), theirs.pk) == theirs


def test_a_non_researcher_reaches_no_study(researcher, non_researcher):
    own = Study.objects.create(title="Own", owner=researcher)
    with pytest.raises(Http404):
        study_for(_request(non_researcher), own.pk)


def test_tabs_list_installed_areas_in_order_and_mark_the_current_one():
    tabs = study_tabs(3, "workspace:settings")
    labels = [t["label"] for t in tabs]
    assert labels == [label for label, _ in STUDY_TABS if label in labels]
    assert [t["label"] for t in tabs if t["current"]] in ([], ["Settings"])
    assert all(t["url"].startswith("/workspace/") and "/3/" in t["url"] for t in tabs)
