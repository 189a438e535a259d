"""A study's languages: the browser picks one per session, kept for the session's whole life,
and the researcher's translations of the study's own texts reach the pages in it."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory

from listening.models import Session, Study
from listening.models.study_settings import clean_languages, clean_translations
from listening.models.study_translations import StudyTranslationsForm
from listening.participant import languages
from tests.listening.base import BaseTestCase
from tests.listening.i18n_pages import page_json, parse, visible_texts
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

GERMAN = {
    "public_title": "Eine Hörstudie über Musik",
    "public_description": "Wir vergleichen Aufnahmen.",
    "consent_text": "Ich willige freiwillig ein; meine Antworten sind anonym.",
    "instructions": "Hören Sie mit Ruhe und Sorgfalt.",
    "attributes": {
        "clarity": {"name": "Klarheit", "description": "Wie deutlich einzelne Instrumente sind"}
    },
}


class LanguageChoiceTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "languages": ["en", "de"],
        "screening": {"tests": []},
        "public_title": "A study of music",
        "consent_text": "I consent freely; my answers are anonymous.",
        "instructions": "Listen calmly and carefully.",
        "translations": {"de": GERMAN},
    }

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def started(self, accept: str) -> Participant:
        p = Participant(self.open_study, Client(headers={"Accept-Language": accept}))
        p.start()
        return p

    def test_a_german_browser_gets_german_and_a_french_one_english(self) -> None:
        assert self.started("de-DE,de;q=0.9").refresh().language == "de"
        assert self.started("fr").refresh().language == "en"
        assert self.started("fr-CH, fr;q=0.9, de;q=0.8, *;q=0.5").refresh().language == "de"
        # Spanish ships with the platform, but this study does not offer it.
        assert self.started("es-ES,es;q=0.9").refresh().language == "en"
        assert self.started("").refresh().language == "en"

    def test_the_landing_page_is_in_the_browsers_language_among_the_studys(self) -> None:
        german = Client(headers={"Accept-Language": "de-DE,de;q=0.9"})
        html = german.get(self.open_study.participant_path()).content.decode()
        assert parse(html).html_lang == "de"
        texts = visible_texts(html)
        assert "Eine Hörstudie über Musik" in texts
        assert "Wir vergleichen Aufnahmen." in texts
        assert "Hören Sie mit Ruhe und Sorgfalt." in texts
        assert "A study of music" not in html
        english = Client(headers={"Accept-Language": "fr"}).get(self.open_study.participant_path())
        html = english.content.decode()
        assert parse(html).html_lang == "en"
        assert "A study of music" in visible_texts(html)
        assert "Listen calmly and carefully." in visible_texts(html)

    def test_the_session_keeps_its_language_when_the_browser_changes(self) -> None:
        p = self.started("de-DE,de;q=0.9")
        p.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
        html = p.client.get(p.url("consent")).content.decode()
        assert parse(html).html_lang == "de"
        assert "Ich willige freiwillig ein; meine Antworten sind anonym." in visible_texts(html)
        # The public link again (a resume): the landing page keeps German too.
        resumed = p.client.get(self.open_study.participant_path()).content.decode()
        assert parse(resumed).html_lang == "de"
        assert "Dort weitermachen, wo Sie aufgehört haben" in visible_texts(resumed)
        assert p.client.post(self.open_study.participant_path()).status_code == 302
        assert p.refresh().language == "de"
        p.consent()
        html = p.client.get(p.url("questionnaire")).content.decode()
        assert "Über Sie" in visible_texts(html)

    def test_the_sessions_export_names_each_sessions_language(self) -> None:
        from listening.research.exports import session_rows

        german, english = self.started("de-DE"), self.started("fr")
        columns, rows = session_rows(self.open_study)
        by_session = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
        assert by_session[german.session.pk]["language"] == "de"
        assert by_session[english.session.pk]["language"] == "en"

    def test_a_returning_prolific_participant_keeps_the_language_in_another_browser(self) -> None:
        first = Participant(self.open_study, Client(headers={"Accept-Language": "de"}))
        first.start("?PROLIFIC_PID=pid7&SESSION_ID=se7")
        other = Participant(self.open_study, Client(headers={"Accept-Language": "en"}))
        other.start("?PROLIFIC_PID=pid7&SESSION_ID=se7")
        assert other.token == first.token
        html = other.client.get(other.url("consent")).content.decode()
        assert parse(html).html_lang == "de"

    def test_researcher_translations_reach_consent_and_trial(self) -> None:
        german, english = self.started("de"), self.started("en")
        html = german.client.get(german.url("consent")).content.decode()
        assert "Ich willige freiwillig ein; meine Antworten sind anonym." in visible_texts(html)
        assert "I consent freely" not in html
        html = english.client.get(english.url("consent")).content.decode()
        assert "I consent freely; my answers are anonymous." in visible_texts(html)
        for p in (german, english):
            p.consent()
            p.questionnaire()
            p.calibrate()
            assert p.refresh().state == Session.State.TRAINING
        data = {
            lang: page_json(p.client.get(p.url("training")).content.decode(), "trial-data")
            for lang, p in (("de", german), ("en", english))
        }
        assert data["de"]["attributes"] == [
            {"id": "overall-quality", "label": "Overall quality"},
            {
                "id": "clarity",
                "label": "Klarheit",
                "description": "Wie deutlich einzelne Instrumente sind",
            },
        ]
        assert data["en"]["attributes"] == [
            {"id": "overall-quality", "label": "Overall quality"},
            {"id": "clarity", "label": "Clarity"},
        ]

    def test_answers_name_the_attribute_by_its_id_in_every_language(self) -> None:
        p = self.started("de")
        p.consent()
        p.questionnaire()
        p.calibrate()
        assert p.save({"trial": 0, "type": "submit"}).status_code == 200
        data = p.trial_data()
        response = p.save(
            {
                "trial": data["trial"]["id"],
                "type": "rating",
                "condition": data["conditions"][0]["key"],
                "attribute": "clarity",
                "score": 40,
            }
        )
        assert response.status_code == 200, response.content
        assert p.refresh().trials.get(position=data["trial"]["id"]).ratings.get().attribute == (
            "clarity"
        )
        # A refusal the page may show is in the session's language.
        refused = p.save({"trial": data["trial"]["id"], "type": "submit"})
        assert refused.status_code == 400
        assert "Bewerten Sie jede Version" in refused.json()["detail"]


class LanguageRuleTestCase(BaseTestCase):
    def request(self, accept: str) -> Any:
        return RequestFactory(headers={"Accept-Language": accept}).get("/")

    def make_study(self, languages: list[str]) -> Study:
        return Study(owner=self.researcher, title="x", languages=languages)

    def test_the_first_accepted_language_of_the_study_wins(self) -> None:
        choose = languages.for_study
        study = self.make_study(["de", "es"])
        assert choose(self.request("es-MX,es;q=0.9,de;q=0.8"), study) == "es"
        assert choose(self.request("de-AT"), study) == "de"
        # Neither English nor any language the browser accepts: the study's first.
        assert choose(self.request("fr,it;q=0.5"), study) == "de"
        assert choose(self.request("*"), self.make_study(["es", "en"])) == "en"
        # Message pages without a study: every shipped language.
        assert choose(self.request("es"), None) == "es"
        assert choose(self.request("x" * 5000), None) == "en"

    def test_it_names_the_texts_an_offered_language_lacks(self) -> None:
        study = self.make_study(["en", "de", "es"])
        study.attributes = ["clarity", "warmth"]
        study.consent_text = "I consent."
        study.public_title = ""
        study.translations = {
            "de": {
                "consent_text": "Ich willige ein.",
                "attributes": {"clarity": {"name": "Klarheit"}, "warmth": {"name": "Wärme"}},
            },
            "es": {"attributes": {"clarity": {"description": "only a description"}}},
        }
        assert study.missing_translations() == {
            "es": ["consent_text", "attribute 'clarity'", "attribute 'warmth'"]
        }
        # Without English, the first language is the one the fields are written in.
        study.languages = ["de", "es"]
        assert study.source_language() == "de"
        assert list(study.missing_translations()) == ["es"]
        assert self.make_study(["en"]).missing_translations() == {}

    def test_languages_are_validated(self) -> None:
        assert clean_languages(["en", " DE "]) == ["en", "de"]
        for bad, reason in (
            ([], "at least one"),
            (["en", "en"], "once"),
            (["fr"], "unknown language"),
            ("de", "list"),
            ([1], "list"),
        ):
            with pytest.raises(ValidationError, match=reason):
                clean_languages(bad)

    def test_translations_are_validated(self) -> None:
        assert clean_translations({"de": {"consent_text": "  Ja.  "}}) == {
            "de": {"consent_text": "Ja."}
        }
        for bad, reason in (
            ([], "dictionary"),
            ({"fr": {}}, "'fr': unknown language"),
            ({"de": {"consent": "x"}}, "de: unknown key"),
            ({"de": {"public_title": "x" * 201}}, "de: public_title"),
            ({"de": {"attributes": {"clarity": {"name": "a\x07b"}}}}, "printable"),
            ({"de": {"attributes": {"clarity": {"colour": "x"}}}}, "unknown key"),
            ({"de": {"attributes": ["clarity"]}}, "de: attributes"),
        ):
            with pytest.raises(ValidationError, match=reason):
                clean_translations(bad)

    def test_a_study_refuses_translations_of_attributes_it_does_not_rate(self) -> None:
        study = self.make_study(["en", "de"])
        study.attributes = ["clarity"]
        study.translations = {"de": {"attributes": {"warmth": {"name": "Wärme"}}}}
        with pytest.raises(ValidationError, match="'warmth' is not an attribute"):
            study.full_clean()
        study.translations = {"de": {"attributes": {"clarity": {"name": "Klarheit"}}}}
        study.full_clean()

    def test_the_api_reads_and_writes_languages_and_translations(self) -> None:
        api = self.login(self.researcher)
        url = f"/api/studies/{self.study.pk}/"
        response = api.patch(
            url,
            {"languages": ["en", "es"], "translations": {"es": {"instructions": "Escuche."}}},
            format="json",
        )
        assert response.status_code == 200, response.data
        assert response.data["languages"] == ["en", "es"]
        assert response.data["translations"] == {"es": {"instructions": "Escuche."}}
        bad = api.patch(url, {"languages": ["en", "fr"]}, format="json")
        assert bad.status_code == 400
        assert "languages" in str(bad.data)
        bad = api.patch(
            url,
            {"translations": {"es": {"attributes": {"nope": {"name": "no"}}}}},
            format="json",
        )
        assert bad.status_code == 400
        assert "'nope' is not an attribute" in str(bad.data)
        assert Study.objects.get(pk=self.study.pk).languages == ["en", "es"]

    def test_the_translations_form_validates_and_saves_one_language(self) -> None:
        study = Study.objects.create(
            owner=self.researcher, title="Form", attributes=["clarity", "warmth"]
        )
        prefix = "translation-de-"
        form = StudyTranslationsForm(
            study,
            "de",
            {
                prefix + "consent_text": "Einwilligung auf Deutsch.",
                prefix + "public_title": "Hörstudie",
                prefix + "attribute_0_name": "Klarheit",
                prefix + "attribute_1_description": "Wie warm es klingt",
            },
        )
        assert form.is_valid(), form.errors
        form.save()
        study.refresh_from_db()
        assert study.translations == {
            "de": {
                "public_title": "Hörstudie",
                "consent_text": "Einwilligung auf Deutsch.",
                "attributes": {
                    "clarity": {"name": "Klarheit"},
                    "warmth": {"description": "Wie warm es klingt"},
                },
            }
        }
        study.full_clean()
        # It starts from what is stored, and names each field after what it translates.
        again = StudyTranslationsForm(study, "de")
        assert again["attribute_0_name"].initial == "Klarheit"
        assert "clarity" in str(again.fields["attribute_0_name"].label)
        too_long = StudyTranslationsForm(study, "de", {prefix + "public_title": "x" * 201})
        assert not too_long.is_valid()
        assert "public_title" in too_long.errors
        control = StudyTranslationsForm(study, "de", {prefix + "attribute_0_name": "a\x07b"})
        assert not control.is_valid()
        assert "printable" in str(control.errors)
        # Emptied: the language's entry goes.
        StudyTranslationsForm(study, "de", {prefix + "consent_text": ""}).is_valid()
        empty = StudyTranslationsForm(study, "de", {prefix + "consent_text": ""})
        assert empty.is_valid()
        empty.save()
        assert Study.objects.get(pk=study.pk).translations == {}
        with pytest.raises(ValueError, match="fr"):
            StudyTranslationsForm(study, "fr")
