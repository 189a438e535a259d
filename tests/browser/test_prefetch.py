"""The next trial's audio is fetched while the current one is rated, and shown in place.

Trial 17 names the next trial's audio keys (``prefetch``); once trial 17 is ready to play
the page fetches and decodes them. After "Next" the page reads the session's state
(``/state`` stands in for Django's ``/p/<token>/current``), mounts trial 18 in the same
page and plays it from the prefetched buffers: no file is fetched twice, nothing is
fetched before the current trial is ready, and over the memory budget only the
compressed bytes are held.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.browser.test_trial_pages import KEYS, MUSHRA, open_trial, trial, wait_ready

pytestmark = pytest.mark.browser

NEXT_KEYS = ["n0", "n1", "n2", "n3"]
EASY_RULES = {"must_play_all": False, "must_move_all": False, "require_100": False}
FIRST = trial(MUSHRA, rules=EASY_RULES, state_url="/state", prefetch=[f"{k}" for k in NEXT_KEYS])
SECOND = trial(
    MUSHRA,
    trial={"id": 18, "position": 3, "total": 5},
    reference={"key": "n0"},
    conditions=[{"key": k, "label": label} for k, label in zip(NEXT_KEYS[1:], "ABC", strict=True)],
    rules=EASY_RULES,
    state_url="/state",
    prefetch=[],
)


@pytest.fixture(autouse=True)
def next_trial_audio(audio_dir):
    for key, source in zip(NEXT_KEYS, ["sine660", "sine440", "sine880", "sine660"], strict=True):
        shutil.copy(audio_dir / f"{source}.flac", audio_dir / f"{key}.flac")


def audio_hits(server, keys) -> dict[str, int]:
    return {key: server.hits[f"/a/{key}.flac"] for key in keys}


def test_the_next_trial_is_prefetched_then_shown_in_place_without_refetching(page, server):
    server.state = {"url": "/tests/browser/trial_harness.html?trial=18", "trial": SECOND}
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url.rsplit("/", 1)[-1]))
    open_trial(page, server, FIRST)
    page.wait_for_function(
        "Object.values(window.participantTrial.prefetcher.status).filter(s => s === 'decoded')"
        f".length === {len(NEXT_KEYS)}"
    )
    # The current trial's files all went out before any of the next trial's.
    own = [f"{k}.flac" for k in KEYS.values()]
    ahead = [f"{k}.flac" for k in NEXT_KEYS]
    last_own = max(requests.index(name) for name in own)
    assert min(requests.index(name) for name in ahead) > last_own
    assert audio_hits(server, NEXT_KEYS) == dict.fromkeys(NEXT_KEYS, 1)

    page.evaluate("window.sameDocument = true")
    page.get_by_role("button", name="Next").click()
    page.wait_for_function("window.participantTrial.data.trial.id === 18")
    wait_ready(page)
    assert page.evaluate("window.sameDocument") is True  # no page load
    assert page.evaluate("location.search") == "?trial=18"
    assert page.evaluate("window.participantTrial.player.debug.prefetched") == len(NEXT_KEYS)
    assert audio_hits(server, NEXT_KEYS) == dict.fromkeys(NEXT_KEYS, 1)
    assert page.locator(".trial-title").inner_text() == "Trial 3 of 5"
    assert page.get_by_role("button", name="Condition A", exact=True).count() == 1
    assert server.answers()[-1]["body"] == {"type": "submit", "trial": 17}
    # The new trial plays, and its answers go to the shared queue with its own id.
    page.keyboard.press("2")
    assert page.evaluate("window.participantTrial.player.state.playing")
    page.get_by_role("slider", name="Condition B, Clarity").focus()
    page.keyboard.press("End")
    page.wait_for_function(
        "document.querySelector('.save-status').dataset.status === 'saved'", timeout=5000
    )
    ratings = [b["body"] for b in server.answers() if b["body"].get("type") == "rating"]
    assert ratings[-1] == {
        "trial": 18,
        "type": "rating",
        "condition": "n2",
        "attribute": "clarity",
        "score": 100,
    }
    # Only one page's key handler and player listeners are left.
    page.keyboard.press("Space")
    assert not page.evaluate("window.participantTrial.player.state.playing")


def test_without_a_next_trial_in_the_state_the_page_navigates(page, server):
    open_trial(page, server, FIRST)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**done=1")


PREFETCH_SCRIPT = """async ({urls, budget, held}) => {
  const { Prefetcher, decodedSize } = await import('/static/participant/prefetch.js');
  const { Player } = await import('/static/participant/player.js');
  const context = new AudioContext({ sampleRate: 48000 });
  const prefetcher = new Prefetcher({ budgetBytes: budget });
  prefetcher.prefetch(urls, { context, heldBytes: held });
  const items = await Promise.all(urls.map((url) => prefetcher.entries.get(url)));
  const status = urls.map((url) => prefetcher.status[url]);
  const estimates = [];
  for (const url of urls) {
    const bytes = await (await fetch(url)).arrayBuffer();
    estimates.push(decodedSize(bytes, 48000));
  }
  const player = new Player({ context });
  await player.load(urls, { prefetched: prefetcher });
  const actual = player.buffers.map((b) => b.length * b.numberOfChannels * 4);
  return { status, kinds: items.map((i) => (i.buffer ? 'buffer' : 'bytes')), estimates, actual,
           prefetched: player.debug.prefetched, ready: player.ready };
}"""


@pytest.mark.parametrize(
    ("budget", "held", "kind"),
    [(256 * 2**20, 0, "buffer"), (256 * 2**20, 256 * 2**20 - 1000, "bytes"), (1, 0, "bytes")],
    ids=["within-budget", "current-trial-fills-it", "tiny-budget"],
)
def test_the_memory_budget_decides_what_is_decoded_ahead(page, server, budget, held, kind):
    open_trial(page, server, trial(FIRST, prefetch=[]))  # a page of the origin, for the imports
    server.reset()
    urls = [f"/a/{k}.flac" for k in NEXT_KEYS]
    result = page.evaluate(PREFETCH_SCRIPT, {"urls": urls, "budget": budget, "held": held})
    assert result["kinds"] == [kind] * len(urls)
    assert result["status"] == ["decoded" if kind == "buffer" else "fetched"] * len(urls)
    assert result["ready"]
    assert result["prefetched"] == len(urls)
    # The FLAC header's estimate is the decoded size (3 s, stereo, 48 kHz, 4-byte floats).
    assert result["estimates"] == result["actual"] == [3 * 48000 * 2 * 4] * len(urls)
    # Each file went out twice in all: once prefetched, once by this test's own size check.
    assert audio_hits(server, NEXT_KEYS) == dict.fromkeys(NEXT_KEYS, 2)


def test_a_failed_prefetch_is_fetched_again_by_the_player(page, server):
    open_trial(page, server, trial(FIRST, prefetch=[]))
    server.reset()
    result = page.evaluate(
        """async () => {
          const { Prefetcher } = await import('/static/participant/prefetch.js');
          const { Player } = await import('/static/participant/player.js');
          const context = new AudioContext({ sampleRate: 48000 });
          const prefetcher = new Prefetcher({ tries: 1 });
          const urls = ['/flaky/n1.flac', '/a/n2.flac'];
          prefetcher.prefetch(urls, { context });
          await Promise.allSettled(urls.map((u) => prefetcher.entries.get(u)));
          const status = urls.map((u) => prefetcher.status[u]);
          const player = new Player({ context, backoffMs: 10 });
          await player.load(urls, { prefetched: prefetcher });
          return { status, ready: player.ready, prefetched: player.debug.prefetched };
        }"""
    )
    assert result == {"status": ["failed", "decoded"], "ready": True, "prefetched": 1}
    assert server.hits["/flaky/n1.flac"] == 2  # the failed prefetch, then the player's fetch
    assert server.hits["/a/n2.flac"] == 1


def test_decoded_size_reads_flac_and_wav_headers(page, server, audio_dir):
    open_trial(page, server, FIRST)
    sizes = page.evaluate(
        """async () => {
          const { decodedSize } = await import('/static/participant/prefetch.js');
          const read = async (u) => (await fetch(u)).arrayBuffer();
          return [decodedSize(await read('/a/sine440.flac'), 48000),
                  decodedSize(await read('/a/sine440.wav'), 48000),
                  decodedSize(await read('/a/sine440_44k.flac'), 48000),
                  decodedSize(new ArrayBuffer(16), 48000)];
        }"""
    )
    # 3 s stereo at 48 kHz; the 44.1 kHz file is resampled to the context's 48 kHz.
    assert sizes == [1152000, 1152000, int(np.ceil(3 * 44100 * 48000 / 44100)) * 8, None]
