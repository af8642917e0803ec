// page_notices.js - group notices (群通知): compose one for a unit of one's own
// subtree (a chain of pickers that starts at the caller's unit and goes down
// one level at a time, so nothing outside the subtree can be chosen),
// resident and/or enterprise groups, now or at a set time; the list of
// notices; and each notice's delivery report per group, refreshed every few
// seconds while deliveries are pending.

import { get, post } from './api.js';
import { clear, empty, failure, field, h, isoLocal, items, label, loading, num, table, time, toast } from './ui.js';

export function render(main, ctx) {
  if (ctx.args[0]) return report(main, ctx.args[0]);
  const listEl = h('div', {}, loading());
  clear(main, h('div', { class: 'page-head' }, h('h1', {}, '群通知')), h('div', { class: 'split' }, compose(ctx), h('section', { class: 'card' }, h('h2', {}, '已发通知'), listEl)));
  const load = () =>
    get('/api/v1/notices', { limit: 50 }).then(
      (d) =>
        clear(
          listEl,
          table(
            [
              { title: '通知', render: (n) => h('a', { href: '#/notices/' + n.id }, (n.text || '').slice(0, 40) || '#' + n.id) },
              { title: '范围', render: (n) => n.scope_name || n.scope },
              { title: '状态', render: (n) => label('delivery', n.status) },
              { title: '送达', num: true, render: (n) => (n.counts ? `${num(n.counts.sent)}/${num((n.counts.sent || 0) + (n.counts.pending || 0) + (n.counts.dead || 0) + (n.counts.failed || 0))}` : '—') },
              { title: '时间', render: (n) => time(n.send_at) },
            ],
            items(d),
            { empty: '还没有发过通知。', class: 'notice-table' }
          )
        ),
      (err) => clear(listEl, failure(err, load))
    );
  load();
}

function compose(ctx) {
  const me = ctx.me;
  const pickers = h('div', { class: 'pickers' });
  const chosen = h('p', { class: 'muted', id: 'scope-chosen' });
  let scope = me.unit;
  const text = h('textarea', { name: 'text', id: 'notice-text', rows: 4, placeholder: '通知内容' });
  const kinds = [
    h('input', { type: 'checkbox', value: 'resident', checked: true, id: 'kind-resident' }),
    h('input', { type: 'checkbox', value: 'enterprise', id: 'kind-enterprise' }),
  ];
  const at = h('input', { type: 'datetime-local', id: 'notice-at', name: 'at' });
  const msg = h('p', { class: 'form-error', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'primary' }, '发送通知');
  const form = h(
    'form',
    { class: 'card', onsubmit: submit, 'aria-label': '发布通知' },
    h('h2', {}, '发布通知'),
    h('fieldset', { class: 'plain' }, h('legend', {}, '发送范围（只能选本辖区）'), pickers, chosen),
    field('通知内容', text),
    h('div', { class: 'field' }, h('span', {}, '发送对象'), h('div', {}, h('label', { class: 'check' }, kinds[0], '居民群'), h('label', { class: 'check' }, kinds[1], '企业群'))),
    field('定时发送（可选）', at, '不填则立即发送'),
    msg,
    btn
  );

  // level i of the chain: a select of unit u itself and its children
  async function picker(code, depth) {
    while (pickers.children.length > depth) pickers.lastChild.remove();
    scope = code;
    let u;
    try {
      u = await get('/api/v1/units/' + encodeURIComponent(code));
    } catch (err) {
      if (depth === 0) clear(pickers, h('p', { class: 'muted' }, '本单位（', code, '）'), err.missing ? null : failure(err));
      return;
    }
    chosen.textContent = '将发送到：' + (u.name || code) + ' 及其下属的群';
    if (!u.children || !u.children.length) return;
    const sel = h(
      'select',
      { 'aria-label': (depth ? '下级' : '') + '单位', dataset: { depth } },
      h('option', { value: '' }, '全部（' + u.name + '）'),
      u.children.map((c) => h('option', { value: c.code }, c.name))
    );
    sel.addEventListener('change', () => {
      if (sel.value) return picker(sel.value, depth + 1);
      while (pickers.children.length > depth + 1) pickers.lastChild.remove();
      scope = code;
      chosen.textContent = '将发送到：' + (u.name || code) + ' 及其下属的群';
    });
    pickers.append(sel);
  }
  picker(me.unit, 0);

  async function submit(ev) {
    ev.preventDefault();
    msg.textContent = '';
    const ks = kinds.filter((k) => k.checked).map((k) => k.value);
    if (!text.value.trim()) return void ((msg.textContent = '请填写通知内容。'), text.focus());
    if (!ks.length) return void (msg.textContent = '请至少选择一种群。');
    btn.disabled = true;
    try {
      const r = await post('/api/v1/notices', { text: text.value.trim(), scope, kinds: ks, at: isoLocal(at.value) });
      toast('通知已提交。');
      ctx.go('notices/' + r.id);
    } catch (err) {
      msg.textContent = err.message;
      btn.disabled = false;
    }
  }
  return form;
}

function report(main, id) {
  let timer = null;
  let rounds = 0;
  const load = () =>
    get('/api/v1/notices/' + encodeURIComponent(id)).then(
      (n) => {
        const c = n.counts || {};
        clear(
          main,
          h('p', {}, h('a', { href: '#/notices' }, '‹ 返回通知列表')),
          h('h1', {}, '通知送达情况'),
          h(
            'section',
            { class: 'card' },
            h('p', { class: 'reply' }, n.text),
            h('p', { class: 'muted' }, '范围：', n.scope_name || n.scope, ' · 对象：', (n.kinds || []).map((k) => label('kind', k)).join('、'), ' · 时间：', time(n.send_at), ' · 状态：', label('delivery', n.status))
          ),
          h(
            'div',
            { class: 'figures', id: 'delivery-counts' },
            [
              ['sent', '已送达'],
              ['pending', '待发送'],
              ['failed', '发送失败'],
              ['dead', '已放弃'],
            ].map(([k, t]) => h('div', { class: 'figure' + ((k === 'dead' || k === 'failed') && c[k] ? ' warn' : ''), dataset: { figure: k } }, h('span', { class: 'fig-label' }, t), h('strong', { class: 'fig-value', dataset: { value: c[k] ?? '' } }, num(c[k]))))
          ),
          h(
            'section',
            { class: 'card' },
            h('h2', {}, '各群送达明细'),
            table(
              [
                { title: '群', render: (d) => d.group_name || d.group },
                { title: '状态', render: (d) => h('span', { class: 'chip ' + (d.status === 'sent' ? 'ok' : d.status === 'dead' || d.status === 'failed' ? 'bad' : 'soft') }, label('delivery', d.status)) },
                { key: 'attempts', title: '尝试次数', num: true },
                { title: '送达时间', render: (d) => time(d.sent_at) },
                { title: '错误', render: (d) => d.last_error || '' },
              ],
              n.deliveries || [],
              { empty: '没有需要送达的群。', class: 'delivery-table' }
            )
          )
        );
        if (c.pending > 0 && rounds++ < 60) timer = setTimeout(load, 3000);
      },
      (err) => clear(main, h('p', {}, h('a', { href: '#/notices' }, '‹ 返回通知列表')), failure(err, load))
    );
  clear(main, loading());
  load();
  return () => clearTimeout(timer);
}
