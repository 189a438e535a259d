/**
 * Fetching and sniffing audio files for the player: retry with backoff, progress in
 * bytes, and the sample rate read from a WAV or FLAC header before decoding (so the
 * AudioContext can be created at the stimuli's rate).
 *
 * @module loader
 */

/**
 * Read the sample rate from a WAV (RIFF/RF64) or FLAC header, without decoding.
 *
 * @param {ArrayBuffer} data the start of the file
 * @returns {number|null} the rate in Hz, or null when the format is not recognised
 */
export function sniffSampleRate(data) {
  const view = new DataView(data);
  const tag = (at) =>
    at + 4 <= view.byteLength
      ? String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3))
      : '';
  let start = 0;
  if (tag(0).startsWith('ID3') && view.byteLength > 10) {
    // ID3v2 header: 10 bytes, then a 28-bit "syncsafe" size.
    const size = (view.getUint8(6) << 21) | (view.getUint8(7) << 14) | (view.getUint8(8) << 7) | view.getUint8(9);
    start = 10 + size;
  }
  if (tag(start) === 'fLaC' && start + 21 <= view.byteLength) {
    // STREAMINFO follows the 4-byte block header; the rate is 20 bits at byte 10.
    const at = start + 8 + 10;
    const rate = (view.getUint8(at) << 12) | (view.getUint8(at + 1) << 4) | (view.getUint8(at + 2) >> 4);
    return rate || null;
  }
  if ((tag(0) === 'RIFF' || tag(0) === 'RF64' || tag(0) === 'BW64') && tag(8) === 'WAVE') {
    let at = 12;
    while (at + 8 <= view.byteLength) {
      const size = view.getUint32(at + 4, true);
      if (tag(at) === 'fmt ' && at + 16 <= view.byteLength) return view.getUint32(at + 12, true);
      at += 8 + size + (size % 2);
    }
  }
  return null;
}

/**
 * Wait for a delay unless the signal aborts first.
 *
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(signal.reason || new DOMException('Aborted', 'AbortError'));
      return;
    }
    const timer = setTimeout(resolve, ms);
    if (signal) {
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason || new DOMException('Aborted', 'AbortError'));
        },
        { once: true },
      );
    }
  });
}

/**
 * Fetch a file as an ArrayBuffer, reporting bytes, retrying failures with backoff.
 *
 * A network error or a non-2xx status is retried (404 included: a file may still be
 * being prepared) up to `tries` attempts in all, waiting backoffMs, 2 backoffMs, ...
 * An abort is never retried.
 *
 * @param {string} url
 * @param {{signal?: AbortSignal, tries?: number, backoffMs?: number,
 *          fetchImpl?: typeof fetch, onBytes?: (loaded: number, total: number) => void,
 *          onAttempt?: (attempt: number) => void, priority?: 'high'|'low'|'auto'}} [options]
 *   `priority` is the Fetch API's hint (prefetches of the next trial go out 'low').
 * @returns {Promise<ArrayBuffer>}
 */
export async function fetchWithRetry(url, options = {}) {
  const { signal, tries = 3, backoffMs = 300, onBytes, onAttempt, priority } = options;
  const fetchImpl = options.fetchImpl || fetch.bind(globalThis);
  let lastError = null;
  for (let attempt = 1; attempt <= tries; attempt += 1) {
    if (onAttempt) onAttempt(attempt);
    try {
      const init = { signal, credentials: 'same-origin' };
      if (priority) init.priority = priority;
      const response = await fetchImpl(url, init);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const total = Number(response.headers.get('Content-Length')) || 0;
      if (!response.body || !response.body.getReader) {
        const data = await response.arrayBuffer();
        if (onBytes) onBytes(data.byteLength, data.byteLength);
        return data;
      }
      const reader = response.body.getReader();
      const chunks = [];
      let loaded = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.byteLength;
        if (onBytes) onBytes(loaded, Math.max(total, loaded));
      }
      const data = new Uint8Array(loaded);
      let at = 0;
      for (const chunk of chunks) {
        data.set(chunk, at);
        at += chunk.byteLength;
      }
      if (onBytes) onBytes(loaded, loaded);
      return data.buffer;
    } catch (error) {
      if (signal && signal.aborted) throw signal.reason || error;
      lastError = error;
      if (attempt < tries) await sleep(backoffMs * 2 ** (attempt - 1), signal);
    }
  }
  throw new Error(`could not load audio after ${tries} attempts (${lastError && lastError.message})`);
}
