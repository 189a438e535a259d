"""Which dithered copy of a prepared file a participant session is served.

Preparation writes, for every prepared file, a pool of copies with independent TPDF
dither (``Stimulus.prepared_pool``, all of the track's files padded to one size). The
server picks one per session and trial from a keyed hash, so:

- no two files of one trial share their bytes (the open and the hidden reference, A and
  ABX's X draw from the two halves of the pool);
- sessions get different bytes for the same version: a version's copy rotates with the
  session's sequence number, so any ``pool size / 2`` consecutive sessions never share a
  file's bytes, and two sessions further apart share one with probability about
  ``2 / pool size``;
- the choice depends on nothing the browser sees (the key is the server's secret), and
  every copy of every version has the same format, length and size, so it reveals no
  condition.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from listening.models import Condition

_SALT = b"listening.stimuli.playback_variants"


def _offset(*parts: object) -> int:
    """A keyed, stable pseudo-random number from ``parts`` (SECRET_KEY as the key)."""
    key = hashlib.sha256(_SALT + settings.SECRET_KEY.encode()).digest()
    message = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:8], "big")


def variant_index(session_id: int, stimulus_id: int, repeat: bool, pool_size: int) -> int:
    """Index in the pool of the copy a session plays of a stimulus.

    ``repeat`` is true for the condition that plays a version a second time in its trial
    (hidden reference, ABX's X); it draws from the other half of the pool, so the two
    files differ. With a pool of one copy, that copy.
    """
    if pool_size < 2:
        return 0
    half = pool_size // 2
    slot = (session_id + _offset(stimulus_id)) % half
    return 2 * slot + (1 if repeat else 0)


def session_variant(condition: Condition) -> Any:
    """The prepared file (a FieldFile) this condition serves to its session."""
    stimulus = condition.stimulus
    pool = list(stimulus.prepared_pool or [])
    if not pool:  # prepared before the pools: the playback file, or its one variant
        old = condition.role in condition.VARIANT_ROLES and bool(stimulus.prepared_variant)
        return stimulus.prepared_variant if old else stimulus.prepared
    repeat = condition.role in condition.VARIANT_ROLES
    index = variant_index(condition.trial.session_id, stimulus.pk, repeat, len(pool))
    field = stimulus._meta.get_field("prepared")
    return field.attr_class(stimulus, field, pool[index])
