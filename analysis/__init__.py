"""Objective metrics of masters against their mixes, and listening-test statistics.

Pure Python: arrays are ``(samples, channels)`` float64; only :mod:`analysis.io`
touches files. See docs/metrics.md and docs/statistics.md for the definitions
implemented here.

Packages, by what they serve:

- :mod:`analysis.metrics`: what a master measures against its mix (loudness, true
  peak, dynamics, penalty, alignment, distortion, intelligibility, spectrum;
  :mod:`analysis.metrics.measure` computes the whole row);
- :mod:`analysis.stimuli`: what participants hear (excerpts, anchors, the loudness
  match, headphone screening and calibration signals, synthetic material);
- :mod:`analysis.stats`: what the ratings and answers say (mixed models, choices,
  objective-subjective tables, planning);
- :mod:`analysis.report`: the HTML report of a study;
- :mod:`analysis.cli`: ``python -m analysis``.

Layers (``tests/test_architecture.py`` enforces them), lowest first: the base
(:mod:`analysis.errors`, :mod:`analysis.audio` for array conventions,
:mod:`analysis.io` for the file edge) imports no package; ``metrics`` imports only
the base; ``stimuli`` may import ``metrics``; ``stats`` imports only the base
(independent of metrics and stimuli); ``report`` may import ``stats``; ``cli`` may
import everything. Nothing here imports Django, ``listening`` or ``config``, and no
two packages import each other in a circle.
"""

METRICS_VERSION = "1.1.0"  # 1.1: PHAT fine alignment, LRA as libebur128, HFD validity
