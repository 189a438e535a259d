"""The schema of a study's structured settings: questionnaire, screening and attributes.

One definition, written as DRF serializers (typed fields, ranges, cross-field rules),
used by every way a study's settings arrive: the API's serializer, the admin's study
form and ``import_study`` (both through ``Study.clean``), and ``Study.open``, which
refuses a study whose stored settings do not pass (written by an older version, or
straight into the database). The plain numeric settings (excerpt, loudness, trials,
repetitions) carry their ranges as validators on the model fields, which the admin,
``full_clean`` and the API's ModelSerializer all read.

Each ``clean_*`` function returns the normalised value (``"min": "0"`` becomes 0) or
raises Django's ValidationError with one readable message per problem, naming the item:
``item 1 ('age'): min: A valid integer is required.``
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from rest_framework import serializers

#: Questionnaire field types (listening.forms builds one form field per type).
QUESTION_TYPES = ("choice", "text", "textarea", "integer", "boolean")
MAX_QUESTIONS = 50
MAX_CHOICES = 50
#: Integer answers' bounds are kept within what every database stores in a JSON number.
INTEGER_LIMIT = 10**9
#: Headphone screening tests (analysis.stimuli.screening) and its bounds.
SCREENING_TESTS = ("antiphase", "huggins")
MAX_SCREENING_TRIALS = 20  # docs/stimuli.md recommends 6; each trial is a clip to generate
MAX_SCREENING_ATTEMPTS = 5  # docs/stimuli.md (Headphone screening) recommends at most 2
MAX_ATTRIBUTES = 8
MAX_ATTRIBUTE_LENGTH = 100


class _Strict(serializers.Serializer[dict[str, Any]]):
    """A serializer that refuses keys it does not know (a typo must not pass silently)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {"non_field_errors": [f"unknown key(s): {', '.join(unknown)}"]}
                )
        value: dict[str, Any] = super().to_internal_value(data)
        return value


class QuestionSerializer(_Strict):
    """One questionnaire field, as ``listening.forms.questionnaire_fields`` reads it."""

    # The name is a form field's name and a column of the sessions table (q_<name>).
    name = serializers.RegexField(
        r"^[A-Za-z][A-Za-z0-9_]{0,49}$",
        error_messages={
            "invalid": "use 1-50 letters, digits or _, starting with a letter",
        },
    )
    # (DRF takes declared fields off the class, so these names do not clash with Field's.)
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=300, required=False, allow_blank=True
    )
    type = serializers.ChoiceField(QUESTION_TYPES, required=False)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=MAX_CHOICES,
    )
    min = serializers.IntegerField(
        required=False, min_value=-INTEGER_LIMIT, max_value=INTEGER_LIMIT
    )
    max = serializers.IntegerField(
        required=False, min_value=-INTEGER_LIMIT, max_value=INTEGER_LIMIT
    )
    required = serializers.BooleanField(required=False)  # type: ignore[assignment]
    help = serializers.CharField(max_length=500, required=False, allow_blank=True)
    when = serializers.ChoiceField(("start", "final"), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("type", "text")
        if kind == "choice":
            choices = attrs.get("choices") or []
            if not choices:
                raise serializers.ValidationError("a choice field needs its choices")
            if len(set(choices)) != len(choices):
                raise serializers.ValidationError("choices must be unique")
        elif "choices" in attrs:
            raise serializers.ValidationError("choices are for choice fields only")
        if kind != "integer" and ("min" in attrs or "max" in attrs):
            raise serializers.ValidationError("min and max are for integer fields only")
        low, high = attrs.get("min"), attrs.get("max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(f"min ({low}) is above max ({high})")
        return attrs


class ScreeningSerializer(_Strict):
    """The headphone screening: which tests, trials per test, pass marks, attempts."""

    tests = serializers.ListField(
        child=serializers.ChoiceField(SCREENING_TESTS), required=False, max_length=2
    )
    trials_per_test = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_SCREENING_TRIALS
    )
    # One number for every test, or {test: number}.
    pass_mark = serializers.JSONField(required=False)
    attempts = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_SCREENING_ATTEMPTS
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from analysis.stimuli.screening import DEFAULT_TRIALS

        tests = attrs.get("tests", [])
        if len(set(tests)) != len(tests):
            raise serializers.ValidationError("tests: name each test once")
        trials = attrs.get("trials_per_test", DEFAULT_TRIALS)
        mark = attrs.get("pass_mark")
        if mark is None:
            return attrs
        marks = mark if isinstance(mark, dict) else dict.fromkeys(tests or SCREENING_TESTS, mark)
        if isinstance(mark, dict) and any(k not in tests for k in mark):
            raise serializers.ValidationError(
                f"pass_mark names a test that is not in tests: {sorted(set(mark) - set(tests))}"
            )
        for kind, value in marks.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise serializers.ValidationError(
                    f"pass_mark for {kind}: {value!r} must be a whole number of at least 1"
                )
            if value > trials:
                raise serializers.ValidationError(
                    f"pass_mark ({value}) is above trials_per_test ({trials})"
                )
        return attrs


def _messages(errors: Any, prefix: str = "") -> list[str]:
    """Flatten DRF's nested errors into readable lines (``field: message``)."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            where = "" if key == "non_field_errors" else f"{key}: "
            lines += _messages(value, prefix + where)
        return lines
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [prefix + str(e) for e in errors]
        lines = []
        for value in errors:
            if value:
                lines += _messages(value, prefix)
        return lines
    return [prefix + str(errors)]


def _item_messages(errors: Any, items: list[Any]) -> list[str]:
    # A list serializer reports {index: errors} (or one entry per item, by position).
    indexed = errors.items() if isinstance(errors, dict) else enumerate(errors)
    lines = []
    for i, error in sorted(indexed, key=lambda pair: pair[0]):
        if not error:
            continue
        item = items[i] if i < len(items) else None
        name = item.get("name") if isinstance(item, dict) else None
        label = f"item {i + 1}" + (f" ({name!r})" if isinstance(name, str) and name else "")
        lines += _messages(error, f"{label}: ")
    return lines


def clean_questionnaire(value: Any) -> list[dict[str, Any]]:
    """Return the questionnaire normalised, or raise ValidationError naming every problem."""
    if not isinstance(value, list):
        raise ValidationError(["Expected a list of items (one object per question)."])
    if len(value) > MAX_QUESTIONS:
        raise ValidationError([f"at most {MAX_QUESTIONS} questions, got {len(value)}"])
    serializer = QuestionSerializer(data=value, many=True)
    if not serializer.is_valid():
        raise ValidationError(_item_messages(serializer.errors, value))
    items: list[dict[str, Any]] = list(serializer.validated_data)
    seen: set[tuple[str, str]] = set()
    for item in items:
        key = (item.get("when", "start"), item["name"])
        if key in seen:
            raise ValidationError([f"the name {item['name']!r} is used twice ({key[0]})"])
        seen.add(key)
    return [dict(item) for item in items]


def clean_screening(value: Any) -> dict[str, Any]:
    """Return the screening settings normalised, or raise ValidationError with the reasons."""
    if not isinstance(value, dict):
        raise ValidationError(["Expected a dictionary of screening options."])
    serializer = ScreeningSerializer(data=value)
    if not serializer.is_valid():
        raise ValidationError(_messages(serializer.errors))
    return dict(serializer.validated_data)


def clean_attributes(value: Any) -> list[str]:
    """Return the rated attributes (stripped), or raise ValidationError with the reason."""
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise ValidationError(["attributes must be a list of names"])
    names = [a.strip() for a in value]
    if not names or len(names) > MAX_ATTRIBUTES:
        raise ValidationError(
            [f"give between 1 and {MAX_ATTRIBUTES} attributes, got {len(names)}"]
        )
    if any(not n or len(n) > MAX_ATTRIBUTE_LENGTH for n in names):
        raise ValidationError([f"attribute names must be 1-{MAX_ATTRIBUTE_LENGTH} characters"])
    if not all(n.isprintable() for n in names):
        raise ValidationError(["attribute names must be printable (no control characters)"])
    if len(set(names)) != len(names):
        raise ValidationError(["attribute names must be unique"])
    return names


#: Every structured setting and its cleaner.
CLEANERS: dict[str, Any] = {
    "questionnaire": clean_questionnaire,
    "screening": clean_screening,
    "attributes": clean_attributes,
}


def settings_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Check the structured settings among ``values``: {field: messages} of those that fail."""
    errors: dict[str, list[str]] = {}
    for name, clean in CLEANERS.items():
        if name in values:
            try:
                clean(values[name])
            except ValidationError as exc:
                errors[name] = exc.messages
    return errors


class StructuredSettingsMixin:
    """For the API's study serializer: validate and normalise each setting by the schema."""

    structured: ClassVar[tuple[str, ...]] = tuple(CLEANERS)

    def _clean(self, name: str, value: Any) -> Any:
        try:
            return CLEANERS[name](value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_questionnaire(self, value: Any) -> list[dict[str, Any]]:
        return self._clean("questionnaire", value)  # type: ignore[no-any-return]

    def validate_screening(self, value: Any) -> dict[str, Any]:
        return self._clean("screening", value)  # type: ignore[no-any-return]

    def validate_attributes(self, value: Any) -> list[str]:
        return self._clean("attributes", value)  # type: ignore[no-any-return]
