"""The study builder: the study form and its formsets, checked and saved as the API does.

Each attribute and questionnaire item is checked alone by the schema of
:mod:`listening.models.study_settings` (so a message can say "Attribute 2, name: ..."), then
the whole payload goes through the API's
:class:`~listening.research.api.serializers.StudySerializer`,
which decides what is saved: the builder and the API accept and refuse the same studies,
including what may no longer change once a study has opened.
"""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

from listening.models import Study
from listening.models.study_settings import (
    QuestionSerializer,
    clean_attribute_descriptions,
    clean_attributes,
)
from listening.research.api.serializers import StudySerializer
from listening.research.workspace.study_forms import (
    AttributeFormSet,
    FixedAttributeFormSet,
    QuestionForm,
    QuestionFormSet,
    StudyForm,
    name_errors,
)
from listening.stimuli.tasks import enqueue_preparation


class StudyBuilder:
    """The study form with its attribute and questionnaire formsets, saved through the API's
    serializer."""

    def __init__(self, request: Any, study: Study | None = None) -> None:
        self.request = request
        self.study = study
        data = request.POST if request.method == "POST" else None
        self.form = StudyForm(data, study=study)
        attributes = list(study.attributes) if study is not None else list(Study().attributes)
        described = study.attribute_descriptions if study is not None else {}
        described = described if isinstance(described, dict) else {}
        questions = study.questionnaire if study is not None else []
        locked = study is not None and not study.is_draft
        formset = FixedAttributeFormSet if locked else AttributeFormSet
        self.attributes = formset(
            data,
            prefix="attributes",
            initial=[{"name": a, "description": described.get(a, "")} for a in attributes],
        )
        if locked:
            for row in self.attributes.forms:
                row.fields["name"].disabled = True  # the stored name, whatever is posted
        self.questions = QuestionFormSet(
            data,
            prefix="questions",
            initial=[QuestionForm.initial_for(q) for q in questions if isinstance(q, dict)],
        )
        self.errors: list[str] = []

    def _names(self) -> tuple[list[str], dict[str, str]]:
        names, descriptions = [], {}
        for number, form in enumerate(_kept(self.attributes), start=1):
            name = form.cleaned_data.get("name", "")
            description = form.cleaned_data.get("description", "")
            try:
                clean_attributes([name])  # one item alone: its length and characters
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("name", f"Attribute {number}, name: {message}")
            if description.strip():
                try:
                    clean_attribute_descriptions({name: description})
                except ValidationError as exc:
                    for message in exc.messages:
                        form.add_error("description", f"Attribute {number}, description: {message}")
                descriptions[name] = description
            names.append(name)
        return names, descriptions

    def _items(self) -> list[dict[str, Any]]:
        items = []
        for number, form in enumerate(_kept(self.questions), start=1):
            item = form.item()  # type: ignore[attr-defined]
            if not item["name"]:
                form.add_error("name", f"Question {number}, key: give each question a key")
                continue
            checked = QuestionSerializer(data=item)
            if not checked.is_valid():
                name_errors(form, checked.errors, f"Question {number}")
            items.append(item)
        return items

    def payload(self) -> dict[str, Any] | None:
        """What the API would be sent, or None when a form or an item has an error (every
        part is checked, so one post shows every problem)."""
        form_ok = self.form.is_valid()
        attributes = questions = None
        descriptions: dict[str, str] = {}
        if self.attributes.is_valid():
            attributes, descriptions = self._names()
        if self.form.locked:
            # The names are fixed (disabled rows); the stored list goes to the API unchanged.
            attributes = list(self.study.attributes)  # type: ignore[union-attr]
        if self.questions.is_valid():
            questions = self._items()
        if not form_ok or attributes is None or questions is None or self.has_errors:
            return None
        data = self.form.cleaned_data
        payload = {name: data[name] for name in StudyForm.PLAIN if name in data}
        payload["screening"] = self.form.screening()
        payload["questionnaire"] = questions
        payload["attributes"] = attributes
        payload["attribute_descriptions"] = descriptions
        return payload

    def save(self) -> Study | None:
        """Validate and save as the API does; None (and errors on the forms) when refused."""
        payload = self.payload()
        if payload is None:
            return None
        serializer = StudySerializer(
            self.study,
            data=payload,
            partial=self.study is not None,
            context={"request": self.request},
        )
        if not serializer.is_valid():
            self._api_errors(serializer.errors)
            return None
        with transaction.atomic():
            if self.study is None:
                return serializer.save(owner=self.request.user)
            study = serializer.save()
            # Changed excerpt, target, rate or fades make prepared files stale (as the API).
            enqueue_preparation(study)
            return study

    def _api_errors(self, errors: dict[str, Any]) -> None:
        sections = {
            "attributes": "Attributes",
            "attribute_descriptions": "Attribute descriptions",
            "questionnaire": "Questionnaire",
            "screening": "Screening",
        }
        for key, messages in errors.items():
            messages = messages if isinstance(messages, list) else [messages]
            for message in messages:
                if key in sections:
                    self.errors.append(f"{sections[key]}: {message}")
                elif key in self.form.fields:
                    label = self.form.fields[key].label or key.replace("_", " ").capitalize()
                    self.form.add_error(key, f"{label}: {message}")
                else:
                    self.form.add_error(None, f"{key}: {message}")

    @property
    def attribute_rows(self) -> list[forms.Form]:
        return _in_order(self.attributes)

    @property
    def question_rows(self) -> list[forms.Form]:
        return _in_order(self.questions)

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or self.form.errors
            or any(f.errors for f in self.attributes.forms)
            or any(f.errors for f in self.questions.forms)
            or self.attributes.non_form_errors()
            or self.questions.non_form_errors()
        )


def _in_order(formset: Any) -> list[forms.Form]:
    """The rows as the researcher arranged them (a refused post shows them that way)."""
    if not formset.is_bound:
        return list(formset.forms)

    def position(pair: tuple[int, forms.Form]) -> tuple[float, int]:
        try:
            return float(pair[1]["ORDER"].value()), pair[0]
        except (TypeError, ValueError):
            return math.inf, pair[0]

    return [form for _, form in sorted(enumerate(formset.forms), key=position)]


def _kept(formset: Any) -> list[forms.Form]:
    """The formset's rows in their chosen order, without removed and blank ones."""
    rows = formset.ordered_forms if formset.can_order else formset.forms
    return [f for f in rows if not _blank(f)]


def _blank(form: forms.Form) -> bool:
    # Order, type and yes/no boxes have values in an untouched row: only text counts.
    texts = ("name", "description", "label", "help", "choices", "min", "max")
    return all(form.cleaned_data.get(k) in (None, "") for k in texts if k in form.fields)


def error_summary(builder: StudyBuilder) -> list[str]:
    """Every error of the builder, each naming its field (for the summary at the top)."""
    lines = list(builder.errors)

    def named(where: str, label: str, message: str) -> str:
        return message if message.startswith(where) else f"{where}, {label}: {message}"

    for name, messages in builder.form.errors.items():
        for message in map(str, messages):
            if name == "__all__":
                lines.append(message)
                continue
            label = str(builder.form.fields[name].label or name.replace("_", " ").capitalize())
            lines.append(message if message.startswith(label) else f"{label}: {message}")
    for kind, formset in (("Attribute", builder.attributes), ("Question", builder.questions)):
        lines += [f"{kind}s: {m}" for m in formset.non_form_errors()]
        for number, form in enumerate(formset.forms, start=1):
            for name, messages in form.errors.items():
                label = "" if name == "__all__" else str(form.fields[name].label or name)
                for message in map(str, messages):
                    where = f"{kind} {number}"
                    lines.append(named(where, label.lower(), message) if label else message)
    return lines
