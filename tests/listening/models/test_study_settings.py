"""A study's settings pass one schema (listening.models.study_settings) wherever they come from.

The API, the admin's study form and import_study refuse what the schema refuses, with
the reason, and a study whose stored settings do not pass cannot open.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from listening.models import Study
from listening.research.opening import problems_before_opening
from tests.listening.base import BaseTestCase, versions, wav_bytes
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

BAD_QUESTIONNAIRES: list[tuple[Any, str]] = [
    ([{"name": "age", "type": "integer", "min": "abc"}], "min: A valid integer is required."),
    ([{"name": "age", "type": "integer", "min": 1.5}], "min: A valid integer is required."),
    ([{"name": "age", "type": "integer", "min": 10, "max": 2}], "min (10) is above max (2)"),
    ([{"name": "age", "type": "text", "min": 1}], "min and max are for integer fields only"),
    ([{"name": "x", "type": "choice"}], "a choice field needs its choices"),
    ([{"name": "x", "type": "choice", "choices": ["a", "a"]}], "choices must be unique"),
    ([{"name": "x", "type": "slider"}], 'type: "slider" is not a valid choice.'),
    ([{"name": "x", "typ": "text"}], "unknown key(s): typ"),
    ([{"label": "no name"}], "name: This field is required."),
    ([{"name": "has space"}], "name: "),
    ([{"name": "a"}, {"name": "a"}], "the name 'a' is used twice"),
    ([{"name": "a", "when": "later"}], 'when: "later" is not a valid choice.'),
    ([{"name": "a", "required": "maybe"}], "required: Must be a valid boolean."),
    ({"name": "a"}, "Expected a list of items"),
    (["age"], "Invalid data. Expected a dictionary"),
]
BAD_SCREENINGS: list[tuple[Any, str]] = [
    ({"trials_per_test": 10**9}, "trials_per_test: Ensure this value is less than or equal to"),
    ({"trials_per_test": 0}, "trials_per_test: Ensure this value is greater than or equal to 1"),
    ({"tests": ["antiphase"], "trials_per_test": 6, "pass_mark": 7}, "pass_mark (7) is above"),
    ({"tests": ["antiphase"], "pass_mark": {"huggins": 3}}, "pass_mark names a test"),
    ({"attempts": 0}, "attempts: Ensure this value is greater than or equal to 1"),
    ({"attempts": 100}, "attempts: Ensure this value is less than or equal to"),
    ({"tests": ["hearing"]}, 'tests: 0: "hearing" is not a valid choice.'),
    ({"tests": ["huggins", "huggins"]}, "each test once"),
    ({"tets": []}, "unknown key(s): tets"),
    ([], "Expected a dictionary"),
]


class StudySettingsApiTestCase(BaseTestCase):
    def create(self, **settings: Any) -> Any:
        api = self.login(self.researcher)
        return api.post("/api/studies/", {"title": "S", **settings}, format="json")

    def test_the_api_refuses_every_bad_questionnaire_with_its_reason(self) -> None:
        for value, reason in BAD_QUESTIONNAIRES:
            response = self.create(questionnaire=value)
            assert response.status_code == 400, (value, response.data)
            assert reason in response.data["detail"], (value, response.data["detail"])
        assert not Study.objects.filter(title="S").exists()

    def test_the_api_refuses_every_bad_screening_with_its_reason(self) -> None:
        for value, reason in BAD_SCREENINGS:
            response = self.create(screening=value)
            assert response.status_code == 400, (value, response.data)
            assert reason in response.data["detail"], (value, response.data["detail"])
        assert not Study.objects.filter(title="S").exists()

    def test_the_api_refuses_bad_attributes(self) -> None:
        for value, reason in (
            (["clarity\x00"], "printable"),
            ([], "between 1 and 8"),
            (["a", "a"], "unique"),
            ("clarity", "list of names"),
        ):
            response = self.create(attributes=value)
            assert response.status_code == 400, (value, response.data)
            assert reason in response.data["detail"]

    def test_the_api_refuses_out_of_range_numbers(self) -> None:
        for field, value in (
            ("trials_per_participant", 10**9),
            ("abx_repetitions", 51),
            ("excerpt_length", 500),
            ("min_listen_seconds", 61),
        ):
            response = self.create(**{field: value})
            assert response.status_code == 400, (field, response.data)
            assert field in response.data["errors"]

    def test_good_settings_are_stored_normalised(self) -> None:
        questionnaire = [
            {"name": "years", "label": "Years", "type": "integer", "min": "0", "max": 80},
            {"name": "gear", "type": "choice", "choices": ["Headphones", "Speakers"]},
            {"name": "notes", "type": "textarea", "required": False, "when": "final"},
        ]
        screening = {"tests": ["huggins"], "trials_per_test": 8, "pass_mark": {"huggins": 7}}
        response = self.create(questionnaire=questionnaire, screening=screening)
        assert response.status_code == 201, response.data
        study = Study.objects.get(pk=response.data["id"])
        assert study.questionnaire[0] == {
            "name": "years", "label": "Years", "type": "integer", "min": 0, "max": 80,
        }  # fmt: skip
        assert study.screening == screening
        assert study.screening_config()["pass_marks"] == {"huggins": 7}


class StudySettingsAdminImportTestCase(BaseTestCase):
    def test_the_admin_form_refuses_a_bad_questionnaire(self) -> None:
        self.login(self.researcher)
        response = self.client.post(
            "/admin/listening/study/add/",
            {
                "title": "From the admin",
                "paradigm": "mushra",
                "attributes": '["overall quality"]',
                "reference_mode": "none",
                "balancing": "balanced",
                "abx_repetitions": "4",
                "loudness_target_lufs": "-23",
                "true_peak_ceiling_dbtp": "-1",
                "sample_rate": "48000",
                "excerpt_start": "0",
                "excerpt_length": "10",
                "fade_ms": "20",
                "min_listen_seconds": "1",
                "questionnaire": '[{"name": "age", "type": "integer", "min": "abc"}]',
                "screening": '{"trials_per_test": 1000000000}',
                "tracks-TOTAL_FORMS": "0",
                "tracks-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "min: A valid integer is required." in str(errors["questionnaire"])
        assert "trials_per_test" in str(errors["screening"])
        assert not Study.objects.filter(title="From the admin").exists()

    def test_import_checks_the_same_ranges(self) -> None:
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        (folder / "mix.wav").write_bytes(wav_bytes(versions()["mix"]))
        (folder / "manifest.csv").write_text(
            "track,genre,file,role,system,provider\nSong,pop,mix.wav,mix,,\n"
        )
        with pytest.raises(CommandError, match="excerpt_length"):
            call_command(
                "import_study", str(folder), owner="researcher", excerpt_length=500.0,
                verbosity=0, stdout=io.StringIO(),
            )  # fmt: skip
        assert not Study.objects.filter(title=folder.name).exists()

    def test_the_model_refuses_what_the_schema_refuses(self) -> None:
        study = Study(owner=self.researcher, title="x", questionnaire=BAD_QUESTIONNAIRES[0][0])
        with pytest.raises(ValidationError) as raised:
            study.full_clean()
        assert "questionnaire" in raised.value.message_dict


class OpeningWithBadSettingsTestCase(ParticipantTestCase):
    study_options = {"screening": {"tests": []}}  # noqa: RUF012

    def test_a_study_with_stored_bad_settings_cannot_open(self) -> None:
        # Settings written past the checks (an older version, or the database by hand).
        Study.objects.filter(pk=self.open_study.pk).update(
            status="draft", questionnaire=[{"name": "age", "type": "integer", "min": "abc"}]
        )
        study = Study.objects.get(pk=self.open_study.pk)
        problems = problems_before_opening(study)
        assert any("questionnaire" in p and "min" in p for p in problems), problems
        response = self.login(self.researcher).post(f"/api/studies/{study.pk}/open/")
        assert response.status_code == 400
        assert "questionnaire" in response.data["detail"]
        assert Study.objects.get(pk=study.pk).status == "draft"

    def test_a_participant_never_gets_a_server_error_from_stored_bad_settings(self) -> None:
        Study.objects.filter(pk=self.open_study.pk).update(
            questionnaire=[{"name": "age", "label": "Age", "type": "integer", "min": "abc"}]
        )
        participant = Participant(Study.objects.get(pk=self.open_study.pk), self.client)
        participant.start()
        participant.consent()
        response = self.client.post(participant.url("questionnaire"), {"age": "30"})
        assert response.status_code == 302
        assert participant.refresh().questionnaire == {"age": 30}


@pytest.mark.django_db
def test_a_new_study_screens_with_each_tests_recommended_pass_mark() -> None:
    """Anti-phase 5 of 6 and Huggins pitch 6 of 6 (analysis.stimuli.screening.DEFAULT_PASS_MARK):
    a study created with the defaults must not lower the Huggins mark to 5."""
    from django.contrib.auth.models import User

    from analysis.stimuli.screening import DEFAULT_PASS_MARK
    from listening.models import Study

    study = Study.objects.create(owner=User.objects.create_user("r"), title="Defaults")
    assert (
        study.screening_config()["pass_marks"]
        == DEFAULT_PASS_MARK
        == {
            "antiphase": 5,
            "huggins": 6,
        }
    )
