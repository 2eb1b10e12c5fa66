// The Functions tab: a formula, starts, optimizers side by side; the picture and the paths.

import { Channel, throttle } from './api.js';
import { checkbox, el, fmt, numberInput, select } from './dom.js';
import { functionFigure, lossFigure, react } from './draw.js';
import { defaultRun, renderRuns } from './optimizers.js';
import { colorOf } from './state.js';

export class FunctionsTab {
  constructor(root, page) {
    this.root = root;
    this.page = page;       // plot, lossPlot, status, player, catalog, saveState
    this.channel = new Channel('/api/descend');
    this.answer = null;
    this.live = throttle(() => this.compute(true), 60);
  }

  get st() { return this.page.state.functions; }

  build() {
    const st = this.st;
    const catalog = this.page.catalog;
    this.formula = el('input', { class: 'formula', testid: 'formula', value: st.formula, spellcheck: false,
                                 'aria-label': 'formula', autocomplete: 'off' });
    this.formula.addEventListener('input', () => { st.formula = this.formula.value; st.view = null; this.changed(true); });
    this.error = el('div', { class: 'error', testid: 'formula-error', role: 'alert' });
    this.derivative = el('div', { class: 'mono', testid: 'derivative' });
    const named = select('function-list', [['', 'named test functions…'],
      ...catalog.functions.map((f) => [f.name, f.title])], '', (v) => {
      if (!v) return;
      st.formula = v;
      st.view = null;
      st.starts = [];
      st.log_levels = catalog.functions.find((f) => f.name === v).valley;
      this.build();
      this.compute(false);
    });
    this.startsBox = el('input', { class: 'wide mono', testid: 'starts', value: startsText(st.starts),
                                   'aria-label': 'starts', title: 'starts: x,y; x,y (or click the plot)' });
    this.startsBox.addEventListener('change', () => { st.starts = parseStarts(this.startsBox.value); this.changed(false); });
    this.list = el('ul', { class: 'runs', testid: 'optimizer-list' });
    this.renderRuns();
    this.viewBox = el('div', { testid: 'view' });
    this.fillView();
    this.root.replaceChildren(
      el('h2', { text: 'Function' }), this.formula, this.error,
      el('div', { class: 'row' }, [named]), this.derivative,
      el('h2', { text: 'View' }), this.viewBox,
      el('h2', { text: 'Starts' }),
      el('div', { class: 'muted', text: 'Click the plot to add a start.' }), this.startsBox,
      el('div', { class: 'row' }, [
        el('button', { type: 'button', testid: 'random-starts', text: 'Random starts', onclick: () => this.randomStarts() }),
        el('button', { type: 'button', testid: 'clear-starts', text: 'Clear starts',
                       onclick: () => { st.starts = []; this.startsBox.value = ''; this.changed(false); } }),
      ]),
      el('h2', { text: 'Optimizers' }), this.list,
      el('button', { type: 'button', testid: 'add-optimizer', text: '+ Add optimizer', onclick: () => this.addRun() }),
      el('h2', { text: 'Settings' }),
      el('div', { class: 'row' }, [
        el('label', {}, ['max steps ', numberInput('max-steps', st.max_steps, (v) => { st.max_steps = v; this.changed(false); }, { min: '1' })]),
        el('label', {}, ['eps ', numberInput('eps', st.eps, (v) => { st.eps = v; this.changed(false); })]),
      ]),
      el('div', { class: 'row' }, [
        checkbox('maximize', 'ascent (maximize)', st.maximize, (v) => { st.maximize = v; this.changed(false); }),
        checkbox('show-derivative', "f' and tangents", st.derivative, (v) => { st.derivative = v; this.draw(); this.page.saveState(); }),
      ]),
      el('div', { class: 'row' }, [
        checkbox('field', 'gradient field', st.field, (v) => { st.field = v; this.changed(false); }),
        checkbox('log-levels', 'log levels', st.log_levels, (v) => { st.log_levels = v; this.draw(); this.page.saveState(); }),
        checkbox('surface', '3-D surface', st.surface, (v) => { st.surface = v; this.draw(); this.page.saveState(); }),
      ]),
      el('div', { class: 'row' }, [
        el('button', { type: 'button', class: 'primary', testid: 'run', text: 'Run', onclick: () => this.compute(false) }),
        el('button', { type: 'button', testid: 'reset', text: 'Reset', onclick: () => this.page.reset('functions') }),
      ]),
    );
  }

  // the view's inputs (what is drawn: a test function's domain unless set here)
  fillView() {
    if (this.viewBox.contains(document.activeElement)) return;
    const view = this.st.view || (this.answer ? this.answer.view : []);
    const names = this.answer ? this.answer.function.variables : ['x', 'y'];
    this.viewBox.replaceChildren(...view.map((pair, j) => el('div', { class: 'row' }, [
      `${names[j]} from`, numberInput(`view-${j ? 'y' : 'x'}min`, pair[0], (v) => this.setView(j, 0, v)),
      'to', numberInput(`view-${j ? 'y' : 'x'}max`, pair[1], (v) => this.setView(j, 1, v)),
    ])));
  }

  setView(j, side, value) {
    const st = this.st;
    const view = JSON.parse(JSON.stringify(st.view || this.answer.view));
    view[j][side] = value;
    st.view = view;
    this.changed(false);
  }

  renderRuns() {
    renderRuns(this.list, this.st.runs, this.page.catalog, (live, rebuild) => {
      if (rebuild) this.renderRuns();
      this.changed(live);
    });
  }

  addRun() {
    const names = Object.keys(this.page.catalog.optimizers);
    const used = new Set(this.st.runs.map((r) => r.optimizer));
    const name = names.find((n) => !used.has(n)) || names[0];
    if (this.st.runs.length >= this.page.catalog.limits.max_runs) return;
    this.st.runs.push(defaultRun(this.page.catalog, name, name === 'sgd' ? 0.1 : 0.05));
    this.renderRuns();
    this.changed(false);
  }

  randomStarts() {
    const st = this.st;
    const d = this.answer ? this.answer.function.variables.length : 1;
    const view = this.answer ? this.answer.view : [[-5, 5]];
    const n = Math.min(5, this.page.catalog.limits.max_starts - st.starts.length);
    for (let i = 0; i < n; i += 1) {
      st.starts.push(Array.from({ length: d }, (_, j) => {
        const [lo, hi] = view[Math.min(j, view.length - 1)];
        return Number((lo + Math.random() * (hi - lo)).toPrecision(3));
      }));
    }
    this.startsBox.value = startsText(st.starts);
    this.changed(false);
  }

  // a start placed where the plot was clicked (data coordinates from the axes' ranges)
  click(event) {
    if (!this.answer || this.st.surface || this.answer.picture.kind === 'none') return;
    const drag = this.page.plot.querySelector('.nsewdrag');
    if (!drag || !event.event) return;
    const box = drag.getBoundingClientRect();
    const [x0, x1] = this.page.plot.layout.xaxis.range;
    const [y0, y1] = this.page.plot.layout.yaxis.range;
    const x = x0 + ((event.event.clientX - box.left) / box.width) * (x1 - x0);
    const y = y1 - ((event.event.clientY - box.top) / box.height) * (y1 - y0);
    const point = this.answer.picture.kind === 'curve' ? [x] : [x, y];
    if (this.st.starts.length >= this.page.catalog.limits.max_starts) this.st.starts.shift();
    this.st.starts.push(point.map((v) => Number(v.toPrecision(4))));
    this.startsBox.value = startsText(this.st.starts);
    this.changed(false);
  }

  changed(live) {
    this.page.saveState();
    if (live) this.live(); else this.compute(false);
  }

  payload() {
    const st = this.st;
    return { formula: st.formula, view: st.view, starts: st.starts, max_steps: st.max_steps,
             eps: st.eps, maximize: st.maximize, field: st.field ? 15 : 0,
             runs: st.runs.map((r) => ({ optimizer: r.optimizer, lr: r.lr, label: r.label,
                                         options: r.options, schedule: r.schedule })) };
  }

  async compute(live) {
    const status = this.page.status;
    if (!status.querySelector('.run')) status.replaceChildren(el('span', { class: 'busy', text: 'computing…' }));
    const reply = await this.channel.send(this.payload());
    if (reply.stale) return;
    if (!reply.ok) { this.showError(reply.body); return; }
    this.clearError();
    this.answer = reply.body;
    if (this.answer.starts_ignored) {      // the starts were placed for another formula
      this.st.starts = [];
      this.startsBox.value = '';
      this.page.saveState();
    }
    this.derivative.textContent = derivativeText(this.answer.function);
    this.fillView();
    this.page.lastAnswer = { tab: 'functions', request: this.payload(), answer: this.answer };
    this.load(live);
  }

  load(live) {
    const answer = this.answer;
    const steps = Math.max(0, ...answer.runs.flatMap((r) => r.starts.map((s) => s.nit)));
    this.page.player.load(steps + 1, (k) => this.drawFrame(k), (k) => `step ${k} of ${steps}`,
                          { atEnd: live, stepsPerFrame: 1 });
    this.showStatus();
  }

  draw() { if (this.answer) this.drawFrame(this.page.player.index); }

  drawFrame(k) {
    const fig = functionFigure(this.answer, this.st, k);
    react(this.page.plot, fig.traces, fig.layout);
    const loss = lossFigure(this.answer, k, this.st.maximize);
    react(this.page.lossPlot, loss.traces, { ...loss.layout, title: { text: 'f along each run', font: { size: 13 } } });
  }

  showStatus() {
    const rows = [];
    if (!this.answer.runs.length) {
      const why = this.answer.starts_ignored ? `The starts were for another number of variables; f has ${
        this.answer.function.variables.length}. ` : '';
      rows.push(el('div', { class: 'muted', text: this.st.starts.length ? 'Add an optimizer.' : `${why}Click the plot to place a start.` }));
    }
    this.answer.runs.forEach((run, r) => run.starts.forEach((row, s) => {
      const line = el('div', { class: `run${row.failed ? ' failed' : ''}`, testid: 'run-status' }, [
        el('span', { class: 'chip' }),
        el('b', { text: run.starts.length > 1 ? `${run.label} #${s + 1}` : run.label }),
        el('span', { text: row.reason }),
      ]);
      line.style.setProperty('--c', colorOf(r));
      rows.push(line);
    }));
    rows.push(el('div', { class: 'muted', text: `computed by gdlab in ${fmt(this.answer.elapsed * 1000, 3)} ms` }));
    this.page.status.replaceChildren(...rows);
  }

  showError(body) {
    if (body.kind === 'formula') {
      this.formula.classList.add('bad');
      const text = body.text || this.st.formula;
      const at = body.position;
      const parts = [el('div', { text: body.message })];
      if (at !== null && at !== undefined) {
        parts.push(el('code', {}, [text.slice(0, at), el('span', { class: 'at', text: text.slice(at, at + 1) || ' ' }),
                                   text.slice(at + 1)]));
      }
      if (body.hint) parts.push(el('div', { text: `Hint: ${body.hint}` }));
      this.error.replaceChildren(...parts);
    } else {
      this.formula.classList.remove('bad');
      this.error.replaceChildren(el('div', { text: body.error }));
    }
    this.page.status.replaceChildren(el('div', { class: 'failed', text: body.error }));
  }

  clearError() {
    this.formula.classList.remove('bad');
    this.error.replaceChildren();
  }
}

function derivativeText(fn) {
  const v = fn.variables;
  if (v.length === 1) return `f'(${v[0]}) = ${fn.gradient[0]}`;
  return fn.gradient.map((g, j) => `∂f/∂${v[j]} = ${g}`).join('\n');
}

export function startsText(starts) { return starts.map((p) => p.join(', ')).join('; '); }

export function parseStarts(text) {
  return text.split(';').map((part) => part.split(',').map((v) => v.trim()).filter((v) => v !== '').map(Number))
    .filter((p) => p.length && p.every(Number.isFinite));
}
