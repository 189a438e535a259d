"""Studies whose stimuli are marked prepared without audio: results tests need rows, not sound."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command

from listening.models import Stimulus, Study, Track

GENRES = ("pop", "rock", "jazz", "electronic")
ATTRIBUTES = ["overall quality", "clarity"]


def metrics(track: int, system: str) -> dict[str, Any]:
    """A plausible flat metrics row, distinct per master.

    The keys are those analysis.metrics.measure writes.
    """
    shift = 1.0 if system == "human" else 0.0
    return {
        "metrics_version": "test",
        "rate": 48000,
        "integrated": -9.0 - shift + 0.1 * track,
        "true_peak": -0.5 - 0.2 * shift,
        "loudness_range": 6.0 + shift + 0.05 * track,
        "plr": 8.0 + shift,
        "psr": 9.0 + shift - 0.1 * track,
        "dr_value": 8 + track % 3 + 2 * shift,
        "ber": 1.2 - 0.03 * track,
    }


def ready_study(
    owner: Any,
    *,
    paradigm: str = "mushra",
    n_tracks: int = 4,
    reference_mode: str = "mix",
    title: str = "Results study",
) -> Study:
    """A study with n tracks, each a mix, an AI and a human master and two anchors, all ready."""
    study = Study.objects.create(
        owner=owner,
        title=title,
        paradigm=paradigm,
        reference_mode=reference_mode,
        attributes=list(ATTRIBUTES),
        screening={"tests": []},
        abx_repetitions=2,
    )
    for i in range(n_tracks):
        track = Track.objects.create(study=study, title=f"Track {i}", genre=GENRES[i % 4])
        common = {"track": track, "status": "ready", "prepared": f"prepared/{track.pk}.flac"}
        mix = Stimulus.objects.create(role="mix", **common)
        for system, provider in (("ai", "LANDR"), ("human", "Eng 1")):
            Stimulus.objects.create(
                role="master",
                system=system,
                provider=provider,
                metrics=metrics(i, system),
                metrics_version="test",
                **common,
            )
        for cutoff in (3500.0, 7000.0):
            Stimulus.objects.create(
                role="anchor", derived_from=mix, anchor_cutoff_hz=cutoff, **common
            )
    return study


def simulate(study: Study, n: int, seed: int = 0) -> str:
    out = io.StringIO()
    call_command("simulate_participants", str(study.pk), n=n, seed=seed, stdout=out)
    return out.getvalue()


def read_csv(content: bytes | str) -> Any:
    import pandas as pd

    text = content.decode() if isinstance(content, bytes) else content
    return pd.read_csv(io.StringIO(text))


def streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)
