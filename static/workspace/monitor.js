// The live dashboard: poll the JSON endpoint, replace the sections in place, and say
// politely what changed. The page is complete without this script (server-rendered).

const root = document.getElementById("monitor");

const NAMES = {
  started: ["new session started", "new sessions started"],
  completed: ["new completion", "new completions"],
  screened_out: ["session screened out", "sessions screened out"],
};

/** Describe what grew between two snapshots of the numbers ("2 new completions"). */
export function describeChanges(before, after) {
  const parts = [];
  for (const [key, [one, many]] of Object.entries(NAMES)) {
    const delta = (after[key] ?? 0) - (before[key] ?? 0);
    if (delta > 0) parts.push(`${delta} ${delta === 1 ? one : many}`);
  }
  // The first fit, or a refit: a time that appears or changes.
  if (after.estimate_computed_at && after.estimate_computed_at !== before.estimate_computed_at) {
    parts.push(before.estimate_computed_at ? "estimate updated" : "estimate ready");
  }
  return parts.join(", ");
}

function readNumbers() {
  const numbers = {};
  for (const el of root.querySelectorAll("[data-number]")) {
    numbers[el.dataset.number] = Number(el.textContent);
  }
  const computed = root.querySelector("#section-estimate time");
  if (computed) numbers.estimate_computed_at = computed.getAttribute("datetime");
  return numbers;
}

function start() {
  const url = root.dataset.url;
  const interval = Number(root.dataset.interval) || 15000;
  const live = document.getElementById("monitor-live");
  const updated = document.getElementById("monitor-updated");
  let numbers = readNumbers();
  let timer = null;
  let busy = false;

  async function poll() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        redirect: "manual",
      });
      if (!response.ok) {
        // Signed out or rights withdrawn: stop asking, and say why once.
        live.textContent = "Automatic updates stopped: reload the page to sign in again.";
        stop();
        return;
      }
      const data = await response.json();
      for (const [name, html] of Object.entries(data.sections)) {
        const section = root.querySelector(`[data-section="${name}"]`);
        if (section && section.dataset.html !== html) {
          // Keep a details table open across the update.
          const open = section.querySelector("details")?.open;
          section.innerHTML = html;
          section.dataset.html = html;
          const details = section.querySelector("details");
          if (details && open) details.open = true;
        }
      }
      updated.textContent = data.updated.replace("T", " ").replace(/\+00:00$/, "");
      updated.setAttribute("datetime", data.updated);
      const message = describeChanges(numbers, data.numbers);
      if (message) live.textContent = message;
      numbers = data.numbers;
    } catch {
      // A network hiccup: try again at the next tick, without announcing it.
    } finally {
      busy = false;
    }
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
  }
  function run() {
    if (timer === null) timer = setInterval(poll, interval);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      stop();
    } else {
      poll();
      run();
    }
  });
  root.dataset.polling = "on";
  run();
}

if (root) start();
