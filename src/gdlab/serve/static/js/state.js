// The page's whole setting as one object, kept in the address (#s=...) so that a copied link
// reproduces the picture.

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b',
                        '#e377c2', '#17becf'];

export function colorOf(i) { return PALETTE[i % PALETTE.length]; }

function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(code) {
  const bin = atob(code.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

export function encodeState(state) {
  return `#s=${toBase64Url(JSON.stringify(state))}`;
}

// the state in the address, or null (a malformed link is ignored, not trusted)
export function decodeState(hash) {
  const match = /^#s=([A-Za-z0-9_-]+)$/.exec(hash || '');
  if (!match) return null;
  try {
    const state = JSON.parse(fromBase64Url(match[1]));
    return state && typeof state === 'object' && state.functions && state.data ? state : null;
  } catch (err) {
    return null;
  }
}

export function clone(value) { return JSON.parse(JSON.stringify(value)); }
