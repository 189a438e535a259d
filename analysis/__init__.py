"""Objective metrics of masters against their mixes, and listening-test statistics.

Pure Python: arrays are ``(samples, channels)`` float64; only :mod:`analysis.io`
touches files. See docs/metrics.md for the definitions implemented here.
"""

METRICS_VERSION = "1.1.0"  # 1.1: PHAT fine alignment, LRA as libebur128, HFD validity
