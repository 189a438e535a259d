"""The researcher's form for one language's texts of a study (Study.translations).

``StudyTranslationsForm(study, "de", data)`` has one field per translatable text (public
title and description, consent text, instructions) and a name and a description per
rated attribute; it validates by the same schema as the API and the admin
(listening.models.study_settings.TranslationSerializer) and ``save()`` stores the language's
entry. The workspace's study builder embeds it, one form per offered language.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from listening.models import Study
from listening.models.study_settings import (
    MAX_ATTRIBUTE_LENGTH,
    MAX_TEXT_LENGTH,
    TranslationSerializer,
    _messages,
)

#: The texts of a study a researcher translates, with their form fields' labels and sizes.
TEXT_FIELDS: dict[str, tuple[Any, int, bool]] = {
    "public_title": (_("Public title"), 200, False),
    "public_description": (_("Public description"), MAX_TEXT_LENGTH, True),
    "consent_text": (_("Consent text"), MAX_TEXT_LENGTH, True),
    "instructions": (_("Instructions"), MAX_TEXT_LENGTH, True),
}


class StudyTranslationsForm(forms.Form):
    """One language's texts of a study; every field is optional (an empty one falls back)."""

    def __init__(self, study: Study, language: str, *args: Any, **kwargs: Any) -> None:
        if language not in dict(settings.LANGUAGES):
            raise ValueError(
                f"language={language!r} is not one of {list(dict(settings.LANGUAGES))}"
            )
        self.study = study
        self.language = language
        current = study.translation(language)
        kwargs.setdefault("prefix", f"translation-{language}")
        super().__init__(*args, **kwargs)
        for name, (label, length, long) in TEXT_FIELDS.items():
            widget = forms.Textarea(attrs={"rows": 4, "lang": language}) if long else None
            self.fields[name] = forms.CharField(
                label=label,
                max_length=length,
                required=False,
                strip=True,
                widget=widget,
                initial=current.get(name, ""),
            )
            if widget is None:
                self.fields[name].widget.attrs["lang"] = language
        names = current.get("attributes") or {}
        self.attribute_fields: list[tuple[str, str, str]] = []
        for i, attribute in enumerate(study.attributes or []):
            given = names.get(attribute) or {}
            name_field, description_field = f"attribute_{i}_name", f"attribute_{i}_description"
            self.fields[name_field] = forms.CharField(
                label=_("Name of the attribute “%(name)s”") % {"name": attribute},
                max_length=MAX_ATTRIBUTE_LENGTH,
                required=False,
                initial=given.get("name", ""),
            )
            self.fields[description_field] = forms.CharField(
                label=_("Description of “%(name)s”") % {"name": attribute},
                max_length=500,
                required=False,
                initial=given.get("description", ""),
            )
            self.attribute_fields.append((attribute, name_field, description_field))

    def texts(self) -> dict[str, Any]:
        """The language's entry as stored: only the texts given."""
        data = self.cleaned_data
        texts: dict[str, Any] = {name: data[name] for name in TEXT_FIELDS if data.get(name)}
        attributes = {}
        for attribute, name_field, description_field in self.attribute_fields:
            item = {
                key: data[field]
                for key, field in (("name", name_field), ("description", description_field))
                if data.get(field)
            }
            if item:
                attributes[attribute] = item
        if attributes:
            texts["attributes"] = attributes
        return texts

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        # The one schema the API and the admin use too.
        serializer = TranslationSerializer(data=self.texts())
        if not serializer.is_valid():
            for message in _messages(serializer.errors):
                self.add_error(None, message)
        return cleaned

    def save(self) -> Study:
        """Store this language's texts on the study (an empty form removes them)."""
        translations = dict(self.study.translations or {})
        texts = self.texts()
        if texts:
            translations[self.language] = texts
        else:
            translations.pop(self.language, None)
        self.study.translations = translations
        self.study.save(update_fields=["translations", "updated_at"])
        return self.study
