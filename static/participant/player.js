/**
 * Sample-aligned multi-condition player on the Web Audio API.
 *
 * All conditions of a trial are fetched (or taken from a prefetcher) and decoded, each
 * as soon as it has arrived, before playback. While playing,
 * every condition has its own AudioBufferSourceNode -> GainNode, all started at the
 * same context time and buffer offset (one shared transport clock), and only the
 * active condition's gain is 1. Switching never restarts a source: it is a short
 * raised-cosine crossfade written with setValueCurveAtTime, so the position is kept
 * to the sample, with no gap and no click. Pause, seek and loop changes start a new
 * set of sources at the exact position and crossfade from the old set.
 *
 * The graph of one "run" (one start of the sources):
 *
 *   source[i] -> gain[i] -> loopGain -> master -> destination
 *
 * gain[i] carries condition switches, loopGain short dips around loop wraps (so the
 * jump from b back to a does not click), master the fade-in/out of play and pause.
 *
 * @module player
 */

import { fetchWithRetry, sniffSampleRate } from './loader.js';

export { fetchWithRetry, sniffSampleRate };

/** Default length of a switch crossfade, in milliseconds (webMUSHRA uses 5 ms). */
export const DEFAULT_FADE_MS = 8;
/** Points of the automation curves (linearly interpolated by the browser). */
export const CURVE_POINTS = 128;
/** Shortest loop region, in seconds. */
export const MIN_LOOP_SECONDS = 0.25;
/** Delay between a command and the moment it is scheduled, in seconds (a few render quanta). */
const LEAD_SECONDS = 0.01;

/**
 * Half of a Hann window as a fade curve: 0.5 - 0.5 cos(pi k / (n - 1)).
 *
 * Fade-in and fade-out curves of the same length sum to exactly 1 at every point,
 * so a crossfade between correlated signals (versions of the same music) keeps the
 * level constant.
 *
 * @param {number} points number of points (>= 2)
 * @param {'in'|'out'} direction rising or falling
 * @returns {Float32Array}
 */
export function raisedCosineCurve(points, direction) {
  const curve = new Float32Array(points);
  for (let k = 0; k < points; k += 1) {
    const rise = 0.5 - 0.5 * Math.cos((Math.PI * k) / (points - 1));
    curve[k] = direction === 'in' ? rise : 1 - rise;
  }
  return curve;
}

/**
 * Equal-power fade curve: sin or cos of a quarter period (for uncorrelated signals).
 *
 * @param {number} points number of points (>= 2)
 * @param {'in'|'out'} direction rising or falling
 * @returns {Float32Array}
 */
export function equalPowerCurve(points, direction) {
  const curve = new Float32Array(points);
  for (let k = 0; k < points; k += 1) {
    const phase = (Math.PI / 2) * (k / (points - 1));
    curve[k] = direction === 'in' ? Math.sin(phase) : Math.cos(phase);
  }
  return curve;
}

/**
 * Schedule a crossfade between two AudioParams (gains) at a context time.
 *
 * @param {AudioParam} fromParam gain that fades out
 * @param {AudioParam} toParam gain that fades in
 * @param {number} when context time of the start of the fade, in seconds
 * @param {number} duration fade length in seconds
 * @param {{shape?: 'hann'|'equal-power', points?: number}} [options]
 * @returns {{when: number, duration: number, shape: string, fadeIn: Float32Array, fadeOut: Float32Array}}
 */
export function scheduleCrossfade(fromParam, toParam, when, duration, options = {}) {
  const shape = options.shape || 'hann';
  const points = options.points || CURVE_POINTS;
  const make = shape === 'equal-power' ? equalPowerCurve : raisedCosineCurve;
  const fadeOut = make(points, 'out');
  const fadeIn = make(points, 'in');
  fromParam.setValueCurveAtTime(fadeOut, when, duration);
  toParam.setValueCurveAtTime(fadeIn, when, duration);
  return { when, duration, shape, fadeIn, fadeOut };
}

/**
 * Create an AudioContext at the stimuli's rate where the browser allows it.
 *
 * @param {number|null} sampleRate wanted rate in Hz
 * @returns {AudioContext}
 */
function createContext(sampleRate) {
  const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
  const attempts = [
    sampleRate ? { sampleRate, latencyHint: 'interactive' } : null,
    { latencyHint: 'interactive' },
    undefined,
  ];
  for (const options of attempts) {
    if (options === null) continue;
    try {
      // Older Safari and some devices refuse rates other than the hardware rate (or
      // any options); decodeAudioData then resamples, and state.sampleRate says so.
      return options === undefined ? new Context() : new Context(options);
    } catch (error) {
      // Try the next, plainer constructor.
    }
  }
  throw new Error('this browser cannot play audio with the Web Audio API');
}

/**
 * The multi-condition player.
 *
 * Events (CustomEvent, detail in seconds): 'ready' {duration, sampleRate},
 * 'play' {position}, 'pause' {position, reason}, 'switch' {from, to, position},
 * 'seek' {from, to}, 'loop' {on, a, b, position}, 'ended' {position}.
 */
export class Player extends EventTarget {
  /**
   * @param {{fadeMs?: number, shape?: 'hann'|'equal-power', tries?: number,
   *          backoffMs?: number, context?: BaseAudioContext, fetchImpl?: typeof fetch,
   *          loopDips?: boolean, fetchConcurrency?: number}} [options]
   *   `context` lets tests drive the player with an OfflineAudioContext.
   */
  constructor(options = {}) {
    super();
    this.fadeMs = options.fadeMs ?? DEFAULT_FADE_MS;
    this.shape = options.shape || 'hann';
    this.tries = options.tries ?? 3;
    // Files fetched at once. Fewer would let the first ones be decoded while the rest
    // arrive, but costs a round trip per wave: on an emulated 20 Mbit/s, 40 ms connection
    // two at a time was not faster than all six (benchmarks/RESULTS.md, issue 13).
    this.fetchConcurrency = options.fetchConcurrency ?? 6;
    this.backoffMs = options.backoffMs ?? 300;
    this.fetchImpl = options.fetchImpl || null;
    this.loopDips = options.loopDips ?? true;
    /** @type {BaseAudioContext|null} */
    this.context = options.context || null;
    this._ownsContext = !options.context;
    this._refusedRate = null;
    /** @type {AudioBuffer[]} */
    this.buffers = [];
    this._active = 0;
    this._pausedAt = 0;
    this._loop = { on: false, a: 0, b: 0 };
    this._run = null;
    this._runId = 0;
    this._timer = null;
    this._loadController = null;
    this._debug = { starts: 0, runs: 0, lastFade: null, fades: 0, attempts: {} };
  }

  /** @returns {number} length of the shortest condition, in seconds */
  get duration() {
    if (!this.buffers.length) return 0;
    return Math.min(...this.buffers.map((b) => b.length)) / this.buffers[0].sampleRate;
  }

  /** @returns {boolean} whether the buffers are decoded and playable */
  get ready() {
    return this.buffers.length > 0;
  }

  /** @returns {boolean} */
  get playing() {
    return this._run !== null;
  }

  /** @returns {number} index of the audible condition */
  get active() {
    return this._active;
  }

  /** @returns {number} the playhead, in seconds, from the shared transport clock */
  get position() {
    if (!this._run) return this._pausedAt;
    return this._positionAt(this._run, this.context.currentTime);
  }

  /** @returns {{on: boolean, a: number, b: number}} */
  get loop() {
    return { ...this._loop };
  }

  /** A snapshot for the page and for tests. */
  get state() {
    return {
      ready: this.ready,
      playing: this.playing,
      position: this.position,
      duration: this.duration,
      active: this._active,
      count: this.buffers.length,
      loop: this.loop,
      sampleRate: this.context ? this.context.sampleRate : null,
      bufferRate: this.buffers.length ? this.buffers[0].sampleRate : null,
      fadeMs: this.fadeMs,
    };
  }

  /** Test hooks: counts of source starts and the last crossfade written. */
  get debug() {
    return this._debug;
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * Fetch and decode every condition of a trial. A new load aborts the previous one.
   *
   * @param {string[]} urls one URL per condition, in player index order
   * @param {{onProgress?: (p: {phase: string, fraction: number, loaded: number, total: number}) => void,
   *          signal?: AbortSignal, sampleRate?: number,
   *          prefetched?: {take: (url: string) => Promise<{bytes?: ArrayBuffer, buffer?: AudioBuffer}>|null}}} [options]
   *   `sampleRate` is a hint used when the files' headers cannot be read; `prefetched`
   *   (a Prefetcher) hands over files fetched, or decoded, ahead of time.
   * @returns {Promise<void>}
   */
  async load(urls, options = {}) {
    if (!urls.length) throw new Error('no audio to load');
    if (this._loadController) this._loadController.abort();
    const controller = new AbortController();
    this._loadController = controller;
    if (options.signal) {
      if (options.signal.aborted) controller.abort();
      options.signal.addEventListener('abort', () => controller.abort(), { once: true });
    }
    this._stopRun('load');
    this.buffers = [];
    this._active = 0; // a new trial starts on its first version
    const progress = options.onProgress || (() => {});
    const loaded = urls.map(() => 0);
    const totals = urls.map(() => 0);
    const report = (phase, fraction) =>
      progress({
        phase,
        fraction,
        loaded: loaded.reduce((s, v) => s + v, 0),
        total: totals.reduce((s, v) => s + v, 0),
      });
    report('fetch', 0);
    // Bytes count for 90 % of the bar and decoding for the rest. Each file weighs the
    // same, so the bar never moves back when a later file's size becomes known.
    const byteFraction = () =>
      loaded.reduce((sum, done, i) => sum + (totals[i] ? done / totals[i] : 0), 0) / urls.length;
    const fetchOne = (url, i) =>
      fetchWithRetry(url, {
        signal: controller.signal,
        tries: this.tries,
        backoffMs: this.backoffMs,
        fetchImpl: this.fetchImpl || undefined,
        onAttempt: (n) => {
          this._debug.attempts[url] = n;
        },
        onBytes: (done, total) => {
          loaded[i] = done;
          totals[i] = total;
          report('fetch', 0.9 * byteFraction());
        },
      });
    const prefetched = options.prefetched || null;
    this._debug.prefetched = 0;
    const obtain = async (url, i) => {
      const held = prefetched ? prefetched.take(url) : null;
      if (held) {
        try {
          const item = await held;
          if (controller.signal.aborted) throw controller.signal.reason;
          loaded[i] = 1;
          totals[i] = 1;
          this._debug.prefetched += 1;
          report('fetch', 0.9 * byteFraction());
          return item;
        } catch (error) {
          if (controller.signal.aborted) throw error;
          // The prefetch failed: fetch the file now.
        }
      }
      return { bytes: await fetchOne(url, i) };
    };
    // The context is chosen from the first file to arrive (its header says the rate).
    let contextChosen = false;
    const chooseContext = (item) => {
      if (contextChosen) return;
      contextChosen = true;
      const rate = (item.bytes ? sniffSampleRate(item.bytes) : item.buffer.sampleRate) || options.sampleRate || null;
      const wanted = rate && rate !== this._refusedRate ? rate : null;
      if (!this.context || (this._ownsContext && wanted && this.context.sampleRate !== wanted)) {
        if (this.context && this._ownsContext) this.context.close().catch(() => {});
        this.context = createContext(wanted);
        this._ownsContext = true;
        // Remember a rate the browser would not open, so later loads do not retry it.
        if (wanted && this.context.sampleRate !== wanted) this._refusedRate = wanted;
      }
    };
    // A few files at a time, each decoded as soon as it has arrived: decoding overlaps
    // the transfer of the next files instead of all of it waiting for the last byte.
    let decoded = 0;
    const results = new Array(urls.length);
    let nextIndex = 0;
    const worker = async () => {
      while (nextIndex < urls.length && !controller.signal.aborted) {
        const i = nextIndex;
        nextIndex += 1;
        const item = await obtain(urls[i], i);
        chooseContext(item);
        results[i] = (item.buffer ? Promise.resolve(item.buffer) : this.context.decodeAudioData(item.bytes)).then(
          (buffer) => {
            decoded += 1;
            report('decode', 0.9 * byteFraction() + (0.1 * decoded) / urls.length);
            return buffer;
          },
        );
        results[i].catch(() => {}); // awaited below; no unhandled rejection meanwhile
      }
    };
    const workers = Math.max(1, Math.min(this.fetchConcurrency, urls.length));
    let buffers;
    try {
      await Promise.all(Array.from({ length: workers }, worker));
      buffers = await Promise.all(results);
    } catch (error) {
      controller.abort(); // stop the other downloads of this trial
      throw error;
    }
    if (controller.signal.aborted) throw controller.signal.reason || new DOMException('Aborted', 'AbortError');
    this.setBuffers(buffers);
    report('ready', 1);
  }

  /**
   * Use already decoded buffers (load() calls this; tests may call it directly).
   *
   * @param {AudioBuffer[]} buffers one per condition
   */
  setBuffers(buffers) {
    this._stopRun('load');
    const channels = new Set(buffers.map((b) => b.numberOfChannels));
    const rates = new Set(buffers.map((b) => b.sampleRate));
    if (rates.size > 1 || channels.size > 1) {
      throw new Error('all conditions must share one sample rate and channel count');
    }
    this.buffers = buffers;
    this._active = Math.min(this._active, buffers.length - 1);
    this._pausedAt = 0;
    this._loop = { on: this._loop.on, a: 0, b: this.duration };
    this._emit('ready', { duration: this.duration, sampleRate: this.context.sampleRate });
  }

  _positionAt(run, time) {
    let p = run.offset + Math.max(0, time - run.startTime);
    if (run.loop.on) {
      const { a, b } = run.loop;
      if (p >= b) p = a + ((p - a) % (b - a));
      return p;
    }
    return Math.min(p, this.duration);
  }

  _fadeSeconds() {
    return this.fadeMs / 1000;
  }

  /** Clamp a start offset into the playable range (into the loop region when looping). */
  _clampOffset(offset) {
    const { on, a, b } = this._loop;
    if (on) return offset >= a && offset < b ? offset : a;
    return offset >= 0 && offset < this.duration ? offset : 0;
  }

  /**
   * Start every condition at the same context time and offset.
   *
   * @param {number} offset buffer position, in seconds
   * @param {number} when context time of the start
   */
  _startRun(offset, when) {
    const ctx = this.context;
    const fade = this._fadeSeconds();
    const master = ctx.createGain();
    const loopGain = ctx.createGain();
    master.gain.value = 0;
    master.gain.setValueCurveAtTime(raisedCosineCurve(CURVE_POINTS, 'in'), when, fade);
    loopGain.connect(master);
    master.connect(ctx.destination);
    const loop = { ...this._loop };
    const duration = this.duration;
    const run = {
      id: (this._runId += 1),
      master,
      loopGain,
      sources: [],
      gains: [],
      startTime: when,
      offset,
      loop,
      busyUntil: when,
      fadeInEnd: when + fade,
      dipsUntil: when,
      stopping: false,
    };
    this.buffers.forEach((buffer, i) => {
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      if (loop.on) {
        source.loop = true;
        source.loopStart = loop.a;
        source.loopEnd = loop.b;
      }
      const gain = ctx.createGain();
      gain.gain.value = i === this._active ? 1 : 0;
      source.connect(gain);
      gain.connect(loopGain);
      // Without a loop every source stops at the shortest condition's end.
      if (loop.on) source.start(when, offset);
      else source.start(when, offset, duration - offset);
      run.sources.push(source);
      run.gains.push(gain);
    });
    run.sources[0].onended = () => this._onEnded(run);
    this._debug.starts += 1;
    this._debug.runs += 1;
    this._run = run;
    this._scheduleLoopDips(run);
    if (!this._timer) this._timer = setInterval(() => this._tick(), 100);
    return run;
  }

  /**
   * Fade a run out and stop its sources.
   *
   * @param {object} run
   * @param {number} when context time at which the fade-out starts
   */
  _fadeOutRun(run, when) {
    if (run.stopping) return;
    run.stopping = true;
    const fade = this._fadeSeconds();
    // Start after the fade-in (if still running): automation curves must not overlap.
    const at = Math.max(when, run.fadeInEnd + 1e-4);
    try {
      run.master.gain.setValueCurveAtTime(raisedCosineCurve(CURVE_POINTS, 'out'), at, fade);
    } catch (error) {
      run.master.gain.cancelScheduledValues(0);
      run.master.gain.setValueAtTime(0, at);
    }
    for (const source of run.sources) {
      try {
        source.stop(at + fade);
      } catch (error) {
        // Already stopped.
      }
    }
    run.sources[0].onended = () => {
      run.master.disconnect();
    };
  }

  _stopRun(reason) {
    const run = this._run;
    if (!run) return;
    this._pausedAt = this._positionAt(run, this.context.currentTime);
    this._run = null;
    this._fadeOutRun(run, this.context.currentTime);
    if (this._timer) {
      clearInterval(this._timer);
      this._timer = null;
    }
    return reason;
  }

  _onEnded(run) {
    if (run.stopping || this._run !== run) return;
    // Reached the end of the audio without a loop: back to the start, paused.
    this._run = null;
    run.stopping = true;
    run.master.disconnect();
    if (this._timer) {
      clearInterval(this._timer);
      this._timer = null;
    }
    const position = this.duration;
    this._pausedAt = 0;
    this._emit('ended', { position });
    this._emit('pause', { position, reason: 'ended' });
  }

  /** Keep loop-wrap dips scheduled about a second ahead. */
  _tick() {
    if (this._run) this._scheduleLoopDips(this._run);
  }

  /**
   * Dip the loop gain around each wrap from b back to a, so the jump does not click.
   *
   * @param {object} run
   */
  _scheduleLoopDips(run) {
    if (!this.loopDips || !run.loop.on || run.stopping) return;
    const { a, b } = run.loop;
    const period = b - a;
    const fade = this._fadeSeconds();
    if (period < 4 * fade) return;
    const horizon = this.context.currentTime + 1.0;
    // Context time of the first wrap, then one per period.
    let wrap = run.startTime + (b - run.offset);
    if (wrap < run.dipsUntil) wrap += Math.ceil((run.dipsUntil - wrap) / period) * period;
    const dip = new Float32Array(CURVE_POINTS);
    for (let k = 0; k < CURVE_POINTS; k += 1) dip[k] = 0.5 + 0.5 * Math.cos((2 * Math.PI * k) / (CURVE_POINTS - 1));
    while (wrap <= horizon) {
      const start = wrap - fade;
      if (start > this.context.currentTime + 0.003 && start >= run.fadeInEnd) {
        run.loopGain.gain.setValueCurveAtTime(dip, start, 2 * fade);
      }
      run.dipsUntil = wrap + fade + 1e-6;
      wrap += period;
    }
  }

  /** Start playback from the current position (no-op when playing or not loaded). */
  play() {
    if (!this.ready || this._run) return;
    if (this.context.state === 'suspended' && this.context.resume) {
      this.context.resume().catch(() => {});
    }
    const offset = this._clampOffset(this._pausedAt);
    this._startRun(offset, this.context.currentTime + LEAD_SECONDS);
    this._emit('play', { position: offset });
  }

  /** Pause, remembering the position. */
  pause() {
    if (!this._run) return;
    this._stopRun('pause');
    this._emit('pause', { position: this._pausedAt, reason: 'pause' });
  }

  /** Play when paused, pause when playing. */
  toggle() {
    if (this._run) this.pause();
    else this.play();
  }

  /**
   * Make another condition audible at the same position.
   *
   * @param {number} index player index of the condition
   */
  switchTo(index) {
    if (!Number.isInteger(index) || index < 0 || index >= this.buffers.length) return;
    const from = this._active;
    if (index === from) return;
    const run = this._run;
    this._active = index;
    if (!run) {
      this._emit('switch', { from, to: index, position: this._pausedAt });
      return;
    }
    const fade = this._fadeSeconds();
    // Never overlap a fade still in progress (that would throw): queue behind it.
    const when = Math.max(this.context.currentTime + LEAD_SECONDS, run.busyUntil);
    const fadeInfo = scheduleCrossfade(run.gains[from].gain, run.gains[index].gain, when, fade, {
      shape: this.shape,
    });
    run.busyUntil = when + fade + 1e-4;
    const position = this._positionAt(run, when);
    this._debug.fades += 1;
    this._debug.lastFade = {
      from,
      to: index,
      when,
      duration: fade,
      shape: fadeInfo.shape,
      position,
      fadeIn: Array.from(fadeInfo.fadeIn),
      fadeOut: Array.from(fadeInfo.fadeOut),
    };
    this._emit('switch', { from, to: index, position });
  }

  /**
   * Restart every source at a new position, crossfading from the old ones.
   *
   * @param {number} offset where to continue, in seconds
   */
  _reanchor(offset) {
    const old = this._run;
    const when = this.context.currentTime + LEAD_SECONDS;
    this._run = null;
    if (old) this._fadeOutRun(old, when);
    this._startRun(this._clampOffset(offset), when);
  }

  /**
   * Move the playhead. While looping, a position outside the loop region goes to its start.
   *
   * @param {number} seconds
   */
  seek(seconds) {
    if (!this.ready || !Number.isFinite(seconds)) return;
    const from = this.position;
    const to = this._clampOffset(Math.min(Math.max(seconds, 0), this.duration));
    if (this._run) this._reanchor(to);
    else this._pausedAt = to;
    this._emit('seek', { from, to });
  }

  /**
   * Set loop on or off and/or its region; the playhead stays where it is when it can.
   *
   * @param {{on?: boolean, a?: number, b?: number}} loop
   */
  setLoop(loop) {
    if (!this.ready) return;
    const duration = this.duration;
    let a = Math.min(Math.max(loop.a ?? this._loop.a, 0), duration);
    let b = Math.min(Math.max(loop.b ?? this._loop.b, 0), duration);
    if (b < a) [a, b] = [b, a];
    if (b - a < MIN_LOOP_SECONDS) {
      b = Math.min(duration, a + MIN_LOOP_SECONDS);
      a = Math.max(0, b - MIN_LOOP_SECONDS);
    }
    const on = loop.on ?? this._loop.on;
    const position = this.position;
    const changed = on !== this._loop.on || a !== this._loop.a || b !== this._loop.b;
    this._loop = { on, a, b };
    if (changed) {
      if (this._run) this._reanchor(position);
      else this._pausedAt = this._clampOffset(position);
    }
    this._emit('loop', { on, a, b, position: this.position });
  }

  /**
   * Put loop point a or b at a time (the playhead by default) and turn the loop on.
   * A point that would make the region shorter than MIN_LOOP_SECONDS resets the other
   * end to the start or the end of the audio.
   *
   * @param {'a'|'b'} which
   * @param {number} [seconds]
   */
  setLoopPoint(which, seconds = this.position) {
    const { a, b } = this._loop;
    if (which === 'a') {
      const end = seconds < b - MIN_LOOP_SECONDS ? b : this.duration;
      this.setLoop({ on: true, a: seconds, b: end });
    } else {
      const start = seconds > a + MIN_LOOP_SECONDS ? a : 0;
      this.setLoop({ on: true, a: start, b: seconds });
    }
  }

  /** Stop everything and release the audio device. */
  async close() {
    if (this._loadController) this._loadController.abort();
    this._stopRun('close');
    if (this.context && this._ownsContext && this.context.close) await this.context.close();
  }
}
