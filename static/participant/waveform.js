/**
 * A neutral waveform on a <canvas>, with the playhead and the loop region.
 *
 * The picture is the same whichever version plays: it is the envelope of all the
 * versions of the trial together (per pixel column, the mean over the versions of
 * each version's lowest and highest sample), computed once when the audio is ready
 * and never redrawn from the playing version. Drawing the playing version would let
 * a participant tell versions apart by their shape (a limiter-flattened master is
 * visible at a glance); drawing one fixed version would show that version's shape.
 *
 * Mouse and touch: click or tap to seek; drag to choose a loop region; shift-click to
 * put the loop end (b) there, alt-click the loop start (a). Keyboard, when the canvas
 * has focus (it is a focusable role="slider"): arrows seek by 1 s (5 s with shift),
 * PageUp/PageDown by a tenth, Home/End to the start/end.
 *
 * @module waveform
 */

import { t } from './strings.js';

/**
 * Format seconds as m:ss.s.
 *
 * @param {number} seconds
 * @returns {string}
 */
export function formatTime(seconds) {
  const safe = Math.max(0, seconds || 0);
  const minutes = Math.floor(safe / 60);
  const rest = safe - 60 * minutes;
  return `${minutes}:${rest < 10 ? '0' : ''}${rest.toFixed(1)}`;
}

/** Per-buffer peaks already computed: buffer -> Map("columns:length" -> peaks). */
const PEAKS = new WeakMap();

/**
 * Minimum and maximum sample per column of one version (all channels), over its first
 * `length` samples; remembered per buffer, so the prefetcher can compute the next
 * trial's while the participant rates the current one.
 *
 * @param {AudioBuffer} buffer
 * @param {number} columns
 * @param {number} [length] samples the columns span (the trial's shortest version)
 * @returns {{min: Float32Array, max: Float32Array}}
 */
export function bufferPeaks(buffer, columns, length = buffer.length) {
  const id = `${columns}:${length}`;
  let known = PEAKS.get(buffer);
  if (known && known.has(id)) return known.get(id);
  const min = new Float32Array(columns);
  const max = new Float32Array(columns);
  const channels = [];
  for (let c = 0; c < buffer.numberOfChannels; c += 1) channels.push(buffer.getChannelData(c));
  const perColumn = length / columns;
  for (let col = 0; col < columns; col += 1) {
    const start = Math.floor(col * perColumn);
    const end = Math.min(length, Math.max(start + 1, Math.floor((col + 1) * perColumn)));
    let lo = 0;
    let hi = 0;
    for (const data of channels) {
      for (let i = start; i < end; i += 1) {
        const v = data[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    min[col] = lo;
    max[col] = hi;
  }
  if (!known) {
    known = new Map();
    PEAKS.set(buffer, known);
  }
  known.set(id, { min, max });
  return { min, max };
}

/**
 * The envelope of several versions together: per column, the mean over the versions
 * of each one's lowest and highest sample (bufferPeaks). It does not depend on which
 * version plays.
 *
 * Columns span the shortest version (the length the player plays).
 *
 * @param {AudioBuffer[]} buffers every version of the trial
 * @param {number} columns
 * @returns {{min: Float32Array, max: Float32Array}}
 */
export function computeNeutralPeaks(buffers, columns) {
  const min = new Float32Array(columns);
  const max = new Float32Array(columns);
  if (!buffers.length) return { min, max };
  const length = Math.min(...buffers.map((b) => b.length));
  for (const buffer of buffers) {
    const peaks = bufferPeaks(buffer, columns, length);
    for (let col = 0; col < columns; col += 1) {
      min[col] += peaks.min[col] / buffers.length;
      max[col] += peaks.max[col] / buffers.length;
    }
  }
  return { min, max };
}

/** Pixels a pointer must move before a press becomes a loop-region drag. */
const DRAG_THRESHOLD_PX = 4;

export class WaveformView {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {import('./player.js').Player} player
   * @param {{label?: string}} [options]
   */
  constructor(canvas, player, options = {}) {
    this.canvas = canvas;
    this.player = player;
    this.peaks = null;
    this._peaksFor = null;
    this.drag = null;
    this.frame = 0;
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'slider');
    canvas.setAttribute('aria-label', options.label || t('Playback position and loop region'));
    canvas.setAttribute('aria-valuemin', '0');
    this._handlers = {
      pointerdown: (e) => this._onPointerDown(e),
      pointermove: (e) => this._onPointerMove(e),
      pointerup: (e) => this._onPointerUp(e),
      pointercancel: () => {
        this.drag = null;
        this.draw();
      },
      keydown: (e) => this._onKey(e),
    };
    for (const [type, handler] of Object.entries(this._handlers)) canvas.addEventListener(type, handler);
    this._playerHandlers = {
      play: () => this._animate(),
      pause: () => this.refresh(),
      seek: () => this.refresh(),
      loop: () => this.refresh(),
      ready: () => this.resize(),
    };
    for (const [type, handler] of Object.entries(this._playerHandlers)) player.addEventListener(type, handler);
    if (globalThis.ResizeObserver) {
      this._observer = new ResizeObserver(() => this.resize());
      this._observer.observe(canvas);
    }
    this.resize();
  }

  /** Match the canvas's backing store to its CSS size and redraw. */
  resize() {
    const ratio = globalThis.devicePixelRatio || 1;
    const width = Math.max(1, Math.round((this.canvas.clientWidth || 600) * ratio));
    const height = Math.max(1, Math.round((this.canvas.clientHeight || 80) * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    // Recomputed only for new audio or a new width: never on a switch of version.
    const buffers = this.player.buffers;
    if (!buffers.length) this.peaks = null;
    else if (!this._peaksFor || this._peaksFor.buffers !== buffers || this._peaksFor.width !== width) {
      this.peaks = computeNeutralPeaks(buffers, width);
      this._peaksFor = { buffers, width };
    }
    this.refresh();
  }

  /** Redraw and update what assistive technology reads. */
  refresh() {
    this.draw();
    const { duration } = this.player;
    const loop = this.player.loop;
    const position = this.player.position;
    this.canvas.setAttribute('aria-valuemax', duration.toFixed(1));
    this.canvas.setAttribute('aria-valuenow', position.toFixed(1));
    const loopText = loop.on
      ? t('loop from {start} to {end}', { start: formatTime(loop.a), end: formatTime(loop.b) })
      : t('loop off');
    this.canvas.setAttribute(
      'aria-valuetext',
      t('{position} of {duration}, {loop}', { position: formatTime(position), duration: formatTime(duration), loop: loopText }),
    );
  }

  _color(name, fallback) {
    const value = getComputedStyle(this.canvas).getPropertyValue(name).trim();
    return value || fallback;
  }

  /** Draw the waveform, the loop region and the playhead. */
  draw() {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.canvas;
    const duration = this.player.duration;
    ctx.fillStyle = this._color('--wave-background', '#ffffff');
    ctx.fillRect(0, 0, width, height);
    if (!this.peaks || !duration) return;
    const x = (t) => (t / duration) * width;
    const loop = this.drag && this.drag.moved ? this._dragRegion() : this.player.loop;
    if (loop.on || (this.drag && this.drag.moved)) {
      ctx.fillStyle = this._color('--wave-loop', 'rgba(0, 90, 200, 0.18)');
      ctx.fillRect(x(loop.a), 0, Math.max(1, x(loop.b) - x(loop.a)), height);
      ctx.fillStyle = this._color('--wave-loop-edge', '#0050b3');
      ctx.fillRect(x(loop.a), 0, 2, height);
      ctx.fillRect(x(loop.b) - 2, 0, 2, height);
    }
    ctx.fillStyle = this._color('--wave-color', '#3b3b3b');
    const mid = height / 2;
    const { min, max } = this.peaks;
    for (let col = 0; col < min.length; col += 1) {
      const top = mid - max[col] * mid;
      const bottom = mid - min[col] * mid;
      ctx.fillRect(col, top, 1, Math.max(1, bottom - top));
    }
    ctx.fillStyle = this._color('--wave-playhead', '#c00000');
    ctx.fillRect(Math.round(x(this.player.position)) - 1, 0, 2, height);
  }

  _animate() {
    cancelAnimationFrame(this.frame);
    const step = () => {
      this.draw();
      if (this.player.playing) this.frame = requestAnimationFrame(step);
      else this.refresh();
    };
    this.frame = requestAnimationFrame(step);
  }

  _timeAt(clientX) {
    const rect = this.canvas.getBoundingClientRect();
    const fraction = Math.min(Math.max((clientX - rect.left) / Math.max(rect.width, 1), 0), 1);
    return fraction * this.player.duration;
  }

  _dragRegion() {
    const a = Math.min(this.drag.start, this.drag.end);
    const b = Math.max(this.drag.start, this.drag.end);
    return { on: true, a, b };
  }

  _onPointerDown(event) {
    if (!this.player.ready || event.button > 0) return;
    this.canvas.setPointerCapture?.(event.pointerId);
    const t = this._timeAt(event.clientX);
    this.drag = { x: event.clientX, start: t, end: t, moved: false };
  }

  _onPointerMove(event) {
    if (!this.drag) return;
    if (Math.abs(event.clientX - this.drag.x) > DRAG_THRESHOLD_PX) this.drag.moved = true;
    this.drag.end = this._timeAt(event.clientX);
    if (this.drag.moved) this.draw();
  }

  _onPointerUp(event) {
    if (!this.drag) return;
    const drag = this.drag;
    this.drag = null;
    const t = this._timeAt(event.clientX);
    if (drag.moved) {
      const { a, b } = { a: Math.min(drag.start, t), b: Math.max(drag.start, t) };
      this.player.setLoop({ on: true, a, b });
    } else if (event.shiftKey) {
      this.player.setLoopPoint('b', t);
    } else if (event.altKey) {
      this.player.setLoopPoint('a', t);
    } else {
      this.player.seek(t);
    }
    this.refresh();
  }

  _onKey(event) {
    if (!this.player.ready || event.ctrlKey || event.metaKey || event.altKey) return;
    const { duration, position } = this.player;
    const step = event.shiftKey ? 5 : 1;
    const targets = {
      ArrowLeft: position - step,
      ArrowDown: position - step,
      ArrowRight: position + step,
      ArrowUp: position + step,
      PageDown: position - duration / 10,
      PageUp: position + duration / 10,
      Home: this.player.loop.on ? this.player.loop.a : 0,
      End: Math.max(0, duration - 1),
    };
    if (!(event.key in targets)) return;
    event.preventDefault();
    event.stopPropagation();
    this.player.seek(targets[event.key]);
    this.refresh();
  }

  /** Remove listeners. */
  destroy() {
    cancelAnimationFrame(this.frame);
    for (const [type, handler] of Object.entries(this._handlers)) this.canvas.removeEventListener(type, handler);
    for (const [type, handler] of Object.entries(this._playerHandlers)) {
      this.player.removeEventListener(type, handler);
    }
    if (this._observer) this._observer.disconnect();
  }
}
