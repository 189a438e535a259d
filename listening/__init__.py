"""The listening-test platform (Django app ``listening``), grouped by who is served.

- :mod:`listening.models`: the data and its rules (studies, tracks, stimuli, sessions,
  answers; the settings schema, genres, spans, the paradigm names, who is a researcher);
- :mod:`listening.platform`: what every request meets (throttling, middleware, the
  database-outage page, authentication, system checks, task recovery, the home page);
- :mod:`listening.stimuli`: the researcher's audio on its way to participants (upload
  admission and checks, manifests, preparation, background tasks, playback variants);
- :mod:`listening.participant`: the participant's pages and JSON endpoints, from the
  study link to the last answer (``flow`` dispatches answers to ``paradigms``);
- :mod:`listening.research`: the researcher's tools (workspace, admin, API, results pages,
  exports, opening a study, planning, researcher rights, participant data requests).

Layers (``tests/test_architecture.py`` enforces them): ``models`` imports none of the
others; ``platform`` imports only ``models``; ``stimuli`` never imports ``participant``
or ``research``; ``participant`` never imports ``research``; no circles between them.
"""
