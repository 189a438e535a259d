"""Every participant page in every shipped language: nothing a participant reads stays English.

One participant per language walks the same study (browser language en, de or es) and
every page they can meet is kept: landing (new and resumed), consent, questionnaire
(and its errors), calibration (and its error), the headphone check (first try, refused
answer, retry), training, trial, final questionnaire, the three ends and every message
page. The German and Spanish pages are compared with the English ones, text node by text
node (tests/listening/i18n_pages.py): a text found identically in both is untranslated.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.test import Client, RequestFactory
from django.utils import translation

from listening.models import Session
from listening.participant.access import MESSAGES, message
from listening.participant.strings import SCREENING_STRINGS, SCRIPT_STRINGS, page_strings
from tests.listening.i18n_pages import (
    LANGUAGES,
    page_json,
    parse,
    same_in_translation,
    untranslated,
    visible_texts,
)
from tests.listening.participant_fixtures import Participant, ParticipantTestCase

CODE = "C0DE42"
_PAGES: dict[str, dict[str, str]] = {}
#: A form sent with nothing filled in (an empty POST leaves Django's forms unbound).
BLANK = {"sent": "1"}


class PagesInEveryLanguageTestCase(ParticipantTestCase):
    study_options: ClassVar[dict[str, Any]] = {
        "languages": ["en", "de", "es"],
        "screening": {"tests": ["antiphase"], "attempts": 2},
        "redirect_url": "https://app.prolific.com/submissions/complete?cc=C0DE42",
    }

    def walk(self, language: str) -> dict[str, str]:
        """Every page a participant with this browser language can meet, as HTML."""
        client = Client(headers={"Accept-Language": language})
        p = Participant(self.open_study, client)
        path = self.open_study.participant_path()
        pages: dict[str, str] = {}

        def keep(name: str, response: Any) -> None:
            assert response.status_code in (200, 403, 404, 409, 410, 429), (name, response)
            pages[name] = response.content.decode()

        keep("landing", client.get(path))
        p.start()
        keep("landing-resume", client.get(path))
        keep("consent", client.get(p.url("consent")))
        keep("consent-error", client.post(p.url("consent"), {"decision": "maybe"}))
        p.consent()
        keep("questionnaire", client.get(p.url("questionnaire")))
        keep("questionnaire-errors", client.post(p.url("questionnaire"), BLANK))
        p.questionnaire()
        keep("calibration", client.get(p.url("calibration")))
        keep("calibration-error", client.post(p.url("calibration"), BLANK))
        p.calibrate()
        keep("screening", client.get(p.url("screening")))
        keep("screening-unplayed", client.post(p.url("screening"), BLANK))
        p.screen(correct=False)
        keep("screening-retry", client.get(p.url("screening")))
        p.screen()
        assert p.refresh().state == Session.State.TRAINING
        keep("training", client.get(p.url("training")))
        assert p.save({"trial": 0, "type": "submit"}).status_code == 200
        keep("trial", client.get(p.url("trial")))
        Session.objects.filter(pk=p.session.pk).update(state=Session.State.FINAL_QUESTIONNAIRE)
        keep("final", client.get(p.url("final")))
        keep("final-errors", client.post(p.url("final"), BLANK))
        for state in ("complete", "screened_out", "declined", "withdrawn"):
            Session.objects.filter(pk=p.session.pk).update(state=state)
            keep(f"done-{state}", client.get(p.url("done")))
        keep("message-invalid", client.get("/p/not-a-token/consent"))
        keep("message-unavailable", client.get("/s/not-a-study/"))
        request = RequestFactory(headers={"Accept-Language": language}).get("/")
        for name in MESSAGES:
            keep(f"message-{name}", message(request, name, language))
        return pages

    def setUp(self) -> None:
        super().setUp()
        # Walked once per language in the first test and kept (the pages are only read).
        if not _PAGES:
            for language in ("en", *LANGUAGES):
                _PAGES[language] = self.walk(language)
        self.pages = _PAGES

    def test_every_page_is_in_the_participants_language(self) -> None:
        english = self.pages["en"]
        assert len(english) >= 25
        for language in LANGUAGES:
            for name, html in self.pages[language].items():
                with self.subTest(language=language, page=name):
                    assert parse(html).html_lang == language
                    left = untranslated(english[name], html, language, {CODE})
                    assert not left, f"{language} {name}: English text {left}"
            assert CODE in visible_texts(self.pages[language]["done-complete"])

    def test_the_error_pages_show_their_errors(self) -> None:
        for name in ("questionnaire-errors", "calibration-error", "final-errors"):
            assert 'class="problems"' in self.pages["de"][name], name
        assert "Spielen Sie jeden Klang ab" in self.pages["de"]["screening-unplayed"]
        assert "Wählen Sie 1, 2 oder 3." in self.pages["de"]["screening-unplayed"]
        assert "Das hat nicht ganz geklappt" in self.pages["de"]["screening-retry"]

    def test_english_pages_are_english(self) -> None:
        for name, html in self.pages["en"].items():
            with self.subTest(page=name):
                assert parse(html).html_lang == "en"
        assert "Set your volume" in visible_texts(self.pages["en"]["calibration"])
        assert "Lautstärke einstellen" in visible_texts(self.pages["de"]["calibration"])
        assert "Ajuste el volumen" in visible_texts(self.pages["es"]["calibration"])

    def test_the_scripts_get_their_texts_in_the_language(self) -> None:
        expected = {
            "training": set(SCRIPT_STRINGS),
            "trial": set(SCRIPT_STRINGS),
            "screening": set(SCREENING_STRINGS),
        }
        for language in LANGUAGES:
            same = same_in_translation(language)
            for page, texts in expected.items():
                strings = page_json(self.pages[language][page], "participant-strings")
                assert isinstance(strings, dict)
                assert set(strings) == texts
                left = [k for k, v in strings.items() if v == k and k not in same]
                assert not left, (language, page, left)
            english = page_json(self.pages["en"]["trial"], "participant-strings")
            assert english == {text: text for text in SCRIPT_STRINGS}

    def test_a_study_without_a_reference_gets_no_text_about_one(self) -> None:
        with translation.override("de"):
            strings = page_strings(reference=False)
        assert strings
        assert not [k for k in strings if "reference" in k.lower()]
        assert strings["Keyboard shortcuts"] == "Tastenkürzel"
        assert "listen to the reference" in page_strings(reference=True)

    def test_the_trial_json_differs_only_in_its_words(self) -> None:
        """Blinding: the same structure, keys and labels in every language."""

        def shape(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: shape(v) for k, v in value.items() if k not in ("key", "save_url")}
            if isinstance(value, list):
                return [shape(v) for v in value]
            return type(value).__name__

        trials = {
            lang: page_json(pages["trial"], "trial-data") for lang, pages in self.pages.items()
        }
        for language in LANGUAGES:
            assert shape(trials[language]) == shape(trials["en"])
            labels = [c["label"] for c in trials[language]["conditions"]]
            assert labels == [c["label"] for c in trials["en"]["conditions"]]
            assert trials[language]["instructions"] != trials["en"]["instructions"]
            # The ids an answer names never depend on the language.
            ids = [a["id"] for a in trials[language]["attributes"]]
            assert ids == [a["id"] for a in trials["en"]["attributes"]]
        training = page_json(self.pages["de"]["training"], "trial-data")
        assert [c["label"] for c in training["conditions"]][:1] == ["Version 1"]
        assert "Übung" in training["instructions"]

    def test_the_check_finds_an_english_text_left_in_a_page(self) -> None:
        """The comparison itself: an unwrapped English sentence is reported."""
        english = self.pages["en"]["consent"]
        german = self.pages["de"]["consent"].replace(
            "</main>", "<p>Please wait for the next step.</p></main>"
        )
        english = english.replace("</main>", "<p>Please wait for the next step.</p></main>")
        assert untranslated(english, german, "de", set()) == ["Please wait for the next step."]
