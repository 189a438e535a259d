"""How far the preparation of a study's stimuli has gone, for the researcher's eyes.

A stimulus prepared with settings the study no longer has counts as pending (its track's
fingerprint changed: ``Stimulus.effective_status``). ``Study`` takes these methods from
``StudyProgress``.
"""

from __future__ import annotations

from typing import Any


class StudyProgress:
    """A study's preparation progress (mixed into ``Study``, whose tracks it reads)."""

    # The Study relation these methods read (declared for the type checker).
    tracks: Any

    def progress(self) -> dict[str, Any]:
        """Count the study's stimuli per preparation state (stale ones count as pending).

        ``percent`` is the share processed (ready or failed); ``finished`` is true only
        when every stimulus is ready; ``state`` is empty, preparing, ready or failed.
        """
        from listening.models.stimulus import Stimulus

        counts = dict.fromkeys(Stimulus.Status.values, 0)
        tracks = self.tracks.prefetch_related("stimuli")
        for track in tracks:
            fingerprint = track.fingerprint()
            for stimulus in track.stimuli.all():
                counts[stimulus.effective_status(fingerprint)] += 1
        total = sum(counts.values())
        ready, failed = counts[Stimulus.Status.READY], counts[Stimulus.Status.FAILED]
        done = ready + failed
        # "finished" means usable: a study with failed stimuli is never finished, however
        # far the work has gone ("state" tells work in progress from work that stopped).
        if total == 0:
            state = "empty"
        elif done < total:
            state = "preparing"
        else:
            state = "failed" if failed else "ready"
        return {
            "total": total,
            **counts,
            "percent": round(100.0 * done / total, 1) if total else 0.0,
            "finished": total > 0 and ready == total,
            "state": state,
        }

    def stimulus_progress(self) -> list[dict[str, Any]]:
        """Each stimulus's preparation state (stale ones pending), for the researcher's eyes."""
        rows: list[dict[str, Any]] = []
        for track in self.tracks.prefetch_related("stimuli"):
            fingerprint = track.fingerprint()
            rows.extend(
                {
                    "id": s.pk,
                    "track": track.pk,
                    "track_title": track.title,
                    "role": s.role,
                    "system": s.system,
                    "provider": s.provider,
                    "status": s.effective_status(fingerprint),
                    "error": s.error,
                }
                for s in track.stimuli.all()
            )
        return rows
