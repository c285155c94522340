// Small DOM helpers. Every piece of data reaches the page as text (textContent, attributes set one
// by one): nothing from the platform, the provider or a file is ever parsed as HTML.

const kSvgNs = 'http://www.w3.org/2000/svg';

function setProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'style' || key === 'innerHTML') throw new Error(`dom: ${key} is not allowed`);
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// h('p', {class: 'note', id: 'x'}, 'text', h('strong', {}, 'bold'))
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return append(el, children);
}

export function svg(tag, props = {}, ...children) {
  const el = document.createElementNS(kSvgNs, tag);
  setProps(el, props);
  return append(el, children);
}

export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`portal: element #${id} is missing from index.html`);
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function show(el, visible) {
  el.hidden = !visible;
}

// A pass/fail/pending mark that never relies on colour alone: an icon and a word.
export function badge(kind, text) {
  const icons = { pass: '\u2713', fail: '\u2717', warn: '\u26A0', pending: '\u2026', info: '\u2139' };
  return h('span', { class: `badge badge-${kind}` }, h('span', { 'aria-hidden': 'true', class: 'badge-icon' }, icons[kind] ?? ''), ' ', text);
}

export function formatValue(value) {
  if (value === undefined || value === null || value === '') return '\u2014';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map(formatValue).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// Unix seconds or milliseconds → local date and time.
export function formatTime(value) {
  if (value === undefined || value === null || value === '') return '\u2014';
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  const ms = n < 1e12 ? n * 1000 : n;
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return '\u2014';
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${r} s`;
  return `${r} s`;
}

export function shortId(id) {
  const text = String(id ?? '');
  return text.length > 14 ? `${text.slice(0, 12)}\u2026` : text;
}

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
