// Small DOM helpers: elements are built with textContent only (never innerHTML), so text
// from a formula, a CSV or an error message can never become markup.

export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'testid') node.dataset.testid = value;
    else if (key === 'style') node.setAttribute('style', value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function labeled(text, input, title) {
  return el('label', { title }, [text, ' ', input]);
}

export function numberInput(testid, value, onchange, attrs = {}) {
  return el('input', { type: 'number', step: 'any', value: value ?? '', testid, ...attrs,
                       onchange: (e) => onchange(e.target.value === '' ? null : Number(e.target.value)) });
}

export function select(testid, options, value, onchange, attrs = {}) {
  const node = el('select', { testid, ...attrs, onchange: (e) => onchange(e.target.value) },
    options.map(([v, label]) => el('option', { value: v, text: label })));
  node.value = value;
  return node;
}

export function checkbox(testid, text, value, onchange) {
  return el('label', {}, [el('input', { type: 'checkbox', testid, checked: !!value,
                                        onchange: (e) => onchange(e.target.checked) }), ' ', text]);
}

// a number shown the short way: 0.001, 1.5e-7, 12.3
export function fmt(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(2) : String(Number(v.toPrecision(digits)));
}
