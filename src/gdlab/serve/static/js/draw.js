// Plotly figures of the API's answers. Only drawing happens here: every value comes from
// the server (gdlab).

import { colorOf } from './state.js';

const Plotly = () => window.Plotly;
const CONFIG = { displaylogo: false, responsive: true,
                 modeBarButtonsToRemove: ['lasso2d', 'select2d'] };
const MARGIN = { l: 55, r: 20, t: 30, b: 45 };
// the loss charts are short: their legend goes below the axis title
export const LOSS_FRAME = { margin: { l: 55, r: 20, t: 30, b: 80 }, legend: { orientation: 'h', y: -0.38 } };

export function react(div, traces, layout) {
  return Plotly().react(div, traces, { margin: MARGIN, hoverdistance: -1, showlegend: true,
    legend: { orientation: 'h', y: -0.15 }, uirevision: layout.uirevision, ...layout }, CONFIG);
}

// [min, max] of the finite values (a loop: spreading long arrays into Math.min overflows)
export function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v !== null && Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  return [lo, hi];
}

// a log axis when every value is positive and they span more than two decades
export function logScale(values) {
  const [lo, hi] = extent(values);
  return lo > 0 && hi > 100 * lo;
}

// decades between the labels of a log axis: at most about six labels
export function decades(values) {
  const [lo, hi] = extent(values);
  return Math.max(1, Math.ceil(Math.log10(hi / lo) / 6));
}

function finite(values) { return values.filter((v) => v !== null && Number.isFinite(v)); }

function span(values, pad = 0.08) {
  let [lo, hi] = extent(values);
  if (lo > hi) return [-1, 1];
  if (hi - lo < 1e-12) { lo -= 1; hi += 1; }
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

// log levels: log10(z - min + a small part of the range), the valley stays visible
function logLevels(z) {
  const [lo, hi] = extent(z.flat());
  const shift = (hi - lo) * 1e-4 || 1e-12;
  return z.map((row) => row.map((v) => (v === null ? null : Math.log10(v - lo + shift))));
}

// every (run, start) of a descent answer, with its colour
export function paths(answer) {
  const out = [];
  answer.runs.forEach((run, r) => run.starts.forEach((row, s) => out.push({
    run, row, r, s, color: colorOf(r), name: run.label,
    // one legend entry per run, whatever the number of starts
    legend: { legendgroup: `run${r}`, showlegend: s === 0 },
  })));
  return out;
}

const upTo = (values, k) => values.slice(0, k + 1);

// the function's picture with every path drawn up to step k
export function functionFigure(answer, settings, k) {
  const pic = answer.picture;
  if (pic.kind === 'curve') return curveFigure(answer, settings, k);
  if (pic.kind === 'grid') return settings.surface ? surfaceFigure(answer, k) : contourFigure(answer, settings, k);
  return coordinatesFigure(answer, k);
}

function curveFigure(answer, settings, k) {
  const pic = answer.picture;
  const [lo, hi] = answer.view[0];
  const yRange = span(pic.f);
  const traces = [{ x: pic.x, y: pic.f, mode: 'lines', name: `f(${answer.function.variables[0]})`,
                    line: { color: '#34495e', width: 2 }, hoverinfo: 'x+y' }];
  if (settings.derivative) {
    traces.push({ x: pic.x, y: pic.slope, mode: 'lines', name: "f'", yaxis: 'y2',
                  line: { color: '#7f8c8d', dash: 'dot', width: 1.5 }, hoverinfo: 'x+y' });
  }
  for (const p of paths(answer)) {
    const i = Math.min(k, p.row.nit);
    traces.push({ x: upTo(p.row.path[0], i), y: upTo(p.row.f, i), mode: 'lines+markers',
                  name: p.name, line: { color: p.color, width: 1.5 },
                  marker: { color: p.color, size: 6 }, ...p.legend });
    const x = p.row.path[0][i];
    const y = p.row.f[i];
    const m = p.row.slope ? p.row.slope[i] : null;
    if (settings.derivative && [x, y, m].every((v) => v !== null && Number.isFinite(v))) {
      const w = (hi - lo) * 0.15;
      traces.push({ x: [x - w, x + w], y: [y - m * w, y + m * w], mode: 'lines', showlegend: false,
                    hoverinfo: 'skip', line: { color: p.color, dash: 'dash', width: 1.5 } });
    }
  }
  traces.push(startsTrace(answer.runs, (row) => [row.path[0][0], row.f[0]]));
  const layout = { xaxis: { range: [lo, hi], title: { text: answer.function.variables[0] } },
                   yaxis: { range: yRange, title: { text: 'f' } }, hovermode: 'x',
                   uirevision: answer.function.text };
  if (settings.derivative) {
    layout.yaxis2 = { overlaying: 'y', side: 'right', range: span(pic.slope), showgrid: false,
                      zeroline: false, title: { text: "f'" } };
    layout.margin = { ...MARGIN, r: 60 };
  }
  return { traces, layout };
}

function startsTrace(runs, at) {
  const points = runs.length ? runs[0].starts.map((row) => at(row)) : [];
  return { x: points.map((p) => p[0]), y: points.map((p) => p[1]), mode: 'markers', name: 'starts',
           marker: { symbol: 'x', size: 11, color: '#000' }, hoverinfo: 'x+y' };
}

function contourFigure(answer, settings, k) {
  const pic = answer.picture;
  const traces = [{ type: 'contour', x: pic.x, y: pic.y, z: settings.log_levels ? logLevels(pic.z) : pic.z,
                    colorscale: 'Viridis', reversescale: false, ncontours: 30, showscale: true,
                    contours: { coloring: 'heatmap', showlines: true }, line: { width: 0.5 },
                    colorbar: { title: { text: settings.log_levels ? 'log10(f - min)' : 'f' }, thickness: 12 },
                    name: 'f', showlegend: false, hovertemplate: 'x=%{x:.3g}<br>y=%{y:.3g}<extra></extra>' }];
  if (pic.field) {
    traces.push({ x: pic.field.x, y: pic.field.y, mode: 'lines', name: '-grad f', hoverinfo: 'skip',
                  line: { color: 'rgba(255,255,255,0.75)', width: 1 } });
  }
  for (const p of paths(answer)) {
    const i = Math.min(k, p.row.nit);
    traces.push({ x: upTo(p.row.path[0], i), y: upTo(p.row.path[1], i), mode: 'lines+markers',
                  name: p.name, line: { color: p.color, width: 2 }, marker: { color: p.color, size: 4 },
                  ...p.legend });
  }
  const minima = answer.function.minima || [];
  if (minima.length) {
    traces.push({ x: minima.map((m) => m[0]), y: minima.map((m) => m[1]), mode: 'markers',
                  name: 'global minimum', marker: { symbol: 'star', size: 13, color: '#fff',
                                                   line: { color: '#000', width: 1 } } });
  }
  traces.push(startsTrace(answer.runs, (row) => [row.path[0][0], row.path[1][0]]));
  const [vx, vy] = answer.view;
  const names = answer.function.variables;
  return { traces, layout: { xaxis: { range: vx, title: { text: names[0] } },
                             yaxis: { range: vy, title: { text: names[1] } }, hovermode: 'closest',
                             uirevision: answer.function.text } };
}

// steps of a path inside the view box (a diverging run leaves it: the rest is not drawn)
function inView(row, view, k) {
  const [[x0, x1], [y0, y1]] = view;
  let i = 0;
  while (i <= k && i < row.f.length) {
    const x = row.path[0][i];
    const y = row.path[1][i];
    if (x === null || y === null || row.f[i] === null || x < x0 || x > x1 || y < y0 || y > y1) break;
    i += 1;
  }
  return i;
}

function surfaceFigure(answer, k) {
  const pic = answer.picture;
  const traces = [{ type: 'surface', x: pic.x, y: pic.y, z: pic.z, colorscale: 'Viridis',
                    opacity: 0.85, showscale: false, name: 'f' }];
  for (const p of paths(answer)) {
    const n = inView(p.row, answer.view, Math.min(k, p.row.nit));
    traces.push({ type: 'scatter3d', mode: 'lines+markers', x: p.row.path[0].slice(0, n),
                  y: p.row.path[1].slice(0, n), z: p.row.f.slice(0, n), name: p.name,
                  line: { color: p.color, width: 5 }, marker: { color: p.color, size: 2 }, ...p.legend });
  }
  const names = answer.function.variables;
  const [vx, vy] = answer.view;
  return { traces, layout: { scene: { xaxis: { title: { text: names[0] }, range: vx },
                                      yaxis: { title: { text: names[1] }, range: vy },
                                      zaxis: { title: { text: 'f' }, range: span(pic.z.flat(), 0.02) } },
                             uirevision: 'surface',
                             title: { text: 'paths drawn while inside the view', font: { size: 12 } } } };
}

function coordinatesFigure(answer, k) {
  const traces = [];
  for (const p of paths(answer)) {
    const i = Math.min(k, p.row.nit);
    p.row.path.forEach((coords, j) => traces.push({
      y: upTo(coords, i), mode: 'lines', name: `${p.name}: ${answer.function.variables[j]}`,
      legendgroup: `run${p.r}`, showlegend: p.s === 0,
      line: { color: p.color, dash: ['solid', 'dash', 'dot', 'dashdot'][j % 4], width: 1.5 } }));
  }
  return { traces, layout: { xaxis: { title: { text: 'step' } }, yaxis: { title: { text: 'coordinates' } },
                             title: { text: `${answer.function.variables.length} variables: each coordinate along the runs`,
                                      font: { size: 13 } }, uirevision: answer.function.text } };
}

// f along every run, with a marker at step k
export function lossFigure(answer, k, maximize) {
  const rows = paths(answer);
  const all = rows.flatMap((p) => finite(p.row.f));
  const ok = rows.filter((p) => !p.row.failed).flatMap((p) => finite(p.row.f));
  const positive = logScale(all) && !maximize;
  const traces = rows.map((p) => ({ y: p.row.f, mode: 'lines', name: p.name,
                                    line: { color: p.color, width: 1.5 }, ...p.legend }));
  const layout = { xaxis: { title: { text: 'step' } }, uirevision: 'loss', ...LOSS_FRAME,
                   yaxis: { title: { text: maximize ? 'f (ascent)' : 'f' }, type: positive ? 'log' : 'linear',
                            exponentformat: 'power', dtick: positive ? decades(ok.length ? ok : all) : undefined },
                   shapes: [{ type: 'line', x0: k, x1: k, yref: 'paper', y0: 0, y1: 1,
                              line: { color: '#999', width: 1, dash: 'dot' } }] };
  if (!positive && ok.length) layout.yaxis.range = span(ok);
  if (positive && ok.length) {
    const [lo, hi] = extent(ok);
    layout.yaxis.range = [Math.log10(lo) - 0.3, Math.log10(hi) + 0.3];
  }
  return { traces, layout };
}
