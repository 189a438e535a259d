"""Both mixed models (linear and binomial) refuse a malformed design the same way."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import InvalidInputError
from analysis.stats.glmm import BinomialGLMM
from analysis.stats.pls import Grouping
from analysis.stats.reml import CrossedLMM

N = 40
MODELS = [CrossedLMM, BinomialGLMM]


def answers() -> np.ndarray:
    return (np.arange(N) % 3 == 0).astype(float)  # valid for both: 0/1 responses


def participant(n: int = N) -> Grouping:
    return Grouping.from_labels("participant", np.arange(n) % 8)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("x", "groupings", "message"),
    [
        (np.ones(N), None, "x must have shape"),
        (np.ones((N - 1, 1)), None, "x must have shape"),
        (np.where(np.arange(N) == 5, np.nan, 1.0)[:, None], None, "must be finite"),
        (np.ones((N, 1)), [], "at least one grouping factor"),
        (np.ones((N, 1)), [participant(N - 2)], "codes for n="),
        (np.ones((N, 2)), None, "rank deficient"),
    ],
)
def test_a_malformed_design_is_refused(model, x, groupings, message) -> None:
    with pytest.raises(InvalidInputError, match=message):
        model(answers(), x, [participant()] if groupings is None else groupings)


@pytest.mark.parametrize("model", MODELS)
def test_non_finite_responses_are_refused(model) -> None:
    y = answers()
    y[3] = np.nan
    with pytest.raises(InvalidInputError):
        model(y, np.ones((N, 1)), [participant()])


def test_the_binomial_model_needs_answers_coded_0_or_1() -> None:
    with pytest.raises(InvalidInputError, match="coded 0 or 1"):
        BinomialGLMM(answers() * 2, np.ones((N, 1)), [participant()])
