"""What a participant reads on a page: its visible text nodes, and which of them are English.

``visible_texts`` collects the text nodes a browser shows (and the labels it reads aloud:
aria-label, title, alt, placeholder), leaving out scripts and styles. ``untranslated``
compares a page in another language with the same page in English: a text found
identically in both is untranslated unless it carries no words (numbers, codes,
punctuation), is one of the study's own texts, or is a catalogue entry whose translation
is deliberately the same word (Spanish "No", the letters A and B, "MUSHRA").
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import polib

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = ("de", "es")
#: Attributes whose text a person hears or reads.
READ_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder", "aria-valuetext")
WORD = re.compile(r"[^\W\d_]{2,}")


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.hidden = 0
        self.html_lang: str | None = None
        self.json: dict[str, str] = {}
        self._json_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        if tag in ("script", "style"):
            self.hidden += 1
            self._json_id = values.get("id") if values.get("type") == "application/json" else None
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.texts.append(" ".join(str(values[name]).split()))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1
            self._json_id = None

    def handle_data(self, data: str) -> None:
        if self.hidden:
            if self._json_id:
                self.json[self._json_id] = self.json.get(self._json_id, "") + data
            return
        text = " ".join(data.split())
        if text:
            self.texts.append(text)


def parse(html: str) -> _Texts:
    parser = _Texts()
    parser.feed(html)
    parser.close()
    return parser


def visible_texts(html: str) -> list[str]:
    return parse(html).texts


def page_json(html: str, element_id: str) -> object:
    return json.loads(parse(html).json[element_id])


def same_in_translation(language: str) -> set[str]:
    """Catalogue texts whose translation is the very same text (e.g. Spanish "No")."""
    po = polib.pofile(str(REPO / "locale" / language / "LC_MESSAGES" / "django.po"))
    return {entry.msgid for entry in po if entry.msgstr == entry.msgid}


def untranslated(english: str, translated: str, language: str, allowed: set[str]) -> list[str]:
    """The texts of the ``translated`` page that are still the English page's words."""
    english_texts = set(visible_texts(english))
    same = same_in_translation(language) | allowed
    return [
        text
        for text in visible_texts(translated)
        if text in english_texts and WORD.search(text) and text not in same
    ]
