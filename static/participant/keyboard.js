/**
 * The keyboard map of a trial page, and the "Keyboard shortcuts" list made from it.
 *
 * keyMap() builds the map from what the page has, and the page's list is generated
 * from the same map, so it never offers a key that does nothing there:
 * - every paradigm: Space play / pause; L loop on / off; [ and ] put the loop start
 *   and end at the playhead; arrows move the focused slider (or the playhead, on the
 *   waveform);
 * - MUSHRA: 1 … 9 listen to the first nine lettered versions (A, B, C …); R or 0 the
 *   reference, only when the page has one. Letters select nothing: a page has up to
 *   12 lettered versions and their letters would collide with L and R;
 * - ABX and AB: a version's own letter (A, B, X) or its number (1, 2, 3) listens to it.
 *   There a and b never touch the loop (the loop points are [ and ] everywhere).
 *
 *
 * @module keyboard
 */

import { t } from './strings.js';

/** A single-letter label ("A", "B", "X") that can be its own key. */
const LETTER = /^[A-Z]$/;
/** Keys with another meaning on every page: a label letter never takes them. */
const COMMAND_KEYS = new Set(['l', 'r']);

/**
 * The page's keyboard map (see the module comment) and the help list made from it.
 *
 * @param {{labels: string[], offset: number, hasReference: boolean, conditions: object[]}} page
 * @param {{letterKeys?: boolean, name: string}} paradigm
 * @returns {{select: Map<string, number>, help: [string, string][], shortcuts: Map<number, string>}}
 *   `select` maps a key to the player index it makes audible; `shortcuts` gives each
 *   player index its aria-keyshortcuts value.
 */
export function keyMap(page, paradigm) {
  const select = new Map();
  const shortcuts = new Map();
  const help = [[t('Space'), t('play / pause')]];
  const count = Math.min(page.conditions.length, 9);
  const names = page.labels.slice(page.offset);
  if (paradigm.letterKeys) {
    for (let i = 0; i < count; i += 1) {
      const index = i + page.offset;
      const digit = String(i + 1);
      const letter = LETTER.test(names[i]) && !COMMAND_KEYS.has(names[i].toLowerCase()) ? names[i] : null;
      select.set(digit, index);
      if (letter) select.set(letter.toLowerCase(), index);
      shortcuts.set(index, letter ? `${letter} ${digit}` : digit);
      help.push([letter ? t('{letter} or {digit}', { letter, digit }) : digit, t('listen to {name}', { name: names[i] })]);
    }
  } else if (count) {
    for (let i = 0; i < count; i += 1) {
      select.set(String(i + 1), i + page.offset);
      shortcuts.set(i + page.offset, String(i + 1));
    }
    help.push(
      count === 1
        ? ['1', t('listen to {name}', { name: names[0] })]
        : [`1 … ${count}`, t('listen to {first} … {last}', { first: names[0], last: names[count - 1] })],
    );
  }
  if (page.hasReference) {
    select.set('r', 0);
    select.set('0', 0);
    shortcuts.set(0, 'R 0');
    help.push([t('R or 0'), t('listen to the reference')]);
  }
  help.push(['L', t('loop on / off')]);
  help.push([t('[ and ]'), t('set the loop start / end at the playhead')]);
  help.push(
    paradigm.name === 'mushra'
      ? ['← →', t('move the focused rating slider (or the playhead, on the waveform)')]
      : ['← →', t('move the playhead (on the waveform) or the focused choice')],
  );
  return { select, help, shortcuts };
}
