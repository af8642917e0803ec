// ui.js - small DOM helpers shared by every page: an element builder that
// only ever sets text (no HTML strings, so nothing a resident writes can run),
// the loading / empty / error / "not available" states, tables, number and
// time formats in Chinese, the labels of the domain's codes, a toast and a
// CSV download.

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

export function clear(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
  return el;
}

export const loading = (text) => h('p', { class: 'state loading', role: 'status' }, text || '正在加载…');
export const empty = (text) => h('p', { class: 'state empty' }, text || '暂无数据。');

// The state for a failed call: "not available yet" for a route the server
// does not have, else the error sentence with a retry button.
export function failure(err, retry) {
  if (err && err.missing) return h('p', { class: 'state missing' }, err.message);
  return h(
    'div',
    { class: 'state error', role: 'alert' },
    h('span', {}, (err && err.message) || '操作没有成功，请稍后再试。'),
    retry ? h('button', { type: 'button', class: 'link', onclick: retry }, '重试') : null
  );
}

// Fills el with loading, then with render(data) or the failure state.
export async function section(el, load, render) {
  clear(el, loading());
  try {
    const data = await load();
    clear(el, render(data));
  } catch (err) {
    clear(el, failure(err, () => section(el, load, render)));
  }
}

const nf = new Intl.NumberFormat('zh-CN');
export const num = (v) => (v === undefined || v === null || Number.isNaN(v) ? '—' : nf.format(v));
export const pct = (v) =>
  v === undefined || v === null || Number.isNaN(v) ? '—' : (v * 100).toFixed(1) + '%';

export function time(v) {
  if (!v) return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString('zh-CN', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}

// "2026-05-01T08:30" from a datetime-local input -> ISO with the district's offset
export const isoLocal = (v) => (v ? (v.length === 16 ? v + ':00' : v) + '+08:00' : undefined);

export const labels = {
  role: {
    grid_worker: '网格员',
    community: '社区',
    street: '街道',
    district: '区级',
    department: '区直部门',
    admin: '管理员',
  },
  level: { district: '区', street: '街道', community: '社区', grid: '网格' },
  intent: {
    consult: '政策咨询',
    help: '求助',
    report: '问题上报',
    emergency: '紧急',
    complaint: '投诉',
    other: '闲聊',
  },
  status: {
    reported: '待受理',
    accepted: '已受理',
    in_progress: '处置中',
    resolved: '已办结',
    verified: '已核查',
    closed: '已结案',
    suspended: '已挂起',
  },
  action: {
    accept: '受理',
    start: '开始处置',
    resolve: '办结反馈',
    handle_on_spot: '当场处置',
    verify: '核查',
    close: '结案',
    return: '退回',
    suspend: '挂起',
    resume: '恢复',
    supervise: '督办',
    escalate: '上报上级',
    reopen: '重新办理',
    reassign: '改派',
    merge: '合并',
    report: '上报',
    remind: '催办',
  },
  kind: { resident: '居民群', enterprise: '企业群', case: '案件', rectification: '整改' },
  delivery: { pending: '待发送', sending: '发送中', sent: '已送达', dead: '多次失败已放弃', failed: '发送失败', scheduled: '已预约' },
  priority: { urgent: '紧急', high: '高', normal: '普通', low: '低' },
};

export const categories = ['城乡建设', '环境保护', '交通运输', '教育文体', '劳动和社会保障', '商贸旅游', '卫生计生', '无'];

export const label = (group, v) => (v === undefined || v === null || v === '' ? '—' : (labels[group] && labels[group][v]) || String(v));

// A table from column specs [{key, title, render?(row), num?}] and rows.
export function table(cols, rows, opts) {
  opts = opts || {};
  if (!rows || !rows.length) return empty(opts.empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: opts.class || '' },
      opts.caption ? h('caption', {}, opts.caption) : null,
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : '' }, c.title)))),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            opts.rowAttrs ? opts.rowAttrs(r) : {},
            cols.map((c) => h('td', { class: c.num ? 'num' : '' }, c.render ? c.render(r) : fmtCell(r[c.key])))
          )
        )
      )
    )
  );
}

function fmtCell(v) {
  if (v === undefined || v === null || v === '') return '—';
  if (typeof v === 'number') return num(v);
  if (typeof v === 'boolean') return v ? '是' : '否';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

let toastTimer = null;
export function toast(text, bad) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.className = 'toast show' + (bad ? ' bad' : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = 'toast'), 4000);
}

// Offers text as a file download (CSV with a BOM so spreadsheet programs read UTF-8).
export function download(name, text, type) {
  const bom = type && type.startsWith('text/csv') && !text.startsWith('\ufeff') ? '\ufeff' : '';
  const url = URL.createObjectURL(new Blob([bom + text], { type: type || 'text/plain;charset=utf-8' }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function csv(cols, rows) {
  const cell = (v) => {
    const s = v === undefined || v === null ? '' : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  return [cols.map((c) => cell(c.title)).join(',')]
    .concat(rows.map((r) => cols.map((c) => cell(c.text ? c.text(r) : r[c.key])).join(',')))
    .join('\r\n');
}

// The assistant's reading of a stored message (its intent, category,
// keywords and reply), as a line under the message.
export function reading(m) {
  const t = m.triage || {};
  const kw = (t.keywords || []).map((k) => (typeof k === 'string' ? k : k && k.term)).filter(Boolean);
  return h(
    'div',
    { class: 'reading' },
    '助手判断：',
    h('span', { class: 'chip' }, label('intent', m.intent || t.intent)),
    ' ',
    (m.category || t.category) && (m.category || t.category) !== '无' ? h('span', { class: 'chip soft' }, m.category || t.category) : null,
    kw.length ? h('div', {}, '关键词：', kw.slice(0, 6).join('、')) : null,
    t.reply ? h('div', {}, '助手回复：', t.reply) : null
  );
}

// A tab list in the WAI-ARIA tabs pattern. tabs: [{key, text, href}] (links,
// for the main navigation) or [{key, text, onselect}] (buttons); current is
// the selected key. Only the selected tab is in the Tab order (roving
// tabindex); Left/Right and Up/Down move the focus round the list, Home and
// End to the first and last tab; Enter (and Space on a button) activates.
// Pages re-render when a tab is activated, so a list built again after a
// keyboard activation gives the focus back to its selected tab.
let refocus = null;
export function tabList(name, tabs, current, controls) {
  const els = tabs.map((t) =>
    h(
      t.href ? 'a' : 'button',
      {
        role: 'tab',
        id: 'tab-' + t.key,
        href: t.href,
        type: t.href ? null : 'button',
        'aria-selected': t.key === current ? 'true' : 'false',
        'aria-controls': controls,
        tabindex: t.key === current ? '0' : '-1',
        dataset: { tab: t.key },
        onclick: t.onselect,
      },
      t.text
    )
  );
  if (!els.some((e) => e.tabIndex === 0) && els.length) els[0].tabIndex = 0;
  const list = h('div', { class: 'tabs', role: 'tablist', 'aria-label': name, onkeydown: key }, els);
  function key(ev) {
    const i = els.indexOf(document.activeElement);
    if (i < 0) return;
    const n = els.length;
    const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1 + n, ArrowUp: i - 1 + n, Home: 0, End: n - 1 }[ev.key];
    if (to !== undefined) {
      ev.preventDefault();
      for (const e of els) e.tabIndex = -1;
      els[to % n].tabIndex = 0;
      els[to % n].focus();
    } else if (ev.key === 'Enter' || ev.key === ' ') refocus = name;
  }
  if (refocus === name) {
    refocus = null;
    setTimeout(() => list.querySelector('[aria-selected="true"]')?.focus());
  }
  return list;
}

// A labelled form field.
export function field(text, control, hint) {
  return h('label', { class: 'field' }, h('span', {}, text), control, hint ? h('small', {}, hint) : null);
}

// The items of a list answer, or the array itself.
export const items = (d) => (Array.isArray(d) ? d : (d && d.items) || []);
