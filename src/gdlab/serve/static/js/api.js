// Requests to the JSON API. A Channel keeps one request in flight: a newer one aborts the
// older (latest wins), and an answer that arrives after a newer request was sent is ignored.

export class Channel {
  constructor(path) {
    this.path = path;
    this.seq = 0;
    this.controller = null;
  }

  // -> {stale: true} for an answer overtaken by a newer request, else {ok, status, body}
  async send(payload) {
    const seq = ++this.seq;
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      const response = await fetch(this.path, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(payload), signal: controller.signal,
      });
      const body = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
      if (seq !== this.seq) return { stale: true };
      return { ok: response.ok, status: response.status, body };
    } catch (err) {
      if (seq !== this.seq || err.name === 'AbortError') return { stale: true };
      return { ok: false, status: 0, body: { error: `no answer from the server: ${err.message}` } };
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }
}

export async function getJSON(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

// at most one call per `ms` while a control moves; the last value always goes out
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  return (...args) => {
    clearTimeout(timer);
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => { last = Date.now(); fn(...args); }, wait);
  };
}
