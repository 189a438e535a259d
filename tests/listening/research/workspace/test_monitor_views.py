"""The live dashboard and its JSON: who may see them, and numbers counted independently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from listening.models import Session
from tests.listening.results_fixtures import ready_study, simulate

pytestmark = pytest.mark.django_db
N = 4


@pytest.fixture
def study(researcher):
    study = ready_study(researcher, n_tracks=2)
    simulate(study, N, seed=1)
    return study


def urls(study) -> list[str]:
    return [
        reverse("workspace:monitor", args=[study.pk]),
        reverse("workspace:monitor-data", args=[study.pk]),
    ]


def test_it_sends_anonymous_visitors_to_sign_in(client, study) -> None:
    for url in urls(study):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]


def test_it_refuses_accounts_without_researcher_rights(client, study, non_researcher) -> None:
    client.force_login(non_researcher)
    for url in urls(study):
        assert client.get(url).status_code == 403


def test_it_hides_another_researchers_study(client, study, other_researcher) -> None:
    client.force_login(other_researcher)
    for url in urls(study):
        assert client.get(url).status_code == 404


def test_owner_and_collaborator_see_it(client, study, researcher, other_researcher) -> None:
    study.collaborators.add(other_researcher)
    for user in (researcher, other_researcher):
        client.force_login(user)
        for url in urls(study):
            response = client.get(url)
            assert response.status_code == 200
            assert response["Cache-Control"].startswith("max-age=0")


def test_the_page_links_to_the_results_page_and_back(signed_in, study) -> None:
    page = signed_in.get(urls(study)[0]).content.decode()
    assert reverse("results:dashboard", args=[study.pk]) in page
    assert reverse("workspace:monitor-data", args=[study.pk]) in page
    results = signed_in.get(reverse("results:dashboard", args=[study.pk])).content.decode()
    assert reverse("workspace:monitor", args=[study.pk]) in results


def test_numbers_equal_counts_from_the_database(signed_in, study) -> None:
    # Make the outcomes varied: one screened out (passed=False), one still running.
    first, second, *_ = Session.objects.filter(study=study).order_by("pk")
    Session.objects.filter(pk=first.pk).update(
        state=Session.State.SCREENED_OUT, screening={"passed": False}, ended_at=timezone.now()
    )
    Session.objects.filter(pk=second.pk).update(
        state=Session.State.TRIALS, completed_at=None, screening={"passed": True}
    )
    sessions = Session.objects.filter(study=study)
    complete = sessions.filter(state="complete").count()
    screened_out = sessions.filter(state="screened_out").count()
    finished = sessions.exclude(
        state__in=[
            "consent",
            "questionnaire",
            "calibration",
            "screening",
            "training",
            "trials",
            "final",
        ]
    ).count()
    data = signed_in.get(urls(study)[1]).json()
    assert data["numbers"]["started"] == sessions.count() == N
    assert data["numbers"]["completed"] == complete == N - 2
    assert data["numbers"]["screened_out"] == screened_out == 1
    assert data["numbers"]["in_progress"] == N - finished == 1
    context = signed_in.get(urls(study)[0]).context
    assert context["rates"]["completion"] == round(100 * complete / finished, 1)
    assert context["rates"]["screening_pass"] == 50.0
    rows = context["timeline"]["rows"]
    assert sum(r["started"] for r in rows) == N
    assert sum(r["completed"] for r in rows) == complete
    assert sum(r["screened_out"] for r in rows) == 1
    assert rows[-1]["cumulative_completed"] == complete
    assert context["timeline"]["unit"] == "hour"
    # The sections the page polls carry the same numbers and the charts.
    assert "<svg" in data["sections"]["progress"]
    assert "<svg" in data["sections"]["rates"]


def test_a_long_study_is_counted_per_day(signed_in, study) -> None:
    session = Session.objects.filter(study=study).order_by("pk").first()
    Session.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(days=5))
    context = signed_in.get(urls(study)[0]).context
    assert context["timeline"]["unit"] == "day"
    assert len(context["timeline"]["rows"]) == 6  # five days ago up to today, gaps filled
    assert sum(r["started"] for r in context["timeline"]["rows"]) == N


def test_a_study_without_sessions_says_no_data_yet(signed_in, researcher) -> None:
    empty = ready_study(researcher, n_tracks=2, title="Empty")
    response = signed_in.get(urls(empty)[0])
    page = response.content.decode()
    assert response.status_code == 200
    assert "No data yet" in page
    assert "No estimate yet" in page
    assert response.context["estimate"]["reason"] == "No answers yet."
