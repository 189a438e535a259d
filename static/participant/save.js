/**
 * Never lose an answer: a persistent, retrying, idempotent save queue.
 *
 * Every answer is POSTed as JSON as soon as it is given, one request at a time in
 * order, with an `Idempotency-Key` header (a UUID drawn once per answer value and
 * reused for every retry of it, across reloads too) and Django's CSRF header.
 * Network errors, timeouts, 408, 429 and 5xx responses are retried with exponential
 * backoff for as long as it takes; other 4xx responses are final ("rejected").
 * The queue lives in localStorage, so a reload, a crash or a closed tab resends
 * whatever was not acknowledged. A newer value for the same slot (the same slider,
 * say) replaces an older one that has not been sent yet.
 *
 * Two tabs of a session share the stored queue but each sends only its own answers:
 * a page adopts what is stored when it loads (a reload, a crashed or closed tab), and
 * drops an adopted answer that has left storage meanwhile (its tab sent or replaced
 * it). Otherwise a value one tab replaced could be sent late by the other and
 * overwrite the participant's newer answer. An answer left behind by a tab that
 * closes while another stays open is sent when a page of the session next loads.
 *
 * @module save
 */

import { t } from './strings.js';

/**
 * A random UUID (version 4), also outside secure contexts.
 *
 * @returns {string}
 */
export function uuid() {
  if (globalThis.crypto && crypto.randomUUID) {
    try {
      return crypto.randomUUID();
    } catch (error) {
      // Not a secure context: fall through.
    }
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Django's CSRF token: from <meta name="csrf-token">, a csrfmiddlewaretoken input,
 * or the csrftoken cookie.
 *
 * @returns {string}
 */
export function readCsrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const input = document.querySelector('input[name="csrfmiddlewaretoken"]');
  if (input && input.value) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

/** Statuses and what the participant reads for each (in English: the catalogue's keys, see strings.js). */
export const STATUS_TEXT = {
  idle: '',
  saving: 'Saving…',
  saved: 'All answers saved',
  retrying: 'Connection problem: retrying. Your answers are kept in this browser.',
  offline: 'You are offline. Your answers are kept and will be sent when the connection returns.',
  error: 'An answer could not be saved.',
};

/** A save the server refused (a 4xx other than 408/429). */
export class SaveRejected extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} detail the server's message
   * @param {object} body what was sent
   */
  constructor(status, detail, body) {
    super(detail || `HTTP ${status}`);
    this.name = 'SaveRejected';
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

/**
 * Extract a readable message from an error response body.
 *
 * @param {any} data parsed JSON or null
 * @param {number} status
 * @returns {string}
 */
function errorDetail(data, status) {
  if (data && typeof data === 'object') {
    if (typeof data.detail === 'string') return data.detail;
    if (typeof data.error === 'string') return data.error;
    if (data.error && typeof data.error.message === 'string') return data.error.message;
  }
  return t('the server answered {status}', { status });
}

function isTransient(status) {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * The save queue. Events: 'status' {status, pending, detail}, 'saved' {body, response},
 * 'rejected' {body, status, detail}.
 */
export class Saver extends EventTarget {
  /**
   * @param {{url: string, csrfToken?: string, storageKey?: string, storage?: Storage|null,
   *          statusElement?: HTMLElement|null, fetchImpl?: typeof fetch,
   *          baseDelayMs?: number, maxDelayMs?: number, timeoutMs?: number}} options
   */
  constructor(options) {
    super();
    this.url = options.url;
    this.csrfToken = options.csrfToken ?? readCsrfToken();
    this.storageKey = options.storageKey || `participant-queue:${options.url}`;
    this.storage = options.storage === undefined ? safeStorage() : options.storage;
    this.statusElement = options.statusElement || null;
    this.fetchImpl = options.fetchImpl || fetch.bind(globalThis);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 15000;
    this.timeoutMs = options.timeoutMs ?? 15000;
    /** This page's own answers carry its id; any other owner's were adopted. */
    this.owner = uuid();
    /** @type {{id: string, slot: string|null, body: object, url: string, tries: number, owner: string}[]} */
    this.queue = [];
    this._waiters = new Map();
    this._acked = new Set();
    this._sending = false;
    this._wake = null;
    this._idleWaiters = [];
    this.status = 'idle';
    this._restore();
    globalThis.addEventListener?.('online', () => this._wakeUp());
    globalThis.addEventListener?.('storage', (event) => {
      if (event.key === this.storageKey) this._dropGone();
    });
    if (this.queue.length) this._pump();
  }

  /**
   * Queue an answer and send it as soon as possible.
   *
   * @param {object} body JSON-serialisable payload
   * @param {{slot?: string, url?: string}} [options] `slot` names what the answer is
   *   about (e.g. "rating:12:k3:clarity"): a newer value replaces an unsent older one.
   * @returns {Promise<any>} the server's JSON once acknowledged, or {superseded: true}
   */
  save(body, options = {}) {
    const slot = options.slot || null;
    const url = options.url || this.url;
    if (slot) {
      // Replace an older value that has not left yet (the one in flight, at index 0
      // while sending, is left alone and the new value follows it).
      const first = this._sending ? 1 : 0;
      for (let i = this.queue.length - 1; i >= first; i -= 1) {
        if (this.queue[i].slot === slot) {
          const [old] = this.queue.splice(i, 1);
          this._settle(old.id, { superseded: true });
        }
      }
    }
    const entry = { id: uuid(), slot, body, url, tries: 0, owner: this.owner };
    this.queue.push(entry);
    this._persist();
    const promise = new Promise((resolve, reject) => this._waiters.set(entry.id, { resolve, reject }));
    this._setStatus('saving');
    this._pump();
    return promise;
  }

  /** @returns {object[]} payloads not yet acknowledged, oldest first */
  pending() {
    return this.queue.map((entry) => entry.body);
  }

  /**
   * Resolve when everything queued so far is acknowledged (or rejected).
   *
   * @returns {Promise<void>}
   */
  flush() {
    if (!this.queue.length) return Promise.resolve();
    this._wakeUp();
    return new Promise((resolve) => this._idleWaiters.push(resolve));
  }

  _settle(id, value, error) {
    const waiter = this._waiters.get(id);
    if (!waiter) return;
    this._waiters.delete(id);
    if (error) waiter.reject(error);
    else waiter.resolve(value);
  }

  _setStatus(status, detail = '') {
    this.status = status;
    if (this.statusElement) {
      this.statusElement.dataset.status = status;
      const text = STATUS_TEXT[status] ? t(STATUS_TEXT[status]) : '';
      this.statusElement.textContent = detail ? `${text} ${detail}` : text;
    }
    this.dispatchEvent(new CustomEvent('status', { detail: { status, pending: this.queue.length, detail } }));
  }

  /** @returns {object[]} the stored queue (every tab's unacknowledged answers) */
  _stored() {
    if (!this.storage) return [];
    try {
      const stored = JSON.parse(this.storage.getItem(this.storageKey) || '[]');
      return Array.isArray(stored) ? stored.filter((entry) => entry && entry.id) : [];
    } catch (error) {
      return [];
    }
  }

  /** Adopt what is stored (on load: left by an earlier page of this session). */
  _restore() {
    const known = new Set(this.queue.map((entry) => entry.id));
    for (const entry of this._stored()) {
      if (!known.has(entry.id) && !this._acked.has(entry.id)) {
        this.queue.push({ ...entry, tries: 0, owner: entry.owner || 'earlier page' });
      }
    }
  }

  /** Whether an adopted answer is still wanted: its tab has not sent or replaced it. */
  _stillStored(entry) {
    return entry.owner === this.owner || !this.storage || this._stored().some((e) => e.id === entry.id);
  }

  /** Another tab changed the stored queue: forget adopted answers it has taken out. */
  _dropGone() {
    const first = this._sending ? 1 : 0;
    for (let i = this.queue.length - 1; i >= first; i -= 1) {
      if (!this._stillStored(this.queue[i])) {
        const [gone] = this.queue.splice(i, 1);
        this._acked.add(gone.id);
        this._settle(gone.id, { superseded: true });
      }
    }
  }

  _persist() {
    if (!this.storage) return;
    try {
      // Merge with what another tab of the same session may have stored meanwhile.
      let stored = [];
      try {
        stored = JSON.parse(this.storage.getItem(this.storageKey) || '[]');
      } catch (error) {
        stored = [];
      }
      const mine = new Set(this.queue.map((entry) => entry.id));
      const others = stored.filter((e) => e && !mine.has(e.id) && !this._acked.has(e.id));
      const entries = [...others, ...this.queue].map(({ id, slot, body, url, owner }) => ({
        id,
        slot,
        body,
        url,
        owner,
      }));
      if (entries.length) this.storage.setItem(this.storageKey, JSON.stringify(entries));
      else this.storage.removeItem(this.storageKey);
    } catch (error) {
      // Storage full or disabled: the in-memory queue still retries.
    }
  }

  _wakeUp() {
    if (this._wake) this._wake();
    this._pump();
  }

  _delay(tries) {
    const base = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.max(0, tries - 1));
    return base * (0.75 + 0.5 * Math.random());
  }

  async _pump() {
    if (this._sending) return;
    this._sending = true;
    try {
      while (this.queue.length) {
        const entry = this.queue[0];
        if (!this._stillStored(entry)) {
          this._finish(entry, { superseded: true });
          continue;
        }
        const outcome = await this._send(entry);
        if (outcome.retry) {
          // A newer value for the same slot makes this one moot.
          if (entry.slot && this.queue.slice(1).some((e) => e.slot === entry.slot)) {
            this._finish(entry, { superseded: true });
            continue;
          }
          const offline = globalThis.navigator && navigator.onLine === false;
          this._setStatus(offline ? 'offline' : 'retrying');
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, this._delay(entry.tries));
            this._wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this._wake = null;
          continue;
        }
        if (outcome.error) {
          this._finish(entry, null, outcome.error);
          this._setStatus('error', outcome.error.detail);
          this.dispatchEvent(
            new CustomEvent('rejected', {
              detail: { body: entry.body, status: outcome.error.status, detail: outcome.error.detail },
            }),
          );
          continue;
        }
        this._finish(entry, outcome.data);
        this.dispatchEvent(new CustomEvent('saved', { detail: { body: entry.body, response: outcome.data } }));
        this._setStatus(this.queue.length ? 'saving' : 'saved');
      }
    } finally {
      this._sending = false;
    }
    const waiters = this._idleWaiters.splice(0);
    for (const resolve of waiters) resolve();
  }

  _finish(entry, value, error) {
    const index = this.queue.indexOf(entry);
    if (index >= 0) this.queue.splice(index, 1);
    this._acked.add(entry.id);
    this._persist();
    this._settle(entry.id, value, error);
  }

  /**
   * One attempt.
   *
   * @returns {Promise<{data?: any, retry?: boolean, error?: SaveRejected}>}
   */
  async _send(entry) {
    entry.tries += 1;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await this.fetchImpl(entry.url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'Idempotency-Key': entry.id,
          'X-CSRFToken': this.csrfToken,
        },
        body: JSON.stringify(entry.body),
        signal: controller.signal,
        keepalive: JSON.stringify(entry.body).length < 60000,
      });
      let data = null;
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
      if (response.ok) return { data: data ?? {} };
      if (isTransient(response.status)) return { retry: true };
      return { error: new SaveRejected(response.status, errorDetail(data, response.status), entry.body) };
    } catch (error) {
      return { retry: true };
    } finally {
      clearTimeout(timer);
    }
  }
}

function safeStorage() {
  try {
    const storage = globalThis.localStorage;
    const probe = '__participant_probe__';
    storage.setItem(probe, '1');
    storage.removeItem(probe);
    return storage;
  } catch (error) {
    return null;
  }
}

/**
 * Batches listening events (play, pause, switch, seek, loop) for the server.
 *
 * Events are sent through their own Saver (so they never hold up answers) every few
 * seconds, when many have gathered, and when the page is hidden or left.
 */
export class EventLog {
  /**
   * @param {{url: string, trialId: any, saver?: Saver, intervalMs?: number, maxBatch?: number}} options
   */
  constructor(options) {
    this.trialId = options.trialId;
    this.saver =
      options.saver ||
      new Saver({ url: options.url, storageKey: `participant-events:${options.url}` });
    this.maxBatch = options.maxBatch ?? 25;
    this.buffer = [];
    this.timer = setInterval(() => this.flush(), options.intervalMs ?? 5000);
    this._onHide = () => {
      if (document.visibilityState === 'hidden') this.flush();
    };
    this._onPageHide = () => this.flush();
    document.addEventListener('visibilitychange', this._onHide);
    globalThis.addEventListener('pagehide', this._onPageHide);
  }

  /** Queue what has gathered and stop (the trial is left; its saver may serve the next). */
  close() {
    this.flush();
    clearInterval(this.timer);
    document.removeEventListener('visibilitychange', this._onHide);
    globalThis.removeEventListener('pagehide', this._onPageHide);
  }

  /**
   * Record one event.
   *
   * @param {string} type play | pause | switch | seek | loop | ended
   * @param {object} detail positions in seconds and opaque condition keys
   */
  push(type, detail) {
    this.buffer.push({ type, ...detail, at: new Date().toISOString() });
    if (this.buffer.length >= this.maxBatch) this.flush();
  }

  /** Queue what has gathered (persisted at once, sent as soon as possible). */
  flush() {
    if (!this.buffer.length) return;
    const events = this.buffer.splice(0);
    this.saver.save({ trial: this.trialId, events }).catch(() => {});
  }
}
