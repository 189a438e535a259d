"""What a researcher hands out to start a study: its link, the Prolific URL and a QR code."""

from __future__ import annotations

from typing import Any

import segno
from django.http import HttpRequest

from listening.models import Study
from listening.participant.pages import EXTERNAL_IDS

#: Prolific's placeholders, under the names the landing page reads:
#: PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}.
PROLIFIC_QUERY = "&".join(f"{name}={{{{%{name}%}}}}" for name in EXTERNAL_IDS)
#: Prolific's completion link; its code goes in ``cc``.
PROLIFIC_COMPLETION = "https://app.prolific.com/submissions/complete?cc={code}"


def qr_svg(text: str) -> str:
    """An SVG QR code of ``text`` (inline markup: no script, no external reference)."""
    code = segno.make(text, error="m")
    svg: str = code.svg_inline(scale=4, border=2, dark="#000", light="#fff", title=None)
    return svg


def launch_links(request: HttpRequest, study: Study) -> dict[str, Any]:
    """The participant link (absolute, on the host the researcher reached), the Prolific
    study URL, the completion code and URL Prolific needs, and the link's QR code."""
    link = request.build_absolute_uri(study.participant_path())
    code = study.completion_code
    return {
        "participant": link,
        "prolific": f"{link}?{PROLIFIC_QUERY}",
        "completion_code": code,
        "completion_url": PROLIFIC_COMPLETION.format(code=code) if code else "",
        "redirect_url": study.redirect_url,
        "qr_svg": qr_svg(link),
    }
