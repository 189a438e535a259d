/**
 * The parts every trial page shares: progress, loading, transport, waveform,
 * keyboard map, listening bookkeeping, autosave and the "Next" checks.
 *
 * A paradigm module (mushra.js, abx.js, ab.js) supplies the answer widgets through
 * an object {name, letterKeys?, render(page, container), problems(page),
 * restore(page, answers, options?)} and calls mountTrial().
 *
 * Keyboard: see keyboard.js (the map, and the page's shortcut list made from it).
 *
 * Two tabs: when the page regains focus (or becomes visible) it fetches the trial's
 * saved state from the server and shows it, keeping every answer this tab gave that
 * the server has not acknowledged yet (the save queue) and every control touched
 * since the request left.
 *
 * The page only ever shows the opaque labels it is given ("A", "B", ...; "Reference").
 * Condition keys stay in JavaScript memory and in the audio URLs; they are never
 * written to the DOM or the console.
 *
 * @module trial
 */

/**
 * What the server sends for one trial (Django: {{ trial|json_script:"trial-data" }}).
 *
 * @typedef {object} TrialDescription
 * @property {'mushra'|'abx'|'ab'} [paradigm] or data-paradigm on the root element
 * @property {'trial'|'training'} [mode] training pages save nothing but the submit
 * @property {{id: (number|string), position: number, total: number}} trial position is 1-based
 * @property {{key: string, label: string}[]} conditions in presentation order; labels "A", "B", ...
 *   (ABX: "A", "B", "X"); keys are opaque per session
 * @property {{key: string}|null} reference the open reference (MUSHRA), or null
 * @property {{id: string, label: string}[]} attributes rated (MUSHRA) or asked (AB)
 * @property {{must_play_all?: boolean, must_move_all?: boolean, require_100?: boolean,
 *   min_listen_seconds?: number, allow_no_preference?: boolean, loop?: boolean}} rules
 * @property {string} audio_url_template e.g. "/s/<token>/audio/{key}"
 * @property {string} save_url answers and the submit are POSTed here
 * @property {string} [events_url] listening events are POSTed here
 * @property {string} [next_url] where to go after the submit if its response names none
 * @property {string} [state_url] the session's current trial as JSON (GET /p/<token>/current):
 *   read on focus (two tabs) and to show the next trial in place
 * @property {string[]} [prefetch] the next trial's audio keys, fetched once this one is ready
 * @property {number} [sample_rate] hint when the audio's header cannot be read
 * @property {string} [instructions] shown above the player
 * @property {{ratings?: Object<string, Object<string, number>>, choice?: string,
 *   preferences?: Object<string, (string|null)>}} [answers] already saved (for resume)
 * @property {string[]} [played] keys already listened to (for resume)
 */

import { t } from './strings.js';
import { Player } from './player.js';
import { keyMap } from './keyboard.js';
import { buffersSize } from './prefetch.js';
import { WaveformView, formatTime } from './waveform.js';
import { EventLog, Saver } from './save.js';

/**
 * Create an element.
 *
 * @param {string} tag
 * @param {Record<string, any>} [attrs] attributes; `text` sets textContent, `on*` adds listeners
 * @param {(Node|string|null)[]} [children]
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'className') node.className = value;
    // Through the CSSOM: a style attribute is refused by the Content-Security-Policy.
    else if (name === 'style') node.style.cssText = String(value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

/** Keys that belong to the focused control rather than to the page. */
function isTyping(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable) return true;
  return tag === 'INPUT' && !['range', 'button', 'checkbox', 'radio', 'submit'].includes(target.type);
}

function keepsSpace(target) {
  return !!target && (target.type === 'radio' || target.type === 'checkbox' || target.tagName === 'SUMMARY');
}

/**
 * Build a trial page and start loading its audio.
 *
 * @param {HTMLElement} root container (usually <main>)
 * @param {TrialDescription} data the trial description
 * @param {{name: string, letterKeys?: boolean, render: Function, problems: Function, restore: Function}} paradigm
 * @param {{navigate?: (url: string) => void, player?: Player, fadeMs?: number, saver?: Saver,
 *          eventSaver?: Saver, prefetcher?: import('./prefetch.js').Prefetcher,
 *          advance?: (url: string) => Promise<boolean>}} [options]
 *   A page of a run of trials (boot.js) shares the player, the save queues and the
 *   prefetcher with the trials before and after it; `advance` shows the next trial in
 *   place and says whether it did (else the page navigates to the URL).
 * @returns {object} the page (also useful to tests)
 */
export function mountTrial(root, data, paradigm, options = {}) {
  const trialId = data.trial.id;
  const rules = data.rules || {};
  const training = data.mode === 'training';
  const conditions = data.conditions || [];
  const hasReference = !!(data.reference && data.reference.key);
  const offset = hasReference ? 1 : 0;
  const keys = [...(hasReference ? [data.reference.key] : []), ...conditions.map((c) => c.key)];
  const labels = [...(hasReference ? [t('Reference')] : []), ...conditions.map((c) => c.label)];
  const navigate = options.navigate || ((url) => window.location.assign(url));

  const player = options.player || new Player({ fadeMs: options.fadeMs });
  const prefetcher = options.prefetcher || null;
  const saveStatus = el('p', { className: 'save-status', 'data-status': 'idle' });
  const saver = options.saver || new Saver({ url: data.save_url });
  saver.statusElement = saveStatus;
  const events = data.events_url
    ? new EventLog({ url: data.events_url, trialId, saver: options.eventSaver || undefined })
    : null;
  // Listeners on shared objects (player, saver, window), removed when the page goes.
  const cleanups = [];
  const listen = (target, type, handler) => {
    target.addEventListener(type, handler);
    cleanups.push(() => target.removeEventListener(type, handler));
  };
  let destroyed = false;

  const listened = keys.map(() => 0);
  const played = new Set((data.played || []).filter((k) => keys.includes(k)));
  // Listening logged before a reload but not yet acknowledged still counts (it will be sent).
  for (const body of events ? events.saver.pending() : []) {
    if (!body || body.trial !== trialId) continue;
    for (const event of body.events || []) {
      const key = event.type === 'switch' ? event.to : event.condition;
      if ((event.type === 'play' || event.type === 'switch') && keys.includes(key)) played.add(key);
    }
  }
  const buttons = new Map();

  root.classList.add('trial-page', `paradigm-${paradigm.name}`);
  root.setAttribute('aria-busy', 'true');
  root.replaceChildren();

  // ---------------------------------------------------------------- header
  const { position, total } = data.trial;
  const progress = el(
    'div',
    {
      className: 'trial-progress',
      role: 'progressbar',
      'aria-label': t('Progress through the test'),
      'aria-valuemin': 0,
      'aria-valuemax': total,
      'aria-valuenow': position,
      'aria-valuetext': t('Trial {position} of {total}', { position, total }),
    },
    [el('span', { className: 'trial-progress-bar', style: `width: ${(100 * position) / Math.max(total, 1)}%` })],
  );
  const title = training ? t('Training') : t('Trial {position} of {total}', { position, total });
  root.append(
    el('header', { className: 'trial-header' }, [
      el('h1', { className: 'trial-title', text: title }),
      progress,
      saveStatus,
    ]),
  );
  if (data.instructions) root.append(el('p', { className: 'instructions', text: data.instructions }));

  // ---------------------------------------------------------------- loading
  const loadingBar = el('span', { className: 'loading-bar' });
  const loadingText = el('span', { className: 'loading-text', text: t('Loading audio… {percent} %', { percent: 0 }) });
  const loading = el(
    'div',
    {
      className: 'loading',
      role: 'progressbar',
      'aria-label': t('Loading audio'),
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': 0,
    },
    [el('span', { className: 'loading-track' }, [loadingBar]), loadingText],
  );
  const retryButton = el('button', { type: 'button', className: 'retry', text: t('Try again') });
  const loadError = el('div', { className: 'load-error', role: 'alert', hidden: true }, [
    el('p', { text: t('The audio could not be loaded. Check your connection and try again.') }),
    retryButton,
  ]);
  root.append(loading, loadError);

  // ---------------------------------------------------------------- transport
  const map = keyMap({ labels, offset, hasReference, conditions }, paradigm);
  const playButton = el('button', {
    type: 'button',
    className: 'play',
    'aria-keyshortcuts': 'Space',
    text: t('Play'),
  });
  const loopButton = el('button', {
    type: 'button',
    className: 'loop',
    'aria-pressed': 'false',
    'aria-keyshortcuts': 'L',
    text: t('Loop'),
  });
  const loopA = el('button', { type: 'button', className: 'loop-a', 'aria-keyshortcuts': '[', text: t('Set loop start') });
  const loopB = el('button', { type: 'button', className: 'loop-b', 'aria-keyshortcuts': ']', text: t('Set loop end') });
  const time = el('span', { className: 'time', 'aria-hidden': 'true', text: '0:00.0 / 0:00.0' });
  const canvas = el('canvas', { className: 'waveform' });
  const answers = el('div', { className: 'answers' });
  const problems = el('div', { className: 'problems', role: 'alert' });
  const nextButton = el('button', {
    type: 'button',
    className: 'next',
    text: position >= total && !training ? t('Finish') : t('Next'),
  });
  const announcer = el('div', { className: 'visually-hidden sr-status', role: 'status', 'aria-live': 'polite' });
  const body = el('div', { className: 'trial-body', inert: true }, [
    el('div', { className: 'transport', role: 'group', 'aria-label': t('Playback') }, [
      playButton,
      loopButton,
      loopA,
      loopB,
      time,
    ]),
    canvas,
    answers,
    problems,
    el('div', { className: 'trial-nav' }, [nextButton]),
    el('details', { className: 'shortcuts' }, [
      el('summary', { text: t('Keyboard shortcuts') }),
      el(
        'dl',
        {},
        map.help.flatMap(([key, what]) => [el('dt', { text: key }), el('dd', { text: what })]),
      ),
    ]),
  ]);
  root.append(body, announcer);

  // Which answer slots this page changed, and when (a counter): a sync from the server
  // leaves alone whatever was touched after its request left.
  const lastEdit = new Map();
  let editCount = 0;

  /** The page object handed to the paradigm. */
  const page = {
    data,
    root,
    player,
    prefetcher,
    saver,
    events,
    rules,
    training,
    conditions,
    hasReference,
    keys,
    labels,
    played,
    el,
    /** Player index of the i-th rated condition. */
    indexOf: (i) => i + offset,
    /** Say something to screen-reader users. */
    announce(message) {
      announcer.textContent = '';
      // A fresh text node makes screen readers announce repeated messages too.
      setTimeout(() => {
        announcer.textContent = message;
      }, 30);
    },
    /**
     * Save an answer (not in training).
     *
     * @param {object} bodyToSave
     * @param {string} slot what the answer is about, for replacing unsent values
     */
    save(bodyToSave, slot) {
      page.noteEdit(slot);
      if (training) return Promise.resolve({ training: true });
      return saver.save({ trial: trialId, ...bodyToSave }, { slot: `${trialId}:${slot}` }).catch(() => {});
    },
    /**
     * Record that the participant is changing an answer slot (a slider being dragged).
     *
     * @param {string} slot as passed to save()
     */
    noteEdit(slot) {
      editCount += 1;
      lastEdit.set(slot, editCount);
    },
    /** Answers of this trial still waiting in the local queue (for resume). */
    pendingAnswers() {
      return saver.pending().filter((b) => b && b.trial === trialId && b.type !== 'submit');
    },
    /**
     * A button that makes a condition audible (and starts playback).
     *
     * @param {number} index player index
     * @param {string} [text] visible text (defaults to the label)
     */
    conditionButton(index, text) {
      const label = labels[index];
      const button = el('button', {
        type: 'button',
        className: index < offset ? 'condition reference' : 'condition',
        'aria-pressed': 'false',
        'aria-keyshortcuts': map.shortcuts.get(index) || null,
        text: text || label,
        onclick: () => page.select(index),
      });
      button.append(el('span', { className: 'played-mark', 'aria-hidden': 'true' }));
      buttons.set(index, [...(buttons.get(index) || []), button]);
      updateButtons();
      return button;
    },
    /** Switch to a condition, starting playback when paused. */
    select(index) {
      if (!player.ready || index < 0 || index >= keys.length) return;
      player.switchTo(index);
      if (!player.playing) player.play();
      updateButtons();
    },
    /** Run the checks of the trial's rules; returns messages for the participant. */
    problems() {
      const found = [];
      if (rules.must_play_all) {
        const missing = keys.map((k, i) => i).filter((i) => i >= offset && !played.has(keys[i]));
        if (missing.length) {
          found.push({
            message: t('Listen to every condition first (not played yet: {labels}).', { labels: missing.map((i) => labels[i]).join(', ') }),
            focus: (buttons.get(missing[0]) || [])[0],
          });
        }
      }
      return [...found, ...paradigm.problems(page)];
    },
    /** Re-run paradigm-specific display updates. */
    refresh() {
      updateButtons();
    },
  };

  function updateButtons() {
    for (const [index, list] of buttons) {
      for (const button of list) {
        const active = player.ready && player.active === index;
        button.setAttribute('aria-pressed', active ? 'true' : 'false');
        button.classList.toggle('is-active', active);
        const isPlayed = played.has(keys[index]);
        button.classList.toggle('played', isPlayed);
        const name = index < offset ? t('Reference') : t('Condition {label}', { label: labels[index] });
        button.setAttribute('aria-label', isPlayed ? t('{name}, played', { name }) : name);
      }
    }
  }

  function updateTransport() {
    playButton.textContent = player.playing ? t('Pause') : t('Play');
    playButton.setAttribute('aria-pressed', player.playing ? 'true' : 'false');
    const loop = player.loop;
    loopButton.setAttribute('aria-pressed', loop.on ? 'true' : 'false');
    loopButton.textContent = loop.on ? t('Loop {start}–{end}', { start: formatTime(loop.a), end: formatTime(loop.b) }) : t('Loop');
    time.textContent = `${formatTime(player.position)} / ${formatTime(player.duration)}`;
  }

  // ---------------------------------------------------------------- listening bookkeeping
  // A condition is heard from a play or a switch to it until the next switch or pause:
  // the same events, timed the same way, from which the server decides what was played
  // (listening.participant.evidence), so the page never shows as played what the server refuses.
  const need = () => Math.min(rules.min_listen_seconds ?? 1.0, player.duration / 2);
  let heard = null; // the index heard since heardSince, or null while paused
  let heardSince = performance.now();
  const credit = () => {
    const now = performance.now();
    if (heard !== null) listened[heard] += (now - heardSince) / 1000;
    heardSince = now;
    if (heard !== null && !played.has(keys[heard]) && listened[heard] >= need()) {
      played.add(keys[heard]);
      updateButtons();
    }
  };
  const ticker = setInterval(() => {
    credit();
    if (player.playing) {
      time.textContent = `${formatTime(player.position)} / ${formatTime(player.duration)}`;
    }
  }, 100);

  const keyOf = (index) => keys[index];
  const log = (type, detail) => {
    if (events && !training) events.push(type, detail);
  };
  listen(player, 'play', (e) => {
    credit();
    heard = player.active;
    updateTransport();
    log('play', { position: e.detail.position, condition: keyOf(player.active) });
  });
  listen(player, 'pause', (e) => {
    credit();
    heard = null;
    updateTransport();
    log('pause', { position: e.detail.position, condition: keyOf(player.active), reason: e.detail.reason });
  });
  listen(player, 'switch', (e) => {
    credit();
    heard = player.playing ? e.detail.to : null;
    updateButtons();
    page.announce(labels[e.detail.to]);
    log('switch', { from: keyOf(e.detail.from), to: keyOf(e.detail.to), position: e.detail.position });
  });
  listen(player, 'seek', (e) => {
    updateTransport();
    log('seek', { from: e.detail.from, to: e.detail.to });
  });
  listen(player, 'loop', (e) => {
    updateTransport();
    const { on, a, b } = e.detail;
    page.announce(on ? t('Loop on, {start} to {end}', { start: formatTime(a), end: formatTime(b) }) : t('Loop off'));
    log('loop', { on, a, b, position: e.detail.position });
  });

  // A submit restored from an earlier visit may be acknowledged now: follow it.
  let leaving = false;
  let submitting = false;
  const leave = (url) => {
    if (leaving) return;
    leaving = true;
    navigate(url);
  };
  listen(saver, 'saved', (e) => {
    const { body: sent, response } = e.detail;
    if (submitting) return; // the Next button's own submit: it goes on from there
    if (sent && sent.type === 'submit' && sent.trial === trialId && response && response.next_url) {
      leave(response.next_url);
    }
  });

  listen(saver, 'status', (e) => {
    const { status } = e.detail;
    if (status === 'retrying' || status === 'offline' || status === 'error') {
      page.announce(saveStatus.textContent);
    }
  });

  playButton.addEventListener('click', () => player.toggle());
  loopButton.addEventListener('click', () => player.setLoop({ on: !player.loop.on }));
  loopA.addEventListener('click', () => player.setLoopPoint('a'));
  loopB.addEventListener('click', () => player.setLoopPoint('b'));

  // ---------------------------------------------------------------- keyboard
  const onKeyDown = (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target) || !player.ready) return;
    if (event.key === ' ' || event.code === 'Space') {
      if (keepsSpace(event.target)) return;
      event.preventDefault();
      if (!event.repeat) player.toggle();
      return;
    }
    if (event.repeat) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (map.select.has(key)) {
      event.preventDefault();
      page.select(map.select.get(key));
    } else if (key === '[' || key === ']') {
      event.preventDefault();
      player.setLoopPoint(key === '[' ? 'a' : 'b');
    } else if (key === 'l') {
      event.preventDefault();
      player.setLoop({ on: !player.loop.on });
    }
  };
  // Space would also "click" a focused button on key-up; the page owns Space.
  const onKeyUp = (event) => {
    if ((event.key === ' ' || event.code === 'Space') && !isTyping(event.target) && !keepsSpace(event.target)) {
      event.preventDefault();
    }
  };
  document.addEventListener('keydown', onKeyDown);
  document.addEventListener('keyup', onKeyUp);

  // ---------------------------------------------------------------- next
  nextButton.addEventListener('click', async () => {
    const found = page.problems();
    problems.replaceChildren();
    if (found.length) {
      problems.append(el('ul', {}, found.map((p) => el('li', { text: p.message }))));
      if (found[0].focus) found[0].focus.focus();
      return;
    }
    nextButton.setAttribute('aria-disabled', 'true');
    nextButton.disabled = true;
    nextButton.textContent = t('Saving…');
    performance.mark('next:pressed'); // the benchmark's breakdown of "Next to ready"
    player.pause();
    if (events) {
      // The server checks "every condition played" from the listening log: send it first.
      events.flush();
      await events.saver.flush();
    }
    await saver.flush();
    performance.mark('next:flushed');
    submitting = true;
    let next;
    try {
      const response = await saver.save({ type: 'submit', trial: trialId }, { slot: `${trialId}:submit` });
      next = (response && (response.next_url || response.redirect)) || data.next_url;
    } catch (error) {
      submitting = false;
      problems.append(el('p', { text: error.detail || t('The trial could not be submitted.') }));
      nextButton.disabled = false;
      nextButton.removeAttribute('aria-disabled');
      nextButton.textContent = position >= total && !training ? t('Finish') : t('Next');
      return;
    }
    performance.mark('next:submitted');
    if (!next) {
      window.location.reload();
      return;
    }
    // The next trial in this page (its audio fetched meanwhile), or else the next page.
    if (options.advance && !leaving && (await options.advance(next))) return;
    leave(next);
  });

  // ---------------------------------------------------------------- paradigm + load
  paradigm.render(page, answers);
  paradigm.restore(page, data.answers || {});
  let waveform = null;

  // ---------------------------------------------------------------- two tabs
  let syncing = null;
  /**
   * Show what the server holds for this trial (another tab may have changed it).
   *
   * Order of events: the request leaves with the edit counter noted; the answer shows
   * the server's values, overlaid with this tab's answers still in the save queue
   * (unsent or unacknowledged: they will reach the server after what it holds now),
   * and skips every slot touched since the request left (the server may not have seen
   * that edit when it answered). If the session has moved on (another tab submitted
   * this trial), the page goes where the server says.
   *
   * @returns {Promise<void>}
   */
  page.sync = () => {
    if (!data.state_url || training || syncing) return syncing || Promise.resolve();
    const since = editCount;
    syncing = (async () => {
      let state = null;
      try {
        const response = await fetch(data.state_url, {
          credentials: 'same-origin',
          cache: 'no-store',
          headers: { Accept: 'application/json' },
        });
        if (response.ok) state = await response.json();
      } catch (error) {
        state = null; // offline: nothing to show; the next focus tries again
      }
      if (!state || destroyed || leaving || submitting) return;
      const current = state.trial;
      if (!current || current.mode !== data.mode || !current.trial || current.trial.id !== trialId) {
        if (state.url) leave(state.url);
        return;
      }
      paradigm.restore(page, current.answers || {}, {
        keep: (slot) => (lastEdit.get(slot) || 0) > since,
      });
      for (const key of current.played || []) if (keys.includes(key)) played.add(key);
      updateButtons();
      root.dispatchEvent(new CustomEvent('trial-synced', { bubbles: true }));
    })().finally(() => {
      syncing = null;
    });
    return syncing;
  };
  listen(window, 'focus', () => page.sync());
  listen(document, 'visibilitychange', () => {
    if (document.visibilityState === 'visible') page.sync();
  });
  listen(window, 'pageshow', (event) => {
    if (event.persisted) page.sync(); // back from the back-forward cache
  });

  async function load() {
    loadError.hidden = true;
    loading.hidden = false;
    const template = data.audio_url_template;
    const urls = keys.map((key) => template.replace('{key}', encodeURIComponent(key)));
    try {
      await player.load(urls, {
        prefetched: prefetcher,
        sampleRate: data.sample_rate,
        onProgress: ({ fraction }) => {
          const percent = Math.round(100 * fraction);
          loading.setAttribute('aria-valuenow', String(percent));
          loadingBar.style.width = `${percent}%`;
          loadingText.textContent = t('Loading audio… {percent} %', { percent });
        },
      });
    } catch (error) {
      if (error && error.name === 'AbortError') return;
      loading.hidden = true;
      loadError.hidden = false;
      retryButton.focus();
      return;
    }
    if (destroyed) return;
    performance.mark('trial:loaded');
    loading.hidden = true;
    root.setAttribute('aria-busy', 'false');
    body.inert = false;
    body.removeAttribute('inert');
    player.setLoop({ on: rules.loop ?? true, a: 0, b: player.duration });
    waveform = new WaveformView(canvas, player);
    page.waveform = waveform;
    updateButtons();
    updateTransport();
    page.announce(t('Audio ready'));
    page.readyAt = performance.now();
    performance.mark('trial:ready');
    root.dispatchEvent(new CustomEvent('trial-ready', { bubbles: true }));
    // Only now, so the current trial's audio never shares the connection with the next's.
    if (prefetcher && data.prefetch && data.prefetch.length) {
      prefetcher.prefetch(
        data.prefetch.map((key) => template.replace('{key}', encodeURIComponent(key))),
        { context: player.context, heldBytes: buffersSize(player.buffers), columns: canvas.width },
      );
    }
  }
  retryButton.addEventListener('click', load);
  page.loaded = load();

  /**
   * Take the page down. With keepShared the player (and its audio device), the save
   * queues and the prefetcher stay for the next trial of the run.
   *
   * @param {{keepShared?: boolean}} [how]
   */
  page.destroy = (how = {}) => {
    destroyed = true;
    clearInterval(ticker);
    document.removeEventListener('keydown', onKeyDown);
    document.removeEventListener('keyup', onKeyUp);
    for (const cleanup of cleanups.splice(0)) cleanup();
    if (events) events.close();
    if (waveform) waveform.destroy();
    if (how.keepShared) player.pause();
    else player.close();
  };
  return page;
}
