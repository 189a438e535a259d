"""Typed errors of the analysis package.

Every error subclasses :class:`AnalysisError`; input problems also subclass
:class:`ValueError` so generic callers keep working. Messages name the problem and
quote the offending value, and are short enough to print as a one-line reason.
"""

from __future__ import annotations


class AnalysisError(Exception):
    """Base class of every error raised by :mod:`analysis`."""


class InvalidInputError(AnalysisError, ValueError):
    """The audio or a parameter cannot be used as given."""


class UnreadableAudioError(InvalidInputError):
    """A file is not audio, is corrupt, or is in a format that cannot be decoded."""


class EmptyAudioError(InvalidInputError):
    """A file or array holds no samples."""


class ChannelCountError(InvalidInputError):
    """Audio has more channels than supported (mono and stereo only)."""


class AudioTooLargeError(InvalidInputError):
    """Decoding a file would cost more than allowed (its header says so), or memory ran out.

    Parameters
    ----------
    message : str
        What the header states and which limit it passes.
    limit : str
        Which limit: ``"rate"``, ``"seconds"``, ``"bytes"`` or ``"memory"``.
    """

    def __init__(self, message: str, limit: str) -> None:
        self.limit = limit
        super().__init__(message)


class SilentAudioError(InvalidInputError):
    """Audio is digital silence where a metric needs signal."""


class TooShortError(InvalidInputError):
    """Audio is shorter than a metric needs.

    Parameters
    ----------
    metric : str
        The metric or step that needs more audio.
    seconds : float
        The duration available.
    required : float
        The minimum duration the metric needs.
    """

    def __init__(self, metric: str, seconds: float, required: float) -> None:
        self.metric = metric
        self.seconds = seconds
        self.required = required
        super().__init__(f"{metric} needs at least {required:g} s of audio, got {seconds:.3f} s")


class AlignmentError(AnalysisError):
    """A master cannot be aligned to its mix.

    Parameters
    ----------
    message : str
        What went wrong.
    best_correlation : float
        The best normalised correlation found, for the researcher to judge.
    """

    def __init__(self, message: str, best_correlation: float) -> None:
        self.best_correlation = best_correlation
        super().__init__(f"{message} (best correlation found: {best_correlation:.3f})")
