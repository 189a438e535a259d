"""The participant's way through a study: landing to completion, every step resumable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from listening.models import Rating, Session, Study
from tests.listening.participant_fixtures import Participant, ParticipantTestCase


class LandingTestCase(ParticipantTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def test_it_shows_the_instructions_of_an_open_study(self) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(instructions="Listen with care.")
        response = self.client.get(self.open_study.participant_path())
        assert response.status_code == 200
        self.assertContains(response, "Listen with care.")
        assert Session.objects.count() == 0

    def test_it_refuses_draft_and_closed_studies_and_creates_nothing(self) -> None:
        path = self.open_study.participant_path()
        for status, code, text in (("draft", 404, "not open"), ("closed", 410, "has closed")):
            Study.objects.filter(pk=self.open_study.pk).update(status=status)
            for method in (self.client.get, self.client.post):
                response = method(path)
                assert response.status_code == code
                self.assertContains(response, text, status_code=code)
        assert Session.objects.count() == 0
        assert self.client.get("/s/not-a-study/").status_code == 404

    def test_it_starts_a_session_with_the_prolific_ids(self) -> None:
        p = self.participant()
        response = p.start("?PROLIFIC_PID=abc123&STUDY_ID=st9&SESSION_ID=se7&x=1")
        assert response["Location"] == f"/p/{p.token}/consent"
        session = p.refresh()
        assert (session.prolific_pid, session.prolific_study_id, session.prolific_session_id) == (
            "abc123",
            "st9",
            "se7",
        )
        assert len(session.token) >= 40

    def test_it_resumes_the_session_of_a_returning_prolific_participant(self) -> None:
        first = self.participant()
        first.start("?PROLIFIC_PID=abc123&SESSION_ID=se7")
        first.consent()
        # Another browser, back from Prolific with the same ids (an id alone is refused:
        # test_prolific_resume).
        other = Participant(self.open_study)
        response = other.start("?PROLIFIC_PID=abc123&SESSION_ID=se7")
        assert other.token == first.token
        assert response["Location"] == f"/p/{first.token}/questionnaire"
        assert Session.objects.count() == 1

    def test_it_resumes_the_session_this_browser_started(self) -> None:
        p = self.participant()
        p.start()
        again = p.client.post(self.open_study.participant_path())
        assert again["Location"] == f"/p/{p.token}/consent"
        assert Session.objects.count() == 1
        self.assertContains(p.client.get(self.open_study.participant_path()), "Continue")

    @override_settings(LISTENING_SESSION_STARTS_PER_HOUR=2)
    def test_it_limits_new_sessions_per_address(self) -> None:
        for _ in range(2):
            Participant(self.open_study).start()
        response = Participant(self.open_study).client.post(self.open_study.participant_path())
        assert response.status_code == 429
        assert Session.objects.count() == 2


class StepsTestCase(ParticipantTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.p = self.participant()
        self.p.start()

    def test_it_records_consent_with_its_time(self) -> None:
        response = self.p.consent()
        assert response["Location"] == self.p.url("questionnaire")
        session = self.p.refresh()
        assert session.state == "questionnaire"
        assert session.consent_at is not None

    def test_declining_ends_the_session_politely(self) -> None:
        self.p.client.post(self.p.url("consent"), {"decision": "decline"})
        session = self.p.refresh()
        assert session.state == "declined"
        assert session.ended_at is not None
        response = self.p.client.get(self.p.url("consent"), follow=True)
        self.assertContains(response, "chose not to take part")
        assert not session.trials.exists()

    def test_it_validates_the_questionnaire(self) -> None:
        self.p.consent()
        response = self.p.client.post(self.p.url("questionnaire"), {"age_range": "12"})
        assert response.status_code == 200
        self.assertContains(response, "Please answer the questions")
        assert self.p.refresh().state == "questionnaire"
        self.p.questionnaire()
        session = self.p.refresh()
        assert session.questionnaire["headphone_model"] == "Studio cans"
        assert session.state == "calibration"

    def test_it_uses_the_study_questionnaire_fields(self) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(
            questionnaire=[
                {"name": "years", "label": "Years of training", "type": "integer", "min": 0},
                {"name": "notes", "label": "Notes", "type": "text", "when": "final"},
            ]
        )
        self.p.consent()
        response = self.p.client.get(self.p.url("questionnaire"))
        self.assertContains(response, "Years of training")
        self.assertNotContains(response, "Notes")
        assert self.p.client.post(self.p.url("questionnaire"), {"years": "-1"}).status_code == 200
        self.p.client.post(self.p.url("questionnaire"), {"years": "7"})
        assert self.p.refresh().questionnaire == {"years": 7}

    def test_calibration_plays_the_study_level_through_an_opaque_key(self) -> None:
        self.p.consent()
        self.p.questionnaire()
        response = self.p.client.get(self.p.url("calibration"))
        self.assertContains(response, "do not change the volume", status_code=200, html=False)
        key = self.p.refresh().screening["calibration"]
        audio = self.p.client.get(f"/a/{key}")
        assert audio.status_code == 200
        assert audio["Content-Type"] == "audio/flac"
        assert self.p.client.post(self.p.url("calibration"), {}).status_code == 200
        self.p.client.post(self.p.url("calibration"), {"confirmed": "on"})
        session = self.p.refresh()
        assert session.state == "screening"
        assert session.calibrated_at is not None

    def test_a_reload_lands_on_the_current_step(self) -> None:
        self.p.consent()
        for step in ("consent", "calibration", "trial", "done", ""):
            response = self.p.client.get(self.p.url(step))
            assert response.status_code == 302
            assert response["Location"] == self.p.url("questionnaire")

    def test_an_unknown_or_forged_token_gets_a_clear_page(self) -> None:
        response = self.p.client.get("/p/forged-token-123/consent")
        assert response.status_code == 404
        self.assertContains(response, "not valid", status_code=404)

    def test_an_idle_session_expires(self) -> None:
        Session.objects.filter(pk=self.p.session.pk).update(
            last_seen_at=timezone.now() - timedelta(days=3)
        )
        response = self.p.client.get(self.p.url("consent"))
        assert response.status_code == 410
        self.assertContains(response, "expired", status_code=410)
        assert self.p.client.post(self.p.url("consent"), {"decision": "agree"}).status_code == 410
        assert self.p.refresh().state == "consent"

    def test_closing_the_study_stops_unfinished_sessions(self) -> None:
        self.open_study.close()
        response = self.p.client.get(self.p.url("consent"))
        assert response.status_code == 410


class ScreeningTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "screening": {"tests": ["antiphase", "huggins"], "attempts": 2}
    }

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.p = self.participant()
        self.p.start()
        self.p.consent()
        self.p.questionnaire()
        self.p.calibrate()

    def test_it_never_sends_the_correct_answers(self) -> None:
        page = self.p.client.get(self.p.url("screening")).content.decode()
        attempt = self.p.screening_attempt()
        assert len(attempt["tests"]) == 2
        assert all(len(t["items"]) == 6 for t in attempt["tests"])
        for test in attempt["tests"]:
            for item in test["items"]:
                assert item["key"] in page
        for word in ("correct", "antiphase", "huggins", "seed"):
            assert word not in page.lower()

    def test_answers_about_sounds_never_played_are_refused(self) -> None:
        self.p.client.get(self.p.url("screening"))
        data = {
            f"clip_{i['key']}": str(i["correct"])
            for t in self.p.screening_attempt()["tests"]
            for i in t["items"]
        }
        response = self.p.client.post(self.p.url("screening"), data)
        self.assertContains(response, "Play every sound")
        assert self.p.refresh().state == "screening"

    def test_passing_builds_the_trials_and_records_the_scores(self) -> None:
        self.p.screen()
        session = self.p.refresh()
        assert session.state == "training"
        scores = session.screening["attempts"][0]["scores"]
        assert scores["antiphase"] == {"correct": 6, "total": 6, "pass_mark": 5, "passed": True}
        assert scores["huggins"]["pass_mark"] == 6  # docs/stimuli.md default: 6 of 6
        assert session.trials.filter(is_training=True).count() == 1
        assert session.rated_trials().count() == 2
        assert isinstance(session.plan["seed"], int)

    def test_failing_twice_ends_the_session_with_thanks(self) -> None:
        self.p.screen(correct=False)
        session = self.p.refresh()
        assert session.state == "screening"
        assert len(session.screening["attempts"]) == 2
        second = self.p.client.get(self.p.url("screening"))
        self.assertContains(second, "try once more")
        self.p.screen(correct=False)
        session = self.p.refresh()
        assert session.state == "screened_out"
        assert session.ended_at is not None
        assert not session.trials.exists()
        response = self.p.client.get(self.p.url("trial"), follow=True)
        self.assertContains(response, "headphone check did not succeed")
        self.assertNotContains(response, "C0DE42")


class CompletionTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {"screening": {"tests": []}}

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def finish(self, p: Participant) -> None:
        p.to_training("?PROLIFIC_PID=pid42")
        p.save({"trial": 0, "type": "submit"})
        attribute_ids = ("overall-quality", "clarity")
        while p.refresh().state == "trials":
            data = p.trial_data()
            p.play_all(data)
            for c in data["conditions"]:
                for attribute in attribute_ids:
                    p.save(
                        {
                            "trial": data["trial"]["id"],
                            "type": "rating",
                            "condition": c["key"],
                            "attribute": attribute,
                            "score": 100,
                        }
                    )
            response = p.save({"trial": data["trial"]["id"], "type": "submit"})
            assert response.status_code == 200, response.json()
        assert p.refresh().state == "final"

    def test_it_shows_the_completion_code(self) -> None:
        p = self.participant()
        self.finish(p)
        response = p.client.post(p.url("final"), {"same_volume": "Yes"}, follow=True)
        self.assertContains(response, "C0DE42")
        session = p.refresh()
        assert session.state == "complete"
        assert session.completed_at is not None
        assert session.final_questionnaire["same_volume"] == "Yes"

    def test_it_redirects_to_prolific_with_the_code(self) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(
            redirect_url="https://app.prolific.com/submissions/complete"
        )
        p = self.participant()
        self.finish(p)
        response = p.client.post(p.url("final"), {"same_volume": "Yes"})
        assert response["Location"] == "https://app.prolific.com/submissions/complete?cc=C0DE42"

    def test_a_per_session_code_when_the_study_has_none(self) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(
            completion_code="", redirect_url="https://example.org/done?cc=&x=1"
        )
        p = self.participant()
        self.finish(p)
        response = p.client.post(p.url("final"), {"same_volume": "Yes"})
        code = p.refresh().completion_code
        assert len(code) == 10
        assert response["Location"] == f"https://example.org/done?cc={code}&x=1"


class ReloadAtEveryStepTestCase(ParticipantTestCase):
    """A reload (or reopening the study link) at any step shows that same step again,
    with everything answered so far still there, and changes nothing on its own."""

    study_options: ClassVar[dict[str, Any]] = {"screening": {"tests": ["antiphase"], "attempts": 2}}

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def reload_everywhere(self, p: Participant, step: str) -> None:
        state = p.refresh().state
        stored = list(
            Rating.objects.filter(trial__session=p.session).values_list("score", "changes")
        )
        for _ in range(2):  # reload the page, twice
            response = p.client.get(p.url(step))
            assert response.status_code == 200, (step, response.status_code)
        # The session link, another step's address and the study link lead back here.
        assert p.client.get(f"/p/{p.token}/")["Location"] == p.url(step)
        other = "consent" if step != "consent" else "trial"
        assert p.client.get(p.url(other))["Location"] == p.url(step)
        landing = p.client.get(self.open_study.participant_path() + "?PROLIFIC_PID=reloader")
        assert landing.status_code in (200, 302)
        assert p.refresh().state == state, f"reloading {step} changed the state"
        after = list(
            Rating.objects.filter(trial__session=p.session).values_list("score", "changes")
        )
        assert after == stored, f"reloading {step} changed the answers"

    def test_every_step_survives_reloads(self) -> None:
        p = self.participant()
        p.start("?PROLIFIC_PID=reloader")
        self.reload_everywhere(p, "consent")
        p.consent()
        self.reload_everywhere(p, "questionnaire")
        p.questionnaire()
        assert p.refresh().questionnaire["headphone_model"] == "Studio cans"
        self.reload_everywhere(p, "calibration")
        p.calibrate()
        self.reload_everywhere(p, "screening")
        attempt = p.screening_attempt()
        self.reload_everywhere(p, "screening")
        assert p.screening_attempt() == attempt, "a reload must not draw a new screening attempt"
        p.screen()
        self.reload_everywhere(p, "training")
        assert p.save({"trial": 0, "type": "submit"}).status_code == 200
        while p.refresh().state == "trials":
            data = p.trial_data()
            p.play_all(data)
            first = data["conditions"][0]["key"]
            p.save({"trial": data["trial"]["id"], "type": "rating", "condition": first,
                    "attribute": "overall-quality", "score": 42})  # fmt: skip
            self.reload_everywhere(p, "trial")
            again = p.trial_data()
            assert again["trial"]["id"] == data["trial"]["id"]
            assert again["answers"]["ratings"][first]["overall-quality"] == 42
            assert again["conditions"] == data["conditions"], "the order must not be redrawn"
            for c in data["conditions"]:
                for attribute in ("overall-quality", "clarity"):
                    p.save({"trial": data["trial"]["id"], "type": "rating", "condition": c["key"],
                            "attribute": attribute, "score": 100})  # fmt: skip
            assert p.save({"trial": data["trial"]["id"], "type": "submit"}).status_code == 200
        self.reload_everywhere(p, "final")
        p.client.post(p.url("final"), {"same_volume": "Yes"})
        assert p.refresh().state == "complete"
        for _ in range(2):
            response = p.client.get(p.url("done"))
            self.assertContains(response, "C0DE42")
        assert p.client.get(f"/p/{p.token}/")["Location"] == p.url("done")
        assert p.refresh().state == "complete"
