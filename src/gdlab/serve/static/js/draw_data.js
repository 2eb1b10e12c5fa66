// Plotly figures of training answers: the fitted lines, the decision regions, the double
// well, and the loss curves.

import { decades, LOSS_FRAME, logScale } from './draw.js';
import { colorOf } from './state.js';

const CLASS_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const REGION_COLORS = ['#c6dbef', '#fcbba1', '#c7e9c0', '#fdd0a2', '#dadaeb', '#e7cbb8', '#f6cfe6', '#c4eef2'];

const at = (list, k) => list[Math.min(k, list.length - 1)];

export function dataFigure(answer, k, shown) {
  if (answer.task === 'escape') return escapeFigure(answer, k);
  if (answer.task === 'regression') return regressionFigure(answer, k);
  return classificationFigure(answer, k, shown);
}

function points(answer) {
  const [xs, ys] = answer.data.x;
  const val = new Set(answer.data.validation);
  const idx = xs.map((_, i) => i);
  return { xs, ys, y: answer.data.y, train: idx.filter((i) => !val.has(i)), val: idx.filter((i) => val.has(i)) };
}

function regressionFigure(answer, k) {
  const [xs] = answer.data.x;
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const traces = [{ x: xs, y: answer.data.y, mode: 'markers', name: 'data', marker: { color: '#555', size: 6, opacity: 0.7 } }];
  const ls = answer.least_squares;
  traces.push({ x: [lo, hi], y: [ls.intercept + ls.coef * lo, ls.intercept + ls.coef * hi], mode: 'lines',
                name: 'least squares', line: { color: '#000', dash: 'dash', width: 2 } });
  answer.runs.forEach((run, i) => {
    if (!run.snapshots.length) return;
    const s = at(run.snapshots, k);
    if (s.coef === null || s.intercept === null) return;
    traces.push({ x: [lo, hi], y: [s.intercept + s.coef * lo, s.intercept + s.coef * hi], mode: 'lines',
                  name: `${run.label} (epoch ${s.epoch})`, line: { color: colorOf(i), width: 2.5 } });
  });
  const ys = answer.data.y.filter(Number.isFinite);
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.15 || 1;
  return { traces, layout: { xaxis: { title: { text: 'x' } }, yaxis: { title: { text: 'y' },
           range: [Math.min(...ys) - pad, Math.max(...ys) + pad] }, uirevision: 'regression' } };
}

function classificationFigure(answer, k, shown) {
  const traces = [];
  const run = answer.runs[shown] || answer.runs[0];
  const K = answer.classes.length;
  const snap = run && run.snapshots.length ? at(run.snapshots, k) : null;
  if (snap && snap.regions) {
    const z = snap.regions.map((row) => Array.from(row, Number));
    const scale = [];
    for (let c = 0; c < K; c += 1) {
      scale.push([c / K, REGION_COLORS[c % 8]], [(c + 1) / K, REGION_COLORS[c % 8]]);
    }
    traces.push({ type: 'heatmap', x: answer.grid.x, y: answer.grid.y, z, zmin: -0.5, zmax: K - 0.5,
                  colorscale: scale, showscale: false, hoverinfo: 'skip', name: 'regions' });
  }
  const p = points(answer);
  for (let c = 0; c < K; c += 1) {
    for (const [set, symbol, label] of [[p.train, 'circle', 'train'], [p.val, 'diamond-open', 'validation']]) {
      const rows = set.filter((i) => p.y[i] === c);
      if (!rows.length) continue;
      traces.push({ x: rows.map((i) => p.xs[i]), y: rows.map((i) => p.ys[i]), mode: 'markers',
                    name: `class ${answer.classes[c]} (${label})`,
                    marker: { color: CLASS_COLORS[c % 8], symbol, size: 7, line: { color: '#fff', width: symbol === 'circle' ? 0.5 : 1.5 } } });
    }
  }
  const title = run ? `decision regions of ${run.label}${snap ? `, epoch ${snap.epoch}` : ''}` : '';
  return { traces, layout: { xaxis: { title: { text: 'x1' }, range: [answer.grid.x[0], answer.grid.x.at(-1)] },
                             yaxis: { title: { text: 'x2' }, range: [answer.grid.y[0], answer.grid.y.at(-1)] },
                             title: { text: title, font: { size: 13 } }, uirevision: 'classification' } };
}

// frame k of the longest run, as the same fraction of training in every run
function aligned(answer, k, run) {
  const frames = Math.max(...answer.runs.map((r) => r.w.length));
  return frames > 1 ? Math.round((k / (frames - 1)) * (run.w.length - 1)) : 0;
}

function escapeFigure(answer, k) {
  const traces = [{ x: answer.curve.x, y: answer.curve.f, mode: 'lines', name: 'full-batch loss f(w)',
                    line: { color: '#34495e', width: 2 } }];
  answer.runs.forEach((run, i) => {
    const j = aligned(answer, k, run);
    const from = Math.max(0, j - 60);
    traces.push({ x: run.w.slice(from, j + 1), y: run.f.slice(from, j + 1), mode: 'lines', showlegend: false,
                  hoverinfo: 'skip', line: { color: colorOf(i), width: 1 }, opacity: 0.6 });
    traces.push({ x: [run.w[j]], y: [run.f[j]], mode: 'markers', name: `${run.label}: w = ${run.w[j].toFixed(3)}`,
                  marker: { color: colorOf(i), size: 13, line: { color: '#000', width: 1 } } });
  });
  return { traces, layout: { xaxis: { title: { text: 'w' }, range: [-2, 2] },
                             yaxis: { title: { text: 'loss' }, range: [-0.8, 3] }, uirevision: 'escape' } };
}

export function dataLossFigure(answer, k) {
  const traces = [];
  let epoch = k;
  answer.runs.forEach((run, i) => {
    const epochs = run.loss.map((_, e) => e + 1);
    traces.push({ x: epochs, y: run.loss, mode: 'lines', name: `${run.label} train`, line: { color: colorOf(i), width: 2 } });
    if (run.val_loss && run.val_loss.length) {
      traces.push({ x: epochs, y: run.val_loss, mode: 'lines', name: `${run.label} validation`,
                    line: { color: colorOf(i), width: 2, dash: 'dash' } });
    }
  });
  if (answer.task === 'escape') {
    const run = answer.runs[0];
    epoch = null;
    if (run) {
      const step = run.steps[Math.min(k, run.steps.length - 1)];
      const perEpoch = run.steps.at(-1) / Math.max(1, run.loss.length);
      epoch = step / perEpoch;
    }
  } else {
    const run = answer.runs.find((r) => r.snapshots.length > k) || answer.runs[0];
    epoch = run && run.snapshots.length ? at(run.snapshots, k).epoch : 0;
  }
  const all = answer.runs.flatMap((r) => r.loss.concat(r.val_loss || [])).filter(Number.isFinite);
  const positive = logScale(all);
  return { traces, layout: { xaxis: { title: { text: 'epoch' } }, uirevision: 'data-loss', ...LOSS_FRAME,
           yaxis: { title: { text: 'loss' }, type: positive ? 'log' : 'linear', exponentformat: 'power',
                    dtick: positive ? decades(all) : undefined },
           title: { text: 'loss per epoch (dashed: validation)', font: { size: 13 } },
           shapes: epoch === null ? [] : [{ type: 'line', x0: epoch, x1: epoch, yref: 'paper', y0: 0, y1: 1,
                                            line: { color: '#999', width: 1, dash: 'dot' } }] } };
}
