"""Equal file sizes: pad the FLAC files of a trial to one byte size.

Sizes would otherwise tell a curious participant which condition is which (a low-passed
anchor compresses better); decoders skip PADDING blocks, so the audio is unchanged.
"""

from __future__ import annotations

from pathlib import Path

_FLAC_PADDING = 1
_MAX_BLOCK = (1 << 24) - 1


def pad_flac_files(paths: list[Path]) -> int:
    """Give FLAC files one byte size by appending PADDING metadata blocks; return the size.

    Sizes would otherwise tell a curious participant which condition is the low-passed
    anchor (it compresses better). Decoders skip PADDING blocks, so the audio is unchanged.
    """
    blobs = [p.read_bytes() for p in paths]
    target = max(len(b) for b in blobs) + 4  # every file gets at least an empty block
    for path, blob in zip(paths, blobs, strict=True):
        path.write_bytes(_with_padding(blob, target - len(blob)))
    return target


def _with_padding(blob: bytes, extra: int) -> bytes:
    if blob[:4] != b"fLaC":
        raise ValueError("not a FLAC stream")
    pos = 4
    while True:  # find the last metadata block
        header = blob[pos]
        length = int.from_bytes(blob[pos + 1 : pos + 4], "big")
        if header & 0x80:
            break
        pos += 4 + length
    end = pos + 4 + length
    head = bytearray(blob[:end])
    head[pos] = header & 0x7F  # no longer the last block
    blocks = bytearray()
    while extra > 0:
        body = min(extra - 4, _MAX_BLOCK)
        extra -= 4 + body
        if 0 < extra < 4:  # never leave a remainder too small for a block header
            body -= 4 - extra
            extra = 4
        last = 0x80 if extra == 0 else 0
        blocks += bytes([last | _FLAC_PADDING]) + body.to_bytes(3, "big") + bytes(body)
    return bytes(head) + bytes(blocks) + blob[end:]
