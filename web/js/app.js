// app.js - the shell of the web front end: the session, the role-aware
// navigation and the hash router.
//
// Pages live in js/page_*.js and are loaded when first visited, so the first
// paint needs only this file, api.js and ui.js. Each page module exports
// render(main, ctx) with ctx = {me, args, query, go, home}; it may return a
// function that stops its timers and streams when the user leaves. A page
// the role may not open shows a Chinese refusal instead.

import { get, post, session, setSession, whenUnauthorized } from './api.js';
import { clear, failure, h, label, loading, tabList, toast } from './ui.js';

const ALL = ['grid_worker', 'community', 'street', 'district', 'department', 'admin'];
const NAV = [
  { path: 'mobile', text: '我的工作台', roles: ['grid_worker'], page: 'mobile' },
  { path: 'dashboard', text: '指挥中心', roles: ['community', 'street', 'district', 'department', 'admin'], page: 'dashboard' },
  { path: 'cases', text: '案件办理', roles: ALL, page: 'cases' },
  { path: 'notices', text: '群通知', roles: ['grid_worker', 'community', 'street', 'district', 'admin'], page: 'notices' },
  { path: 'tuning', text: '助手调优', roles: ['district', 'admin'], page: 'tuning' },
  { path: 'reports', text: '报表考核', roles: ['community', 'street', 'district', 'department', 'admin'], page: 'reports' },
];

const loaders = {
  login: () => import('./page_login.js'),
  mobile: () => import('./page_mobile.js'),
  dashboard: () => import('./page_dashboard.js'),
  cases: () => import('./page_cases.js'),
  notices: () => import('./page_notices.js'),
  tuning: () => import('./page_tuning.js'),
  reports: () => import('./page_reports.js'),
};

let leave = null;
const main = document.getElementById('main');

export function go(path) {
  if (location.hash === '#/' + path) route();
  else location.hash = '#/' + path;
}

export function home(me) {
  return me && me.role === 'grid_worker' ? 'mobile' : 'dashboard';
}

function parse() {
  const raw = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const [path, q] = raw.split('?');
  const parts = path.split('/').filter(Boolean);
  return { name: parts[0] || '', args: parts.slice(1), query: Object.fromEntries(new URLSearchParams(q || '')) };
}

function drawNav(me, current) {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!me) {
    clear(nav);
    clear(who);
    return;
  }
  const tabs = NAV.filter((n) => n.roles.includes(me.role)).map((n) => ({ key: n.path, text: n.text, href: '#/' + n.path }));
  const list = tabList('主导航', tabs, current, 'main');
  const sel = list.querySelector('[aria-selected="true"]');
  if (sel) sel.setAttribute('aria-current', 'page');
  clear(nav, list);
  clear(
    who,
    h('span', { class: 'who-name' }, me.name || me.account),
    h('span', { class: 'chip' }, label('role', me.role)),
    h('button', { type: 'button', class: 'link', id: 'logout', onclick: logout }, '退出')
  );
}

async function logout() {
  try {
    await post('/api/v1/logout');
  } catch {
    // the session ends here whatever the server said
  }
  setSession(null);
  go('login');
}

// focus: after a page change (not on the first load, so Tab still starts
// at the skip link) the new page's main area takes the focus
async function route(ev) {
  if (leave) {
    try {
      leave();
    } catch {
      // a page that failed to stop cleanly must not block the next one
    }
    leave = null;
  }
  const { name, args, query } = parse();
  const me = session();
  if (!me && name !== 'login') return go('login');
  if (me && (name === '' || name === 'login')) return go(home(me));
  drawNav(me, name);
  const entry = NAV.find((n) => n.path === name);
  if (name !== 'login' && !entry) return clear(main, h('p', { class: 'state error', role: 'alert' }, '页面不存在。'), h('a', { href: '#/' + home(me) }, '返回首页'));
  if (entry && !entry.roles.includes(me.role))
    return clear(main, h('p', { class: 'state error', role: 'alert' }, '您的角色无权访问此页面。'), h('a', { href: '#/' + home(me) }, '返回首页'));
  clear(main, loading());
  document.title = (entry ? entry.text : '登录') + ' · 暖羊阳';
  try {
    const mod = await loaders[entry ? entry.page : 'login']();
    const stop = mod.render(main, { me, args, query, go, home });
    leave = typeof stop === 'function' ? stop : null;
  } catch (err) {
    clear(main, failure(err && err.message && /[\u4e00-\u9fff]/.test(err.message) ? err : { message: '页面加载失败，请刷新重试。' }));
  }
  if (ev && document.activeElement === document.body) main.focus({ preventScroll: true });
}

whenUnauthorized(() => {
  toast('登录已失效，请重新登录。', true);
  go('login');
});

// Refresh who the caller is in the background (role or unit may have changed).
async function refreshMe() {
  const s = session();
  if (!s) return;
  try {
    const me = await get('/api/v1/me');
    setSession(Object.assign({}, s, me));
  } catch {
    // a 401 already sent the user to the login page; other errors keep the session
  }
}

window.addEventListener('hashchange', route);
route(null);
refreshMe();
