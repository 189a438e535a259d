"""The Web Audio player in headless Chromium: loading, alignment, crossfades, loops.

Driven through tests/browser/player_harness.html, which imports the modules from
/static/participant/ exactly as the site serves them.
"""

from __future__ import annotations

import itertools
import math

import pytest

pytestmark = pytest.mark.browser


def open_harness(page, server):
    page.goto(f"{server.url}/tests/browser/player_harness.html")
    page.wait_for_function("window.harnessReady === true")


def start(page, urls, **options):
    return page.evaluate("([urls, options]) => window.start(urls, options)", [urls, options])


def state(page):
    return page.evaluate("window.player.state")


TWO = ["/a/sine440.flac", "/a/sine880.flac"]


def test_it_shows_loading_progress_then_is_ready(page, server):
    open_harness(page, server)
    ready = start(page, ["/slow/sine440.flac", "/slow/sine880.flac"])
    log = page.evaluate("window.progressLog")
    assert any(0 < entry["percent"] < 100 and not entry["hidden"] for entry in log)
    percents = [entry["percent"] for entry in log]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert page.locator("#loading").is_hidden()
    assert ready["ready"]
    assert ready["count"] == 2
    assert ready["duration"] == pytest.approx(3.0, abs=1e-6)


@pytest.mark.parametrize(
    ("url", "rate"),
    [("/a/sine440.flac", 48000), ("/a/sine440.wav", 48000), ("/a/sine440_44k.flac", 44100)],
)
def test_the_audio_context_runs_at_the_files_rate(page, server, url, rate):
    open_harness(page, server)
    ready = start(page, [url])
    assert ready["sampleRate"] == rate
    assert ready["bufferRate"] == rate


def test_switching_keeps_the_position_and_never_restarts_sources(page, server):
    open_harness(page, server)
    start(page, TWO)
    page.evaluate("window.player.play()")
    page.wait_for_timeout(400)
    switch = page.evaluate(
        """() => {
            const before = window.player.position;
            const starts = window.player.debug.starts;
            window.player.switchTo(1);
            return {before, after: window.player.position, starts,
                    startsAfter: window.player.debug.starts};
        }"""
    )
    assert switch["before"] > 0.2
    assert abs(switch["after"] - switch["before"]) < 0.05
    assert switch["startsAfter"] == switch["starts"] == 1
    page.wait_for_timeout(300)
    now = state(page)
    assert now["playing"]
    assert now["active"] == 1
    assert now["position"] > switch["after"] + 0.15
    events = page.evaluate("window.eventLog")
    switches = [e for e in events if e["type"] == "switch"]
    assert switches[-1]["from"] == 0
    assert switches[-1]["to"] == 1
    assert abs(switches[-1]["position"] - switch["before"]) < 0.05


@pytest.mark.parametrize("fade_ms", [5, 8])
def test_a_switch_writes_a_raised_cosine_crossfade_of_the_configured_length(page, server, fade_ms):
    open_harness(page, server)
    start(page, TWO, fadeMs=fade_ms)
    page.evaluate("window.player.play()")
    page.wait_for_timeout(100)
    fade = page.evaluate("(window.player.switchTo(1), window.player.debug.lastFade)")
    assert fade["duration"] == pytest.approx(fade_ms / 1000)
    n = len(fade["fadeIn"])
    assert n >= 64
    for k, (up, down) in enumerate(zip(fade["fadeIn"], fade["fadeOut"], strict=True)):
        assert up == pytest.approx(0.5 - 0.5 * math.cos(math.pi * k / (n - 1)), abs=1e-6)
        assert up + down == pytest.approx(1.0, abs=1e-6)  # equal gain: no dip, no bump


RENDER = """
async ([kind, fadeMs]) => {
  // Render the real Player offline: two conditions, a switch at 0.5 s.
  const rate = 48000, length = rate;
  const ctx = new OfflineAudioContext(2, length, rate);
  const make = (fill) => {
    const b = ctx.createBuffer(2, length, rate);
    for (let c = 0; c < 2; c += 1) {
      const d = b.getChannelData(c);
      for (let i = 0; i < length; i += 1) d[i] = fill(i);
    }
    return b;
  };
  const sine = (f) => (i) => 0.5 * Math.sin(2 * Math.PI * f * i / rate);
  const buffers = kind === 'same' ? [make(sine(440)), make(sine(440))]
    : kind === 'steps' ? [make(() => 1), make(() => 0)]
    : [make(sine(440)), make(sine(880))];
  const player = new window.lib.Player({context: ctx, fadeMs});
  player.setBuffers(buffers);
  player.play();
  ctx.suspend(0.5).then(() => { player.switchTo(1); ctx.resume(); });
  const out = await ctx.startRendering();
  const first = player.debug.runs === 1 ? player.debug : null;
  return {
    out: Array.from(out.getChannelData(0)),
    a: Array.from(buffers[0].getChannelData(0)),
    b: Array.from(buffers[1].getChannelData(0)),
    fade: player.debug.lastFade,
    starts: first && first.starts,
  };
}
"""


def render(page, server, kind, fade_ms=8):
    open_harness(page, server)
    return page.evaluate(RENDER, [kind, fade_ms])


def test_offline_render_identical_conditions_pass_through_a_switch_unchanged(page, server):
    # Sample alignment: if the two sources were one sample apart, a 440 Hz sine at
    # 0.5 would differ by up to 0.5 * 2 pi 440 / 48000 = 0.029 during the crossfade.
    result = render(page, server, "same")
    rate, start = 48000, round(0.01 * 48000)  # sources start 10 ms in
    fade_in_end = start + round(0.008 * rate) + 2
    out, ref = result["out"], result["a"]
    errors = [abs(out[n] - ref[n - start]) for n in range(fade_in_end, len(out))]
    assert max(errors) < 1e-5
    assert result["starts"] == 1


def test_offline_render_switch_gain_is_a_raised_cosine(page, server):
    result = render(page, server, "steps")
    rate = 48000
    when = result["fade"]["when"]
    n0 = round(when * rate)
    length = round(0.008 * rate)
    out = result["out"]
    assert all(v == pytest.approx(1.0, abs=1e-6) for v in out[n0 - 200 : n0 - 1])
    assert all(abs(v) < 1e-6 for v in out[n0 + length + 2 : n0 + length + 200])
    for k in range(length):
        expected = 0.5 + 0.5 * math.cos(math.pi * k / length)
        assert out[n0 + k] == pytest.approx(expected, abs=2e-3)


def test_offline_render_switch_between_different_conditions_has_no_gap(page, server):
    result = render(page, server, "different")
    rate, start = 48000, round(0.01 * 48000)
    n0 = round(result["fade"]["when"] * rate)
    length = round(0.008 * rate)
    out, a, b = result["out"], result["a"], result["b"]
    before = [abs(out[n] - a[n - start]) for n in range(n0 - 2000, n0 - 1)]
    after = [abs(out[n] - b[n - start]) for n in range(n0 + length + 2, n0 + 4000)]
    assert max(before) < 1e-5
    assert max(after) < 1e-5  # the new condition continues at the same sample position


def test_a_loop_region_makes_the_position_wrap(page, server):
    open_harness(page, server)
    start(page, TWO)
    positions = page.evaluate(
        """async () => {
            const p = window.player;
            p.setLoop({on: true, a: 0.5, b: 1.2});
            p.seek(0.6);
            p.play();
            const seen = [];
            for (let i = 0; i < 36; i += 1) {
              await new Promise((r) => setTimeout(r, 50));
              seen.push(p.position);
            }
            return seen;
        }"""
    )
    assert all(0.5 - 1e-6 <= p <= 1.2 + 1e-6 for p in positions)
    wraps = sum(1 for x, y in itertools.pairwise(positions) if y < x - 0.2)
    assert wraps >= 2  # 1.8 s of a 0.7 s loop
    loop = state(page)["loop"]
    assert loop == {"on": True, "a": 0.5, "b": 1.2}


def test_loop_points_at_the_playhead_and_minimum_length(page, server):
    open_harness(page, server)
    start(page, TWO)
    loop = page.evaluate(
        """() => {
            const p = window.player;
            p.seek(1.0); p.setLoopPoint('a');
            p.seek(2.0); p.setLoopPoint('b');
            const first = p.loop;
            p.setLoopPoint('b', 1.1);  // too close to a: a goes back to the start
            return [first, p.loop];
        }"""
    )
    assert loop[0] == {"on": True, "a": 1.0, "b": 2.0}
    assert loop[1] == {"on": True, "a": 0.0, "b": 1.1}


def test_pause_resume_and_seek_keep_the_shared_clock(page, server):
    open_harness(page, server)
    start(page, TWO)
    page.evaluate("window.player.play()")
    page.wait_for_timeout(300)
    paused = page.evaluate("(window.player.pause(), window.player.position)")
    page.wait_for_timeout(200)
    assert state(page)["position"] == pytest.approx(paused)
    page.evaluate("window.player.play()")
    page.wait_for_timeout(200)
    resumed = state(page)
    assert resumed["playing"]
    assert resumed["position"] > paused + 0.1
    seek = page.evaluate("(window.player.seek(2.0), window.player.position)")
    assert seek == pytest.approx(2.0, abs=0.02)
    page.evaluate("window.player.pause(); window.player.seek(0.25)")
    assert state(page)["position"] == pytest.approx(0.25)
    assert page.evaluate("window.player.debug.starts") == 3  # play, resume, seek


def test_a_failed_fetch_is_retried(page, server):
    open_harness(page, server)
    ready = start(page, ["/flaky/sine440.flac", "/a/sine880.flac"], backoffMs=50)
    assert ready["ready"]
    assert server.hits["/flaky/sine440.flac"] == 2  # a 404, then the file
    assert page.evaluate("window.player.debug.attempts['/flaky/sine440.flac']") == 2


def test_loading_gives_up_after_three_tries(page, server):
    open_harness(page, server)
    message = page.evaluate(
        """async () => {
            try { await window.start(['/a/missing.flac'], {backoffMs: 20}); return 'loaded'; }
            catch (error) { return String(error.message); }
        }"""
    )
    assert "3 attempts" in message
    assert server.hits["/a/missing.flac"] == 3


def test_the_waveform_seeks_on_click_and_sets_a_loop_on_drag(page, server):
    open_harness(page, server)
    start(page, TWO)
    box = page.locator("#wave").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.click(box["x"] + 0.5 * box["width"], y)
    assert state(page)["position"] == pytest.approx(1.5, abs=0.02)
    page.mouse.move(box["x"] + 0.2 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.4 * box["width"], y, steps=5)
    page.mouse.move(box["x"] + 0.6 * box["width"], y, steps=5)
    page.mouse.up()
    loop = state(page)["loop"]
    assert loop["on"]
    assert loop["a"] == pytest.approx(0.6, abs=0.02)
    assert loop["b"] == pytest.approx(1.8, abs=0.02)

    wave = page.locator("#wave")
    assert wave.get_attribute("role") == "slider"
    wave.focus()
    page.keyboard.press("Home")
    assert state(page)["position"] == pytest.approx(0.6, abs=1e-6)  # loop start
    page.keyboard.press("ArrowRight")
    assert state(page)["position"] == pytest.approx(1.6, abs=1e-6)
    assert "loop from 0:00.6 to 0:01.8" in wave.get_attribute("aria-valuetext")


LOOP_RENDER = """
async () => {
  // A buffer whose samples are their own time stamps shows where the playhead is.
  const rate = 48000, length = rate;
  const ctx = new OfflineAudioContext(1, length, rate);
  const ramp = ctx.createBuffer(1, length, rate);
  const d = ramp.getChannelData(0);
  for (let i = 0; i < length; i += 1) d[i] = i / rate;
  const player = new window.lib.Player({context: ctx, fadeMs: 8});
  player.setBuffers([ramp]);
  player.setLoop({on: true, a: 0.2, b: 0.45});
  player.seek(0.3);
  player.play();
  const out = await ctx.startRendering();
  return Array.from(out.getChannelData(0));
}
"""


def test_offline_render_loop_follows_the_transport_clock_with_click_free_wraps(page, server):
    open_harness(page, server)
    out = page.evaluate(LOOP_RENDER)
    rate, start, fade = 48000, 0.01, 0.008
    a, b, offset = 0.2, 0.45, 0.3
    period = b - a
    wraps = [start + (b - offset) + k * period for k in range(4)]
    for n in range(round((start + fade) * rate) + 2, len(out), 7):
        t = n / rate
        if any(abs(t - w) < fade + 2 / rate for w in wraps):
            continue
        p = offset + (t - start)
        if p >= b:
            p = a + (p - a) % period
        assert out[n] == pytest.approx(p, abs=1e-4), t  # the player's clock = the audio
    for w in wraps[:3]:
        n = round(w * rate)
        # A raised-cosine dip to silence at each wrap: no jump from b to a is audible.
        assert max(abs(v) for v in out[n - 2 : n + 3]) < 0.01
        assert out[n - round(fade * rate / 2)] == pytest.approx(b * 0.5, abs=0.02)
