// page_reports.js - reports (报表考核): the KPI table per subordinate unit and
// per grid worker (考核), the rectification ledger (整改台账, cases not yet
// closed) and a preview of the daily digest (日报) as it would be sent. Each
// table can be saved as CSV: the unit table is written here from what is
// shown, the worker table and the ledger come from the server's own CSV
// (format=csv), so the file is the one the district archives.

import { get, getText } from './api.js';
import { clear, csv, download, failure, field, h, items, label, loading, num, pct, table, tabList, time, toast } from './ui.js';

const fmtNum = (v) => (typeof v === 'number' ? num(Math.round(v * 10) / 10) : '—');

const TABS = [
  ['units', '单位考核'],
  ['workers', '网格员考核'],
  ['ledger', '整改台账'],
  ['digest', '日报预览'],
];

const RATES = [
  ['response', '响应率'],
  ['on_time_resolve', '按期处置率'],
  ['on_time_close', '按期结案率'],
  ['close', '结案率'],
  ['solved', '解决率'],
  ['satisfaction', '满意率'],
];

const TITLES = {
  account: '账号',
  name: '姓名',
  unit: '单位代码',
  unit_name: '单位',
  id: '编号',
  title: '标题',
  category: '类别',
  status: '状态',
  level: '层级',
  cases: '案件数',
  total: '案件数',
  grid: '网格代码',
  grid_name: '网格',
  on_spot: '即办',
  escalated: '上报',
  rated: '已评价',
  minutes_to_accept: '受理用时（工作分钟）',
  minutes_to_close: '结案用时（工作分钟）',
  kind: '类型',
  source: '来源',
  urgency: '紧急程度',
  priority: '优先级',
  stage: '环节',
  origin: '属地',
  status_label: '状态说明',
  open: '在办',
  closed: '已结案',
  overdue: '超期',
  opened_at: '立案时间',
  due_at: '期限',
  age_days: '已历天数',
  department: '部门',
};

// Columns for whatever rows an endpoint gives: known keys get Chinese titles,
// rates (fractions) are shown as percentages.
function columns(rows) {
  const keys = [];
  for (const r of rows.slice(0, 20)) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  // who or what a row is comes first, then its figures
  const FIRST = ['id', 'title', 'grid_name', 'name', 'account', 'unit_name', 'grid', 'unit'];
  keys.sort((a, b) => (FIRST.includes(a) ? FIRST.indexOf(a) : 99) - (FIRST.includes(b) ? FIRST.indexOf(b) : 99));
  const cols = [];
  for (const k of keys) {
    if (k === 'rates') {
      for (const [rk, rt] of RATES) cols.push({ title: rt, num: true, render: (r) => pct(r.rates && r.rates[rk]), text: (r) => (r.rates ? r.rates[rk] : '') });
    } else if (rows.some((r) => r[k] && typeof r[k] === 'object' && !Array.isArray(r[k]))) {
      // {mean, p90} and the like: one column per part
      const parts = [];
      for (const r of rows) for (const p of Object.keys(r[k] || {})) if (!parts.includes(p)) parts.push(p);
      for (const p of parts)
        cols.push({ title: (TITLES[k] || k) + ' ' + (p === 'mean' ? '均值' : p.toUpperCase()), num: true, render: (r) => fmtNum(r[k] && r[k][p]), text: (r) => (r[k] ? r[k][p] : '') });
    } else if (/_at$/.test(k)) cols.push({ title: TITLES[k] || k, render: (r) => time(r[k]), text: (r) => r[k] });
    else if (k === 'status') cols.push({ title: '状态', render: (r) => label('status', r.status), text: (r) => r.status });
    else if (k === 'overdue' && rows.every((r) => typeof r.overdue === 'boolean')) cols.push({ title: '超期', render: (r) => (r.overdue ? '是' : '否'), text: (r) => (r.overdue ? 1 : 0) });
    else cols.push({ key: k, title: TITLES[k] || k, num: typeof rows[0][k] === 'number' && k !== 'id' });
  }
  return cols;
}

export function render(main, ctx) {
  const q = ctx.query;
  const tab = TABS.some(([k]) => k === q.tab) ? q.tab : 'units';
  const unit = h('input', { id: 'r-unit', value: q.unit || ctx.me.unit, inputmode: 'numeric' });
  const from = h('input', { id: 'r-from', type: 'date', value: q.from || '' });
  const to = h('input', { id: 'r-to', type: 'date', value: q.to || '' });
  const date = h('input', { id: 'r-date', type: 'date', value: q.date || '' });
  const params = () => ({ tab, unit: unit.value.trim(), from: from.value, to: to.value, date: date.value });
  const body = h('div', {});
  const nav = (k) => ctx.go('reports?' + new URLSearchParams(Object.entries(Object.assign(params(), { tab: k })).filter(([, v]) => v)).toString());
  clear(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, '报表考核')),
    tabList(
      '报表',
      TABS.map(([k, t]) => ({ key: k, text: t, onselect: () => nav(k) })),
      tab,
      'tabpanel'
    ),
    h(
      'div',
      { id: 'tabpanel', role: 'tabpanel', 'aria-labelledby': 'tab-' + tab },
      h(
        'form',
        { class: 'card filters', onsubmit: (ev) => (ev.preventDefault(), nav(tab)) },
        h('div', { class: 'row' }, field('单位代码', unit), tab === 'digest' ? field('日期', date) : [field('开始日期', from), field('结束日期', to)], h('button', { type: 'submit', class: 'primary' }, '查询'))
      ),
      body
    )
  );
  const p = params();
  const range = { unit: p.unit, from: p.from, to: p.to };
  if (tab === 'units') units(body, range);
  else if (tab === 'workers') generic(body, '/api/v1/kpi/workers', Object.assign({ limit: 500 }, range), '网格员考核', '还没有网格员考核数据。');
  else if (tab === 'ledger') generic(body, '/api/v1/ledger', { unit: p.unit, limit: 500 }, '整改台账', '没有未销号的整改案件。');
  else digest(body, { unit: p.unit, date: p.date });
}

function units(el, range) {
  clear(el, loading());
  get('/api/v1/kpi', range).then(
    (k) => {
      const pick = (c, name) => ({ unit_name: name, unit: c.unit, total: c.total ?? c.cases, open: c.open, overdue: c.overdue, on_spot: c.on_spot, escalated: c.escalated, rates: c.rates || {} });
      const rows = (k.by_child || []).map((c) => pick(c, c.unit_name));
      const all = pick(k, (k.unit_name || k.unit || '') + '（合计）');
      const cols = [
        { key: 'unit_name', title: '单位' },
        { key: 'total', title: '案件数', num: true },
        { key: 'open', title: '在办', num: true },
        { key: 'overdue', title: '超期', num: true },
        { key: 'on_spot', title: '即办', num: true },
        { key: 'escalated', title: '上报', num: true },
      ].concat(RATES.map(([rk, rt]) => ({ title: rt, num: true, render: (r) => pct(r.rates[rk]), text: (r) => r.rates[rk] ?? '' })));
      const shown = [all].concat(rows);
      clear(
        el,
        h('div', { class: 'row' }, h('button', { type: 'button', id: 'csv', onclick: () => download('单位考核.csv', csv(cols, shown), 'text/csv;charset=utf-8') }, '导出 CSV')),
        table(cols, shown, { class: 'kpi-table' })
      );
    },
    (err) => clear(el, failure(err, () => units(el, range)))
  );
}

function generic(el, path, query, name, emptyText) {
  clear(el, loading());
  get(path, query).then(
    (d) => {
      const rows = items(d);
      const exp = h(
        'button',
        {
          type: 'button',
          id: 'csv',
          onclick: async () => {
            exp.disabled = true;
            try {
              download(name + '.csv', await getText(path, Object.assign({}, query, { format: 'csv' })), 'text/csv;charset=utf-8');
            } catch (err) {
              toast(err.message, true);
            } finally {
              exp.disabled = false;
            }
          },
        },
        '导出 CSV'
      );
      clear(el, h('div', { class: 'row' }, exp), table(rows.length ? columns(rows) : [], rows, { empty: emptyText, class: 'report-table' }));
    },
    (err) => clear(el, failure(err, () => generic(el, path, query, name, emptyText)))
  );
}

function digest(el, query) {
  clear(el, loading());
  get('/api/v1/digest', query).then(
    (d) => {
      const text = typeof d === 'string' ? d : d.text || d.digest || '';
      clear(el, h('section', { class: 'card' }, h('h2', {}, '日报（发送前预览）', d.date ? ' · ' + d.date : ''), text ? h('pre', { class: 'digest', id: 'digest' }, text) : h('p', { class: 'state empty' }, '当天没有可以汇报的内容。')));
    },
    (err) => clear(el, failure(err, () => digest(el, query)))
  );
}
