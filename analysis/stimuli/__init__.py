"""What participants hear: playback stimuli, screening and calibration (docs/stimuli.md).

- :mod:`~analysis.stimuli.excerpt`: the same excerpt of every version (conform, cut,
  locate the master in the mix, fades);
- :mod:`~analysis.stimuli.anchors`: the BS.1534-3 low-pass anchors;
- :mod:`~analysis.stimuli.levels`: levels of finished excerpts, the loudness match,
  gain and quantisation;
- :mod:`~analysis.stimuli.headphone_trials`: one trial of either headphone-screening test;
- :mod:`~analysis.stimuli.screening`: seeded blocks of screening trials and their scoring;
- :mod:`~analysis.stimuli.calibration`: the volume-calibration signal;
- :mod:`~analysis.stimuli.shaping`: seeds, ramps and gains the generated signals share;
- :mod:`~analysis.stimuli.synthesis`: synthetic mixes and masters (tests, demo).

May import :mod:`analysis.metrics` (alignment, loudness, true peak) and the base.
"""
