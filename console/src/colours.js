/**
 * How the map colours a grid: by this month's score, by the worst light of its open
 * cases, or by its type; with the legend for each.
 */
import { t } from './i18n.js';

const GREY = '#c8ccd2';
const LIGHTS = { green: '#2e9e5b', yellow: '#e8b422', red: '#d64541' };
const KINDS = { comprehensive: '#3a78c9', dedicated: '#9b59b6' };
const SCORE_STEPS = [
  [95, '#1a7f45', '≥ 95'],
  [90, '#62b46c', '90–95'],
  [80, '#e8c547', '80–90'],
  [70, '#ec8a3c', '70–80'],
  [-Infinity, '#d64541', '< 70'],
];

/** The fill colour of a grid `props` in `mode`, given the loaded `data`. */
export function fillOf(mode, props, data) {
  if (mode === 'type') return KINDS[props.kind] || GREY;
  if (mode === 'lights') return LIGHTS[data.lights?.get(props.code)] || GREY;
  const score = data.scores?.get(props.code);
  if (score === undefined || score === null) return GREY;
  return SCORE_STEPS.find(([min]) => score >= min)[1];
}

/** The legend rows for `mode`: `[colour, label]`. */
export function legendOf(mode) {
  if (mode === 'type') return [[KINDS.comprehensive, t('kind_comprehensive')], [KINDS.dedicated, t('kind_dedicated')]];
  if (mode === 'lights') {
    return [
      [LIGHTS.red, t('light_red')],
      [LIGHTS.yellow, t('light_yellow')],
      [LIGHTS.green, t('light_green')],
      [GREY, t('legend_no_cases')],
    ];
  }
  return [...SCORE_STEPS.map(([, c, l]) => [c, l]), [GREY, t('legend_no_data')]];
}

/** The worse of two lights (red over yellow over green). */
export function worseLight(a, b) {
  const order = ['green', 'yellow', 'red'];
  return order.indexOf(a) >= order.indexOf(b) ? a : b;
}
