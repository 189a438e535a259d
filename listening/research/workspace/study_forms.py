"""The study builder's forms: typed fields for what the API takes as JSON.

The forms only collect and label; every rule comes from where the API gets it. Each
attribute and questionnaire item is checked alone by the schema of
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
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from listening.models import Study
from listening.models.paradigm_kinds import PARADIGM_CHOICES
from listening.models.study_settings import (
    MAX_ATTRIBUTES,
    MAX_QUESTIONS,
    QUESTION_TYPES,
    SCREENING_TESTS,
    QuestionSerializer,
    ScreeningSerializer,
    clean_attribute_descriptions,
    clean_attributes,
)
from listening.research.api.serializers import StudySerializer
from listening.stimuli.tasks import enqueue_preparation

#: What may not change once a study has opened (the API's rule, StudySerializer.validate).
LOCKED_AFTER_OPENING = (*Study.PREPARATION_FIELDS, "paradigm", "attributes")
QUESTION_TYPE_LABELS = {
    "text": "Text (one line)",
    "textarea": "Text (several lines)",
    "integer": "Whole number",
    "choice": "Choice",
    "boolean": "Yes / no",
}


class AttributeForm(forms.Form):
    """One rated attribute; its key (the participant pages' id) follows from the name."""

    name = forms.CharField(required=False, max_length=200, strip=True)
    description = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def key(self) -> str:
        value = self["name"].value() or ""
        return slugify(str(value)) or ""


class QuestionForm(forms.Form):
    """One questionnaire item, the fields of listening.models.study_settings.QuestionSerializer."""

    name = forms.CharField(label="Key (export column)", required=False, max_length=100)
    label = forms.CharField(label="Question", required=False, max_length=400)
    type = forms.ChoiceField(
        choices=[(t, QUESTION_TYPE_LABELS[t]) for t in QUESTION_TYPES], initial="text"
    )
    choices = forms.CharField(
        label="Options (one a line)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    min = forms.IntegerField(label="Minimum", required=False)
    max = forms.IntegerField(label="Maximum", required=False)
    help = forms.CharField(label="Hint under the question", required=False, max_length=600)
    required = forms.BooleanField(label="Answer required", required=False, initial=True)
    when = forms.ChoiceField(
        label="Asked", choices=[("start", "Before the trials"), ("final", "After the trials")]
    )

    def item(self) -> dict[str, Any]:
        """The item as the study stores it (only the fields that were given)."""
        data = self.cleaned_data
        item: dict[str, Any] = {"name": data["name"].strip(), "type": data["type"]}
        for text in ("label", "help"):
            if data[text].strip():
                item[text] = data[text].strip()
        lines = [line.strip() for line in data["choices"].splitlines() if line.strip()]
        if lines or data["type"] == "choice":
            item["choices"] = lines
        for bound in ("min", "max"):
            if data[bound] is not None:
                item[bound] = data[bound]
        item["required"] = data["required"]
        if data["when"] != "start":
            item["when"] = data["when"]
        return item

    @staticmethod
    def initial_for(item: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": item.get("name", ""),
            "label": item.get("label", ""),
            "help": item.get("help", ""),
            "type": item.get("type", "text"),
            "choices": "\n".join(item.get("choices", [])),
            "min": item.get("min"),
            "max": item.get("max"),
            "required": item.get("required", True),
            "when": item.get("when", "start"),
        }


AttributeFormSet = forms.formset_factory(
    AttributeForm, extra=1, can_order=True, can_delete=True, max_num=MAX_ATTRIBUTES
)
#: An open study's attributes: names fixed (as the API), descriptions still editable.
FixedAttributeFormSet = forms.formset_factory(AttributeForm, extra=0, max_num=MAX_ATTRIBUTES)
QuestionFormSet = forms.formset_factory(
    QuestionForm, extra=1, can_order=True, can_delete=True, max_num=MAX_QUESTIONS
)


class StudyForm(forms.Form):
    """A study's settings, in sections; attributes and questions come from two formsets."""

    title = forms.CharField(max_length=200, help_text="For researchers only.")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="For researchers only."
    )
    public_title = forms.CharField(
        required=False,
        max_length=200,
        help_text="What participants see. Name no system, service or version here.",
    )
    public_description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What participants read on the first page. Name no system or service.",
    )
    paradigm = forms.ChoiceField(choices=PARADIGM_CHOICES)
    reference_mode = forms.ChoiceField(choices=Study.ReferenceMode.choices)
    anchors = forms.BooleanField(
        required=False, label="Low-pass anchors (3.5 kHz and 7 kHz, ITU-R BS.1534)"
    )
    loudness_target_lufs = forms.FloatField(label="Loudness target (LUFS)")
    true_peak_ceiling_dbtp = forms.FloatField(label="True-peak ceiling (dBTP)")
    sample_rate = forms.TypedChoiceField(label="Playback sample rate (Hz)", coerce=int)
    excerpt_start = forms.FloatField(label="Excerpt start (s, in the mix's timeline)")
    excerpt_length = forms.FloatField(label="Excerpt length (s)")
    fade_ms = forms.FloatField(label="Fade in and out (ms)")
    playback_bit_depth = forms.TypedChoiceField(
        label="Playback files", coerce=int, choices=Study.PlaybackBitDepth.choices
    )
    accept_mono = forms.BooleanField(
        required=False, label="Accept mono uploads (they play as dual mono and are flagged)"
    )
    accept_lossy = forms.BooleanField(
        required=False, label="Accept lossy uploads (MP3, Ogg, Opus; flagged)"
    )
    trials_per_participant = forms.IntegerField(
        required=False, label="Trials per participant", help_text="Empty: every track."
    )
    balancing = forms.ChoiceField(label="Orders", choices=Study.Balancing.choices)
    abx_repetitions = forms.IntegerField(label="ABX repetitions per track")
    ab_allow_no_preference = forms.BooleanField(
        required=False, label="A/B: allow \u201cno preference\u201d"
    )
    must_play_all = forms.BooleanField(required=False, label="Every version played")
    must_move_all = forms.BooleanField(required=False, label="Every MUSHRA slider moved")
    require_100 = forms.BooleanField(
        required=False, label="MUSHRA with a reference: one version rated 100 per attribute"
    )
    min_listen_seconds = forms.FloatField(label="Listening time that counts as played (s)")
    screening_tests = forms.MultipleChoiceField(
        label="Headphone tests",
        required=False,
        choices=[(t, t.capitalize()) for t in SCREENING_TESTS],
        widget=forms.CheckboxSelectMultiple,
    )
    screening_trials_per_test = forms.IntegerField(label="Trials per test", required=False)
    screening_pass_mark = forms.IntegerField(label="Pass mark (trials right)", required=False)
    screening_attempts = forms.IntegerField(label="Attempts", required=False)
    consent_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    instructions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    completion_code = forms.CharField(
        required=False,
        max_length=64,
        help_text="The code Prolific expects (empty: each participant gets their own code).",
    )
    redirect_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Completion URL",
        help_text="Where participants go when done, e.g. Prolific's completion link.",
    )

    #: Model fields written from this form's fields of the same name.
    PLAIN = (
        "title",
        "description",
        "public_title",
        "public_description",
        "paradigm",
        *Study.PREPARATION_FIELDS,
        *Study.TRIAL_FIELDS,
        "consent_text",
        "instructions",
        "completion_code",
        "redirect_url",
    )

    def __init__(self, *args: Any, study: Study | None = None, **kwargs: Any) -> None:
        self.study = study
        if study is not None:
            kwargs.setdefault("initial", initial_for(study))
        else:
            kwargs.setdefault("initial", initial_for(Study()))
        super().__init__(*args, **kwargs)
        self.fields["sample_rate"].choices = [  # type: ignore[attr-defined]
            (rate, f"{rate}") for rate in settings.LISTENING_SAMPLE_RATES
        ]
        if study is not None and not study.is_draft:
            for name in LOCKED_AFTER_OPENING:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = f"Fixed: the study is {study.status}."

    @property
    def locked(self) -> bool:
        return self.study is not None and not self.study.is_draft

    def screening(self) -> dict[str, Any]:
        data = self.cleaned_data
        value: dict[str, Any] = {"tests": list(data.get("screening_tests") or [])}
        for key in ("trials_per_test", "pass_mark", "attempts"):
            if data.get(f"screening_{key}") is not None:
                value[key] = data[f"screening_{key}"]
        stored = self.study.screening if self.study is not None else None
        # One pass mark per test (API only) has no field here: keep it, never drop it.
        if (
            "pass_mark" not in value
            and isinstance(stored, dict)
            and isinstance(stored.get("pass_mark"), dict)
        ):
            value["pass_mark"] = stored["pass_mark"]
        return value

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if self.errors:
            return data
        screening = ScreeningSerializer(data=self.screening())
        if not screening.is_valid():
            _name_errors(self, screening.errors, "Screening", prefix="screening_")
        return data


def initial_for(study: Study) -> dict[str, Any]:
    """The form's initial values from a study (a new one: the model's defaults)."""
    initial = {name: getattr(study, name) for name in StudyForm.PLAIN}
    config = study.screening if isinstance(study.screening, dict) else {}
    initial["screening_tests"] = config.get("tests", [])
    for key in ("trials_per_test", "pass_mark", "attempts"):
        value = config.get(key)
        initial[f"screening_{key}"] = value if isinstance(value, int) else None
    return initial


def _name_errors(
    form: forms.Form, errors: Any, where: str, *, prefix: str = "", fields: Any = None
) -> None:
    """Put DRF-style errors on the form's fields, each message naming where it belongs."""
    fields = fields if fields is not None else form.fields
    items = errors.items() if isinstance(errors, dict) else [("non_field_errors", errors)]
    for key, messages in items:
        messages = messages if isinstance(messages, list) else [messages]
        field = f"{prefix}{key}"
        for message in messages:
            text = str(message)
            if key != "non_field_errors" and field in fields:
                label = str(fields[field].label or key).lower()
                form.add_error(field, f"{where}, {label}: {text}")
            else:
                form.add_error(None, f"{where}: {text}")


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
                _name_errors(form, checked.errors, f"Question {number}")
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
