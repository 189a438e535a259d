"""What participants read of a study: its public title, its texts in their language and
the names of its rated attributes.

The researcher writes the texts in the study's fields and may translate them per language
(``Study.translations``, schema in listening.models.study_settings); a text not translated
falls back to the field's. ``Study`` takes these methods from ``StudyTexts``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

#: The participants' title of a study that has no public title of its own (translated on the
#: participant pages: Study.participant_texts).
PUBLIC_TITLE = gettext_noop("Listening study")
#: The study's texts a researcher may translate per language (Study.translations).
TRANSLATED_FIELDS = ("public_title", "public_description", "consent_text", "instructions")


def attribute_items(attributes: Any) -> list[dict[str, str]]:
    """A study's rated attributes as participant pages name them: a slug id and a label."""
    from django.utils.text import slugify

    items = []
    for name in attributes or []:
        text = str(name)
        items.append({"id": slugify(text) or "attribute", "label": text[:1].upper() + text[1:]})
    return items


def attribute_name(attributes: Any, attribute_id: str) -> str | None:
    """The stored name of the attribute that participant pages call ``attribute_id``, if any.

    A study without attributes rates one, called "overall".
    """
    if not attributes:
        return "overall" if attribute_id == "overall" else None
    items = attribute_items(attributes)
    names = {item["id"]: name for item, name in zip(items, attributes or [], strict=True)}
    return names.get(attribute_id)


class StudyTexts:
    """The participant-facing texts of a study (mixed into ``Study``, whose fields they read)."""

    # The Study fields these methods read (declared for the type checker).
    public_title: Any
    attributes: Any
    attribute_descriptions: Any
    languages: Any
    translations: Any

    @property
    def participant_title(self) -> str:
        """The title participant pages show: the public title, never the researcher's."""
        return self.public_title.strip() or PUBLIC_TITLE

    def translation(self, language: str | None) -> dict[str, Any]:
        """The researcher's texts in ``language`` (empty when there are none)."""
        texts = self.translations.get(language) if isinstance(self.translations, dict) else None
        return texts if isinstance(texts, dict) else {}

    def text(self, field: str, language: str | None) -> str:
        """One of the study's texts (TRANSLATED_FIELDS) in ``language``, else as written."""
        translated = self.translation(language).get(field)
        if isinstance(translated, str) and translated.strip():
            return translated
        return str(getattr(self, field))

    def source_language(self) -> str:
        """The language the study's own fields are written in: English, else its first."""
        languages = self.languages if isinstance(self.languages, list) and self.languages else []
        return "en" if "en" in languages or not languages else str(languages[0])

    def missing_translations(self) -> dict[str, list[str]]:
        """{language: the study's own texts it offers untranslated}, for the launch checks.

        A text written in the source language and not translated into an offered language
        reaches that language's participants as written; the built-in texts are always
        translated (locale/).
        """
        missing: dict[str, list[str]] = {}
        for language in self.languages if isinstance(self.languages, list) else []:
            if language == self.source_language():
                continue
            texts = self.translation(language)
            names = texts.get("attributes") or {}
            gaps = [
                field
                for field in TRANSLATED_FIELDS
                if str(getattr(self, field)).strip() and not str(texts.get(field, "")).strip()
            ]
            gaps += [
                f"attribute {name!r}"
                for name in self.attributes or []
                if not str((names.get(name) or {}).get("name", "")).strip()
            ]
            if gaps:
                missing[language] = gaps
        return missing

    def participant_texts(self, language: str | None) -> dict[str, str]:
        """The study's own texts a participant reads, in ``language`` where translated."""
        from django.utils.translation import gettext

        texts = {field: self.text(field, language) for field in TRANSLATED_FIELDS}
        # The built-in title is a catalogue text, translated like the pages around it.
        texts["public_title"] = texts["public_title"].strip() or gettext(PUBLIC_TITLE)
        return texts

    def attribute_items(self, language: str | None = None) -> list[dict[str, str]]:
        """The rated attributes as the participant pages name them: a slug id, a label and
        the researcher's description when there is one.

        With a ``language``, the label and description are the researcher's translation
        where one is given; the id is always the stored name's, so answers do not depend
        on the language.
        """
        items = attribute_items(self.attributes)
        described = (
            self.attribute_descriptions if isinstance(self.attribute_descriptions, dict) else {}
        )
        names = self.translation(language).get("attributes") or {}
        for name, item in zip(self.attributes or [], items, strict=True):
            text = described.get(str(name))
            if isinstance(text, str) and text.strip():
                item["description"] = text.strip()
            translated = names.get(name) if isinstance(names, dict) else None
            if not isinstance(translated, dict):
                continue
            if str(translated.get("name") or "").strip():
                item["label"] = str(translated["name"]).strip()
            if str(translated.get("description") or "").strip():
                item["description"] = str(translated["description"]).strip()
        return items

    def attribute_name(self, attribute_id: str) -> str | None:
        """Return the study's attribute called ``attribute_id`` on participant pages, if any."""
        return attribute_name(self.attributes, attribute_id)
