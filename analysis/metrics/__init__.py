"""Objective metrics of a master against its mix (docs/metrics.md).

:mod:`~analysis.metrics.measure` computes the whole metrics row of a master from
the modules below it:

- :mod:`~analysis.metrics.k_weighting`: K-weighting, 100 ms sub-block energies and the
  BS.1770 gates, shared by :mod:`~analysis.metrics.loudness` (integrated, momentary and
  short-term loudness, :func:`~analysis.metrics.loudness.measure_loudness` with PLR and
  PSR) and :mod:`~analysis.metrics.loudness_range` (LRA);
- :mod:`~analysis.metrics.true_peak`: sample peak and true peak (oversampling);
- :mod:`~analysis.metrics.dynamic_range`: the DR meter;
- :mod:`~analysis.metrics.penalty`: streaming platforms' loudness penalties;
- :mod:`~analysis.metrics.alignment`: rate matching and global alignment of a master
  to its mix, with :mod:`~analysis.metrics.lag_search` (window lags, drift check);
  :mod:`~analysis.metrics.local_alignment`: per-segment lags of an aligned pair;
  :mod:`~analysis.metrics.correlation`: the GCC-PHAT primitives they use;
- :mod:`~analysis.metrics.distortion`: DM, CSDR and HFD; :mod:`~analysis.metrics.coherence`:
  their per-segment multiple coherence; :mod:`~analysis.metrics.segments`: their segment
  grid, segment exclusion and gain track;
- :mod:`~analysis.metrics.intelligibility`: IT (ESTOI) and STOI;
- :mod:`~analysis.metrics.spectral`: LTAS, third-octave levels, centroid, WSC, tilt;
- :mod:`~analysis.metrics.tonal_balance`: bass excitation ratio, tonal target and deviation;
- :mod:`~analysis.metrics.threads`: the small thread map the loudness kernels share.

Imports only the base modules (:mod:`analysis.audio`, :mod:`analysis.errors`,
:mod:`analysis.io`).
"""
