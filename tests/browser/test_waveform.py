"""The waveform is neutral: one picture for the trial, whichever version plays.

Four versions with clearly different envelopes (rising, falling, loud-then-quiet,
steady) are loaded into a MUSHRA page. The canvas's pixels are read after switching to
every version and must not change; the drawn envelope must be the mean of every
version's per-column minimum and maximum, recomputed here with numpy from the files,
and must differ from the picture of version A alone (what the page used to draw).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf

from tests.browser.conftest import RATE
from tests.browser.test_trial_pages import MUSHRA, open_trial, trial

pytestmark = pytest.mark.browser

SECONDS = 3.0
ENVELOPES = {
    "wv0": lambda t: np.full_like(t, 0.2),  # the reference: steady
    "wv1": lambda t: 0.8 * t / SECONDS,  # rising
    "wv2": lambda t: 0.8 * (1 - t / SECONDS),  # falling
    "wv3": lambda t: np.where(t < SECONDS / 2, 0.6, 0.05),  # loud, then quiet
}


@pytest.fixture(scope="module")
def versions(audio_dir) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1303)
    t = np.arange(round(SECONDS * RATE)) / RATE
    arrays = {}
    for key, envelope in ENVELOPES.items():
        tone = np.sin(2 * np.pi * rng.uniform(200, 900) * t)
        left = envelope(t) * tone
        right = 0.5 * left
        audio = np.column_stack([left, right])
        sf.write(audio_dir / f"{key}.flac", audio, RATE, subtype="PCM_16")
        arrays[key], _ = sf.read(audio_dir / f"{key}.flac", dtype="float32")  # as decoded
    return arrays


def peaks(audio: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minimum and maximum over both channels (0 included, as drawn)."""
    per = len(audio) / columns
    low, high = np.zeros(columns), np.zeros(columns)
    for col in range(columns):
        start = int(np.floor(col * per))
        end = min(len(audio), max(start + 1, int(np.floor((col + 1) * per))))
        block = audio[start:end]
        low[col], high[col] = min(0.0, block.min()), max(0.0, block.max())
    return low, high


def canvas_digest(page) -> str:
    data = page.evaluate(
        """() => { const c = document.querySelector('canvas.waveform');
                   const image = c.getContext('2d').getImageData(0, 0, c.width, c.height);
                   return Array.from(image.data); }"""
    )
    return hashlib.sha256(bytes(data)).hexdigest()


def show_version(page, index: int) -> None:
    """Switch to a version (as its button does, which starts playback), then stop at 1.2 s."""
    page.evaluate(
        f"""() => {{ const t = window.participantTrial; t.select({index});
                    t.player.pause(); t.player.seek(1.2); t.waveform.refresh(); }}"""
    )


def test_the_picture_is_the_same_for_every_version_and_made_from_all_of_them(
    page, server, versions, console
):
    data = trial(
        MUSHRA,
        reference={"key": "wv0"},
        conditions=[
            {"key": f"wv{i}", "label": label} for i, label in zip((1, 2, 3), "ABC", strict=True)
        ],
    )
    open_trial(page, server, data)
    assert page.evaluate("window.participantTrial.player.state.sampleRate") == RATE

    digests = set()
    for index in (1, 0, 2, 3, 1):
        show_version(page, index)
        assert page.evaluate("window.participantTrial.player.active") == index
        digests.add(canvas_digest(page))
    assert len(digests) == 1

    # The drawn envelope: the mean over all four versions, not any one of them.
    drawn = page.evaluate(
        """() => { const p = window.participantTrial.waveform.peaks;
                   return {min: Array.from(p.min), max: Array.from(p.max)}; }"""
    )
    columns = len(drawn["min"])
    assert columns == page.evaluate("document.querySelector('canvas.waveform').width")
    each = [peaks(audio, columns) for audio in versions.values()]
    expected_min = np.mean([low for low, _ in each], axis=0)
    expected_max = np.mean([high for _, high in each], axis=0)
    np.testing.assert_allclose(drawn["min"], expected_min, atol=1e-4)
    np.testing.assert_allclose(drawn["max"], expected_max, atol=1e-4)
    _, version_a_high = peaks(versions["wv1"], columns)
    assert np.max(np.abs(np.array(drawn["max"]) - version_a_high)) > 0.2

    # The pixels are that envelope: dark bars of height (max - min) * half the canvas.
    height = page.evaluate("document.querySelector('canvas.waveform').height")
    bars = page.evaluate(
        """() => { const c = document.querySelector('canvas.waveform');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   const out = [];
                   for (let x = 0; x < c.width; x += 1) {
                     let n = 0;
                     for (let y = 0; y < c.height; y += 1) {
                       const i = 4 * (y * c.width + x);
                       if (d[i] === 0x3b && d[i + 1] === 0x3b && d[i + 2] === 0x3b) n += 1;
                     }
                     out.push(n);
                   }
                   return out; }"""
    )
    playhead = round(1.2 / SECONDS * columns)
    checked = [c for c in range(5, columns - 5, 7) if abs(c - playhead) > 3]
    heights = (expected_max - expected_min) * height / 2
    assert max(abs(bars[c] - heights[c]) for c in checked) <= 2.0
    assert [m for m in console if "willReadFrequently" not in m] == []  # our readbacks warn
