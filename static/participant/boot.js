/**
 * Mount the trial page described by <script type="application/json" id="trial-data">
 * (Django: {{ trial|json_script:"trial-data" }}) into <main id="trial-root">.
 *
 * The paradigm comes from the JSON's "paradigm" or the root's data-paradigm.
 *
 * @module boot
 */

import { mountAb } from './ab.js';
import { mountAbx } from './abx.js';
import { mountMushra } from './mushra.js';

const MOUNT = { mushra: mountMushra, abx: mountAbx, ab: mountAb };

const source = document.getElementById('trial-data');
const root = document.getElementById('trial-root');
if (source && root) {
  const data = JSON.parse(source.textContent);
  const paradigm = data.paradigm || root.dataset.paradigm;
  const mount = MOUNT[paradigm];
  if (!mount) throw new Error(`unknown paradigm ${JSON.stringify(paradigm)}`);
  globalThis.participantTrial = mount(root, data);
}
