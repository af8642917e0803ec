// page_mobile.js - the grid worker's desk (我的工作台), made for a phone: the
// queue of open cases in the worker's grid ordered by deadline with the
// overdue ones marked, one-tap accept and resolve-with-note, the recent
// messages of the worker's groups with the assistant's reading of each, and
// a short form that sends a notice to the worker's groups.

import { get, post } from './api.js';
import { clear, empty, failure, field, h, items, label, loading, reading, time, toast } from './ui.js';

const DONE = new Set(['resolved', 'verified', 'closed']);

function dueText(c, now) {
  if (c.overdue) return '已超期';
  if (!c.due_at) return '无期限';
  const left = (new Date(c.due_at).getTime() - now) / 60000;
  if (left < 0) return '已超期';
  if (left < 60) return `${Math.round(left)} 分钟后到期`;
  if (left < 48 * 60) return `${Math.round(left / 60)} 小时后到期`;
  return time(c.due_at) + ' 到期';
}

export function render(main, ctx) {
  const me = ctx.me;
  const queue = h('div', {}, loading());
  const msgs = h('div', {}, loading());
  const notice = noticeForm(me);
  clear(
    main,
    h(
      'div',
      { class: 'desk stack' },
      h('h1', {}, '我的工作台'),
      h('section', { class: 'card', 'aria-labelledby': 'q-title' }, h('h2', { id: 'q-title' }, '我的待办（按期限排序）'), queue),
      h('section', { class: 'card', 'aria-labelledby': 'm-title' }, h('h2', { id: 'm-title' }, '我的群消息'), msgs),
      h('section', { class: 'card', 'aria-labelledby': 'n-title' }, h('h2', { id: 'n-title' }, '发群通知'), notice)
    )
  );

  function loadQueue() {
    get('/api/v1/cases', { unit: me.unit, limit: 200 }).then(
      (d) => {
        const now = Date.now();
        const rows = items(d)
          .filter((c) => !DONE.has(c.status))
          .sort((a, b) => (b.overdue ? 1 : 0) - (a.overdue ? 1 : 0) || (a.due_at ? new Date(a.due_at) : Infinity) - (b.due_at ? new Date(b.due_at) : Infinity));
        if (!rows.length) return clear(queue, empty('没有待办案件，辛苦了！'));
        clear(queue, h('ul', { class: 'queue', id: 'queue' }, rows.map((c) => card(c, now))));
      },
      (err) => clear(queue, failure(err, loadQueue))
    );
  }

  function card(c, now) {
    const slot = h('div', {});
    const act = async (action, note, btn) => {
      btn.disabled = true;
      try {
        await post('/api/v1/cases/' + encodeURIComponent(c.id) + '/actions', note ? { action, note } : { action });
        toast(label('action', action) + '成功。');
        loadQueue();
      } catch (err) {
        toast(err.message, true);
        btn.disabled = false;
      }
    };
    const resolve = () => {
      const note = h('textarea', { name: 'note', rows: 2, placeholder: '办结情况（必填）', 'aria-label': '办结情况' });
      const send = h('button', { type: 'submit', class: 'primary' }, '提交办结');
      const msg = h('p', { class: 'form-error', role: 'alert' });
      clear(
        slot,
        h(
          'form',
          {
            class: 'resolve-form',
            onsubmit: (ev) => {
              ev.preventDefault();
              if (!note.value.trim()) return void ((msg.textContent = '请填写办结情况。'), note.focus());
              act('resolve', note.value.trim(), send);
            },
          },
          note,
          msg,
          send
        )
      );
      note.focus();
    };
    return h(
      'li',
      { class: c.overdue ? 'overdue' : '', dataset: { id: c.id } },
      h('div', {}, h('a', { href: '#/cases/' + c.id }, c.title || '案件 #' + c.id), ' ', h('span', { class: 'chip soft' }, label('status', c.status))),
      h('div', { class: 'due' }, c.overdue ? h('span', { class: 'chip bad' }, '超期') : null, ' ', dueText(c, now), ' · ', c.category || ''),
      h(
        'div',
        { class: 'btns' },
        c.status === 'reported' ? h('button', { type: 'button', class: 'primary', dataset: { act: 'accept' }, onclick: (ev) => act('accept', null, ev.currentTarget) }, '受理') : null,
        c.status !== 'reported' && c.status !== 'suspended' ? h('button', { type: 'button', dataset: { act: 'resolve' }, onclick: resolve }, '办结') : null
      ),
      slot
    );
  }

  function loadMsgs() {
    get('/api/v1/messages', { unit: me.unit, limit: 20 }).then(
      (d) => {
        const rows = items(d);
        if (!rows.length) return clear(msgs, empty('群里还没有消息。'));
        clear(
          msgs,
          h(
            'ul',
            { class: 'msgs', id: 'messages' },
            rows.map((m) =>
              h(
                'li',
                {},
                h('div', {}, m.text),
                h('div', { class: 'reading' }, [m.group_name, m.sender && (m.sender.name || m.sender), time(m.sent_at)].filter(Boolean).join(' · ')),
                reading(m)
              )
            )
          )
        );
      },
      (err) => clear(msgs, failure(err, loadMsgs))
    );
  }

  loadQueue();
  loadMsgs();
}

// The notice form for one's own unit (the grid worker's groups).
function noticeForm(me) {
  const text = h('textarea', { name: 'text', rows: 3, id: 'notice-text', placeholder: '如：明天上午9点小区停水，请提前储水。' });
  const res = h('input', { type: 'checkbox', name: 'kinds', value: 'resident', checked: true });
  const ent = h('input', { type: 'checkbox', name: 'kinds', value: 'enterprise' });
  const msg = h('p', { class: 'form-error', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'primary' }, '发送');
  const done = h('div', {});
  const form = h(
    'form',
    { onsubmit: submit, class: 'notice-form' },
    field('通知内容', text),
    h('div', {}, h('label', { class: 'check' }, res, '居民群'), h('label', { class: 'check' }, ent, '企业群')),
    msg,
    btn,
    done
  );
  async function submit(ev) {
    ev.preventDefault();
    msg.textContent = '';
    const kinds = [res, ent].filter((c) => c.checked).map((c) => c.value);
    if (!text.value.trim()) return void ((msg.textContent = '请填写通知内容。'), text.focus());
    if (!kinds.length) return void (msg.textContent = '请至少选择一种群。');
    btn.disabled = true;
    try {
      const r = await post('/api/v1/notices', { text: text.value.trim(), scope: me.unit, kinds });
      text.value = '';
      toast('通知已提交。');
      clear(done, h('p', {}, `已提交到 ${r.groups ?? '—'} 个群。`, h('a', { href: '#/notices/' + r.id }, '查看送达情况')));
    } catch (err) {
      msg.textContent = err.message;
    } finally {
      btn.disabled = false;
    }
  }
  return form;
}
