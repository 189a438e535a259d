"""The paradigms a study may use, as data: names and labels, no behaviour.

The model field's choices come from here, so the models need no paradigm code; each
paradigm class in ``listening.participant.paradigms`` takes its label from here, and
``tests/listening/participant/test_paradigms.py`` checks the registry offers exactly these kinds.
"""

from __future__ import annotations

PARADIGM_LABELS: dict[str, str] = {
    "mushra": "MUSHRA (multi-stimulus rating, ITU-R BS.1534-3 / BS.2132)",
    "abx": "ABX (can listeners tell the AI master from the human master?)",
    "ab": "AB preference (which master do listeners prefer?)",
}

PARADIGM_CHOICES = list(PARADIGM_LABELS.items())
