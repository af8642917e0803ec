// page_login.js - the login page: account and password, the server's reason
// in Chinese when it refuses (wrong password, locked, disabled), then the
// role's home page (grid workers: their mobile desk; others: the command
// centre).

import { post, setSession } from './api.js';
import { clear, field, h } from './ui.js';

export function render(main, ctx) {
  const account = h('input', { name: 'account', autocomplete: 'username', required: true, autofocus: true, id: 'account' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, id: 'password' });
  const msg = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
  const button = h('button', { type: 'submit', class: 'primary' }, '登录');
  const form = h(
    'form',
    { class: 'card login', novalidate: true, onsubmit: submit },
    h('h1', {}, '登录暖羊阳'),
    h('p', { class: 'muted' }, '羊山新区网格化便民服务平台 · 社会治理中心'),
    field('账号', account),
    field('密码', password),
    msg,
    button
  );
  clear(main, h('div', { class: 'login-wrap' }, form));
  account.focus();

  async function submit(ev) {
    ev.preventDefault();
    msg.textContent = '';
    if (!account.value.trim()) return void (msg.textContent = '请输入账号。', account.focus());
    if (!password.value) return void (msg.textContent = '请输入密码。', password.focus());
    button.disabled = true;
    button.textContent = '正在登录…';
    try {
      const s = await post('/api/v1/login', { account: account.value.trim(), password: password.value });
      setSession(s);
      ctx.go(ctx.home(s));
    } catch (err) {
      msg.textContent = err.status === 401 ? '账号或密码错误，请重新输入。' : err.message;
      password.select();
    } finally {
      button.disabled = false;
      button.textContent = '登录';
    }
  }
}
