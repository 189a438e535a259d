"""The language of a participant's pages: picked once per session, kept for its whole life.

A study offers some of the shipped languages (``Study.languages``, codes of
``settings.LANGUAGES``). When a session starts, the browser's Accept-Language picks the
first of them it accepts (``de-DE`` accepts ``de``); a browser that accepts none gets
English when the study offers it, else the study's first language. The choice is stored
on the session (``Session.language``) so that a resume, another tab or a changed browser
setting never switches the language mid-study. The LocaleMiddleware is deliberately not
used: its choice follows every request's header (or a cookie), not the session.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header

from listening.models import Session, Study

DEFAULT = "en"


def shipped() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def offered(study: Study | None) -> list[str]:
    """The study's languages that ship with the platform, in the study's order."""
    if study is None:
        return shipped()
    codes = study.languages if isinstance(study.languages, list) else []
    known = [code for code in codes if code in shipped()]
    return known or [DEFAULT]


def from_browser(request: HttpRequest, choices: list[str]) -> str:
    """The first of ``choices`` the request's Accept-Language accepts, else the fallback."""
    header = request.headers.get("Accept-Language", "")
    for tag, _quality in parse_accept_lang_header(header[:1000]):
        if tag == "*":
            break
        tag = tag.lower()
        for candidate in (tag, tag.split("-")[0]):
            if candidate in choices:
                return candidate
    return DEFAULT if DEFAULT in choices else choices[0]


def for_study(request: HttpRequest, study: Study | None) -> str:
    """The language of a page shown before a session exists (a study's landing page)."""
    return from_browser(request, offered(study))


def for_session(request: HttpRequest, session: Session) -> str:
    """The session's language; a session started before languages existed gets one now."""
    if session.language:
        try:
            return get_supported_language_variant(session.language)
        except LookupError:  # a language removed from the settings since
            return DEFAULT
    session.language = for_study(request, session.study)
    Session.objects.filter(pk=session.pk, language="").update(language=session.language)
    return session.language
