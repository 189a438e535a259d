/**
 * Headphone check: every clip may be played once, and one at a time (the server sends
 * each clip once per session too). The answers are checked on the server; nothing here
 * knows which part is right.
 *
 * @module screening
 */

import { t } from './strings.js';

const buttons = Array.from(document.querySelectorAll('button.play-once'));
let playing = null; // the button whose clip is playing

/** While a clip plays, the others cannot start; clips not played yet wait for it. */
function lockOthers() {
  for (const button of buttons) {
    if (button === playing || button.dataset.state) continue;
    button.disabled = playing !== null;
    button.setAttribute('aria-disabled', playing !== null ? 'true' : 'false');
  }
}

for (const button of buttons) {
  if (button.dataset.state) continue; // played before this page was loaded
  const audio = new Audio();
  audio.preload = 'none';
  const finish = (text) => {
    button.textContent = text;
    if (playing === button) playing = null;
    lockOthers();
  };
  button.addEventListener('click', () => {
    if (button.disabled || playing !== null) return;
    playing = button;
    button.dataset.state = 'playing';
    button.disabled = true;
    button.setAttribute('aria-disabled', 'true');
    button.textContent = t('Playing…');
    lockOthers();
    audio.addEventListener('ended', () => finish(t('Played')), { once: true });
    audio.addEventListener('error', () => finish(t('Could not play: reload the page')), { once: true });
    audio.src = button.dataset.src;
    audio.play().catch(() => finish(t('Could not play: reload the page')));
  });
}
