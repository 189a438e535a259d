"""WSGI entry point (gunicorn config.wsgi).

The application is warmed before the server hands it a request: Django loads the URL
configuration (every view module, Django REST framework) on the first request, and the
headphone screening imports the analysis package (numpy, scipy, soundfile, soxr) the
first time it is used. In a fresh gunicorn worker that was 1-2 s inside some
participant's request, and the import lock stalled the worker's other threads meanwhile
(the slowest 1 % of volume-calibration posts in the load benchmark). gunicorn loads this
module before the worker accepts connections, so the cost moves to the worker's start.
tests/live/test_warm_start.py checks that a participant's whole visit imports nothing
more.
"""

import os
from importlib import import_module

from django.core.cache import caches
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

#: What participant requests import lazily (the calibration signal, the screening's clip
#: generation and scoring).
PARTICIPANT_IMPORTS = (
    "analysis.stimuli.calibration",
    "analysis.stimuli.screening",
    "analysis.io",
    "listening.participant.screening",
    "listening.stimuli.flac_padding",  # the screening clips' equal-size padding
)


def warm() -> None:
    get_resolver().url_patterns  # noqa: B018 - imports the URL configuration and its views
    caches["default"]  # imports the cache backend (the rate limits' store)
    for name in PARTICIPANT_IMPORTS:
        import_module(name)


warm()
