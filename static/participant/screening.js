/**
 * Headphone check: every clip may be played once. The answers are checked on the
 * server; nothing here knows which part is right.
 *
 * @module screening
 */

for (const button of document.querySelectorAll('button.play-once')) {
  const audio = new Audio();
  audio.preload = 'none';
  button.addEventListener('click', () => {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute('aria-disabled', 'true');
    button.textContent = 'Playing…';
    audio.src = button.dataset.src;
    audio.addEventListener('ended', () => {
      button.textContent = 'Played';
    });
    audio.play().catch(() => {
      button.textContent = 'Could not play: reload the page';
    });
  });
}
