/**
 * ABX page: listen to A, B and X, then say whether X is A or X is B.
 *
 * X is drawn on the server and served under its own opaque key, so nothing in the
 * page says which of A and B it is; the answer is checked on the server. The answer
 * is saved as soon as it is given and can be changed until "Next".
 *
 * @module abx
 */

import { t } from './strings.js';
import { el, mountTrial } from './trial.js';

/** @returns {object} the ABX paradigm for mountTrial() */
export function abxParadigm() {
  const choices = [];
  let chosen = null;

  function show() {
    for (const choice of choices) {
      const on = choice.key === chosen;
      choice.button.setAttribute('aria-pressed', on ? 'true' : 'false');
      choice.button.classList.toggle('is-chosen', on);
    }
  }

  /** A and B are the two conditions not labelled X (in order); X is labelled "X". */
  function roles(page) {
    const xIndex = Math.max(0, page.conditions.findIndex((c) => c.label === 'X'));
    const others = page.conditions.map((c, i) => i).filter((i) => i !== xIndex);
    return { xIndex, others };
  }

  return {
    name: 'abx',
    // A, B and X are the versions' own keys (trial.js keyMap): "b" listens to B.
    letterKeys: true,

    render(page, container) {
      const { xIndex, others } = roles(page);
      const listen = el('div', { className: 'abx-listen', role: 'group', 'aria-label': t('Listen') }, [
        ...others.map((i) => page.conditionButton(page.indexOf(i))),
        page.conditionButton(page.indexOf(xIndex)),
      ]);
      const group = el('div', { className: 'abx-answer', role: 'group', 'aria-labelledby': 'abx-question' }, [
        el('p', { id: 'abx-question', className: 'question', text: t('Which one is X?') }),
      ]);
      for (const i of others) {
        const condition = page.conditions[i];
        const button = el('button', {
          type: 'button',
          className: 'choice',
          'aria-pressed': 'false',
          text: t('X is {label}', { label: condition.label }),
          onclick: () => {
            chosen = condition.key;
            show();
            page.save({ type: 'abx', condition: condition.key }, 'abx');
            page.announce(t('Answer saved: X is {label}', { label: condition.label }));
          },
        });
        choices.push({ key: condition.key, button });
        group.append(button);
      }
      container.append(listen, group);
    },

    restore(page, answers, options = {}) {
      if (options.keep && options.keep('abx')) return;
      if (answers.choice) chosen = answers.choice;
      for (const body of page.pendingAnswers()) {
        if (body.type === 'abx') chosen = body.condition;
      }
      show();
    },

    problems() {
      if (chosen) return [];
      return [{ message: t('Say whether X is A or X is B.'), focus: choices[0] && choices[0].button }];
    },
  };
}

/**
 * Mount an ABX trial.
 *
 * @param {HTMLElement} root
 * @param {object} data trial description
 * @param {object} [options] see mountTrial
 */
export function mountAbx(root, data, options) {
  return mountTrial(root, data, abxParadigm(), options);
}
