"""The error of a participant request the session's rules refuse.

Raised by the models and by the paradigms; the answer views turn it into JSON.
"""

from __future__ import annotations


class AnswerError(Exception):
    """A participant request that changes nothing; ``detail`` says why, in plain words."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
