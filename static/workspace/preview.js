/**
 * The preview's Reveal switch: show which label is which version (researcher only).
 * Reads <script id="preview-reveal"> (json_script); the trial itself runs boot.js untouched.
 *
 * @module preview
 */

const rows = JSON.parse(document.getElementById('preview-reveal').textContent);
const toggle = document.getElementById('reveal-toggle');
const table = document.getElementById('reveal-table');
const body = table.querySelector('tbody');
for (const row of rows) {
  const tr = document.createElement('tr');
  for (const value of [row.label, row.kind, row.system || '-', row.provider || '-']) {
    const td = document.createElement('td');
    td.textContent = value;
    tr.append(td);
  }
  body.append(tr);
}
toggle.addEventListener('click', () => {
  const shown = toggle.getAttribute('aria-pressed') !== 'true';
  toggle.setAttribute('aria-pressed', String(shown));
  toggle.textContent = shown ? 'Hide conditions' : 'Reveal conditions';
  table.hidden = !shown;
});
