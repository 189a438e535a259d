/**
 * Run the participant's trials in one page, starting from the trial described by
 * <script type="application/json" id="trial-data"> (Django: {{ trial|json_script:"trial-data" }})
 * in <main id="trial-root">.
 *
 * One player (one audio device), one answer queue, one event queue and one prefetcher
 * serve every trial of the run. While a trial is rated, the next trial's audio is
 * fetched (prefetch.js); after a trial is submitted, the next one is fetched from the
 * server's state URL and mounted in place, its audio already there, and the address
 * bar is pointed at the server's page for it (a reload lands on the same trial). When
 * the session leaves the trials (final questionnaire), or the state cannot be read,
 * the page navigates as usual.
 *
 * The paradigm comes from the JSON's "paradigm" or the root's data-paradigm.
 *
 * @module boot
 */

import { t } from './strings.js';
import { mountAb } from './ab.js';
import { mountAbx } from './abx.js';
import { mountMushra } from './mushra.js';
import { Player } from './player.js';
import { Prefetcher } from './prefetch.js';
import { Saver } from './save.js';

const MOUNT = { mushra: mountMushra, abx: mountAbx, ab: mountAb };

/**
 * Mount the first trial and every following one in place.
 *
 * @param {HTMLElement} root
 * @param {object} first the first trial's description
 * @returns {object} the first trial's page (globalThis.participantTrial is always the current one)
 */
export function runTrials(root, first) {
  const paradigmOf = (data) => data.paradigm || root.dataset.paradigm;
  const player = new Player();
  const prefetcher = new Prefetcher();
  const saver = new Saver({ url: first.save_url });
  const eventSaver = first.events_url
    ? new Saver({ url: first.events_url, storageKey: `participant-events:${first.events_url}` })
    : null;
  let page = null;

  const show = (data) => {
    const mount = MOUNT[paradigmOf(data)];
    if (!mount) throw new Error(`unknown paradigm ${JSON.stringify(paradigmOf(data))}`);
    page = mount(root, data, { player, prefetcher, saver, eventSaver, advance });
    globalThis.participantTrial = page;
    return page;
  };

  /**
   * Show the session's next trial in this page, if it is one.
   *
   * @returns {Promise<boolean>} false: navigate to the URL instead
   */
  async function advance() {
    if (!first.state_url) return false;
    let state;
    try {
      const response = await fetch(first.state_url, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'application/json' },
      });
      if (!response.ok) return false;
      state = await response.json();
    } catch (error) {
      return false;
    }
    performance.mark('next:state');
    const next = state && state.trial;
    if (!next || paradigmOf(next) !== paradigmOf(page.data) || next.save_url !== first.save_url) return false;
    page.destroy({ keepShared: true });
    if (state.url && state.url !== globalThis.location.pathname) {
      globalThis.history.replaceState(null, '', state.url);
    }
    document.title = next.mode === 'training' ? t('Training') : t('Listening test');
    for (const node of document.querySelectorAll('[data-training-only]')) node.remove();
    show(next);
    globalThis.scrollTo(0, 0);
    const heading = root.querySelector('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
    return true;
  }

  return show(first);
}

const source = document.getElementById('trial-data');
const root = document.getElementById('trial-root');
if (source && root) runTrials(root, JSON.parse(source.textContent));
