// The list of optimizers (or training runs): one row each, with its colour, its optimizer,
// learning rate (a number and a log slider), its own options and a schedule.

import { checkbox, el, fmt, numberInput, select } from './dom.js';
import { colorOf } from './state.js';

const LR_MIN = -4;   // the slider spans lr = 1e-4 ... 1e1 (log scale)
const LR_MAX = 1;

export function defaultRun(catalog, name = 'sgd', lr = 0.1) {
  return { optimizer: name, lr, label: `${name} lr=${lr}`, options: {}, schedule: null };
}

function optionInput(key, value, onchange) {
  if (typeof value === 'boolean') return checkbox(`option-${key}`, key, value, onchange);
  if (Array.isArray(value)) {
    const inputs = value.map((v, j) => numberInput(`option-${key}-${j}`, v, (x) => {
      const next = [...value];
      next[j] = x;
      onchange(next);
    }));
    return el('label', {}, [key, ' ', ...inputs]);
  }
  return el('label', {}, [key, ' ', numberInput(`option-${key}`, value, onchange)]);
}

function summary(run, extras) {
  const parts = [Object.keys(run.options || {}).length ? 'options (changed)' : 'options'];
  if (run.schedule) parts.push(`schedule: ${run.schedule.name}`);
  if (extras) parts.push(run.batch_size ? `batch ${run.batch_size}` : 'full batch');
  return parts.join(', ');
}

// rows of `runs` into `list`; `changed(live)` is called after every edit (live: a slider moving)
export function renderRuns(list, runs, catalog, changed, extra = () => []) {
  list.replaceChildren();
  runs.forEach((run, i) => {
    const info = catalog.optimizers[run.optimizer] || catalog.optimizers.sgd;
    const options = { ...info.defaults, ...run.options };
    // a label that only says the optimizer and lr follows them; a name given stays
    const relabel = () => {
      if (run.autoLabel !== false && /^\S+ lr=/.test(run.label || '')) run.label = `${run.optimizer} lr=${fmt(run.lr)}`;
    };
    const lrText = numberInput('optimizer-lr', run.lr, (v) => {
      if (v > 0) { run.lr = v; relabel(); slider.value = String(Math.log10(v)); changed(false); }
    }, { min: '0', title: 'learning rate' });
    const slider = el('input', { type: 'range', min: String(LR_MIN), max: String(LR_MAX), step: '0.01',
                                 value: String(Math.log10(run.lr)), testid: 'optimizer-lr-slider',
                                 title: 'learning rate (log scale)' });
    slider.addEventListener('input', () => {
      run.lr = Number((10 ** Number(slider.value)).toPrecision(3));
      lrText.value = String(run.lr);
      relabel();
      changed(true);
    });
    const schedules = Object.keys(catalog.schedules);
    const sched = run.schedule || { name: 'constant' };
    const scheduleOptions = Object.entries({ ...catalog.schedules[sched.name], ...sched })
      .filter(([k]) => k !== 'name')
      .map(([k, v]) => optionInput(k, v, (x) => { run.schedule = { ...sched, [k]: x }; changed(false); }));
    const li = el('li', { testid: 'optimizer-row' }, [
      el('div', { class: 'row' }, [
        select('optimizer-name', Object.keys(catalog.optimizers).map((n) => [n, n]), run.optimizer, (v) => {
          run.optimizer = v;
          run.options = {};
          relabel();
          changed(false, true);
        }, { title: 'optimizer' }),
        'lr', lrText, slider,
        el('button', { type: 'button', testid: 'remove-optimizer', title: 'remove', text: '✕',
                       onclick: () => { runs.splice(i, 1); changed(false, true); } }),
      ]),
      el('details', { testid: 'optimizer-options' }, [el('summary', { text: summary(run, extra(run, i).length) }),
        el('div', { class: 'options' }, [
        ...Object.entries(options).map(([k, v]) => optionInput(k, v, (x) => {
          run.options = { ...run.options, [k]: x };
          changed(false);
        })),
        el('label', {}, ['schedule ', select('optimizer-schedule', schedules.map((s) => [s, s]), sched.name, (v) => {
          run.schedule = v === 'constant' ? null : { name: v };
          changed(false, true);
        })]),
        ...scheduleOptions,
        ...extra(run, i),
      ])]),
    ]);
    li.style.setProperty('--c', colorOf(i));
    list.append(li);
  });
}
