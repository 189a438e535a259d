"""The dashboard's running estimate: the report's model, fitted by a worker and cached."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from django.test import override_settings
from django.urls import reverse

from analysis.stats import analyse_study
from listening.models import Rating, Study
from listening.research.workspace import estimate as live
from tests.listening.base import DUMMY, IMMEDIATE
from tests.listening.results_fixtures import ready_study, simulate, streamed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _worker_runs_at_once(settings) -> None:
    """The refit task runs inside ``enqueue`` unless a test queues it for a worker."""
    settings.TASKS = IMMEDIATE


def export(client, study: Study, table: str) -> pd.DataFrame:
    """A table as an analyst downloads it from the results page."""
    response = client.get(reverse("results:csv", args=[study.pk, table]))
    return pd.read_csv(io.BytesIO(streamed(response)))


@pytest.fixture
def counted(monkeypatch):
    """Count the model fits the dashboard makes."""
    calls = []
    fit = live.fit_estimate

    def counting(study):
        calls.append(study.pk)
        return fit(study)

    monkeypatch.setattr(live, "fit_estimate", counting)
    return calls


def estimate_of(client, study: Study) -> dict:
    return client.get(reverse("workspace:monitor", args=[study.pk])).context["estimate"]


def test_mushra_estimate_is_the_reports_primary_estimate(signed_in, researcher) -> None:
    study = ready_study(researcher, n_tracks=4)
    simulate(study, 8, seed=3)
    estimate = estimate_of(signed_in, study)
    expected = analyse_study(export(signed_in, study, "ratings"), sensitivity=False).primary
    (panel,) = estimate["panels"]
    assert panel["kind"] == "ratings"
    assert [r["label"] for r in panel["rows"]] == list(expected["attribute"])
    for row, (_, ref) in zip(panel["rows"], expected.iterrows(), strict=True):
        assert row["estimate"] == pytest.approx(ref["estimate"], abs=1e-9)
        assert row["low"] == pytest.approx(ref["ci_low"], abs=1e-9)
        assert row["high"] == pytest.approx(ref["ci_high"], abs=1e-9)
        assert row["participants"] == ref["n_participants"]
    assert estimate["participants"] == 8
    page = signed_in.get(reverse("workspace:monitor", args=[study.pk])).content.decode()
    assert "chart-estimate-0-title" in page
    assert f"{expected['estimate'].iloc[0]:.1f}" in page


def test_ab_estimate_is_the_reports_preference_model(signed_in, researcher) -> None:
    study = ready_study(researcher, paradigm="ab", n_tracks=4)
    simulate(study, 10, seed=2)
    estimate = estimate_of(signed_in, study)
    prefs = export(signed_in, study, "preferences")
    expected = analyse_study(preferences=prefs, sensitivity=False).preference_model
    (panel,) = estimate["panels"]
    assert panel["kind"] == "preference"
    for row, (_, ref) in zip(panel["rows"], expected.iterrows(), strict=True):
        assert row["label"] == ref["attribute"]
        assert row["estimate"] == pytest.approx(100 * ref["prob"], abs=1e-9)
        assert row["low"] == pytest.approx(100 * ref["prob_ci_low"], abs=1e-9)
    page = signed_in.get(reverse("workspace:monitor", args=[study.pk])).content.decode()
    assert "on 10 participants." in page  # no post-screening count: AB has no ratings


def test_too_little_data_is_said_plainly(signed_in, researcher) -> None:
    study = ready_study(researcher, n_tracks=2)
    simulate(study, 1, seed=1)
    estimate = estimate_of(signed_in, study)
    assert estimate["panels"] == []
    assert estimate["reason"].startswith("Too little data to fit the model yet")
    assert (
        "No estimate yet"
        in signed_in.get(reverse("workspace:monitor", args=[study.pk])).content.decode()
    )


@override_settings(LISTENING_MONITOR_ESTIMATE_SECONDS=3600)
def test_within_the_interval_it_does_not_refit(signed_in, researcher, counted) -> None:
    study = ready_study(researcher, n_tracks=2)
    simulate(study, 3, seed=1)
    first = estimate_of(signed_in, study)
    signed_in.get(reverse("workspace:monitor-data", args=[study.pk]))
    assert len(counted) == 1
    # A new answer within the interval: still the cached fit, marked stale.
    rating = Rating.objects.filter(trial__session__study=study).first()
    Rating.objects.filter(pk=rating.pk).update(score=(rating.score + 7) % 100)
    Rating.objects.filter(pk=rating.pk).first().save()  # bumps updated_at
    again = estimate_of(signed_in, study)
    assert len(counted) == 1
    assert again["stale"] is True
    assert again["computed_at"] == first["computed_at"]


@override_settings(LISTENING_MONITOR_ESTIMATE_SECONDS=0)
def test_after_the_interval_a_new_answer_refits_and_no_change_does_not(
    signed_in, researcher, counted
) -> None:
    study = ready_study(researcher, n_tracks=2)
    simulate(study, 3, seed=1)
    estimate_of(signed_in, study)
    estimate_of(signed_in, study)
    assert len(counted) == 1  # nothing changed: the cached fit stays, however old
    simulate(study, 1, seed=9)  # a new participant's answers
    fresh = estimate_of(signed_in, study)
    assert len(counted) == 2
    assert fresh["stale"] is False
    assert fresh["participants"] == 4


def test_abx_estimate_is_the_reports_abx_model(signed_in, researcher) -> None:
    study = ready_study(researcher, paradigm="abx", n_tracks=4)
    simulate(study, 8, seed=4)
    estimate = estimate_of(signed_in, study)
    expected = analyse_study(abx=export(signed_in, study, "abx"), sensitivity=False).abx_model
    (panel,) = estimate["panels"]
    assert panel["kind"] == "abx"
    assert panel["null"] == 50.0
    for row, (_, ref) in zip(panel["rows"], expected.iterrows(), strict=True):
        assert row["label"] == str(ref["pair"])
        assert row["estimate"] == pytest.approx(100 * ref["prob"], abs=1e-9)
        assert row["high"] == pytest.approx(100 * ref["prob_ci_high"], abs=1e-9)


def test_a_dashboard_request_queues_the_fit_and_never_fits_itself(
    settings, signed_in, researcher, counted
) -> None:
    from django_tasks import default_task_backend

    settings.TASKS = DUMMY
    study = ready_study(researcher, n_tracks=4)
    assert estimate_of(signed_in, study)["reason"] == "No answers yet."
    assert default_task_backend.results == []  # nothing to fit: nothing queued
    simulate(study, 8, seed=3)
    page = signed_in.get(reverse("workspace:monitor", args=[study.pk]))
    assert counted == []  # the request did not fit the model
    assert page.context["estimate"]["computed_at"] is None
    assert page.context["estimate"]["refitting"] is True
    assert "The model is being fitted" in page.content.decode()
    data = signed_in.get(reverse("workspace:monitor-data", args=[study.pk])).json()
    assert data["numbers"]["estimate_computed_at"] is None
    # A polling page queues no second refit while one is under way.
    (queued,) = default_task_backend.results
    assert (queued.task.name, list(queued.args)) == ("refit_estimate_task", [study.pk])
    queued.task.call(*queued.args)  # the worker runs it
    assert counted == [study.pk]
    fitted = estimate_of(signed_in, study)
    assert fitted["computed_at"] is not None
    assert fitted["refitting"] is False
    assert fitted["stale"] is False
    expected = analyse_study(export(signed_in, study, "ratings"), sensitivity=False).primary
    assert [r["estimate"] for r in fitted["panels"][0]["rows"]] == pytest.approx(
        list(expected["estimate"]), abs=1e-9
    )
    assert len(default_task_backend.results) == 1  # current: nothing more to queue


def test_a_fit_that_fails_says_so_and_is_not_retried_until_answers_change(
    signed_in, researcher, monkeypatch
) -> None:
    calls = []

    def broken(study):
        calls.append(study.pk)
        raise RuntimeError("boom")

    monkeypatch.setattr(live, "fit_estimate", broken)
    study = ready_study(researcher, n_tracks=2)
    simulate(study, 3, seed=1)
    page = signed_in.get(reverse("workspace:monitor", args=[study.pk]))
    assert page.status_code == 200
    assert "could not be fitted" in page.context["estimate"]["reason"]
    signed_in.get(reverse("workspace:monitor-data", args=[study.pk]))
    assert calls == [study.pk]
    assert live.cache.get(live._lock_key(study.pk)) is None  # the lock was released
