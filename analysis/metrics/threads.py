"""Map a function over channels or chunks on a few threads (the numeric kernels release the GIL)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def pmap(fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """Map ``fn`` over ``items`` on a few threads (the numeric kernels release the GIL)."""
    work = list(items)
    if len(work) <= 1 or _workers() == 1:
        return [fn(item) for item in work]
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        return list(pool.map(fn, work))
