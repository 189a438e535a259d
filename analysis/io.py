"""The file edge of :mod:`analysis`: read and write audio through soundfile.

Everything else in the package works on arrays; this module is the only one that
opens files. Reading returns an :class:`AudioFile` that carries the samples as a
``(samples, channels)`` float64 array plus what the container said about itself,
including whether the codec is lossy (which invalidates HFD, METRICS.md §5.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from analysis.audio import Audio, as_audio
from analysis.errors import EmptyAudioError, InvalidInputError, UnreadableAudioError

#: Containers the platform accepts (all decoded by libsndfile).
SUPPORTED_FORMATS = ("WAV", "WAVEX", "RF64", "W64", "FLAC", "AIFF", "OGG", "MP3", "CAF")
#: Codecs whose decoded samples are not the producer's samples.
LOSSY_SUBTYPES = frozenset({"MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS"})


@dataclass(frozen=True)
class AudioFile:
    """Decoded audio and what its container says about it.

    Attributes
    ----------
    samples : numpy.ndarray
        ``(samples, channels)`` float64 audio in [-1, 1] (floats may exceed it).
    rate : int
        Sample rate in Hz.
    format : str
        soundfile container name, e.g. ``"WAV"``, ``"FLAC"``, ``"MP3"``.
    subtype : str
        soundfile subtype (codec or sample format), e.g. ``"PCM_24"``, ``"VORBIS"``.
    lossy : bool
        True when the codec is lossy (MP3, Vorbis, Opus).
    path : str
        Where the audio was read from.
    """

    samples: Audio
    rate: int
    format: str
    subtype: str
    lossy: bool
    path: str

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return float(self.samples.shape[0] / self.rate)


def read_audio(path: str | os.PathLike[str]) -> AudioFile:
    """Read and validate an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        WAV, FLAC, AIFF, OGG (Vorbis/Opus), MP3 or CAF file.

    Returns
    -------
    AudioFile
        The decoded samples as ``(samples, channels)`` float64, and the container's facts.

    Raises
    ------
    UnreadableAudioError
        If the file is missing, not audio, corrupt, or in an unsupported container.
    EmptyAudioError
        If the file holds no samples.
    ChannelCountError
        If the file has more than two channels.

    Examples
    --------
    >>> audio = read_audio("mix.wav")  # doctest: +SKIP
    >>> audio.samples.shape, audio.rate  # doctest: +SKIP
    ((10584000, 2), 44100)
    """
    name = Path(path).name
    if not Path(path).is_file():
        raise UnreadableAudioError(f"{name}: no such file")
    if Path(path).stat().st_size == 0:
        raise EmptyAudioError(f"{name}: the file is empty (0 bytes)")
    try:
        with sf.SoundFile(os.fspath(path)) as f:
            fmt, subtype = f.format, f.subtype
            if fmt not in SUPPORTED_FORMATS:
                raise UnreadableAudioError(
                    f"{name}: unsupported audio format {fmt!r}; "
                    f"use one of {', '.join(SUPPORTED_FORMATS)}"
                )
            rate = int(f.samplerate)
            data = f.read(dtype="float64", always_2d=True)
    except sf.LibsndfileError as exc:
        raise UnreadableAudioError(
            f"{name}: not a readable audio file ({exc.error_string})"
        ) from exc
    except (RuntimeError, TypeError) as exc:  # libsndfile decode errors mid-stream
        raise UnreadableAudioError(f"{name}: corrupt audio data ({exc})") from exc
    if data.shape[0] == 0:
        raise EmptyAudioError(f"{name}: the file holds no samples")
    samples = as_audio(data, name=name)
    return AudioFile(
        samples=samples,
        rate=rate,
        format=fmt,
        subtype=subtype,
        lossy=subtype in LOSSY_SUBTYPES,
        path=os.fspath(path),
    )


def write_audio(
    path: str | os.PathLike[str],
    samples: Audio,
    rate: int,
    *,
    subtype: str = "PCM_24",
    format: str | None = None,
) -> None:
    """Write audio losslessly (FLAC or WAV, chosen by extension unless ``format`` is given).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    samples : numpy.ndarray
        ``(samples, channels)`` audio.
    rate : int
        Sample rate in Hz.
    subtype : str
        Sample format, ``"PCM_24"`` by default.
    format : str, optional
        soundfile container name; inferred from the extension when omitted.

    Raises
    ------
    InvalidInputError
        If samples would clip in an integer format (peak above 1.0).
    """
    x = as_audio(samples)
    if subtype.startswith("PCM") and float(np.max(np.abs(x))) > 1.0:
        raise InvalidInputError(
            f"refusing to write {Path(path).name}: peak {np.max(np.abs(x)):.3f} would clip"
        )
    sf.write(os.fspath(path), x, rate, subtype=subtype, format=format)
