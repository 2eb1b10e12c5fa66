// The Data tab: a data set, a model, training runs side by side; snapshots animated.

import { Channel, throttle } from './api.js';
import { el, fmt, numberInput, select } from './dom.js';
import { react } from './draw.js';
import { dataFigure, dataLossFigure } from './draw_data.js';
import { renderRuns } from './optimizers.js';
import { colorOf } from './state.js';

const DATASETS = {
  regression: [['line', 'noisy line (1-D)'], ['csv', 'my CSV (x, y)']],
  classification: [['blobs', 'blobs'], ['moons', 'moons'], ['circles', 'circles'], ['spirals', 'spirals'],
                   ['csv', 'my CSV (x1, x2, label)']],
  escape: [['double_well', "the demo's double well"]],
};
const MODELS = {
  regression: [['linear', 'linear regression']],
  classification: [['logistic', 'logistic regression'], ['softmax', 'softmax regression'], ['mlp', 'MLP']],
  escape: [['double_well', 'one weight w']],
};

export class DataTab {
  constructor(root, page) {
    this.root = root;
    this.page = page;
    this.channel = new Channel('/api/fit');
    this.answer = null;
    this.shown = 0;          // the run whose decision regions are drawn
    this.live = throttle(() => this.compute(true), 250);
  }

  get st() { return this.page.state.data; }

  build() {
    const st = this.st;
    const ds = st.dataset;
    const model = st.model;
    const set = (fn) => (v) => { fn(v); this.changed(); };
    const rebuild = (fn) => (v) => { fn(v); this.build(); this.changed(); };
    this.list = el('ul', { class: 'runs', testid: 'data-run-list' });
    this.renderRuns();
    const csv = el('input', { type: 'file', accept: '.csv,text/csv', testid: 'dataset-csv' });
    csv.addEventListener('change', () => this.upload(csv.files[0]));
    this.error = el('div', { class: 'error', testid: 'data-error', role: 'alert' });
    const modelRows = [el('div', { class: 'row' }, [
      el('label', {}, ['model ', select('model', MODELS[st.task], model.kind, rebuild((v) => { model.kind = v; }))]),
      st.task === 'escape' ? null
        : el('label', {}, ['L2 ', numberInput('model-l2', model.l2 ?? 0, set((v) => { model.l2 = v; }), { min: '0' })]),
    ])];
    if (st.task === 'regression') {
      modelRows.push(el('label', {}, ['objective ', select('model-loss', [['mse', 'MSE ‖y−ŷ‖²/n'],
        ['rmse', 'RMSE √(‖y−ŷ‖²/n)'], ['half_mse', 'half MSE ‖y−ŷ‖²/(2n)']], model.loss || 'mse',
        set((v) => { model.loss = v; st.runs.forEach((r) => { delete r.loss; }); }))]));
    }
    if (model.kind === 'mlp') {
      const hidden = el('input', { testid: 'model-hidden', value: (model.hidden || [16]).join(', '), size: 8,
                                   title: 'hidden layer sizes, e.g. 16, 16' });
      hidden.addEventListener('change', () => {
        model.hidden = hidden.value.split(',').map((v) => Number(v.trim())).filter((v) => v > 0);
        this.changed();
      });
      modelRows.push(el('div', { class: 'row' }, [
        el('label', {}, ['hidden layers ', hidden]),
        el('label', {}, ['activation ', select('model-activation', this.page.catalog.activations.map((a) => [a, a]),
          model.activation || 'tanh', set((v) => { model.activation = v; st.runs.forEach((r) => { delete r.activation; }); }))]),
      ]));
    }
    const dataRows = [el('div', { class: 'row' }, [
      el('label', {}, ['task ', select('task', [['regression', 'regression (1-D)'], ['classification', 'classification (2-D)'],
        ['escape', 'SGD vs GD on a double well']], st.task, rebuild((v) => this.setTask(v)))]),
    ]), el('div', { class: 'row' }, [
      el('label', {}, ['data ', select('dataset', DATASETS[st.task], ds.name || DATASETS[st.task][0][0],
        rebuild((v) => { ds.name = v; }))]),
      ds.name === 'csv' ? null
        : el('label', {}, ['rows ', numberInput('dataset-n', ds.n ?? 200, set((v) => { ds.n = v; }), { min: '4' })]),
    ])];
    if (st.task !== 'escape' && ds.name === 'csv') {
      const lines = ds.text ? ds.text.split('\n').filter((l) => l.trim()).length : 0;
      dataRows.push(el('div', { class: 'muted', testid: 'csv-note', text: lines
        ? `your CSV: ${lines} lines (a header line is skipped)`
        : `choose a CSV file: ${st.task === 'regression' ? 'columns x, y' : 'columns x1, x2, label'}` }));
      dataRows.push(el('div', { class: 'row' }, [
        el('label', {}, ['seed ', numberInput('dataset-seed', ds.seed ?? 0, set((v) => { ds.seed = v; }), { min: '0' })]),
        el('label', {}, ['upload CSV ', csv]),
      ]));
    } else if (st.task !== 'escape') {
      dataRows.push(el('div', { class: 'row' }, [
        el('label', {}, ['noise ', numberInput('dataset-noise', ds.noise ?? '', set((v) => { ds.noise = v; }), { min: '0' })]),
        st.task === 'classification' ? el('label', {}, ['classes ', numberInput('dataset-classes', ds.classes ?? 2,
          set((v) => { ds.classes = v; }), { min: '2' })]) : null,
        el('label', {}, ['seed ', numberInput('dataset-seed', ds.seed ?? 0, set((v) => { ds.seed = v; }), { min: '0' })]),
      ]));
      dataRows.push(el('div', { class: 'row' }, [el('label', {}, ['upload CSV ', csv])]));
    }
    this.root.replaceChildren(...[
      el('h2', { text: 'Data' }), ...dataRows, this.error,
      el('h2', { text: 'Model' }), ...modelRows,
      el('h2', { text: 'Training runs' }), this.list,
      el('button', { type: 'button', testid: 'add-data-run', text: '+ Add run', onclick: () => this.addRun() }),
      el('div', { class: 'row' }, [
        el('label', {}, ['epochs ', numberInput('epochs', st.epochs, set((v) => { st.epochs = v; }), { min: '1' })]),
        st.task === 'classification' ? el('label', {}, ['validation ', numberInput('validation', st.validation,
          set((v) => { st.validation = v; }), { min: '0', max: '0.5', step: '0.05' })]) : null,
      ]),
      st.task === 'classification' ? el('div', { class: 'row' }, [el('label', {}, ['regions of ',
        select('regions-run', st.runs.map((r, i) => [String(i), r.label]), String(this.shown),
          (v) => { this.shown = Number(v); this.draw(); })])]) : null,
      el('div', { class: 'row' }, [
        el('button', { type: 'button', class: 'primary', testid: 'train', text: 'Train', onclick: () => this.compute(false) }),
        el('button', { type: 'button', testid: 'data-reset', text: 'Reset', onclick: () => this.page.reset('data') }),
      ]),
    ].filter(Boolean));
  }

  setTask(task) {
    const st = this.st;
    st.task = task;
    st.dataset = { name: DATASETS[task][0][0], n: task === 'regression' ? 100 : 200, seed: 0 };
    st.model = { kind: MODELS[task][0][0], loss: 'mse', hidden: [16], activation: 'tanh' };
    st.validation = task === 'classification' ? 0.25 : 0;
    this.shown = 0;
  }

  renderRuns() {
    renderRuns(this.list, this.st.runs, this.page.catalog, (live, rebuild) => {
      if (rebuild) this.build();
      if (live) { this.page.saveState(); this.live(); } else this.changed();
    }, (run) => [
      el('label', {}, ['batch ', select('batch-size', batchChoices(run.batch_size), String(run.batch_size ?? 'full'), (v) => {
        run.batch_size = v === 'full' ? null : Number(v);
        this.changed();
      })]),
      el('label', {}, ['name ', el('input', { testid: 'run-label', value: run.label, size: 10,
        onchange: (e) => { run.label = e.target.value; run.autoLabel = false; this.changed(); } })]),
    ]);
  }

  addRun() {
    if (this.st.runs.length >= this.page.catalog.limits.max_runs) return;
    this.st.runs.push({ optimizer: 'sgd', lr: 0.05, label: `run ${this.st.runs.length + 1}`, autoLabel: false,
                        options: {}, schedule: null, batch_size: 10 });
    this.build();
    this.changed();
  }

  async upload(file) {
    if (!file) return;
    if (file.size > this.page.catalog.limits.max_body_bytes - 10000) {
      this.error.textContent = `the file is too large (${file.size} bytes): the playground takes under 1 MB`;
      return;
    }
    this.st.dataset = { ...this.st.dataset, name: 'csv', text: await file.text() };
    this.build();
    this.changed();
  }

  changed() {
    this.page.saveState();
    this.live();
  }

  payload() {
    const st = this.st;
    return { task: st.task, dataset: st.dataset, model: st.model, epochs: st.epochs,
             validation: st.validation, seed: st.seed,
             runs: st.runs.map((r) => ({ optimizer: r.optimizer, lr: r.lr, label: r.label, options: r.options,
                                         schedule: r.schedule, batch_size: r.batch_size, loss: r.loss,
                                         activation: r.activation })) };
  }

  async compute(live) {
    this.page.status.replaceChildren(el('span', { class: 'busy', text: 'training…' }));
    const reply = await this.channel.send(this.payload());
    if (reply.stale) return;
    if (!reply.ok) {
      this.error.textContent = reply.body.error;
      this.page.status.replaceChildren(el('div', { class: 'failed', text: reply.body.error }));
      return;
    }
    this.error.textContent = '';
    this.answer = reply.body;
    this.shown = Math.min(this.shown, this.answer.runs.length - 1);
    this.page.lastAnswer = { tab: 'data', request: this.payload(), answer: this.answer };
    this.load(live);
  }

  load(live) {
    this.page.player.load(this.frames(), (k) => this.drawFrame(k), (k) => this.describe(k), { atEnd: live });
    this.showStatus();
  }

  frames() {
    const a = this.answer;
    if (a.task === 'escape') return Math.max(...a.runs.map((r) => r.w.length));
    return Math.max(1, ...a.runs.map((r) => r.snapshots.length));
  }

  describe(k) {
    const a = this.answer;
    if (a.task === 'escape') {
      const steps = a.runs.map((r) => r.steps[Math.min(k, r.steps.length - 1)]);
      return `step ${Math.max(...steps)}`;
    }
    const run = a.runs.find((r) => r.snapshots.length > k) || a.runs[0];
    const snap = run.snapshots[Math.min(k, run.snapshots.length - 1)];
    return `epoch ${snap ? snap.epoch : 0}`;
  }

  draw() { if (this.answer) this.drawFrame(this.page.player.index); }

  drawFrame(k) {
    const fig = dataFigure(this.answer, k, this.shown);
    react(this.page.plot, fig.traces, fig.layout);
    const loss = dataLossFigure(this.answer, k);
    react(this.page.lossPlot, loss.traces, loss.layout);
  }

  showStatus() {
    const rows = this.answer.runs.map((run, i) => {
      const extra = [];
      if (run.gap) {
        extra.push(`gap to least squares: slope ${fmt(run.gap.coef, 3)}, intercept ${fmt(run.gap.intercept, 3)}, `
                   + `${run.objective} ${fmt(run.gap.loss, 3)}`);
      }
      if (run.final_w !== undefined) extra.push(`w ends at ${fmt(run.final_w, 3)}`);
      const lastLoss = run.loss.length ? run.loss[run.loss.length - 1] : null;
      if (lastLoss !== null) extra.push(`train loss ${fmt(lastLoss, 4)}`);
      const lastVal = run.val_loss && run.val_loss.length ? run.val_loss[run.val_loss.length - 1] : null;
      if (lastVal !== null) extra.push(`validation loss ${fmt(lastVal, 4)}`);
      const line = el('div', { class: `run${run.failed ? ' failed' : ''}`, testid: 'run-status' }, [
        el('span', { class: 'chip' }), el('b', { text: run.label }),
        el('span', { text: `${run.reason}${extra.length ? ` — ${extra.join('; ')}` : ''}` }),
      ]);
      line.style.setProperty('--c', colorOf(i));
      return line;
    });
    rows.push(el('div', { class: 'muted', text: `trained by gdlab in ${fmt(this.answer.elapsed, 3)} s` }));
    this.page.status.replaceChildren(...rows);
  }
}

function batchChoices(current) {
  const choices = [['full', 'full batch'], ['1', 'online (1)'], ['2', '2'], ['10', '10'], ['32', '32'], ['64', '64']];
  if (current && !choices.some(([v]) => Number(v) === current)) choices.push([String(current), String(current)]);
  return choices;
}

