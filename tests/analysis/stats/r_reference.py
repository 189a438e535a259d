"""Run R (lme4, lmerTest, emmeans from Debian) on a data frame: the outside reference.

``make test`` installs ``r-base-core r-cran-lme4 r-cran-lmertest r-cran-emmeans`` when
missing. Without Rscript the reference tests are skipped, unless
``REQUIRE_R_REFERENCE=1`` (set by the Makefile), when they fail: CI must never pass
by skipping its outside reference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

RSCRIPT = shutil.which("Rscript")


def require_r() -> str:
    """Return the Rscript path, or skip (fail under REQUIRE_R_REFERENCE=1) without it."""
    if RSCRIPT is None:
        message = "Rscript is not installed (make test installs r-base-core and lme4)"
        if os.environ.get("REQUIRE_R_REFERENCE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return RSCRIPT


def run_r(data: pd.DataFrame, code: str) -> pd.DataFrame:
    """Run ``code`` with ``d`` read from ``data``; it must assign a data frame to ``out``.

    Returns ``out`` as read back from CSV. Character columns of ``data`` become
    factors in R.
    """
    rscript = require_r()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data.to_csv(folder / "data.csv", index=False)
        script = folder / "script.R"
        script.write_text(
            "suppressPackageStartupMessages({library(lmerTest); library(emmeans)})\n"
            "options(warn = 1)\n"
            f"d <- read.csv('{folder / 'data.csv'}', stringsAsFactors = TRUE)\n"
            f"{code}\n"
            f"write.csv(out, '{folder / 'out.csv'}', row.names = FALSE)\n",
            encoding="utf-8",
        )
        proc = subprocess.run(
            [rscript, "--vanilla", str(script)], capture_output=True, text=True, timeout=600
        )
        if proc.returncode != 0:
            raise RuntimeError(f"R failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return pd.read_csv(folder / "out.csv")
