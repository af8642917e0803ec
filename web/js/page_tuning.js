// page_tuning.js - assistant tuning (助手调优) for district staff and admins:
// the policy knowledge base and the keyword lexicon as lists with edit forms
// (the server reloads the assistant without a restart), and "try a message",
// which runs the live engine (POST /api/v1/triage, nothing stored) and shows
// its whole reading: normalised text, matched keywords, intent, category,
// chosen policies, who would be told and the reply.

import { del, get, post, put } from './api.js';
import { categories, clear, failure, field, h, items, label, labels, loading, table, tabList, toast } from './ui.js';

const TABS = [
  ['try', '试一试'],
  ['policies', '政策库'],
  ['lexicon', '关键词库'],
];

export function render(main, ctx) {
  const tab = TABS.some(([k]) => k === ctx.query.tab) ? ctx.query.tab : 'try';
  const body = h('div', { id: 'tabpanel', role: 'tabpanel', 'aria-labelledby': 'tab-' + tab });
  clear(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, '助手调优')),
    tabList(
      '调优内容',
      TABS.map(([k, t]) => ({ key: k, text: t, onselect: () => ctx.go('tuning?tab=' + k) })),
      tab,
      'tabpanel'
    ),
    body
  );
  if (tab === 'try') tryBox(body);
  else if (tab === 'policies') editor(body, POLICY);
  else editor(body, LEXICON);
}

function tryBox(el) {
  const text = h('textarea', { id: 'try-text', rows: 3, placeholder: '输入一条群消息，例如：请问低保怎么申请？' });
  const kind = h('select', { id: 'try-kind' }, h('option', { value: 'resident' }, '居民群'), h('option', { value: 'enterprise' }, '企业群'));
  const out = h('div', { id: 'try-result' });
  const btn = h('button', { type: 'submit', class: 'primary' }, '看看助手怎么判断');
  const form = h('form', { class: 'card', onsubmit: submit }, field('消息内容', text), h('div', { class: 'row' }, field('群类型', kind), btn));
  clear(el, h('div', { class: 'split' }, form, h('section', { class: 'card' }, h('h2', {}, '助手的判断'), out)));
  clear(out, h('p', { class: 'state empty' }, '输入消息后点击按钮，这里显示助手的完整判断。'));

  async function submit(ev) {
    ev.preventDefault();
    if (!text.value.trim()) return void (clear(out, h('p', { class: 'form-error', role: 'alert' }, '请先输入一条消息。')), text.focus());
    btn.disabled = true;
    clear(out, loading('助手正在判断…'));
    try {
      const r = await post('/api/v1/triage', { text: text.value, kind: kind.value });
      const policies = (r.policies || []).map((p) => (typeof p === 'string' ? p : [p.title || p.code, p.code && p.title ? `（${p.code}）` : ''].join('')));
      const notify = (r.notify || []).map((n) => (typeof n === 'string' ? n : [label('role', n.role), n.unit_name || n.name || n.unit || n.department || ''].filter(Boolean).join(' ')));
      clear(
        out,
        h(
          'dl',
          { class: 'kv' },
          h('dt', {}, '规范化文本'),
          h('dd', { dataset: { k: 'normalized' } }, r.normalized || '—'),
          h('dt', {}, '命中关键词'),
          h('dd', { dataset: { k: 'keywords' } }, (r.keywords || []).length ? h('span', { class: 'kw' }, r.keywords.map((k) => h('span', { class: 'chip soft' }, typeof k === 'string' ? k : k.term))) : '无'),
          h('dt', {}, '意图'),
          h('dd', { dataset: { k: 'intent', v: r.intent } }, label('intent', r.intent)),
          h('dt', {}, '类别'),
          h('dd', { dataset: { k: 'category' } }, r.category || '—'),
          h('dt', {}, '优先级'),
          h('dd', { dataset: { k: 'priority' } }, label('priority', r.priority)),
          h('dt', {}, '匹配政策'),
          h('dd', { dataset: { k: 'policies' } }, policies.length ? policies.join('；') : '无'),
          h('dt', {}, '通知对象'),
          h('dd', { dataset: { k: 'notify' } }, notify.length ? notify.join('；') : '无需通知'),
          h('dt', {}, '助手回复'),
          h('dd', { dataset: { k: 'reply' } }, r.reply ? h('pre', { class: 'reply' }, r.reply) : '不回复')
        )
      );
    } catch (err) {
      clear(out, failure(err));
    } finally {
      btn.disabled = false;
    }
  }
}

const opts = (o) => Object.entries(o);
const POLICY = {
  name: '政策',
  path: '/api/v1/policies',
  key: 'code',
  search: false,
  cols: [
    { key: 'code', title: '代码' },
    { key: 'title', title: '标题' },
    { key: 'category', title: '类别' },
    { title: '对象', render: (p) => ({ resident: '居民', enterprise: '企业', both: '居民和企业' })[p.audience] || p.audience || '—' },
    { key: 'department', title: '受理部门' },
  ],
  fields: [
    ['code', '代码（字母数字）'],
    ['title', '标题'],
    ['category', '类别', categories.filter((c) => c !== '无').map((c) => [c, c])],
    ['audience', '对象', [['resident', '居民'], ['enterprise', '企业'], ['both', '居民和企业']]],
    ['department', '受理部门'],
    ['summary', '摘要', 'long'],
    ['eligibility', '申请条件', 'long'],
    ['how_to_apply', '办理方式', 'long'],
    ['keywords', '关键词（用分号隔开）', 'list'],
  ],
};
const LEXICON = {
  name: '关键词',
  path: '/api/v1/lexicon',
  key: 'term',
  search: true,
  cols: [
    { key: 'term', title: '词' },
    { key: 'kind', title: '类型' },
    { title: '意图', render: (w) => label('intent', w.intent) },
    { key: 'category', title: '类别' },
    { key: 'weight', title: '权重', num: true },
    { key: 'action', title: '动作' },
  ],
  fields: [
    ['term', '词（间隔模式写作 甲…乙）'],
    ['kind', '类型', [['literal', '词'], ['pattern', '间隔模式']]],
    ['intent', '意图', [['', '不指定']].concat(opts(labels.intent))],
    ['category', '类别', [['', '不指定']].concat(categories.filter((c) => c !== '无').map((c) => [c, c]))],
    ['weight', '权重', 'number'],
    ['action', '动作（可选，如 urgent）'],
  ],
};

function editor(el, spec) {
  const q = h('input', { type: 'search', placeholder: '搜索' + spec.name, 'aria-label': '搜索' + spec.name });
  const listEl = h('div', {}, loading());
  const formEl = h('div', { class: 'sticky' });
  clear(
    el,
    h(
      'div',
      { class: 'split' },
      h(
        'section',
        { class: 'card' },
        h('div', { class: 'row' }, spec.search ? h('form', { onsubmit: (ev) => (ev.preventDefault(), load()) }, q) : null, h('button', { type: 'button', class: 'primary', onclick: () => edit(null) }, '新增' + spec.name)),
        listEl
      ),
      formEl
    )
  );
  let listAsText = true;
  function load() {
    clear(listEl, loading());
    get(spec.path, spec.search && q.value.trim() ? { q: q.value.trim(), limit: 200 } : { limit: 200 }).then(
      (d) => {
        const rows = items(d);
        const list = spec.fields.find((f) => f[2] === 'list');
        if (list && rows.length) listAsText = !Array.isArray(rows[0][list[0]]);
        clear(
          listEl,
          d && d.total > rows.length ? h('p', { class: 'muted' }, `共 ${d.total} 条，显示前 ${rows.length} 条。`) : null,
          table(spec.cols.concat([{ title: '操作', render: (r) => h('button', { type: 'button', class: 'link', onclick: () => edit(r) }, '编辑') }]), rows, { empty: '没有' + spec.name + '。', rowAttrs: (r) => ({ dataset: { key: r[spec.key] } }) })
        );
      },
      (err) => clear(listEl, failure(err, load))
    );
  }

  function edit(row) {
    const ctl = {};
    const msg = h('p', { class: 'form-error', role: 'alert' });
    const fields = spec.fields.map(([k, t, kind]) => {
      let v = row ? row[k] : '';
      if (Array.isArray(v)) v = v.join('；');
      let c;
      if (Array.isArray(kind)) c = h('select', { name: k }, kind.map(([ov, ot]) => h('option', { value: ov, selected: String(v ?? '') === ov }, ot)));
      else if (kind === 'long' || kind === 'list') c = h('textarea', { name: k, rows: kind === 'list' ? 2 : 3 }, v ?? '');
      else c = h('input', { name: k, type: kind === 'number' ? 'number' : 'text', step: kind === 'number' ? 'any' : null, value: v ?? '', readonly: row && k === spec.key ? true : null });
      ctl[k] = c;
      return field(t, c);
    });
    const save = h('button', { type: 'submit', class: 'primary' }, '保存');
    const remove = row ? h('button', { type: 'button', onclick: drop }, '删除') : null;
    clear(formEl, h('form', { class: 'card', onsubmit: submit }, h('h2', {}, (row ? '编辑' : '新增') + spec.name), fields, msg, h('div', { class: 'row' }, save, remove, h('button', { type: 'button', onclick: () => clear(formEl) }, '取消'))));
    fields[row ? 1 : 0].querySelector('input,select,textarea').focus();

    async function submit(ev) {
      ev.preventDefault();
      msg.textContent = '';
      const body = {};
      for (const [k, , kind] of spec.fields) {
        const v = ctl[k].value.trim();
        if (kind === 'number') body[k] = v === '' ? null : Number(v);
        else if (kind === 'list') body[k] = listAsText ? v.split(/[;；,，\s]+/).filter(Boolean).join(';') : v.split(/[;；,，\s]+/).filter(Boolean);
        else body[k] = v;
      }
      if (!body[spec.key]) return void ((msg.textContent = '请填写' + spec.fields[0][1] + '。'), ctl[spec.key].focus());
      save.disabled = true;
      try {
        if (row) await put(spec.path + '/' + encodeURIComponent(row[spec.key]), body);
        else await post(spec.path, body);
        toast(spec.name + '已保存，助手已更新。');
        clear(formEl);
        load();
      } catch (err) {
        msg.textContent = err.message;
      } finally {
        save.disabled = false;
      }
    }
    async function drop() {
      if (!confirm(`确定删除${spec.name}“${row[spec.key]}”吗？`)) return;
      try {
        await del(spec.path + '/' + encodeURIComponent(row[spec.key]));
        toast(spec.name + '已删除。');
        clear(formEl);
        load();
      } catch (err) {
        msg.textContent = err.message;
      }
    }
  }
  load();
}
