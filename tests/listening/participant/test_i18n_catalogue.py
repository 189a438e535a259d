"""The translation catalogues: complete, not fuzzy, placeholders kept, in step with the scripts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils import translation

from listening.participant.strings import SCRIPT_STRINGS, page_strings
from tests.listening.i18n_pages import LANGUAGES, REPO

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]|\{(\w+)\}")


def catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(REPO / "locale" / language / "LC_MESSAGES" / "django.po"))


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def script_literals() -> set[str]:
    """Every text the participant scripts pass to t('...')."""
    found = set()
    for path in sorted((REPO / "static" / "participant").glob("*.js")):
        found |= set(re.findall(r"\bt\('((?:[^'\\]|\\.)*)'", path.read_text()))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    po = catalogue(language)
    assert not po.metadata_is_fuzzy
    assert po.metadata["Language"] == language
    assert "nplurals=2" in po.metadata["Plural-Forms"]
    assert len(po) >= 150
    empty = [e.msgid for e in po if not (e.msgstr or all(e.msgstr_plural.values()))]
    plural_gaps = [e.msgid for e in po if e.msgid_plural and not all(e.msgstr_plural.values())]
    assert not empty
    assert not plural_gaps
    assert not [e.msgid for e in po if e.fuzzy]
    assert not [e.msgid for e in po if e.obsolete]
    assert po.percent_translated() == 100


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder(language: str) -> None:
    for entry in catalogue(language):
        translations = [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values()
        for text in translations:
            assert placeholders(text) == placeholders(entry.msgid), (entry.msgid, text)
            assert text.count("<strong>") == entry.msgid.count("<strong>"), entry.msgid


def test_both_languages_translate_the_same_texts() -> None:
    ids = [{(e.msgid, e.msgid_plural) for e in catalogue(lang)} for lang in LANGUAGES]
    assert all(i == ids[0] for i in ids)


def test_the_script_texts_are_the_scripts_own() -> None:
    """Every t('...') of the scripts is listed (so it is translated), and nothing else is."""
    listed = set(SCRIPT_STRINGS)
    # Looked up through a variable: the MUSHRA scale's bands and save.js's statuses.
    indirect = {"Bad", "Poor", "Fair", "Good", "Excellent", "All answers saved"}
    indirect |= {
        "Connection problem: retrying. Your answers are kept in this browser.",
        "You are offline. Your answers are kept and will be sent when the connection returns.",
        "An answer could not be saved.",
    }
    assert script_literals() | indirect == listed
    save = (REPO / "static" / "participant" / "save.js").read_text()
    mushra = (REPO / "static" / "participant" / "mushra.js").read_text()
    for text in indirect:
        assert f"'{text}'" in save + mushra, text
    assert len(SCRIPT_STRINGS) == len(listed)
    for language in LANGUAGES:
        msgids = {e.msgid for e in catalogue(language)}
        assert listed <= msgids, listed - msgids


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [("de", "Next", "Weiter"), ("es", "Next", "Siguiente"), ("en", "Next", "Next")],
)
def test_the_compiled_catalogue_is_used(language: str, text: str, expected: str) -> None:
    with translation.override(language):
        assert page_strings()[text] == expected


def test_plurals_follow_the_count() -> None:
    singular = "Rate every version on every quality (%(count)s rating missing)."
    plural = "Rate every version on every quality (%(count)s ratings missing)."
    with translation.override("de"):
        assert translation.ngettext(singular, plural, 1) % {"count": 1} == (
            "Bewerten Sie jede Version in jedem Merkmal (1 Bewertung fehlt)."
        )
        assert translation.ngettext(singular, plural, 3) % {"count": 3} == (
            "Bewerten Sie jede Version in jedem Merkmal (3 Bewertungen fehlen)."
        )
    with translation.override("es"):
        assert "faltan 3 puntuaciones" in translation.ngettext(singular, plural, 3) % {"count": 3}


#: What `makemessages` reads for the participant catalogue (README, Languages).
IGNORED = (".venv/*", "var/*", "staticfiles/*", "tests/*", "listening/research/workspace/*")
IGNORED += ("templates/workspace/*", "benchmarks/*", "scripts/*", "analysis/*", "docs/*")


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext: make gettext-deps")
def test_the_catalogue_is_in_step_with_the_sources(tmp_path: Path) -> None:
    """Extract the texts again from a copy of the sources: none missing, none left over."""
    for name in ("manage.py", "config", "listening", "templates", "static"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale" / "de" / "LC_MESSAGES").mkdir(parents=True)
    command = [sys.executable, "manage.py", "makemessages", "-l", "de", "--no-location"]
    command += [f"--ignore={pattern}" for pattern in IGNORED]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, env=env)
    extracted = polib.pofile(str(tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.po"))
    fresh = {(e.msgid, e.msgid_plural) for e in extracted}
    for language in LANGUAGES:
        shipped = {(e.msgid, e.msgid_plural) for e in catalogue(language)}
        assert not fresh - shipped, f"{language}: not in the catalogue: {sorted(fresh - shipped)}"
        assert not shipped - fresh, f"{language}: no longer used: {sorted(shipped - fresh)}"
