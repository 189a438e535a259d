/**
 * The Audio tab: add tracks, upload files one at a time (or a folder with its
 * manifest), show each file's result, and poll preparation progress every 2 s while
 * anything is pending or processing, with a Retry button for failed stimuli.
 *
 * Reads its URLs from <script id="audio-urls"> and the first progress from
 * <script id="audio-progress"> (json_script); the CSRF token from <meta name="csrf-token">.
 *
 * @module stimuli
 */

const POLL_MS = 2000;
const urls = JSON.parse(document.getElementById('audio-urls').textContent);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
let progress = JSON.parse(document.getElementById('audio-progress').textContent);
let timer = null;

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, text = '') => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
};

/** POST a FormData; answer the JSON body (or an error shape) and whether it was accepted. */
async function post(url, body) {
  try {
    const response = await fetch(url, {
      method: 'POST',
      body,
      credentials: 'same-origin',
      headers: { 'X-CSRFToken': csrf, Accept: 'application/json' },
    });
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!data) data = { ok: false, errors: [`the server answered ${response.status}`] };
    return { ok: response.ok && data.ok !== false, data };
  } catch (error) {
    return { ok: false, data: { ok: false, errors: ['the upload did not reach the server; check the connection and try again'] } };
  }
}

// -- progress --------------------------------------------------------------------------------

const STATE_LABEL = { pending: 'waiting', processing: 'preparing…', ready: 'ready', failed: 'failed' };

function describe(row) {
  if (row.role === 'mix') return 'Mix';
  if (row.role === 'anchor') return 'Anchor';
  return `Master (${row.system === 'ai' ? 'AI' : 'human'})`;
}

function render() {
  const ready = progress.ready || 0;
  const total = progress.total || 0;
  const busy = (progress.pending || 0) + (progress.processing || 0);
  $('overall').textContent = total === 0
    ? 'No files yet.'
    : `${ready} of ${total} ready${busy ? `, ${busy} preparing` : ''}${progress.failed ? `, ${progress.failed} failed` : ''}.`;
  $('overall-bar').value = progress.percent || 0;
  const container = $('tracks');
  container.replaceChildren();
  const byTrack = new Map();
  for (const track of progress.tracks || []) byTrack.set(track.id, { ...track, rows: [] });
  for (const row of progress.stimuli || []) {
    if (!byTrack.has(row.track)) byTrack.set(row.track, { id: row.track, title: row.track_title, genre: '', rows: [] });
    byTrack.get(row.track).rows.push(row);
  }
  if (byTrack.size === 0) {
    container.append(el('p', { class: 'muted' }, 'No tracks yet: add one above.'));
    return;
  }
  for (const track of byTrack.values()) {
    const table = el('table', { class: 'track-table', 'data-track': String(track.id) });
    table.append(el('caption', {}, track.genre ? `${track.title} (${track.genre})` : track.title));
    const head = el('tr');
    for (const name of ['Version', 'Provider', 'File', 'State']) head.append(el('th', { scope: 'col' }, name));
    const thead = el('thead');
    thead.append(head);
    table.append(thead);
    const body = el('tbody');
    if (track.rows.length === 0) {
      const tr = el('tr');
      tr.append(el('td', { colspan: '4', class: 'muted' }, 'No files yet.'));
      body.append(tr);
    }
    for (const row of track.rows) {
      const tr = el('tr', { 'data-stimulus': String(row.id) });
      tr.append(el('td', {}, describe(row)), el('td', {}, row.provider || ''), el('td', {}, row.file || ''));
      const state = el('td', { class: `state-${row.status}`, 'data-state': row.status }, STATE_LABEL[row.status] || row.status);
      if (row.status === 'failed') {
        if (row.error) state.append(el('span', {}, `: ${row.error} `));
        if (progress.status === 'draft') {
          const retry = el('button', { type: 'button', class: 'secondary retry', 'data-track': String(row.track) }, 'Retry');
          retry.setAttribute('aria-label', `Retry preparing ${track.title}`);
          state.append(retry);
        }
      }
      tr.append(state);
      body.append(tr);
    }
    table.append(body);
    container.append(table);
  }
}

async function refresh() {
  try {
    const response = await fetch(urls.progress, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    if (response.ok) progress = await response.json();
  } catch (error) {
    // keep the last state; the next poll tries again
  }
  render();
  schedule();
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if ((progress.pending || 0) + (progress.processing || 0) > 0) timer = setTimeout(refresh, POLL_MS);
}

$('tracks').addEventListener('click', async (event) => {
  const button = event.target.closest('button.retry');
  if (!button) return;
  button.disabled = true;
  const { ok, data } = await post(urls.retry.replace('/0/', `/${button.dataset.track}/`), new FormData());
  if (!ok) $('overall').textContent = (data.errors || []).join(' ');
  refresh();
});

const prepareNow = $('prepare-now');
if (prepareNow) {
  prepareNow.addEventListener('click', async () => {
    prepareNow.disabled = true;
    const { ok, data } = await post(urls.prepare, new FormData());
    $('overall').textContent = ok
      ? `Queued ${data.queued_tracks} track(s) for preparation.`
      : (data.errors || []).join(' ');
    prepareNow.disabled = false;
    refresh();
  });
}

// -- tracks --------------------------------------------------------------------------------

function addTrackOption(track) {
  const select = $('upload-track');
  if ([...select.options].some((o) => o.value === String(track.id))) return;
  const option = el('option', { value: String(track.id) }, track.title);
  select.append(option);
  select.value = String(track.id);
}

const trackForm = $('track-form');
if (trackForm) {
  trackForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { ok, data } = await post(urls.track, new FormData(trackForm));
    const message = $('track-message');
    if (ok) {
      addTrackOption(data.track);
      message.className = 'ok';
      message.textContent = `Added track ${data.track.title}.`;
      trackForm.reset();
      refresh();
    } else {
      message.className = 'error';
      message.textContent = (data.errors || []).join(' ');
    }
  });
}

// -- uploads -------------------------------------------------------------------------------

/** The path of a file inside a dropped or chosen folder ("" for a loose file). */
const relativePath = (file) => file.relativePath || file.webkitRelativePath || '';

/** The path a manifest row names, relative to the folder (its top folder removed). */
function inFolder(file) {
  const path = relativePath(file);
  return path.includes('/') ? path.split('/').slice(1).join('/') : file.name;
}

function resultRow(name) {
  const item = el('li');
  item.append(el('strong', {}, name), el('span', { class: 'muted' }, ': waiting'));
  $('upload-results').append(item);
  return (state, text) => {
    item.lastChild.className = state === 'accepted' ? 'ok' : state === 'refused' ? 'error' : 'muted';
    item.lastChild.textContent = `: ${text}`;
    item.dataset.result = state;
  };
}

let running = Promise.resolve();

/** Upload every job one after another ({file, name, fields}); show each file's result. */
function uploadAll(jobs, extra = []) {
  running = running.then(async () => {
    const bar = $('upload-bar');
    bar.hidden = false;
    bar.max = Math.max(jobs.length, 1);
    bar.value = 0;
    for (const [name, text] of extra) resultRow(name)('refused', text);
    let accepted = 0;
    for (const [i, job] of jobs.entries()) {
      const show = resultRow(job.name);
      $('upload-summary').textContent = `Uploading ${i + 1} of ${jobs.length}: ${job.name}`;
      show('uploading', 'uploading…');
      const body = new FormData();
      for (const [key, value] of Object.entries(job.fields)) body.append(key, value);
      body.append('name', job.name);
      body.append('file', job.file, job.file.name);
      const { ok, data } = await post(urls.upload, body);
      if (ok) {
        accepted += 1;
        show('accepted', `accepted as ${data.stimulus.label}`);
      } else {
        show('refused', `refused: ${(data.errors || []).join(' ')}`);
      }
      bar.value = i + 1;
      refresh();
    }
    $('upload-summary').textContent = `${accepted} of ${jobs.length} file(s) accepted.`;
  });
  return running;
}

function formFields() {
  const role = $('upload-role').value;
  return {
    track: $('upload-track').value,
    role,
    system: role === 'master' ? $('upload-system').value : '',
    provider: $('upload-provider').value,
  };
}

/** Files as chosen or dropped: with a manifest.csv, upload what it lists; else use the form. */
async function handleFiles(files) {
  const list = [...files];
  if (list.length === 0) return;
  const manifest = list.find((f) => f.name.toLowerCase() === 'manifest.csv');
  if (!manifest) {
    if (!$('upload-track').value) {
      resultRow(list.map((f) => f.name).join(', '))('refused', 'refused: add a track first');
      return;
    }
    const fields = formFields();
    await uploadAll(list.map((file) => ({ file, name: file.name, fields })));
    return;
  }
  const body = new FormData();
  body.append('manifest', manifest, manifest.name);
  const { ok, data } = await post(urls.manifest, body);
  if (!ok) {
    resultRow(inFolder(manifest))('refused', `refused: ${(data.errors || []).join(' ')}`);
    return;
  }
  for (const row of data.rows) if (row.track) addTrackOption({ id: row.track, title: row.track_title });
  const byPath = new Map(list.filter((f) => f !== manifest).map((f) => [inFolder(f), f]));
  const jobs = [];
  const extra = [];
  for (const row of data.rows) {
    const file = byPath.get(row.file);
    byPath.delete(row.file);
    if (!file) {
      extra.push([row.file || `row ${row.row}`, `refused: row ${row.row} of the manifest names a file that is not in the folder`]);
      continue;
    }
    jobs.push({ file, name: row.file, fields: { track: row.track, role: row.role, system: row.system, provider: row.provider } });
  }
  for (const path of byPath.keys()) extra.push([path, 'skipped: not listed in the manifest']);
  refresh();
  await uploadAll(jobs, extra);
}

/** Every file of a dropped folder (DataTransfer entries), each with its relative path. */
async function entryFiles(entry, prefix = '') {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    file.relativePath = `${prefix}${entry.name}`;
    return [file];
  }
  const reader = entry.createReader();
  const children = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    children.push(...batch);
  }
  const nested = await Promise.all(children.map((child) => entryFiles(child, `${prefix}${entry.name}/`)));
  return nested.flat();
}

async function droppedFiles(transfer) {
  const entries = [...(transfer.items || [])]
    .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
    .filter(Boolean);
  if (entries.length && entries.some((e) => e.isDirectory)) {
    return (await Promise.all(entries.map((e) => entryFiles(e)))).flat();
  }
  return [...transfer.files];
}

const zone = $('drop-zone');
if (zone) {
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', async (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    await handleFiles(await droppedFiles(event.dataTransfer));
  });
  for (const id of ['upload-files', 'upload-folder']) {
    const input = $(id);
    input.addEventListener('change', async () => {
      await handleFiles(input.files);
      input.value = '';
    });
  }
  const role = $('upload-role');
  const system = $('upload-system');
  const syncSystem = () => { system.disabled = role.value !== 'master'; };
  role.addEventListener('change', syncSystem);
  syncSystem();
}

render();
schedule();
