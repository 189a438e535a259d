/**
 * MUSHRA page (ITU-R BS.1534-3) with one or more attributes.
 *
 * One row per condition (its listen button, then one 0-100 slider per attribute), a
 * "Reference" button when the study has an open reference, and the five BS.1534
 * quality labels drawn as a scale above each attribute's column. Sliders start at the
 * neutral middle, marked "not rated yet", until the participant moves (or clicks)
 * them; every change is saved at once.
 *
 * @module mushra
 */

import { t } from './strings.js';
import { el, mountTrial } from './trial.js';

/** The BS.1534-3 continuous quality scale: five equal intervals. */
export const SCALE = [
  { label: 'Bad', from: 0, to: 20 },
  { label: 'Poor', from: 20, to: 40 },
  { label: 'Fair', from: 40, to: 60 },
  { label: 'Good', from: 60, to: 80 },
  { label: 'Excellent', from: 80, to: 100 },
];

/** Where a slider starts before it is rated. */
export const NEUTRAL = 50;

/**
 * The scale label of a score (80-100 Excellent, ..., 0-20 Bad).
 *
 * @param {number} score
 * @returns {string}
 */
export function scaleLabel(score) {
  const band = SCALE.find((b) => score < b.to) || SCALE[SCALE.length - 1];
  // (the English label is the catalogue's key: see strings.js)
  return band.label;
}

/** @returns {object} the MUSHRA paradigm for mountTrial() */
export function mushraParadigm() {
  /** @type {Map<string, {input: HTMLInputElement, output: HTMLElement, wrap: HTMLElement, rated: boolean, key: string, label: string, attribute: object}>} */
  const sliders = new Map();
  const id = (conditionIndex, attributeIndex) => `${conditionIndex}:${attributeIndex}`;

  function show(slider, value, rated) {
    slider.rated = rated;
    slider.input.value = String(value);
    slider.wrap.dataset.state = rated ? 'rated' : 'unrated';
    const text = rated ? `${value}, ${t(scaleLabel(value))}` : t('not rated yet');
    slider.input.setAttribute('aria-valuetext', text);
    slider.output.textContent = rated ? `${value} · ${t(scaleLabel(value))}` : t('not rated yet');
  }

  return {
    name: 'mushra',

    render(page, container) {
      const attributes = page.data.attributes || [];
      const head = el('tr', {}, [
        el('th', { scope: 'col', className: 'condition-head' }, [
          el('span', { className: 'visually-hidden', text: t('Condition') }),
        ]),
        ...attributes.map((attribute) =>
          el('th', { scope: 'col' }, [
            el('span', { className: 'attribute-name', text: attribute.label }),
            // The researcher's description of the attribute, when the study gives one.
            ...(attribute.description ? [el('span', { className: 'attribute-description', text: attribute.description })] : []),
            el(
              'span',
              { className: 'scale', 'aria-hidden': 'true' },
              SCALE.map((band) => el('span', { text: t(band.label) })),
            ),
          ]),
        ),
      ]);
      const rows = [];
      if (page.hasReference) {
        rows.push(
          el('tr', { className: 'reference-row' }, [
            el('th', { scope: 'row' }, [page.conditionButton(0, t('Reference'))]),
            el('td', { colspan: Math.max(attributes.length, 1), className: 'reference-note', text: t('Reference (not rated)') }),
          ]),
        );
      }
      page.conditions.forEach((condition, i) => {
        const cells = attributes.map((attribute, j) => {
          const input = el('input', {
            type: 'range',
            min: 0,
            max: 100,
            step: 1,
            value: NEUTRAL,
            'aria-label': t('Condition {label}, {attribute}', { label: condition.label, attribute: attribute.label }),
          });
          const output = el('span', { className: 'value', 'aria-hidden': 'true' });
          // On a phone the grid stacks (participant.css): each slider then shows its
          // attribute and the five scale labels itself, as the column head does on wide screens.
          const head = el('span', { className: 'cell-head', 'aria-hidden': 'true' }, [
            el('span', { className: 'attribute-name', text: attribute.label }),
            ...(attribute.description ? [el('span', { className: 'attribute-description', text: attribute.description })] : []),
            el('span', { className: 'scale' }, SCALE.map((band) => el('span', { text: t(band.label) }))),
          ]);
          const wrap = el('div', { className: 'rating' }, [head, input, output]);
          const slot = `rating:${i}:${attribute.id}`;
          const slider = { input, output, wrap, rated: false, key: condition.key, label: condition.label, attribute, slot };
          sliders.set(id(i, j), slider);
          show(slider, NEUTRAL, false);
          const commit = () => {
            const value = Number(input.value);
            show(slider, value, true);
            page.save({ type: 'rating', condition: condition.key, attribute: attribute.id, score: value }, slot);
          };
          input.addEventListener('input', () => {
            page.noteEdit(slot);
            show(slider, Number(input.value), true);
          });
          input.addEventListener('change', commit);
          // A click that leaves the value where it was still counts as a rating.
          let pressed = false;
          input.addEventListener('pointerdown', () => {
            pressed = true;
            page.noteEdit(slot);
          });
          input.addEventListener('pointerup', () => {
            if (pressed && !slider.rated) commit();
            pressed = false;
          });
          return el('td', {}, [wrap]);
        });
        rows.push(el('tr', {}, [el('th', { scope: 'row' }, [page.conditionButton(page.indexOf(i))]), ...cells]));
      });
      container.append(
        el('table', { className: 'mushra-grid' }, [
          el('caption', {
            className: 'visually-hidden',
            text: t('Rate each condition from 0 (bad) to 100 (excellent) on {attributes}', { attributes: attributes.map((a) => a.label).join(', ') }),
          }),
          el('thead', {}, [head]),
          el('tbody', {}, rows),
        ]),
      );
    },

    /**
     * Show saved ratings: the server's, then this browser's unacknowledged ones.
     *
     * @param {object} page
     * @param {{ratings?: Object<string, Object<string, number>>}} answers
     * @param {{keep?: (slot: string) => boolean}} [options] sliders to leave as they are
     */
    restore(page, answers, options = {}) {
      const keep = options.keep || (() => false);
      const ratings = { ...(answers.ratings || {}) };
      for (const body of page.pendingAnswers()) {
        if (body.type === 'rating') {
          ratings[body.condition] = { ...(ratings[body.condition] || {}), [body.attribute]: body.score };
        }
      }
      const attributes = page.data.attributes || [];
      page.conditions.forEach((condition, i) => {
        attributes.forEach((attribute, j) => {
          const slider = sliders.get(id(i, j));
          const value = ratings[condition.key] && ratings[condition.key][attribute.id];
          if (Number.isFinite(value) && !keep(slider.slot)) show(slider, value, true);
        });
      });
    },

    problems(page) {
      const found = [];
      const rules = page.rules;
      const all = [...sliders.values()];
      if (rules.must_move_all) {
        const unrated = all.filter((s) => !s.rated);
        if (unrated.length) {
          const names = unrated.slice(0, 4).map((s) => `${s.label}: ${s.attribute.label}`);
          const more = unrated.length > 4 ? t(' and {count} more', { count: unrated.length - 4 }) : '';
          found.push({
            message: t('Rate every condition on every attribute ({names}{more}).', { names: names.join(', '), more }),
            focus: unrated[0].input,
          });
        }
      }
      if (rules.require_100 && page.hasReference) {
        for (const attribute of page.data.attributes || []) {
          const column = all.filter((s) => s.attribute === attribute);
          if (!column.some((s) => s.rated && Number(s.input.value) === 100)) {
            found.push({
              message: t('For {attribute}, rate at least one version 100: one of them is identical to the Reference.', { attribute: attribute.label }),
              focus: column[0] && column[0].input,
            });
          }
        }
      }
      return found;
    },
  };
}

/**
 * Mount a MUSHRA trial.
 *
 * @param {HTMLElement} root
 * @param {object} data trial description
 * @param {object} [options] see mountTrial
 */
export function mountMushra(root, data, options) {
  return mountTrial(root, data, mushraParadigm(), options);
}
