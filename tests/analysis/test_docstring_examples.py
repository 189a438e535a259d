"""Every example in the docstrings of ``analysis`` runs and shows what it says it shows.

The numpydoc ``Examples`` sections are documentation a reader copies; nothing else runs
them, and two had rotted (a missing import, a bound the value had outgrown) before this
test existed.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import analysis

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(analysis.__path__, "analysis.")
    if not info.name.endswith("__main__")  # importing it would run the command line
)


def test_the_walk_finds_the_packages() -> None:
    assert {"analysis.metrics.loudness", "analysis.stats.reml", "analysis.io"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = io.StringIO()
    for test in finder.find(module, name, globs=vars(module).copy()):
        runner.run(test, out=out.write)
    assert runner.failures == 0, out.getvalue()
