"""A study's participant target: set in the builder or the API, shown on the dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from listening.models import Study
from tests.listening.research.workspace.builder_data import builder_data
from tests.listening.results_fixtures import ready_study, simulate

pytestmark = pytest.mark.django_db
NEW = "/workspace/studies/new/"


def test_the_builder_saves_a_target_and_names_a_bad_one(signed_in: Any) -> None:
    refused = signed_in.post(NEW, builder_data(participant_target="0"))
    assert refused.status_code == 400
    assert "Target participants" in refused.content.decode()
    assert not Study.objects.exists()
    assert signed_in.post(NEW, builder_data(participant_target="30")).status_code == 302
    assert Study.objects.get().participant_target == 30
    assert signed_in.post(NEW, builder_data(title="No target")).status_code == 302
    assert Study.objects.get(title="No target").participant_target is None


def test_the_api_takes_a_target_and_refuses_one_out_of_range(researcher: Any) -> None:
    api = APIClient()
    api.force_authenticate(researcher)
    study = ready_study(researcher, n_tracks=2)
    url = f"/api/studies/{study.pk}/"
    for bad in (0, -3, 100_001, "many"):
        response = api.patch(url, {"participant_target": bad}, format="json")
        assert response.status_code == 400, bad
        assert "participant_target" in response.data["errors"], bad
    assert (
        api.patch(url, {"participant_target": 24}, format="json").data["participant_target"] == 24
    )
    assert api.patch(url, {"participant_target": None}, format="json").status_code == 200
    study.refresh_from_db()
    assert study.participant_target is None
    # Unlike the design, the target may change while the study runs.
    Study.objects.filter(pk=study.pk).update(status=Study.Status.OPEN)
    assert api.patch(url, {"participant_target": 40}, format="json").status_code == 200
    study.refresh_from_db()
    assert study.participant_target == 40


def page(client: Any, study: Study) -> Any:
    return client.get(reverse("workspace:monitor", args=[study.pk]))


def test_the_dashboard_shows_progress_against_the_target(signed_in: Any, researcher: Any) -> None:
    study = ready_study(researcher, n_tracks=2)
    simulate(study, 3, seed=1)
    without = page(signed_in, study)
    assert without.context["target"] is None
    assert 'class="target"' not in without.context["figures"]["progress"]
    completed = without.context["progress"]["completed"]
    assert completed >= 1

    goal = completed + 7
    Study.objects.filter(pk=study.pk).update(participant_target=goal)
    response = page(signed_in, study)
    share = round(100 * completed / goal, 1)
    assert f"completed of a target of {goal} ({share} %, 7 to go)" in response.content.decode()
    svg = response.context["figures"]["progress"]
    assert 'class="target"' in svg
    assert f"target {goal}" in svg
    data = signed_in.get(reverse("workspace:monitor-data", args=[study.pk])).json()
    assert f"of a target of {goal}" in data["sections"]["progress"]

    Study.objects.filter(pk=study.pk).update(participant_target=completed)
    assert "(100.0 %, reached)" in page(signed_in, study).content.decode()
