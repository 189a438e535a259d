// Copy buttons of the launch page: the clipboard when the browser allows it, otherwise
// the text is selected for the researcher to copy; either way the result is announced.

const status = document.getElementById("copy-status");

function announce(text) {
  status.textContent = "";
  // A fresh text node each time, so a screen reader repeats "Copied".
  window.setTimeout(() => { status.textContent = text; }, 50);
}

for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(field.value);
      announce("Copied");
    } catch {
      field.focus();
      field.select();
      announce("Selected: press Ctrl+C (or ⌘C) to copy");
    }
  });
}
