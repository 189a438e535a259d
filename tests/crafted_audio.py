"""Audio files with lying headers, made in the test from a small valid file.

Each function writes one second of seeded noise in its format, then rewrites the header
fields that say how much decoding will cost: the sample rate, the channel count and the
frame count (WAV fmt/data, FLAC STREAMINFO, Ogg Vorbis identification header and the
last page's granule position with the page checksums redone, the MP3 Xing frame count,
AIFF COMM). Nothing here is larger than a few hundred kB.
"""

from __future__ import annotations

import io
import math
import struct

import numpy as np
import soundfile as sf


def encode(fmt: str, subtype: str, *, rate: int = 48000, seconds: float = 1.0) -> bytearray:
    noise = np.random.default_rng(7).uniform(-0.5, 0.5, (int(rate * seconds), 2))
    buffer = io.BytesIO()
    sf.write(buffer, noise, rate, format=fmt, subtype=subtype)
    return bytearray(buffer.getvalue())


def wav(
    *, rate: int | None = None, channels: int | None = None, data_bytes: int | None = None
) -> bytes:
    data = encode("WAV", "PCM_16")
    if channels is not None:
        data[22:24] = struct.pack("<H", channels)
    if rate is not None:
        data[24:28] = struct.pack("<I", rate)
    if data_bytes is not None:
        data[40:44] = struct.pack("<I", data_bytes)
    return bytes(data)


def flac(
    *, rate: int | None = None, channels: int | None = None, frames: int | None = None,
    seconds: float = 1.0,
) -> bytes:  # fmt: skip
    data = encode("FLAC", "PCM_16", seconds=seconds)
    # STREAMINFO after "fLaC" and its 4-byte block header: 10 bytes of block and frame
    # sizes, then 64 bits of rate (20), channels - 1 (3), bits - 1 (5), total samples (36).
    fields = int.from_bytes(data[18:26], "big")
    old_rate, old_channels = fields >> 44, (fields >> 41) & 7
    bits, old_frames = (fields >> 36) & 31, fields & (2**36 - 1)
    fields = (
        (old_rate if rate is None else rate) << 44
        | (old_channels if channels is None else channels - 1) << 41
        | bits << 36
        | (old_frames if frames is None else frames)
    )
    data[18:26] = fields.to_bytes(8, "big")
    return bytes(data)


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_pages(data: bytearray) -> list[tuple[int, int]]:
    pages, pos = [], 0
    while pos < len(data):
        segments = data[pos + 26]
        end = pos + 27 + segments + sum(data[pos + 27 : pos + 27 + segments])
        pages.append((pos, end))
        pos = end
    return pages


def ogg(
    *, rate: int | None = None, channels: int | None = None, frames: int | None = None
) -> bytes:
    data = encode("OGG", "VORBIS")
    ident = data.index(b"\x01vorbis")
    if channels is not None:
        data[ident + 11] = channels
    if rate is not None:
        data[ident + 12 : ident + 16] = struct.pack("<I", rate)
    pages = _ogg_pages(data)
    if frames is not None:  # libsndfile takes the length from the last granule position
        last = pages[-1][0]
        data[last + 6 : last + 14] = struct.pack("<q", frames)
    for start, end in pages:
        data[start + 22 : start + 26] = bytes(4)
        data[start + 22 : start + 26] = struct.pack("<I", _ogg_crc(bytes(data[start:end])))
    return bytes(data)


def mp3(*, frames: int | None = None) -> bytes:
    """MPEG headers can state only 8-48 kHz and stereo; the Xing tag states the length."""
    data = encode("MP3", "MPEG_LAYER_III")
    xing = data.index(b"Xing")
    if frames is not None:  # in MPEG frames of 1152 samples
        data[xing + 8 : xing + 12] = struct.pack(">I", frames)
    return bytes(data)


def _extended(value: float) -> bytes:
    mantissa, exponent = math.frexp(value)
    return struct.pack(">HQ", exponent - 1 + 16383, int(mantissa * 2 * 2**63))


def aiff(
    *, rate: int | None = None, channels: int | None = None, frames: int | None = None
) -> bytes:
    data = encode("AIFF", "PCM_16")
    comm = data.index(b"COMM") + 8
    if channels is not None:
        data[comm : comm + 2] = struct.pack(">H", channels)
    if frames is not None:
        data[comm + 2 : comm + 6] = struct.pack(">I", frames)
    if rate is not None:
        data[comm + 8 : comm + 18] = _extended(rate)
    return bytes(data)


def info(data: bytes) -> sf._SoundFileInfo:
    """What libsndfile reads from the header."""
    return sf.info(io.BytesIO(data))
