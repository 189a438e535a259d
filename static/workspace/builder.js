// The study builder's formset rows: add, remove, move up and down, type-specific fields.
// Without this module the form still works as a plain post: a blank row to fill in,
// "Position" numbers for the order and "Remove" boxes (Django's formset ORDER/DELETE).

function slug(text) {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^\w\s-]/g, "").trim().replace(/[\s_-]+/g, "-").replace(/^-+|-+$/g, "");
}

function setUpFormset(fieldset) {
  const prefix = fieldset.dataset.formset;
  const list = fieldset.querySelector("[data-rows]");
  const template = fieldset.querySelector("template[data-empty-row]");
  const total = fieldset.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  const max = fieldset.querySelector(`input[name="${prefix}-MAX_NUM_FORMS"]`);
  const add = fieldset.querySelector("[data-add]");
  if (!list || !template || !total) return;
  const kind = prefix === "attributes" ? "attribute" : "question";

  function rows() {
    return [...list.querySelectorAll(":scope > [data-row]")];
  }

  // Number the visible rows, write their order into ORDER and name the move buttons.
  function renumber() {
    let n = 0;
    const shown = rows().filter((row) => !row.hidden);
    for (const row of rows()) {
      const order = row.querySelector(`input[name$="-ORDER"]`);
      if (row.hidden) continue;
      n += 1;
      if (order) order.value = String(n);
      for (const number of row.querySelectorAll("[data-number]")) number.textContent = String(n);
      const up = row.querySelector('[data-move="up"]');
      const down = row.querySelector('[data-move="down"]');
      up.setAttribute("aria-label", `Move ${kind} ${n} up`);
      down.setAttribute("aria-label", `Move ${kind} ${n} down`);
      up.disabled = n === 1;
      down.disabled = n === shown.length;
    }
    if (add && max) add.disabled = rows().length >= Number(max.value);
  }

  // Posted with DELETE on, so the server drops it; no longer "Attribute n".
  function hide(row) {
    row.hidden = true;
    for (const number of row.querySelectorAll("[data-number]")) number.textContent = "removed";
  }

  function enhance(row) {
    const order = row.querySelector(".order-field");
    if (order) order.hidden = true;
    for (const button of row.querySelectorAll("[data-move]")) button.hidden = false;
    const remove = row.querySelector('input[name$="-DELETE"]');
    if (remove?.checked) hide(row); // removed before a refused post
    if (remove) {
      remove.addEventListener("change", () => {
        if (!remove.checked) return;
        hide(row);
        renumber();
        (add || fieldset).focus?.();
      });
    }
    const name = row.querySelector('input[name$="-name"]');
    const key = row.querySelector("[data-key]");
    if (name && key) {
      name.addEventListener("input", () => { key.textContent = slug(name.value) || "—"; });
    }
    const type = row.querySelector('select[name$="-type"]');
    if (type) {
      const show = () => {
        for (const part of row.querySelectorAll("[data-for-type]")) {
          part.hidden = part.dataset.forType !== type.value;
        }
      };
      type.addEventListener("change", show);
      show();
    }
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move]");
    if (!button) return;
    const row = button.closest("[data-row]");
    const visible = rows().filter((r) => !r.hidden);
    const at = visible.indexOf(row);
    if (button.dataset.move === "up" && at > 0) visible[at - 1].before(row);
    if (button.dataset.move === "down" && at < visible.length - 1) visible[at + 1].after(row);
    renumber();
    button.focus();
  });

  if (add) {
    add.hidden = false;
    add.addEventListener("click", () => {
      const index = Number(total.value);
      const html = template.innerHTML.replaceAll("__prefix__", String(index));
      list.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      const row = rows().at(-1);
      enhance(row);
      renumber();
      row.querySelector("input, select, textarea")?.focus();
    });
  }
  rows().forEach(enhance);
  renumber();
}

document.querySelectorAll("fieldset[data-formset]").forEach(setUpFormset);
document.getElementById("error-summary")?.focus();
