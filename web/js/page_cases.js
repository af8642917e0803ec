// page_cases.js - cases (案件办理): the list with its filters, and one case
// with its SLA clock, the actions the caller may take now, the timeline of
// every action and the messages that started it.
//
// The filters live in the address (#/cases?status=reported&overdue=1), so a
// filtered list can be bookmarked and the back button works. The actions
// offered are exactly the case's `allowed` list from the server; each opens a
// small form (note, photo URL, rating, department or unit as the action
// needs) and a refusal (409) is shown with the server's Chinese reason.

import { get, post, qs } from './api.js';
import { categories, clear, empty, failure, field, h, items, label, labels, loading, num, reading, time, toast } from './ui.js';

const PAGE = 50;

export function render(main, ctx) {
  if (ctx.args[0]) return detail(main, ctx, ctx.args[0]);
  return list(main, ctx);
}

function select(name, value, options, any) {
  return h(
    'select',
    { name, id: 'f-' + name },
    h('option', { value: '' }, any),
    options.map(([v, t]) => h('option', { value: v, selected: v === value }, t))
  );
}

function list(main, ctx) {
  const q = ctx.query;
  const form = h(
    'form',
    { class: 'card filters', onsubmit: submit, 'aria-label': '筛选案件' },
    h(
      'div',
      { class: 'row' },
      field('状态', select('status', q.status, Object.entries(labels.status), '全部状态')),
      field('层级', select('level', q.level, Object.entries(labels.level), '全部层级')),
      field('类别', select('category', q.category, categories.filter((c) => c !== '无').map((c) => [c, c]), '全部类别')),
      field('类型', select('kind', q.kind, [['case', '案件'], ['rectification', '整改']], '全部类型')),
      field('单位代码', h('input', { name: 'unit', id: 'f-unit', value: q.unit || '', inputmode: 'numeric', placeholder: '如 411571001' })),
      field('关键词', h('input', { name: 'q', id: 'f-q', type: 'search', value: q.q || '', placeholder: '标题或描述' })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'overdue', id: 'f-overdue', value: '1', checked: q.overdue === '1' }), '只看超期'),
      h('button', { type: 'submit', class: 'primary' }, '查询')
    )
  );
  const out = h('div', { class: 'results' }, loading());
  const slot = h('div', {});
  const open = h('button', { type: 'button', id: 'new-case', onclick: () => (slot.firstChild ? clear(slot) : clear(slot, newCase(ctx))) }, '登记案件');
  clear(main, h('div', { class: 'page-head' }, h('h1', {}, '案件办理'), open), slot, form, out);

  function submit(ev) {
    ev.preventDefault();
    const f = new FormData(form);
    const query = {};
    for (const [k, v] of f.entries()) if (v) query[k] = v;
    ctx.go('cases' + qs(query));
  }

  const offset = Number(q.offset || 0);
  const query = { status: q.status, level: q.level, category: q.category, kind: q.kind, unit: q.unit, q: q.q, overdue: q.overdue, limit: PAGE, offset };
  get('/api/v1/cases', query).then(
    (d) => {
      const rows = items(d);
      if (!rows.length) return clear(out, empty('没有符合条件的案件。'));
      const total = d.total ?? rows.length;
      clear(
        out,
        h('p', { class: 'muted', id: 'case-total' }, '共 ', num(total), ' 件'),
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'case-table' },
            h('thead', {}, h('tr', {}, ['编号', '标题', '类别', '状态', '层级', '单位', '立案时间', '期限'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              {},
              rows.map((c) =>
                h(
                  'tr',
                  { class: c.overdue ? 'overdue' : '', dataset: { id: c.id } },
                  h('td', {}, c.id),
                  h('td', {}, h('a', { href: '#/cases/' + c.id }, c.title || '（无标题）'), c.overdue ? [' ', h('span', { class: 'chip bad' }, '超期')] : null),
                  h('td', {}, c.category),
                  h('td', {}, label('status', c.status)),
                  h('td', {}, label('level', c.level)),
                  h('td', {}, c.unit_name || c.unit),
                  h('td', {}, time(c.opened_at)),
                  h('td', {}, time(c.due_at))
                )
              )
            )
          )
        ),
        h(
          'div',
          { class: 'pager' },
          offset > 0 ? h('a', { href: '#/cases' + qs(Object.assign({}, q, { offset: Math.max(0, offset - PAGE) })) }, '上一页') : null,
          h('span', { class: 'muted' }, `第 ${Math.floor(offset / PAGE) + 1} 页`),
          offset + PAGE < total ? h('a', { href: '#/cases' + qs(Object.assign({}, q, { offset: offset + PAGE })) }, '下一页') : null
        )
      );
    },
    (err) => clear(out, failure(err, () => ctx.go('cases' + qs(q))))
  );
}

// A case staff open themselves (walk-in, phone, patrol), in their own area.
function newCase(ctx) {
  const c = {
    title: h('input', { name: 'title', id: 'nc-title', required: true, maxlength: 100 }),
    description: h('textarea', { name: 'description', id: 'nc-description', rows: 3 }),
    category: h('select', { name: 'category', id: 'nc-category' }, categories.filter((x) => x !== '无').map((x) => h('option', { value: x }, x))),
    source: h('select', { name: 'source', id: 'nc-source' }, [['patrol', '巡查发现'], ['walk_in', '来访'], ['phone', '来电']].map(([v, t]) => h('option', { value: v }, t))),
    kind: h('select', { name: 'kind', id: 'nc-kind' }, h('option', { value: 'case' }, '案件'), h('option', { value: 'rectification' }, '整改事项')),
    unit: h('input', { name: 'unit', id: 'nc-unit', value: ctx.me.unit, inputmode: 'numeric', required: true }),
    location: h('input', { name: 'location', id: 'nc-location' }),
    reporter: h('input', { name: 'reporter', id: 'nc-reporter' }),
    photo_url: h('input', { name: 'photo_url', id: 'nc-photo', type: 'url', placeholder: 'https://…' }),
  };
  const msg = h('p', { class: 'form-error', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'primary' }, '登记');
  const form = h(
    'form',
    { class: 'card', id: 'new-case-form', onsubmit: submit, 'aria-label': '登记案件' },
    h('h2', {}, '登记案件'),
    field('标题', c.title),
    field('情况描述', c.description),
    h('div', { class: 'row' }, field('类别', c.category), field('来源', c.source), field('类型', c.kind), field('属地单位代码', c.unit)),
    h('div', { class: 'row' }, field('地点（可选）', c.location), field('反映人（可选）', c.reporter), field('照片链接（可选）', c.photo_url)),
    msg,
    btn
  );
  async function submit(ev) {
    ev.preventDefault();
    msg.textContent = '';
    if (!c.title.value.trim()) return void ((msg.textContent = '请填写标题。'), c.title.focus());
    const body = {};
    for (const [k, el] of Object.entries(c)) if (el.value.trim()) body[k] = el.value.trim();
    btn.disabled = true;
    try {
      const r = await post('/api/v1/cases', body);
      toast('案件已登记。');
      ctx.go('cases/' + r.id);
    } catch (err) {
      msg.textContent = err.message;
      btn.disabled = false;
    }
  }
  setTimeout(() => c.title.focus());
  return form;
}

// The form fields each action asks for.
const NEEDS = {
  resolve: ['note', 'photo_url'],
  handle_on_spot: ['note', 'photo_url'],
  escalate: ['note'],
  return: ['note'],
  suspend: ['note'],
  supervise: ['note'],
  verify: ['rating', 'note'],
  close: ['rating', 'note'],
  reassign: ['department', 'unit', 'note'],
  reopen: ['note'],
  merge: ['into', 'note'],
};
const REQUIRED = {
  escalate: '请填写上报原因。',
  return: '请填写退回原因。',
  suspend: '请填写挂起原因。',
  resolve: '请填写办结情况。',
  handle_on_spot: '请填写处置情况。',
  supervise: '请填写督办意见。',
  reopen: '请填写重新办理的原因。',
};

export function actionForm(c, action, done) {
  const needs = NEEDS[action] || ['note'];
  const ctl = {};
  const msg = h('p', { class: 'form-error', role: 'alert' });
  const noteLabel = { escalate: '上报原因', return: '退回原因', suspend: '挂起原因', resolve: '办结情况', handle_on_spot: '处置情况', supervise: '督办意见', reopen: '重新办理原因' }[action] || '备注';
  const fields = needs.map((n) => {
    if (n === 'note') return field(noteLabel, (ctl.note = h('textarea', { name: 'note', rows: 3 })));
    if (n === 'photo_url') return field('现场照片链接（可选）', (ctl.photo_url = h('input', { name: 'photo_url', type: 'url', placeholder: 'https://…' })));
    if (n === 'rating')
      return field('满意度（可选）', (ctl.rating = h('select', { name: 'rating' }, h('option', { value: '' }, '不评价'), [5, 4, 3, 2, 1].map((v) => h('option', { value: v }, v + ' 分')))));
    if (n === 'into') return field('并入案件编号', (ctl.into = h('input', { name: 'into', inputmode: 'numeric', required: true })));
    if (n === 'department') return field('改派部门（可选）', (ctl.department = h('input', { name: 'department', placeholder: '如 区住建局' })));
    return field('改派单位代码（可选）', (ctl.unit = h('input', { name: 'unit', inputmode: 'numeric' })));
  });
  const btn = h('button', { type: 'submit', class: 'primary' }, '确认' + label('action', action));
  const form = h('form', { class: 'card action-form', dataset: { action }, onsubmit: submit }, h('h3', {}, label('action', action)), fields, msg, h('div', { class: 'row' }, btn, h('button', { type: 'button', onclick: () => form.remove() }, '取消')));

  async function submit(ev) {
    ev.preventDefault();
    msg.textContent = '';
    const body = { action };
    for (const [k, el] of Object.entries(ctl)) if (el.value.trim()) body[k] = k === 'rating' || k === 'into' ? Number(el.value) : el.value.trim();
    if (REQUIRED[action] && !body.note) return void ((msg.textContent = REQUIRED[action]), ctl.note.focus());
    if (ctl.into && !(body.into > 0)) return void ((msg.textContent = '请填写要并入的案件编号。'), ctl.into.focus());
    btn.disabled = true;
    try {
      await post('/api/v1/cases/' + encodeURIComponent(c.id) + '/actions', body);
      toast(label('action', action) + '成功。');
      done();
    } catch (err) {
      const allowed = err.body && Array.isArray(err.body.allowed) ? err.body.allowed : null;
      msg.textContent = err.message + (allowed ? ' 当前可进行：' + (allowed.map((a) => label('action', a)).join('、') || '无') + '。' : '');
      btn.disabled = false;
    }
  }
  return form;
}

export function slaText(sla) {
  if (!sla) return '—';
  if (sla.overdue) return '已超期';
  const m = sla.working_minutes_left;
  if (m === undefined || m === null) return sla.due_at ? '期限 ' + time(sla.due_at) : '无期限';
  return `剩余 ${Math.floor(m / 60)} 小时 ${m % 60} 分钟（工作时间）`;
}

const FIELD = { status: '状态', unit: '单位', due_at: '期限', stage: '环节', satisfaction: '满意度', level: '层级', department: '部门', overdue: '超期', priority: '优先级' };
const STAGE = { accept: '受理', resolve: '处置', verify: '核查' };
const SOURCE = { lead: '群消息', walk_in: '来访', phone: '来电', patrol: '巡查发现', hotline: '12345热线' };

// Who took a step: an account, the system or a resident in a group.
const actor = (a) => (!a || a === 'system' ? '系统' : a.startsWith('resident:') ? '居民（群消息）' : a);

// One side of a change in the timeline, in words.
function change(k, v) {
  if (v === null || v === undefined || v === '' || v === 0) return k === 'overdue' ? '否' : '—';
  if (k === 'status') return label('status', v);
  if (k === 'level') return label('level', v);
  if (k === 'stage') return STAGE[v] || v;
  if (k === 'overdue') return v ? '是' : '否';
  if (/_at$/.test(k)) return time(v);
  return String(v);
}

// The chat messages that started the case, each with the assistant's
// reading; a case with reporters but no stored message lists the reporters.
function sources(c) {
  const msgs = c.messages || [];
  if (msgs.length)
    return h(
      'ul',
      { class: 'msgs', id: 'sources' },
      msgs.map((m) =>
        h('li', {}, h('div', {}, m.text), h('div', { class: 'reading' }, [m.group_name, m.sender && m.sender.name, time(m.sent_at)].filter(Boolean).join(' · ')), reading(m))
      )
    );
  const reps = c.reporters || [];
  if (!reps.length) return empty('此案件不是由群消息发起的。');
  return h(
    'ul',
    { class: 'msgs', id: 'sources' },
    reps.map((r) => h('li', {}, h('div', { class: 'reading' }, [r.group_name || r.group, r.sender_name || r.sender_id, time(r.at)].filter(Boolean).join(' · '))))
  );
}

function detail(main, ctx, id) {
  clear(main, loading());
  const load = () =>
    get('/api/v1/cases/' + encodeURIComponent(id)).then(
      (c) => draw(c),
      (err) => clear(main, h('p', {}, h('a', { href: '#/cases' }, '‹ 返回案件列表')), failure(err, load))
    );

  function draw(c) {
    const formSlot = h('div', {});
    const allowed = Array.isArray(c.allowed) ? c.allowed : [];
    const sla = c.sla || {};
    clear(
      main,
      h('p', {}, h('a', { href: '#/cases' }, '‹ 返回案件列表')),
      h(
        'div',
        { class: 'case-head' },
        h('h1', {}, c.title || '案件 #' + c.id),
        h('span', { class: 'chip soft' }, '#' + c.id),
        h('span', { class: 'chip', id: 'case-status', dataset: { status: c.status } }, label('status', c.status)),
        h('span', { class: 'chip soft' }, label('level', c.level)),
        c.overdue ? h('span', { class: 'chip bad' }, '超期') : null
      ),
      h(
        'div',
        { class: 'detail-grid' },
        h(
          'div',
          { class: 'stack' },
          h(
            'section',
            { class: 'card' },
            h('h2', {}, '案件信息'),
            h(
              'dl',
              { class: 'kv' },
              [
                ['类别', c.category],
                ['单位', c.unit_name || c.unit],
                ['部门', c.department],
                ['来源', SOURCE[c.source] || c.source],
                ['地点', c.location],
                ['反映人', c.reporter],
                ['立案时间', time(c.opened_at)],
                ['办理期限', time(c.due_at)],
                ['描述', c.description],
              ]
                .filter(([, v]) => v)
                .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
              c.photo_url && /^https?:\/\//.test(c.photo_url) ? [h('dt', {}, '照片'), h('dd', {}, h('a', { href: c.photo_url, target: '_blank', rel: 'noopener' }, '查看照片'))] : null
            )
          ),
          h(
            'section',
            { class: 'card' },
            h('h2', {}, '办理过程'),
            c.events && c.events.length
              ? h(
                  'ol',
                  { class: 'timeline', id: 'timeline' },
                  c.events.map((e) =>
                    h(
                      'li',
                      { dataset: { action: e.action } },
                      h('strong', {}, label('action', e.action)),
                      ' · ',
                      h('span', {}, actor(e.actor)),
                      ' · ',
                      h('time', {}, time(e.at)),
                      e.note ? h('div', {}, e.note) : null,
                      e.changes && Object.keys(e.changes).length
                        ? h(
                            'div',
                            { class: 'changes' },
                            Object.entries(e.changes)
                              .map(([k, v]) => (Array.isArray(v) ? `${FIELD[k] || k}：${change(k, v[0])} → ${change(k, v[1])}` : `${FIELD[k] || k}：${change(k, v)}`))
                              .join('；')
                          )
                        : null
                    )
                  )
                )
              : empty('暂无办理记录。')
          ),
          h(
            'section',
            { class: 'card' },
            h('h2', {}, '来源消息'),
            sources(c)
          )
        ),
        h(
          'div',
          { class: 'stack' },
          h(
            'section',
            { class: 'card' },
            h('h2', {}, '时限'),
            h('p', { class: 'sla' + (sla.overdue || c.overdue ? ' overdue' : ''), id: 'sla' }, c.status === 'closed' ? '已结案' : c.sla ? slaText(sla) : c.overdue ? '已超期' : '—'),
            sla.stage ? h('p', { class: 'muted' }, '当前环节：', { accept: '受理', resolve: '处置', verify: '核查' }[sla.stage] || sla.stage) : null,
            sla.due_at ? h('p', { class: 'muted' }, '截止：', time(sla.due_at)) : null
          ),
          h(
            'section',
            { class: 'card' },
            h('h2', {}, '可进行的操作'),
            allowed.length
              ? h(
                  'div',
                  { class: 'actions', id: 'actions' },
                  allowed.map((a) =>
                    h('button', { type: 'button', dataset: { action: a }, onclick: () => clear(formSlot, actionForm(c, a, load)) && formSlot.querySelector('textarea,input,select')?.focus() }, label('action', a))
                  )
                )
              : empty('您当前不能对此案件进行操作。'),
            formSlot
          )
        )
      )
    );
  }
  load();
}
