"""The study builder: typed forms, messages that name the field, the API's rules."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from listening.models import Study
from tests.listening.research.workspace.builder_data import builder_data, form_data

NEW = "/workspace/studies/new/"


def errors(response: Any) -> str:
    return response.content.decode()


def test_it_creates_a_study_from_the_forms(signed_in: Any, researcher: Any) -> None:
    data = builder_data(
        attributes=["clarity", "overall quality"],
        questions=[
            {"name": "age", "label": "Your age", "type": "integer", "min": "18", "max": "99"},
            {"name": "genre", "type": "choice", "choices": "Pop\nJazz\n", "when": "final"},
            {"name": "trained", "type": "boolean", "required": None},
        ],
        **{"attributes-0-ORDER": "2", "attributes-1-ORDER": "1"},
    )
    response = signed_in.post(NEW, data)
    study = Study.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/workspace/studies/{study.pk}/"
    assert study.owner == researcher
    assert study.attributes == ["overall quality", "clarity"]  # the chosen order
    assert study.questionnaire == [
        {
            "name": "age",
            "label": "Your age",
            "type": "integer",
            "min": 18,
            "max": 99,
            "required": True,
        },
        {
            "name": "genre",
            "type": "choice",
            "choices": ["Pop", "Jazz"],
            "required": True,
            "when": "final",
        },
        {"name": "trained", "type": "boolean", "required": False},
    ]
    assert study.screening == {
        "tests": ["antiphase", "huggins"],
        "trials_per_test": 6,
        "pass_mark": 5,
        "attempts": 2,
    }
    assert study.public_title == "A listening study"
    assert study.anchors is True
    assert study.reference_mode == "none"


def test_removed_and_blank_rows_are_dropped(signed_in: Any) -> None:
    data = builder_data(attributes=["clarity", "width", ""], **{"attributes-1-DELETE": "on"})
    assert signed_in.post(NEW, data).status_code == 302
    assert Study.objects.get().attributes == ["clarity"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "Title: This field is required."),
        ({"loudness_target_lufs": "5"}, "Loudness target (LUFS): "),
        ({"true_peak_ceiling_dbtp": "-30"}, "True-peak ceiling (dBTP): "),
        ({"excerpt_length": "0.5"}, "Excerpt length (s): "),
        ({"fade_ms": "6000"}, "Fade in and out (ms): "),
        ({"min_listen_seconds": "-1"}, "Listening time that counts as played (s): "),
        ({"screening_trials_per_test": "40"}, "Screening, trials per test: "),
        ({"screening_pass_mark": "9"}, "Screening: pass_mark (9) is above trials_per_test (6)"),
        ({"screening_attempts": "9"}, "Screening, attempts: "),
        ({"redirect_url": "not a url"}, "Completion URL: Enter a valid URL."),
        ({"attributes-1-name": "x" * 101}, "Attribute 2, name: attribute names must be 1-100"),
        ({"attributes-1-name": "a\u0007"}, "Attribute 2, name: attribute names must be printable"),
        ({"attributes-1-name": "Overall quality "}, None),
    ],
)
def test_each_refusal_names_its_field(
    signed_in: Any, overrides: dict[str, str], message: str | None
) -> None:
    response = signed_in.post(NEW, builder_data(**overrides))
    if message is None:  # a valid variation, for contrast
        assert response.status_code == 302
        return
    assert response.status_code == 400
    assert message in errors(response).replace("&#x27;", "'")
    assert not Study.objects.exists()


def test_question_errors_name_the_question_and_field(signed_in: Any) -> None:
    data = builder_data(
        questions=[
            {"name": "age", "type": "integer", "min": "50", "max": "10"},
            {"name": "1bad", "type": "text"},
            {"name": "colour", "type": "choice", "choices": ""},
            {"name": "", "label": "No key", "type": "text"},
        ]
    )
    html = errors(signed_in.post(NEW, data))
    assert "Question 1: min (50) is above max (10)" in html
    assert "Question 2, key (export column): use 1-50 letters" in html
    assert "Question 3: a choice field needs its choices" in html
    assert "Question 4, key: give each question a key" in html


def test_list_rules_come_from_the_schema(signed_in: Any) -> None:
    html = errors(signed_in.post(NEW, builder_data(attributes=["clarity", "clarity"])))
    assert "Attributes: attribute names must be unique" in html
    html = errors(signed_in.post(NEW, builder_data(attributes=[])))
    assert "Attributes: give between 1 and 8 attributes, got 0" in html
    questions = [{"name": "age"}, {"name": "age"}]
    html = errors(signed_in.post(NEW, builder_data(questions=questions)))
    assert "Questionnaire: the name &#x27;age&#x27; is used twice (start)" in html


# -- the same rules as the API ------------------------------------------------------------


def api_payload() -> dict[str, Any]:
    return {
        "title": "API study",
        "attributes": ["clarity"],
        "screening": {"tests": ["antiphase"], "trials_per_test": 4, "pass_mark": 6},
        "questionnaire": [{"name": "age", "type": "integer", "min": 10, "max": 5}],
    }


def test_what_the_api_refuses_the_form_refuses_naming_the_field(
    signed_in: Any, researcher: Any
) -> None:
    api = APIClient()
    api.force_authenticate(researcher)
    refused = api.post("/api/studies/", api_payload(), format="json")
    assert refused.status_code == 400
    assert set(refused.data["errors"]) == {"screening", "questionnaire"}
    data = builder_data(
        attributes=["clarity"],
        questions=[{"name": "age", "type": "integer", "min": "10", "max": "5"}],
        screening_tests=["antiphase"],
        screening_trials_per_test="4",
        screening_pass_mark="6",
        screening_attempts=None,
    )
    html = errors(signed_in.post(NEW, data))
    assert "Screening: pass_mark (6) is above trials_per_test (4)" in html
    assert "Question 1: min (10) is above max (5)" in html
    assert not Study.objects.exists()
    # And what the form accepts, the API accepts (the same study, field for field).
    payload = {
        **api_payload(),
        "screening": {"tests": ["antiphase"], "trials_per_test": 4, "pass_mark": 3},
        "questionnaire": [],
    }
    assert api.post("/api/studies/", payload, format="json").status_code == 201
    form = builder_data(
        attributes=["clarity"],
        screening_tests=["antiphase"],
        screening_trials_per_test="4",
        screening_pass_mark="3",
        screening_attempts=None,
        title="API study",
    )
    assert signed_in.post(NEW, form).status_code == 302
    by_api, by_form = Study.objects.order_by("pk")
    for field in ("attributes", "screening", "questionnaire", "loudness_target_lufs"):
        assert getattr(by_api, field) == getattr(by_form, field), field


def test_an_open_study_keeps_what_the_api_keeps(signed_in: Any, researcher: Any) -> None:
    study = Study.objects.create(owner=researcher, title="Running", status=Study.Status.OPEN)
    url = f"/workspace/studies/{study.pk}/settings/"
    page = signed_in.get(url).content.decode()
    assert 'name="paradigm"' in page
    assert "disabled" in page
    data = builder_data(
        title="Renamed",
        paradigm="abx",
        loudness_target_lufs="-16",
        excerpt_length="5",
        attributes=["something else"],
        consent_text="New consent.",
    )
    response = signed_in.post(url, data)
    assert response.status_code == 302
    study.refresh_from_db()
    # Locked fields stay as they were, as in the API; the rest changes.
    assert (study.paradigm, study.loudness_target_lufs, study.excerpt_length) == (
        "mushra",
        -23.0,
        10.0,
    )
    assert study.attributes == Study().attributes
    assert (study.title, study.consent_text) == ("Renamed", "New consent.")
    api = APIClient()
    api.force_authenticate(researcher)
    refused = api.patch(f"/api/studies/{study.pk}/", {"paradigm": "abx"}, format="json")
    assert refused.status_code == 400
    assert "paradigm" in refused.data["errors"]


def test_a_draft_study_is_edited_in_place(signed_in: Any, researcher: Any) -> None:
    study = Study.objects.create(owner=researcher, title="Draft", attributes=["a", "b", "c"])
    url = f"/workspace/studies/{study.pk}/settings/"
    page = signed_in.get(url).content.decode()
    assert 'value="Draft"' in page
    assert 'value="c"' in page
    data = builder_data(attributes=["c", "a"], paradigm="abx", title="Draft 2")
    assert signed_in.post(url, data).status_code == 302
    study.refresh_from_db()
    assert (study.title, study.paradigm, study.attributes) == ("Draft 2", "abx", ["c", "a"])


def test_a_per_test_pass_mark_set_through_the_api_survives_a_form_save(
    signed_in: Any, researcher: Any
) -> None:
    screening = {
        "tests": ["antiphase", "huggins"],
        "trials_per_test": 6,
        "pass_mark": {"antiphase": 5, "huggins": 4},
    }
    study = Study.objects.create(owner=researcher, title="T", screening=screening)
    data = builder_data(screening_pass_mark="", screening_attempts="")
    assert signed_in.post(f"/workspace/studies/{study.pk}/settings/", data).status_code == 302
    study.refresh_from_db()
    assert study.screening["pass_mark"] == {"antiphase": 5, "huggins": 4}


# -- attribute descriptions ------------------------------------------------------------------


def test_descriptions_are_saved_by_attribute_and_reach_the_trial_page(signed_in: Any) -> None:
    data = builder_data(
        attributes=["clarity", "punch"],
        **{"attributes-1-description": "  How hard the drums hit.  "},
    )
    assert signed_in.post(NEW, data).status_code == 302
    study = Study.objects.get()
    assert study.attribute_descriptions == {"punch": "How hard the drums hit."}
    # What the participant's trial data carries
    # (listening.participant.paradigms: study.attribute_items).
    assert study.attribute_items() == [
        {"id": "clarity", "label": "Clarity"},
        {"id": "punch", "label": "Punch", "description": "How hard the drums hit."},
    ]
    page = signed_in.get(f"/workspace/studies/{study.pk}/settings/").content.decode()
    assert "How hard the drums hit." in page


def test_a_bad_description_is_named_and_the_api_refuses_it_too(
    signed_in: Any, researcher: Any
) -> None:
    data = builder_data(attributes=["clarity"], **{"attributes-0-description": "x" * 501})
    html = errors(signed_in.post(NEW, data)).replace("&#x27;", "'")
    assert "Attribute 1, description: 'clarity': descriptions must be at most 500" in html
    api = APIClient()
    api.force_authenticate(researcher)
    payload = {"title": "T", "attributes": ["clarity"]}
    too_long = {**payload, "attribute_descriptions": {"clarity": "x" * 501}}
    assert api.post("/api/studies/", too_long, format="json").status_code == 400
    stray = {**payload, "attribute_descriptions": {"clarty": "typo"}}
    refused = api.post("/api/studies/", stray, format="json")
    assert refused.status_code == 400
    assert "describes no rated attribute: 'clarty'" in str(refused.data["errors"])
    assert not Study.objects.exists()


def test_renaming_an_attribute_in_the_api_with_a_stale_description_is_refused(
    researcher: Any,
) -> None:
    study = Study.objects.create(
        owner=researcher, title="T", attributes=["a"], attribute_descriptions={"a": "A."}
    )
    api = APIClient()
    api.force_authenticate(researcher)
    refused = api.patch(f"/api/studies/{study.pk}/", {"attributes": ["b"]}, format="json")
    assert refused.status_code == 400
    assert "attribute_descriptions" in refused.data["errors"]
    both = {"attributes": ["b"], "attribute_descriptions": {"b": "B."}}
    assert api.patch(f"/api/studies/{study.pk}/", both, format="json").status_code == 200


def test_saving_the_form_unchanged_loses_nothing_the_api_set(
    signed_in: Any, researcher: Any
) -> None:
    api = APIClient()
    api.force_authenticate(researcher)
    settings = {
        "title": "Rich <study> & co",
        "public_title": "Listening study",
        "paradigm": "ab",
        "attributes": ["overall quality", "low end"],
        "attribute_descriptions": {"low end": "Bass:\nkick and sub."},
        "reference_mode": "none",
        "anchors": False,
        "loudness_target_lufs": -16.5,
        "true_peak_ceiling_dbtp": -2.0,
        "excerpt_start": 12.5,
        "excerpt_length": 8.0,
        "fade_ms": 15.0,
        "playback_bit_depth": 16,
        "accept_mono": True,
        "trials_per_participant": 7,
        "balancing": "random",
        "abx_repetitions": 6,
        "ab_allow_no_preference": False,
        "must_move_all": False,
        "min_listen_seconds": 2.5,
        "consent_text": "Line one.\n\nLine <two>.",
        "questionnaire": [
            {
                "name": "age",
                "label": "Age",
                "type": "integer",
                "min": 18,
                "max": 99,
                "help": "In years.",
                "required": False,
            },
            {
                "name": "kit",
                "type": "choice",
                "choices": ["A", "B"],
                "when": "final",
                "required": True,
            },
        ],
        "screening": {"tests": ["huggins"], "trials_per_test": 8, "pass_mark": 6, "attempts": 1},
        "completion_code": "ABC123",
        "redirect_url": "https://app.prolific.com/submissions/complete?cc=ABC123",
    }
    created = api.post("/api/studies/", settings, format="json")
    assert created.status_code == 201, created.data
    study = Study.objects.get()
    before = {f: getattr(study, f) for f in settings}
    url = f"/workspace/studies/{study.pk}/settings/"
    data = form_data(signed_in.get(url).content.decode())
    assert signed_in.post(url, data).status_code == 302
    study.refresh_from_db()
    assert {f: getattr(study, f) for f in settings} == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trials_per_participant": "0"}, "Trials per participant: "),
        ({"abx_repetitions": "0"}, "ABX repetitions per track: "),
        ({"balancing": "shuffled"}, "Orders: Select a valid choice."),
        ({"playback_bit_depth": "8"}, "Playback files: Select a valid choice."),
    ],
)
def test_the_other_settings_are_named_too(
    signed_in: Any, overrides: dict[str, str], message: str
) -> None:
    response = signed_in.post(NEW, builder_data(**overrides))
    assert response.status_code == 400
    assert message in errors(response)


def test_an_open_studys_page_saves_as_the_browser_posts_it(signed_in: Any, researcher: Any) -> None:
    study = Study.objects.create(
        owner=researcher,
        title="Running",
        status=Study.Status.OPEN,
        attribute_descriptions={"clarity": "Clear?"},
    )
    url = f"/workspace/studies/{study.pk}/settings/"
    data = form_data(signed_in.get(url).content.decode())
    assert "attributes-0-name" not in data  # disabled: the name is not posted
    data["instructions"] = "Updated while open."
    response = signed_in.post(url, data)
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.instructions == "Updated while open."
    assert study.attribute_descriptions == {"clarity": "Clear?"}
    # The descriptions stay editable (as in the API); a posted name changes nothing.
    data["attributes-0-description"] = "Is it clear?"
    data["attributes-0-name"] = "renamed"
    assert signed_in.post(url, data).status_code == 302
    study.refresh_from_db()
    assert study.attributes[0] == "overall quality"
    assert study.attribute_descriptions == {"clarity": "Clear?", "overall quality": "Is it clear?"}


def test_the_page_shows_every_field_of_the_study_form_once(signed_in: Any) -> None:
    from listening.research.workspace.study_forms import StudyForm

    shown = [name for names in StudyForm.SECTIONS.values() for name in names]
    assert sorted(shown) == sorted(StudyForm.base_fields)
    page = signed_in.get(NEW).content.decode()
    for name in StudyForm.base_fields:
        assert page.count(f'class="field field-{name}"') == 1, name
    assert "No audio uploaded yet: the excerpt is checked" in page
