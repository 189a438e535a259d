/**
 * Fetch the next trial's audio while the participant rates the current one.
 *
 * The server names the next trial's audio keys (sorted by key, so their order says
 * nothing about the next trial); once the current trial is ready to play, the page
 * hands their URLs to prefetch(). Each file is fetched at low priority and, when the
 * memory budget allows, decoded with the player's AudioContext. The next trial's
 * Player.load() then takes each file from here instead of the network: finished,
 * still on its way (it joins the same request: a file is never fetched twice), or
 * failed (it fetches again itself).
 *
 * Memory budget: the decoded audio of at most two trials, the current one (held by
 * the player) and the next one (held here), and no more than DECODED_BUDGET_BYTES of
 * decoded samples in all. When the next trial would exceed it (long excerpts, many
 * versions) only its compressed bytes are kept, and it is decoded when it is shown.
 * A trial's compressed bytes are dropped as soon as they are decoded.
 *
 * @module prefetch
 */

import { fetchWithRetry } from './loader.js';
import { bufferPeaks } from './waveform.js';

/** Most decoded audio (current + next trial), in bytes of 32-bit float samples. */
export const DECODED_BUDGET_BYTES = 256 * 1024 * 1024;

/**
 * How many bytes a file will take once decoded (32-bit floats at `rate`), read from
 * its FLAC STREAMINFO or WAV header; null when the header does not say.
 *
 * @param {ArrayBuffer} data the file (or at least its header)
 * @param {number} rate the decoding context's sample rate
 * @returns {number|null}
 */
export function decodedSize(data, rate) {
  const view = new DataView(data);
  const tag = (at) =>
    at + 4 <= view.byteLength
      ? String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3))
      : '';
  if (tag(0) === 'fLaC' && view.byteLength >= 8 + 18) {
    // STREAMINFO: 20 bits rate, 3 bits channels - 1, 5 bits bits - 1, 36 bits samples.
    const at = 8 + 10;
    const fileRate = (view.getUint8(at) << 12) | (view.getUint8(at + 1) << 4) | (view.getUint8(at + 2) >> 4);
    const channels = ((view.getUint8(at + 2) >> 1) & 0x07) + 1;
    const samples = (view.getUint8(at + 3) & 0x0f) * 2 ** 32 + view.getUint32(at + 4);
    if (!fileRate || !samples) return null;
    return Math.ceil((samples * rate) / fileRate) * channels * 4;
  }
  if (tag(0) === 'RIFF' && tag(8) === 'WAVE') {
    let at = 12;
    let channels = 0;
    let fileRate = 0;
    let blockAlign = 0;
    while (at + 8 <= view.byteLength) {
      const size = view.getUint32(at + 4, true);
      if (tag(at) === 'fmt ' && at + 24 <= view.byteLength) {
        channels = view.getUint16(at + 10, true);
        fileRate = view.getUint32(at + 12, true);
        blockAlign = view.getUint16(at + 20, true);
      } else if (tag(at) === 'data' && channels && blockAlign) {
        return Math.ceil(((size / blockAlign) * rate) / fileRate) * channels * 4;
      }
      at += 8 + size + (size % 2);
    }
  }
  return null;
}

/** Decoded bytes of a set of AudioBuffers. */
export function buffersSize(buffers) {
  return buffers.reduce((sum, b) => sum + b.length * b.numberOfChannels * 4, 0);
}

/**
 * Holds the next trial's audio: url -> Promise<{bytes?: ArrayBuffer, buffer?: AudioBuffer}>.
 */
export class Prefetcher {
  /**
   * @param {{budgetBytes?: number, fetchImpl?: typeof fetch, tries?: number}} [options]
   */
  constructor(options = {}) {
    this.budgetBytes = options.budgetBytes ?? DECODED_BUDGET_BYTES;
    this.fetchImpl = options.fetchImpl || null;
    this.tries = options.tries ?? 3;
    /** @type {Map<string, Promise<{bytes?: ArrayBuffer, buffer?: AudioBuffer}>>} */
    this.entries = new Map();
    this._controller = null;
    /** What happened to each file, for tests and the benchmark: 'fetching' | 'fetched' | 'decoded' | 'failed'. */
    this.status = {};
  }

  /**
   * Start fetching (and, within the budget, decoding) the next trial's files.
   *
   * @param {string[]} urls the next trial's audio URLs
   * @param {{context?: BaseAudioContext|null, heldBytes?: number, columns?: number}} [options]
   *   `context` decodes (the player's); `heldBytes` is what the current trial's decoded
   *   audio already takes; `columns` (the waveform's width) lets each decoded file's
   *   waveform peaks be computed now rather than when the next trial is shown.
   */
  prefetch(urls, options = {}) {
    const wanted = new Set(urls);
    // Files of an older "next trial" that is no longer next are dropped.
    for (const url of [...this.entries.keys()]) {
      if (!wanted.has(url)) this.entries.delete(url);
    }
    const fresh = urls.filter((url) => !this.entries.has(url));
    if (!fresh.length) return;
    this._controller = new AbortController();
    const { signal } = this._controller;
    const context = options.context || null;
    const held = options.heldBytes || 0;
    // Decoding waits for every file's header, so the budget is decided for the whole trial.
    const fetched = fresh.map((url) => {
      this.status[url] = 'fetching';
      return fetchWithRetry(url, {
        signal,
        tries: this.tries,
        priority: 'low',
        fetchImpl: this.fetchImpl || undefined,
      });
    });
    // A file that could not be fetched takes no memory here (the player fetches it later).
    const sizes = Promise.all(fetched.map((p) => p.then(
      (bytes) => (context ? decodedSize(bytes, context.sampleRate) : null),
      () => 0,
    )));
    const decodeAll = sizes.then((list) => {
      if (!context || list.some((n) => n === null)) return false;
      return held + list.reduce((sum, n) => sum + n, 0) <= this.budgetBytes;
    });
    fresh.forEach((url, i) => {
      const entry = fetched[i].then(
        async (bytes) => {
          this.status[url] = 'fetched';
          if (!(await decodeAll) || signal.aborted) return { bytes };
          try {
            const buffer = await context.decodeAudioData(bytes);
            if (options.columns) bufferPeaks(buffer, options.columns);
            this.status[url] = 'decoded';
            return { buffer };
          } catch (error) {
            // decodeAudioData detached the bytes: let the player fetch the file again.
            this.status[url] = 'failed';
            throw error;
          }
        },
        (error) => {
          this.status[url] = 'failed';
          throw error;
        },
      );
      entry.catch(() => {}); // a failure is handled by whoever takes the entry
      this.entries.set(url, entry);
    });
  }

  /**
   * Hand over a prefetched file (and forget it here), or null if it was never asked for.
   *
   * @param {string} url
   * @returns {Promise<{bytes?: ArrayBuffer, buffer?: AudioBuffer}>|null}
   */
  take(url) {
    const entry = this.entries.get(url);
    if (!entry) return null;
    this.entries.delete(url);
    return entry;
  }

  /** Stop and forget everything. */
  clear() {
    if (this._controller) this._controller.abort();
    this.entries.clear();
  }
}
