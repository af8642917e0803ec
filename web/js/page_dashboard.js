// page_dashboard.js - the command centre (指挥中心): headline figures, trends,
// the breakdown by category and by subordinate unit, the drill-down district
// → street → community → grid with the same figures at every level, and the
// live feed of new leads and cases.
//
// The figures come from GET /api/v1/stats (messages, leads, consultations)
// and GET /api/v1/kpi (cases and rates) for the unit in the address
// (#/dashboard?unit=CODE, default the caller's own); each figure card keeps
// the raw value in data-value so the browser tests can compare it with the
// API. Figures paint first; ECharts (1 MB) is loaded afterwards, so it never
// delays the first paint. Every part fails on its own with a Chinese state.

import { get, stream } from './api.js';
import { clear, empty, failure, h, label, loading, num, pct, time } from './ui.js';

const FIGURES = [
  { key: 'messages_today', text: '今日消息', from: 'stats', get: (s) => s.messages_today },
  { key: 'messages', text: '消息总数', from: 'stats', get: (s) => s.messages },
  { key: 'leads', text: '问题线索', from: 'stats', get: (s) => s.leads },
  { key: 'consultations', text: '咨询已答复', from: 'stats', get: (s) => s.consultations_answered },
  { key: 'open', text: '在办案件', from: 'kpi', get: (k) => k.open },
  { key: 'overdue', text: '超期案件', from: 'kpi', get: (k) => k.overdue, warn: true },
  { key: 'response', text: '响应率', from: 'kpi', get: (k) => k.rates && k.rates.response, rate: true },
  { key: 'on_time_close', text: '按期结案率', from: 'kpi', get: (k) => k.rates && k.rates.on_time_close, rate: true },
  { key: 'satisfaction', text: '满意率', from: 'kpi', get: (k) => k.rates && k.rates.satisfaction, rate: true },
];

let echartsPromise = null;
const echartsLib = () => (echartsPromise ||= import('/node_modules/echarts/dist/echarts.esm.min.mjs'));

export function render(main, ctx) {
  const unit = ctx.query.unit || ctx.me.unit;
  const charts = [];
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': '层级' });
  const figs = h('section', { class: 'figures', 'aria-label': '核心指标' });
  const notes = h('div', { class: 'notes' });
  const trend = h('div', { class: 'chart', role: 'img', 'aria-label': '消息与线索趋势图' });
  const cats = h('div', { class: 'chart', role: 'img', 'aria-label': '按类别分布图' });
  const childChart = h('div', { class: 'chart', role: 'img', 'aria-label': '下级单位对比图' });
  const catTable = h('div', { class: 'cat-table' });
  const drill = h('div', { class: 'drill' });
  const feed = h('ol', { class: 'feed', 'aria-live': 'polite' });
  const feedState = h('p', { class: 'muted feed-state' }, '正在连接实时推送…');
  const title = h('h1', {}, '指挥中心');
  let days = 90;
  let lastStats = null;
  const span = h(
    'select',
    { 'aria-label': '趋势时间范围', onchange: (ev) => ((days = Number(ev.target.value)), lastStats && drawCharts(lastStats)) },
    [
      [30, '近30天'],
      [90, '近90天'],
      [365, '近一年'],
    ].map(([v, t]) => h('option', { value: v, selected: v === days }, t))
  );

  clear(
    main,
    h(
      'div',
      { class: 'dashboard' },
      h('div', { class: 'page-head' }, title, crumbs, h('button', { type: 'button', onclick: () => load(), class: 'link' }, '刷新')),
      figs,
      notes,
      h(
        'div',
        { class: 'dash-grid' },
        h('section', { class: 'card wide' }, h('div', { class: 'card-head' }, h('h2', {}, '消息与线索趋势（按日）'), span), trend),
        h('section', { class: 'card' }, h('h2', {}, '问题类别分布'), cats, catTable),
        h('section', { class: 'card wide' }, h('h2', {}, '下级单位（点击逐级下钻）'), childChart, drill),
        h('section', { class: 'card live' }, h('h2', {}, '实时动态'), feedState, feed)
      )
    )
  );

  let stopped = false;
  async function load() {
    clear(figs, FIGURES.map((f) => h('div', { class: 'figure', dataset: { figure: f.key } }, h('span', { class: 'fig-label' }, f.text), h('strong', { class: 'fig-value' }, '…'))));
    clear(notes);
    clear(crumbs, h('span', { class: 'muted' }, '…'));
    clear(drill, loading());
    clear(catTable);
    const [u, stats, kpi] = await Promise.all(
      [get('/api/v1/units/' + encodeURIComponent(unit)), get('/api/v1/stats', { unit }), get('/api/v1/kpi', { unit })].map((p) =>
        p.then((v) => ({ ok: v }), (err) => ({ err }))
      )
    );
    if (stopped) return;
    drawCrumbs(u);
    drawFigures({ stats, kpi });
    drawDrill(u, stats, kpi);
    drawCats(stats);
    drawCharts(stats);
  }

  function drawCrumbs(u) {
    if (u.err) {
      clear(crumbs, h('span', {}, unit));
      return;
    }
    const path = u.ok.path && u.ok.path.length ? u.ok.path : [{ code: u.ok.code, name: u.ok.name, level: u.ok.level }];
    title.textContent = (u.ok.name || '') + ' 指挥中心';
    clear(
      crumbs,
      h(
        'ol',
        {},
        path.map((p, i) =>
          h('li', {}, i === path.length - 1 ? h('span', { 'aria-current': 'page' }, p.name) : h('a', { href: '#/dashboard?unit=' + p.code }, p.name))
        )
      )
    );
  }

  function drawFigures(src) {
    clear(
      figs,
      FIGURES.map((f) => {
        const s = src[f.from];
        const v = s.ok ? f.get(s.ok) : undefined;
        const known = v !== undefined && v !== null;
        return h(
          'div',
          { class: 'figure' + (f.warn && v > 0 ? ' warn' : ''), dataset: { figure: f.key } },
          h('span', { class: 'fig-label' }, f.text),
          h('strong', { class: 'fig-value', dataset: { value: known ? String(v) : '' } }, known ? (f.rate ? pct(v) : num(v)) : '—')
        );
      })
    );
    const msgs = [];
    if (src.stats.err) msgs.push('消息统计：' + src.stats.err.message);
    if (src.kpi.err) msgs.push('案件考核指标：' + src.kpi.err.message);
    clear(notes, msgs.map((m) => h('p', { class: src.stats.err?.missing || src.kpi.err?.missing ? 'state missing' : 'state error' }, m)));
  }

  function drawDrill(u, stats, kpi) {
    const rows = new Map();
    const add = (code, name, level) => rows.has(code) || rows.set(code, { unit: code, unit_name: name, level });
    if (u.ok && u.ok.children) for (const c of u.ok.children) add(c.code, c.name, c.level);
    if (stats.ok && stats.ok.by_child) for (const c of stats.ok.by_child) add(c.unit, c.unit_name), Object.assign(rows.get(c.unit), { messages: c.messages, leads: c.leads });
    if (kpi.ok && kpi.ok.by_child) for (const c of kpi.ok.by_child) add(c.unit, c.unit_name), Object.assign(rows.get(c.unit), { open: c.open, overdue: c.overdue, rates: c.rates || {} });
    const list = [...rows.values()];
    if (!list.length) {
      clear(drill, u.err ? failure(u.err, load) : empty(u.ok && u.ok.level === 'grid' ? '网格是最小的管理单元，没有下级。' : '没有下级单位。'));
      return;
    }
    const r = (x, k) => (x.rates ? pct(x.rates[k]) : '—');
    clear(
      drill,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'drill-table' },
          h('thead', {}, h('tr', {}, ['单位', '消息', '线索', '在办', '超期', '响应率', '按期结案率', '满意率'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)))),
          h(
            'tbody',
            {},
            list.map((x) =>
              h(
                'tr',
                { dataset: { unit: x.unit } },
                h('th', { scope: 'row' }, h('a', { href: '#/dashboard?unit=' + x.unit }, x.unit_name || x.unit)),
                h('td', { class: 'num' }, num(x.messages)),
                h('td', { class: 'num' }, num(x.leads)),
                h('td', { class: 'num' }, num(x.open)),
                h('td', { class: 'num' + (x.overdue > 0 ? ' warn' : '') }, num(x.overdue)),
                h('td', { class: 'num' }, r(x, 'response')),
                h('td', { class: 'num' }, r(x, 'on_time_close')),
                h('td', { class: 'num' }, r(x, 'satisfaction'))
              )
            )
          )
        )
      )
    );
    drawChildChart(list);
  }

  function drawCats(stats) {
    if (stats.err) return clear(catTable, failure(stats.err));
    const bc = stats.ok.by_category || {};
    const list = Object.entries(bc)
      .filter(([k]) => k !== '无') // chit-chat and personal help: not a problem category
      .sort((a, b) => b[1] - a[1]);
    if (!list.length) return clear(catTable, empty('暂无分类数据。'));
    clear(catTable, h('ul', { class: 'bars' }, list.map(([k, v]) => h('li', {}, h('span', {}, k), h('strong', {}, num(v))))));
  }

  async function chart(el, option) {
    let lib;
    try {
      lib = await echartsLib();
    } catch {
      return clear(el, h('p', { class: 'state error' }, '图表组件加载失败，请刷新重试。'));
    }
    if (stopped) return;
    let c = lib.getInstanceByDom(el);
    if (!c) {
      el.replaceChildren();
      c = lib.init(el, null, { renderer: 'canvas' });
      charts.push(c);
    }
    c.setOption(Object.assign({ animation: false, textStyle: { fontFamily: 'inherit' } }, option), true);
  }

  function drawCharts(stats) {
    if (stats.err) {
      clear(trend, failure(stats.err));
      clear(cats);
      return;
    }
    lastStats = stats;
    const series = (stats.ok.by_day || []).slice(-days);
    if (!series.length) clear(trend, empty('暂无趋势数据。'));
    else
      chart(trend, {
        tooltip: { trigger: 'axis' },
        legend: { data: ['消息', '线索'] },
        grid: { left: 50, right: 50, top: 36, bottom: 30 },
        xAxis: { type: 'category', data: series.map((d) => d.date) },
        yAxis: [{ type: 'value', name: '消息' }, { type: 'value', name: '线索' }],
        series: [
          { name: '消息', type: 'line', showSymbol: false, data: series.map((d) => d.messages) },
          { name: '线索', type: 'line', showSymbol: false, yAxisIndex: 1, data: series.map((d) => d.leads) },
        ],
      });
    const bc = Object.entries(stats.ok.by_category || {}).filter(([k, v]) => k !== '无' && v > 0);
    if (!bc.length) clear(cats, empty('暂无问题类别数据。'));
    else
      chart(cats, {
        tooltip: { trigger: 'item' },
        series: [{ type: 'pie', radius: ['35%', '65%'], data: bc.map(([name, value]) => ({ name, value })) }],
      });
  }

  function drawChildChart(list) {
    if (!list.some((x) => x.messages !== undefined || x.open !== undefined)) return;
    chart(childChart, {
      tooltip: { trigger: 'axis' },
      legend: { data: ['线索', '在办', '超期'] },
      grid: { left: 50, right: 20, top: 36, bottom: 60 },
      xAxis: { type: 'category', data: list.map((x) => x.unit_name), axisLabel: { rotate: list.length > 8 ? 40 : 0 } },
      yAxis: { type: 'value' },
      series: [
        { name: '线索', type: 'bar', data: list.map((x) => x.leads ?? 0) },
        { name: '在办', type: 'bar', data: list.map((x) => x.open ?? 0) },
        { name: '超期', type: 'bar', data: list.map((x) => x.overdue ?? 0) },
      ],
    });
  }

  function onEvent(type, d) {
    if (type === 'overflow') return load(); // events were dropped: refetch the figures
    if (type !== 'lead' && type !== 'case') return;
    const item =
      type === 'lead'
        ? h('li', { class: 'ev-lead' }, h('span', { class: 'chip' }, '新线索'), h('span', { class: 'chip soft' }, label('intent', d.intent)), h('b', {}, d.unit_name || d.unit || ''), h('span', {}, d.text || ''), h('time', {}, time(d.created_at)))
        : h(
            'li',
            { class: 'ev-case' },
            h('span', { class: 'chip' }, '案件'),
            h('span', { class: 'chip soft' }, label('status', d.status)),
            h('b', {}, d.unit_name || d.unit || ''),
            d.id ? h('a', { href: '#/cases/' + d.id }, d.title || '案件 #' + d.id) : h('span', {}, d.title || ''),
            h('time', {}, time(d.at || d.opened_at))
          );
    feed.prepend(item);
    while (feed.children.length > 30) feed.lastChild.remove();
    feedState.textContent = '实时推送已连接。';
  }

  function onState(state, err) {
    feedState.textContent =
      state === 'open' ? (feed.children.length ? '实时推送已连接。' : '实时推送已连接，等待新线索和案件…') : state === 'missing' ? '实时推送暂未开通。' : err ? err.message : '实时连接已断开，正在重新连接…';
  }

  const stopStream = stream(onEvent, onState);
  const timer = setInterval(load, 60000);
  const resize = () => charts.forEach((c) => c.resize());
  window.addEventListener('resize', resize);
  load();
  return () => {
    stopped = true;
    stopStream();
    clearInterval(timer);
    window.removeEventListener('resize', resize);
    charts.forEach((c) => c.dispose());
  };
}
