"""What recording the listening evidence costs an audio request (issue 13.2).

Every audio response now writes one row when it ends (``AudioDelivery``: the bytes it
sent, listening/participant/evidence.py). This serves the 6 files of a MUSHRA trial (30 s stereo
48 kHz FLAC each) through the Django test client on a SQLite file, in alternating rounds
with the recording on and switched off, and prints per round kind the median and p95
time per audio response and the median hold of SQLite's writers' lock per response (the
lock every process's writes queue on; config/sqlite_backend).

    .venv/bin/python benchmarks/bench_audio_evidence.py [--fetches 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_participant import build_session, build_study, setup_django
from bench_rating_save import HOLDS, watch_the_lock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetches", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django(Path(tempfile.mkdtemp(prefix="bench-audio-")))
    from django.test import Client

    from listening.models import AudioDelivery, Session
    from listening.participant import evidence
    from listening.participant.audio import PARTICIPANT_COOKIE

    token, trial = build_session(build_study(tracks=1, excerpt=30.0))
    session = Session.objects.get(token=token)
    keys = list(session.trials.get(position=trial).conditions.values_list("key", flat=True))
    client = Client()
    client.get(f"/p/{token}/trial")  # the signed cookie the audio needs
    assert PARTICIPANT_COOKIE in client.cookies
    watch_the_lock()

    def fetch(i: int) -> None:
        response = client.get(f"/a/{keys[i % len(keys)]}")
        assert response.status_code == 200
        for _ in response.streaming_content:
            pass
        response.close()

    results: dict[str, tuple[list[float], list[float]]] = {"recorded": ([], []), "off": ([], [])}
    for _ in range(args.rounds):
        for name in ("recorded", "off"):
            patch = mock.patch.object(evidence, "record_delivery") if name == "off" else None
            if patch is not None:
                patch.start()
            for i in range(10):
                fetch(i)
            HOLDS.clear()
            times = []
            for i in range(args.fetches):
                started = time.perf_counter()
                fetch(i)
                times.append(time.perf_counter() - started)
            results[name][0].extend(times)
            results[name][1].extend(HOLDS)
            if patch is not None:
                patch.stop()
    rows = AudioDelivery.objects.filter(session=session).count()
    print(
        f"{args.rounds} alternating rounds of {args.fetches} audio responses each "
        f"({len(keys)} files), SQLite file; {rows} deliveries recorded"
    )
    print(f"{'recording':<10} {'p50 ms':>8} {'p95 ms':>8} {'lock holds':>10} {'hold p50 ms':>11}")
    for name, (times, holds) in results.items():
        p95 = statistics.quantiles(times, n=20)[-1]
        hold = statistics.median(holds) if holds else 0.0
        print(
            f"{name:<10} {statistics.median(times) * 1000:>8.2f} {p95 * 1000:>8.2f} "
            f"{len(holds):>10} {hold * 1000:>11.3f}"
        )


if __name__ == "__main__":
    main()
