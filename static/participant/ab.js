/**
 * AB preference page: for each attribute, which of A and B do you prefer
 * (optionally "no preference"). Each answer is saved as soon as it is given.
 *
 * @module ab
 */

import { t } from './strings.js';
import { el, mountTrial } from './trial.js';

/** Radio value of "no preference" (radio values are indices, never keys). */
const NONE = 'none';

/** @returns {object} the AB paradigm for mountTrial() */
export function abParadigm() {
  /** @type {Map<string, {radios: HTMLInputElement[], answered: boolean, attribute: object}>} */
  const groups = new Map();
  let formId = 0;

  function select(group, value) {
    for (const radio of group.radios) radio.checked = radio.value === value;
    group.answered = true;
  }

  return {
    name: 'ab',
    // A and B are the versions' own keys (trial.js keyMap).
    letterKeys: true,

    render(page, container) {
      formId += 1;
      const listen = el('div', { className: 'ab-listen', role: 'group', 'aria-label': t('Listen') },
        page.conditions.map((c, i) => page.conditionButton(page.indexOf(i))));
      container.append(listen);
      const attributes = page.data.attributes && page.data.attributes.length
        ? page.data.attributes
        : [{ id: 'overall', label: t('Overall') }];
      attributes.forEach((attribute, j) => {
        const name = `ab-${formId}-${j}`;
        const options = page.conditions.map((condition, i) => ({ value: String(i), text: condition.label }));
        if (page.rules.allow_no_preference) options.push({ value: NONE, text: t('No preference') });
        const radios = [];
        const fieldset = el('fieldset', { className: 'preference' }, [
          el('legend', { text: t('Which do you prefer for {attribute}?', { attribute: attribute.label }) }),
          // The researcher's description of the attribute, when the study gives one.
          ...(attribute.description ? [el('p', { className: 'attribute-description', text: attribute.description })] : []),
        ]);
        const group = { radios, answered: false, attribute };
        for (const option of options) {
          const radio = el('input', { type: 'radio', name, value: option.value });
          radio.addEventListener('change', () => {
            if (!radio.checked) return;
            group.answered = true;
            const condition = option.value === NONE ? null : page.conditions[Number(option.value)].key;
            page.save({ type: 'preference', attribute: attribute.id, condition }, `preference:${attribute.id}`);
          });
          radios.push(radio);
          fieldset.append(el('label', { className: 'option' }, [radio, ` ${option.text}`]));
        }
        groups.set(attribute.id, group);
        container.append(fieldset);
      });
    },

    restore(page, answers, options = {}) {
      const keep = options.keep || (() => false);
      const preferences = { ...(answers.preferences || {}) };
      for (const body of page.pendingAnswers()) {
        if (body.type === 'preference') preferences[body.attribute] = body.condition;
      }
      for (const [attributeId, key] of Object.entries(preferences)) {
        const group = groups.get(attributeId);
        if (!group || keep(`preference:${attributeId}`)) continue;
        if (key === null) select(group, NONE);
        else {
          const i = page.conditions.findIndex((c) => c.key === key);
          if (i >= 0) select(group, String(i));
        }
      }
    },

    problems() {
      const open = [...groups.values()].filter((g) => !g.answered);
      return open.map((g) => ({
        message: t('Choose your preference for {attribute}.', { attribute: g.attribute.label }),
        focus: g.radios[0],
      }));
    },
  };
}

/**
 * Mount an AB preference trial.
 *
 * @param {HTMLElement} root
 * @param {object} data trial description
 * @param {object} [options] see mountTrial
 */
export function mountAb(root, data, options) {
  return mountTrial(root, data, abParadigm(), options);
}
