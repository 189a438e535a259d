"""The file edge of :mod:`analysis`: read and write audio through soundfile.

Everything else in the package works on arrays; this module is the only one that
opens files. Reading returns an :class:`AudioFile` that carries the samples as a
``(samples, channels)`` float64 array plus what the container said about itself,
including whether the codec is lossy (which invalidates HFD, docs/metrics.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from analysis.audio import MAX_CHANNELS, Audio, as_audio
from analysis.errors import (
    AudioTooLargeError,
    ChannelCountError,
    EmptyAudioError,
    InvalidInputError,
    UnreadableAudioError,
)

#: Containers the platform accepts (all decoded by libsndfile).
SUPPORTED_FORMATS = ("WAV", "WAVEX", "RF64", "W64", "FLAC", "AIFF", "OGG", "MP3", "CAF")
#: Codecs whose decoded samples are not the producer's samples.
LOSSY_SUBTYPES = frozenset({"MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS"})
#: Decoded samples are float64.
BYTES_PER_SAMPLE = 8
#: libsndfile's frame count for a stream that does not state its length (e.g. a FLAC
#: whose STREAMINFO says 0 samples): anything this large is "unknown".
_UNKNOWN_FRAMES = 2**62


@dataclass(frozen=True)
class AudioHeader:
    """What a file's header says, before any sample is decoded.

    Attributes
    ----------
    rate : int
        Sample rate in Hz.
    channels : int
        Number of channels.
    frames : int or None
        Frames (samples per channel) the header states; None when the stream does not
        state its length. For MP3 this is the decoder's estimate.
    format, subtype : str
        soundfile's container and codec names.
    """

    rate: int
    channels: int
    frames: int | None
    format: str
    subtype: str

    @property
    def decoded_bytes(self) -> int | None:
        """Bytes the decoded ``(frames, channels)`` float64 array takes (None if unknown)."""
        if self.frames is None:
            return None
        return self.frames * self.channels * BYTES_PER_SAMPLE

    @property
    def seconds(self) -> float | None:
        """Duration the header states (None if unknown or the rate is zero)."""
        if self.frames is None or self.rate <= 0:
            return None
        return self.frames / self.rate


@dataclass(frozen=True)
class DecodeLimits:
    """What decoding one file may cost, checked from its header before any allocation.

    Attributes
    ----------
    max_rate, min_rate : int
        Accepted sample rates in Hz (inclusive).
    max_seconds : float or None
        Longest duration.
    max_bytes : int or None
        Largest decoded array, ``frames * channels * 8`` bytes (float64).
    """

    max_rate: int = 192_000
    min_rate: int = 8_000
    max_seconds: float | None = None
    max_bytes: int | None = None


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def check_header(header: AudioHeader, limits: DecodeLimits, *, name: str) -> None:
    """Refuse a file whose header states more than ``limits`` allow.

    Parameters
    ----------
    header : AudioHeader
        From :func:`read_header`.
    limits : DecodeLimits
        The bounds.
    name : str
        The file's name, for the message.

    Raises
    ------
    ChannelCountError
        If the header states more than two channels.
    AudioTooLargeError
        If the rate, the duration or the decoded size is out of bounds (``limit`` says which).
    """
    _check_channels(header, name)
    if not limits.min_rate <= header.rate <= limits.max_rate:
        raise AudioTooLargeError(
            f"{name}: {header.rate} Hz is outside the accepted sample rates "
            f"({limits.min_rate}-{limits.max_rate} Hz)",
            "rate",
        )
    seconds = header.seconds
    if limits.max_seconds is not None and seconds is not None and seconds > limits.max_seconds:
        raise AudioTooLargeError(
            f"{name}: {seconds / 60:.1f} minutes of audio is above the limit of "
            f"{limits.max_seconds / 60:g} minutes",
            "seconds",
        )
    size = header.decoded_bytes
    if limits.max_bytes is not None and size is not None and size > limits.max_bytes:
        raise AudioTooLargeError(
            f"{name}: {header.frames} frames x {header.channels} channels decode to "
            f"{_gib(size)}, above the limit of {_gib(limits.max_bytes)}",
            "bytes",
        )


def _check_channels(header: AudioHeader, name: str) -> None:
    if header.channels > MAX_CHANNELS:
        raise ChannelCountError(
            f"{name} has {header.channels} channels; only mono and stereo are supported"
        )


def _header(f: sf.SoundFile) -> AudioHeader:
    frames = int(f.frames)
    return AudioHeader(
        rate=int(f.samplerate),
        channels=int(f.channels),
        frames=None if frames >= _UNKNOWN_FRAMES or frames < 0 else frames,
        format=f.format,
        subtype=f.subtype,
    )


def read_header(path: str | os.PathLike[str]) -> AudioHeader:
    """Read what a file's header says without decoding any sample.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file.

    Returns
    -------
    AudioHeader
        Rate, channels, frames (None when not stated), format and codec.

    Raises
    ------
    UnreadableAudioError
        If the file is missing or not audio.

    Examples
    --------
    >>> read_header("mix.flac").decoded_bytes  # doctest: +SKIP
    84672000
    """
    name = Path(path).name
    try:
        with sf.SoundFile(os.fspath(path)) as f:
            return _header(f)
    except sf.LibsndfileError as exc:
        raise UnreadableAudioError(
            f"{name}: not a readable audio file ({exc.error_string})"
        ) from exc
    except (RuntimeError, TypeError) as exc:
        raise UnreadableAudioError(f"{name}: corrupt audio data ({exc})") from exc


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


def read_audio(path: str | os.PathLike[str], *, limits: DecodeLimits | None = None) -> AudioFile:
    """Read and validate an audio file.

    The header is checked before anything is decoded: more than two channels are refused,
    and so is anything beyond ``limits`` (a crafted header can make a few kB decode to
    gigabytes). The decoded array never exceeds what the header states (libsndfile stops
    there); a stream that states no length is refused.

    Parameters
    ----------
    path : str or os.PathLike
        WAV, FLAC, AIFF, OGG (Vorbis/Opus), MP3 or CAF file.
    limits : DecodeLimits, optional
        Bounds on rate, duration and decoded size; None decodes whatever the file holds.

    Returns
    -------
    AudioFile
        The decoded samples as ``(samples, channels)`` float64, and the container's facts.

    Raises
    ------
    UnreadableAudioError
        If the file is missing, not audio, corrupt, in an unsupported container, or does
        not state its length.
    EmptyAudioError
        If the file holds no samples.
    ChannelCountError
        If the file has more than two channels.
    AudioTooLargeError
        If decoding would pass ``limits``, or memory runs out.

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
            header = _header(f)
            if limits is not None:
                check_header(header, limits, name=name)
            else:
                _check_channels(header, name)
            if header.frames is None:
                # libsndfile cannot seek in such a stream, so it cannot be read in bounded
                # blocks either (and a whole read would allocate for 2**63 frames).
                raise UnreadableAudioError(
                    f"{name}: the file does not state its length; re-encode it so that its "
                    "header does (e.g. with flac or ffmpeg)"
                )
            rate = header.rate
            data = f.read(dtype="float64", always_2d=True)
    except MemoryError:
        raise AudioTooLargeError(
            f"{name}: not enough memory to decode the audio", "memory"
        ) from None
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
