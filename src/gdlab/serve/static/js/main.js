// The page: the catalog from the server, the two tabs, presets, the address, share and
// downloads.

import { getJSON } from './api.js';
import { DataTab } from './data.js';
import { el } from './dom.js';
import { FunctionsTab } from './functions.js';
import { Player } from './player.js';
import { clone, decodeState, encodeState } from './state.js';

const $ = (id) => document.getElementById(id);

function whenPlotly() {
  return new Promise((resolve) => {
    const wait = () => (window.Plotly ? resolve() : setTimeout(wait, 20));
    wait();
  });
}

class Page {
  constructor(catalog) {
    this.catalog = catalog;
    this.plot = $('plot');
    this.lossPlot = $('loss-plot');
    this.status = $('status');
    this.lastAnswer = null;
    this.player = new Player({ play: $('play'), step: $('step-frame'), frame: $('frame'),
                               label: $('frame-label'), speed: $('speed') });
    this.presets = Object.fromEntries(catalog.presets.map((p) => [p.id, p]));
    this.state = decodeState(window.location.hash) || this.defaults();
    this.tabs = { functions: new FunctionsTab($('functions-controls'), this),
                  data: new DataTab($('data-controls'), this) };
  }

  defaults() {
    return { tab: 'functions', preset: '', functions: clone(this.presets['gd-quadratic'].state),
             data: clone(this.presets['sgd-vs-gd'].state) };
  }

  start() {
    const presets = $('presets');
    for (const p of this.catalog.presets) presets.append(el('option', { value: p.id, text: p.title }));
    presets.addEventListener('change', () => { if (presets.value) this.applyPreset(presets.value); });
    document.querySelectorAll('[data-tab]').forEach((b) => b.addEventListener('click', () => this.show(b.dataset.tab, true)));
    $('share').addEventListener('click', () => this.share());
    $('download-png').addEventListener('click', () => window.Plotly.downloadImage(this.plot,
      { format: 'png', width: 1200, height: 700, filename: 'gdlab-playground' }));
    $('download-json').addEventListener('click', () => this.downloadJSON());
    window.addEventListener('hashchange', () => {
      const state = decodeState(window.location.hash);
      if (state && JSON.stringify(state) !== JSON.stringify(this.state)) { this.state = state; this.rebuild(); }
    });
    this.rebuild();
  }

  rebuild() {
    this.tabs.functions.build();
    this.tabs.data.build();
    this.showPresetText();
    this.show(this.state.tab, false);
    this.tabs[this.state.tab].compute(false);
  }

  show(tab, compute) {
    this.state.tab = tab;
    document.querySelectorAll('[data-tab]').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === tab)));
    document.querySelectorAll('[data-panel]').forEach((p) => { p.hidden = p.dataset.panel !== tab; });
    this.saveState();
    if (!compute) return;
    const current = this.tabs[tab];
    if (current.answer) {
      this.lastAnswer = { tab, request: current.payload(), answer: current.answer };
      current.load(true);
      if (current.showStatus) current.showStatus();
    } else current.compute(false);
  }

  applyPreset(id) {
    const preset = this.presets[id];
    const tab = preset.state.tab;
    this.state[tab] = clone(preset.state);
    this.state.tab = tab;
    this.state.preset = id;
    this.tabs[tab].build();
    this.showPresetText();
    this.show(tab, false);
    this.tabs[tab].compute(false);
  }

  reset(tab) {
    this.state[tab] = clone(this.defaults()[tab]);
    this.state.preset = '';
    this.tabs[tab].build();
    this.showPresetText();
    this.tabs[tab].compute(false);
  }

  showPresetText() {
    const preset = this.presets[this.state.preset];
    $('preset-text').textContent = preset ? `${preset.title}: ${preset.text}` : '';
    $('presets').value = preset ? preset.id : '';
  }

  saveState() {
    window.history.replaceState(null, '', encodeState(this.state));
    $('share-url').value = window.location.href;
  }

  async share() {
    this.saveState();
    const url = window.location.href;
    $('share-url').value = url;
    $('share-url').select();
    try {
      await navigator.clipboard.writeText(url);
      $('share').textContent = 'Link copied';
    } catch (err) {
      $('share').textContent = 'Copy the link';
    }
    setTimeout(() => { $('share').textContent = 'Share link'; }, 2000);
  }

  downloadJSON() {
    const blob = new Blob([JSON.stringify({ state: this.state, ...this.lastAnswer }, null, 1)],
                          { type: 'application/json' });
    const a = el('a', { href: URL.createObjectURL(blob), download: 'gdlab-runs.json' });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
}

async function main() {
  const [catalog] = await Promise.all([getJSON('/api/catalog'), whenPlotly()]);
  const page = new Page(catalog);
  window.gdlabPage = page;      // for the browser tests and the curious
  page.start();
  // clicks on the plot place starts (Functions tab); the handler is attached once Plotly
  // has made the plot
  const attach = () => {
    if (page.plot.on) page.plot.on('plotly_click', (ev) => { if (page.state.tab === 'functions') page.tabs.functions.click(ev); });
    else setTimeout(attach, 50);
  };
  attach();
}

main();
