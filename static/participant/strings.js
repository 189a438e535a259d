/**
 * The page's texts in the participant's language.
 *
 * The server puts the translations of every text these modules show into the page as
 * JSON (`{{ strings|json_script:"participant-strings" }}`, listening.participant_strings),
 * keyed by the English text. Why JSON in the page and not Django's JavaScriptCatalog:
 * the language is the session's (chosen once, not per request), the page needs no
 * further request before it can draw the trial, no global object is added, and the
 * Content-Security-Policy (script-src 'self', no inline script) is met by json_script,
 * which is data, not script. The texts are identical for every condition: nothing here
 * depends on what is played.
 *
 * @module strings
 */

/** @type {Record<string, string>} */
let catalogue = null;

function load() {
  if (catalogue === null) {
    const node = typeof document === 'undefined' ? null : document.getElementById('participant-strings');
    let parsed = null;
    try {
      parsed = node ? JSON.parse(node.textContent) : null;
    } catch {
      parsed = null;
    }
    // A page without the texts (a harness, a page rendered without them) shows English.
    catalogue = parsed && typeof parsed === 'object' ? parsed : {};
  }
  return catalogue;
}

/**
 * Translate an English text and fill its `{name}` placeholders.
 *
 * @param {string} text the English text (a key of the catalogue)
 * @param {Record<string, string|number>} [values] the placeholders' values
 * @returns {string} the text in the page's language (English when it has no translation)
 */
export function t(text, values = {}) {
  const strings = load();
  const template = Object.prototype.hasOwnProperty.call(strings, text) ? strings[text] : text;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    (Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole));
}
