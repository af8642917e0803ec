// browser.mjs - the web front end in headless Chromium (Debian's, driven by
// playwright-core), against a server on the demo district started by
// tests/web/run.sh. Usage: node tests/web/browser.mjs URL SCREENSHOT_DIR.
//
// Prints one "ok - …" or "FAIL - …" line per check. It logs in as each demo
// role and checks the navigation and what the role sees (scope); compares
// every dashboard figure with the API, at the district and one level down
// the drill-down; takes a case end to end through the pages; sends a notice
// and opens its delivery report; tries a message on the tuning page and
// compares the reading with the API; checks the phone layout, keyboard
// access and that no raw JSON ever reaches the screen; and saves a
// screenshot of every page. Where an endpoint is not on the server yet the
// page must show its clean Chinese "not available" state, which is checked
// instead. Timing is measured by bench/web_dashboard.sh, not here, where
// the machine may be busy with other test runs.
import { chromium } from '../../web/node_modules/playwright-core/index.mjs';

const [base, shots] = process.argv.slice(2);
const PASSWORD = 'yangshan2026';
let failures = 0;

function check(name, cond, detail) {
  if (cond) console.log('ok - ' + name);
  else {
    failures++;
    console.log('FAIL - ' + name + (detail !== undefined ? ' (' + String(detail).slice(0, 300) + ')' : ''));
  }
}

// The API as the tests see it (same server, token from login).
async function api(token, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: Object.assign({ 'Content-Type': 'application/json' }, token ? { Authorization: 'Bearer ' + token } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  const err = (data && data.error) || '';
  const missing = (res.status === 404 && /^no such route/.test(err)) || (res.status === 405 && /^method \S+ not allowed here/.test(err));
  return { status: res.status, data, missing };
}

// Posts one signed message as the test connector (tests/web/run.sh made it).
async function ingest(text) {
  const { createHmac } = await import('node:crypto');
  const body = JSON.stringify({
    id: 'webtest-' + Date.now(),
    group: process.env.WEB_TEST_GROUP,
    sender: { id: 'webtest', name: '测试居民' },
    text,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = createHmac('sha256', process.env.WEB_TEST_SECRET).update(ts + body).digest('hex');
  const res = await fetch(base + '/api/v1/messages', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Nuanyang-Key': process.env.WEB_TEST_KEY, 'X-Nuanyang-Timestamp': ts, 'X-Nuanyang-Signature': 'sha256=' + sig },
    body,
  });
  return { status: res.status, data: await res.json().catch(() => null) };
}

const ROLES = {
  admin: { role: 'admin', nav: ['指挥中心', '案件办理', '群通知', '助手调优', '报表考核'], home: '指挥中心' },
  district1: { role: 'district', nav: ['指挥中心', '案件办理', '群通知', '助手调优', '报表考核'], home: '指挥中心' },
  street01: { role: 'street', nav: ['指挥中心', '案件办理', '群通知', '报表考核'], home: '指挥中心', unitName: '前进街道' },
  comm411571001001: { role: 'community', nav: ['指挥中心', '案件办理', '群通知', '报表考核'], home: '指挥中心', unitName: '新都社区' },
  gw411571001001001: { role: 'grid_worker', nav: ['我的工作台', '案件办理', '群通知'], home: '我的工作台' },
  'dept-zhujian': { role: 'department', nav: ['指挥中心', '案件办理', '报表考核'], home: '指挥中心' },
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});

async function newPage(viewport) {
  const ctx = await browser.newContext({ viewport: viewport || { width: 1366, height: 860 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(8000);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  return page;
}

async function login(page, account) {
  await page.goto(base + '/#/login');
  await page.fill('#account', account);
  await page.fill('#password', PASSWORD);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('#logout');
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('nuanyang.session')));
}

// Waits until no loading state is left on the page.
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('.state.loading') && !document.querySelector('.fig-value:not([data-value])'), null, { timeout: 10000 }).catch(() => {});
}

async function noRawJson(page, where) {
  const text = await page.evaluate(() => document.body.innerText);
  check(where + ': no raw JSON on screen', !/\{"|"error"\s*:/.test(text), text.slice(0, 200));
}

// Runs one group of checks; an exception (a selector that never came) is
// one failure and the next group still runs.
// WEB_TEST_ONLY='a|b' runs only the groups whose names contain a or b (development).
async function section(name, fn) {
  const only = process.env.WEB_TEST_ONLY;
  if (only && !only.split('|').some((w) => name.includes(w))) return;
  try {
    await fn();
  } catch (err) {
    check(name + ': finished', false, err && err.message);
  }
}

async function shot(page, name, viewportOnly) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: !viewportOnly, timeout: 30000 }); // slow under load
}

try {
  // ---- login errors ------------------------------------------------------
  await section('login errors', async () => {
    const page = await newPage();
    await page.goto(base + '/');
    await page.waitForSelector('#account');
    check('the root address shows the login page', page.url().endsWith('#/login'), page.url());
    await page.click('form.login button[type=submit]');
    check('empty login is refused in Chinese', (await page.textContent('#login-error')).includes('请输入账号'));
    await page.fill('#account', 'street01');
    await page.fill('#password', 'wrong-password');
    await page.click('form.login button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
    check('wrong password: Chinese sentence', (await page.textContent('#login-error')).includes('账号或密码错误'));
    await noRawJson(page, 'login');
    await shot(page, 'login');
    await page.context().close();
  });

  // ---- each role: navigation, home page, scope ----------------------------
  const tokens = {};
  let residentCase = null; // a case a resident's message opened (the cases group sets it)
  for (const [account, want] of Object.entries(ROLES)) {
    const page = await newPage();
    const s = await login(page, account);
    tokens[account] = s.token;
    check(`${account}: logged in as ${want.role}`, s.role === want.role, s.role);
    const nav = await page.$$eval('#nav a', (as) => as.map((a) => a.textContent));
    check(`${account}: navigation for the role`, JSON.stringify(nav) === JSON.stringify(want.nav), nav.join(','));
    await page.waitForSelector('main h1');
    await settled(page);
    const h1 = await page.textContent('main h1');
    check(`${account}: lands on ${want.home}`, h1.includes(want.home), h1);
    if (want.unitName) {
      const u = await api(s.token, 'GET', '/api/v1/units/' + s.unit);
      if (u.missing) check(`${account}: dashboard names the unit code while the units API is missing`, (await page.textContent('.crumbs')).includes(s.unit));
      else check(`${account}: dashboard is their own unit (${want.unitName})`, h1.includes(want.unitName), h1);
    }
    if (want.role === 'grid_worker') {
      await page.goto(base + '/#/tuning');
      await page.waitForSelector('main .state.error');
      check('grid worker may not open assistant tuning', (await page.textContent('main')).includes('无权访问'));
    }
    if (want.role === 'street') {
      // another street's dashboard: the API refuses (403) and the page says so in Chinese
      await page.goto(base + '/#/dashboard?unit=411571002000');
      await settled(page);
      const stats = await api(s.token, 'GET', '/api/v1/stats?unit=411571002000');
      if (stats.missing) check('street01: other street, clean state while stats is missing', (await page.textContent('.notes')).includes('暂未开通'));
      else {
        check('street01: API refuses another street', stats.status === 403, stats.status);
        check('street01: page shows the refusal in Chinese', (await page.textContent('.notes')).includes('消息统计：'));
      }
    }
    check(`${account}: no script errors`, page.errors.length === 0, page.errors.join('; '));
    await page.context().close();
  }

  // ---- dashboard figures match the API, with drill-down ---------------------
  await section('dashboard figures match the API, with drill-down', async () => {
    const page = await newPage({ width: 1920, height: 1080 });
    const s = await login(page, 'district1');
    await page.waitForSelector('.figure');
    check('district staff land on the dashboard figures', (await page.$$('.figure')).length === 9);
    await settled(page);
    async function compare(unit, where) {
      const stats = await api(s.token, 'GET', '/api/v1/stats?unit=' + unit);
      const kpi = await api(s.token, 'GET', '/api/v1/kpi?unit=' + unit);
      const shown = await page.$$eval('.figure', (fs) => Object.fromEntries(fs.map((f) => [f.dataset.figure, f.querySelector('.fig-value').dataset.value])));
      const want = {
        messages_today: stats.data?.messages_today,
        messages: stats.data?.messages,
        leads: stats.data?.leads,
        consultations: stats.data?.consultations_answered,
        open: kpi.data?.open,
        overdue: kpi.data?.overdue,
        response: kpi.data?.rates?.response,
        on_time_close: kpi.data?.rates?.on_time_close,
        satisfaction: kpi.data?.rates?.satisfaction,
      };
      for (const [k, v] of Object.entries(want)) {
        const src = ['open', 'overdue', 'response', 'on_time_close', 'satisfaction'].includes(k) ? kpi : stats;
        const expect = src.status === 200 && v !== undefined && v !== null ? String(v) : '';
        check(`${where}: figure ${k} matches the API`, shown[k] === expect, `shown '${shown[k]}', API '${expect}'`);
      }
      if (stats.missing || kpi.missing) check(`${where}: says which figures are not available yet`, (await page.textContent('.notes')).includes('暂未开通'));
    }
    await compare(s.unit, 'district dashboard');
    await noRawJson(page, 'dashboard');
    await page.waitForTimeout(300);
    await shot(page, 'dashboard-wall-1920');
    const child = await page.$('.drill-table tbody a');
    const units = await api(s.token, 'GET', '/api/v1/units/' + s.unit);
    if (units.missing) check('drill-down: clean state while the units route is missing', (await page.textContent('.drill')).length > 0);
    else {
      check('drill-down lists the streets', !!child);
      const code = await child.evaluate((a) => new URL(a.href).hash.split('unit=')[1]);
      await child.click();
      await page.waitForFunction((c) => location.hash.includes(c), code);
      await settled(page);
      check('drill-down: breadcrumb has two levels', (await page.$$('.crumbs li')).length === 2);
      await compare(code, 'street dashboard');
      const grand = await page.$('.drill-table tbody a');
      if (grand) {
        await grand.click();
        await page.waitForFunction(() => document.querySelectorAll('.crumbs li').length === 3);
        await settled(page);
        check('drill-down reaches a community', true);
        const grid = await page.$('.drill-table tbody a');
        if (grid) {
          await grid.click();
          await page.waitForFunction(() => document.querySelectorAll('.crumbs li').length === 4);
          await settled(page);
          check('drill-down reaches a grid', (await page.textContent('.drill')).includes('没有下级'));
        }
      }
    }
    const feed = await page.textContent('.feed-state');
    check('live feed states its connection in Chinese', /实时/.test(feed), feed);
    if (!feed.includes('暂未开通') && process.env.WEB_TEST_KEY && process.env.WEB_TEST_GROUP) {
      // a resident reports a hazard in a group; the dashboard's feed should show it
      const text = '界面测试：3栋楼道灯坏了好几天了，晚上太黑';
      const r = await ingest(text);
      check('a message posted through the ingest API', r.status === 200, r.status);
      const seen = await page.waitForFunction((t) => document.querySelector('.feed')?.textContent.includes(t.slice(5, 15)), text, { timeout: 6000 }).then(
        () => true,
        () => false
      );
      if (seen) check('live feed shows the new lead', true);
      else console.log('NOTE: the stream is open but no lead event arrived within 6 s (nothing publishes leads to the stream yet?)');
    }
    // keyboard: the skip link and the navigation are reachable with Tab
    await page.goto(base + '/#/dashboard');
    await page.reload(); // a fresh load, not a hash change
    await page.waitForSelector('#nav a');
    await page.keyboard.press('Tab');
    check('keyboard: Tab first reaches the skip link', await page.evaluate(() => document.activeElement.className === 'skip'));
    let reached = false;
    for (let i = 0; i < 6 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => !!document.activeElement.closest('#nav'));
    }
    check('keyboard: navigation reachable with Tab', reached);
    check('dashboard: no script errors', page.errors.length === 0, page.errors.join('; '));
    await page.context().close();
  });

  // ---- a case end to end through the pages ---------------------------------
  await section('a case end to end through the pages', async () => {
    const gw = tokens.gw411571001001001;
    const list = await api(gw, 'GET', '/api/v1/cases?limit=200');
    const page = await newPage();
    await login(page, 'gw411571001001001');
    await page.goto(base + '/#/cases');
    await settled(page);
    await shot(page, 'cases');
    if (list.missing) {
      check('cases page: clean state while the cases API is missing', (await page.textContent('main')).includes('暂未开通'));
      await noRawJson(page, 'cases');
    } else {
      check('cases API answers the grid worker', list.status === 200, list.status);
      const rows = await page.$$('.case-table tbody tr');
      check('cases list shows the grid worker\'s cases', rows.length === Math.min(50, (list.data?.items || []).length), rows.length);
      // open a case through the page, as a grid worker on patrol would
      await page.click('#new-case');
      await page.fill('#nc-title', '界面测试：3栋楼道灯不亮');
      await page.fill('#nc-description', '巡查发现3栋2单元楼道灯不亮，夜间行走不便。');
      await page.selectOption('#nc-category', '城乡建设');
      await page.click('#new-case-form button[type=submit]');
      await page.waitForFunction(() => /^#\/cases\/\d+/.test(location.hash) || document.querySelector('#new-case-form .form-error')?.textContent);
      const formError = await page.$eval('body', (b) => b.querySelector('#new-case-form .form-error')?.textContent || '');
      check('a case opened through the page', !formError, formError);
      const open = formError ? null : { id: (await page.evaluate(() => location.hash)).split('/')[2] };
      if (open) {
        const order = ['accept', 'start', 'resolve', 'handle_on_spot', 'verify', 'close'];
        const done = [];
        for (const account of ['gw411571001001001', 'comm411571001001', 'street01', 'district1']) {
          const p = account === 'gw411571001001001' ? page : await newPage();
          if (p !== page) await login(p, account);
          for (let step = 0; step < 6; step++) {
            await p.goto(base + '/#/cases/' + open.id);
            await p.waitForSelector('#case-status');
            const allowed = await p.$$eval('#actions button', (bs) => bs.map((b) => b.dataset.action));
            const next = order.find((a) => allowed.includes(a));
            if (!next) break;
            await p.click(`#actions button[data-action="${next}"]`);
            const form = `.action-form[data-action="${next}"]`;
            if (await p.$(form + ' textarea')) await p.fill(form + ' textarea', '界面测试：' + label(next));
            if (await p.$(form + ' select[name=rating]')) await p.selectOption(form + ' select[name=rating]', '5');
            const before = await p.getAttribute('#case-status', 'data-status');
            await p.click(form + ' button[type=submit]');
            await p.waitForFunction((b) => document.querySelector('#case-status')?.dataset.status !== b || document.querySelector('.action-form .form-error')?.textContent, before);
            const err = await p.$eval('body', (b) => b.querySelector('.action-form .form-error')?.textContent || '');
            check(`case ${open.id}: ${account} ${next}`, !err, err);
            if (err) break;
            done.push(next);
          }
          if (p !== page) await p.context().close();
        }
        const final = await api(tokens.district1, 'GET', '/api/v1/cases/' + open.id);
        check('case closed through the pages', final.data?.status === 'closed', done.join('→') + ' → ' + final.data?.status);
        await page.goto(base + '/#/cases/' + open.id);
        await page.reload(); // the same address: load it afresh
        await page.waitForSelector('#timeline');
        const steps = await page.$$eval('#timeline li', (ls) => ls.map((l) => l.dataset.action));
        check('timeline shows every action taken', done.every((a) => steps.includes(a)), steps.join(','));
        await shot(page, 'case-detail');
      }
      // a case a resident started in the group: its detail shows the message and the reading
      const text = '界面测试：5号楼北侧下水道井盖丢了，晚上路过很危险';
      check('a resident\'s report posted through the ingest API', (await ingest(text)).status === 200);
      const found = await api(gw, 'GET', '/api/v1/cases?q=' + encodeURIComponent('井盖丢了'));
      const started = (found.data?.items || []).find((c) => c.source === 'lead');
      check('the report opened a case', !!started, JSON.stringify(found.data?.items?.map((c) => c.title)));
      if (started) {
        residentCase = started.id;
        const c = await api(gw, 'GET', '/api/v1/cases/' + started.id);
        await page.goto(base + '/#/cases/' + started.id);
        await page.waitForSelector('#sources li');
        const src = await page.textContent('#sources');
        const m = (c.data?.messages || [])[0] || {};
        check('case detail: the message that started it', m.text === text && src.includes(text), src.slice(0, 120));
        check('case detail: its sender and group', src.includes('测试居民') && src.includes(m.group_name), src.slice(0, 200));
        check('case detail: the assistant\'s reading', src.includes('助手判断') && src.includes('问题上报') && src.includes('井盖'), src.slice(0, 300));
        await shot(page, 'case-from-message');
      }
    }
    // grid worker's mobile desk on a phone
    const phone = await newPage({ width: 390, height: 844 });
    await login(phone, 'gw411571001001001');
    await settled(phone);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check('mobile desk fits a 390 px phone', overflow <= 0, overflow + ' px too wide');
    const msgs = await api(gw, 'GET', '/api/v1/messages?limit=20&unit=' + (await phone.evaluate(() => JSON.parse(sessionStorage.getItem('nuanyang.session')).unit)));
    if (msgs.missing) check('mobile desk: messages clean state while the API is missing', (await phone.textContent('main')).includes('暂未开通'));
    else check('mobile desk: my groups\' messages with the reading', (await phone.$$('#messages li')).length === Math.min(20, (msgs.data?.items || []).length));
    await noRawJson(phone, 'mobile desk');
    await shot(phone, 'mobile-desk-390');
    check('mobile desk: no script errors', phone.errors.length === 0, phone.errors.join('; '));
    await phone.context().close();
    await page.context().close();
  });

  // ---- a notice and its delivery report ----------------------------------------
  await section('a notice and its delivery report', async () => {
    const page = await newPage();
    await login(page, 'comm411571001001');
    await page.goto(base + '/#/notices');
    await page.waitForSelector('#notice-text');
    await settled(page);
    await page.fill('#notice-text', '明天上午9点至12点小区停水，请提前储水。（界面测试）');
    await page.click('form[aria-label="发布通知"] button[type=submit]');
    await page.waitForFunction(() => location.hash.startsWith('#/notices/') || document.querySelector('form[aria-label="发布通知"] .form-error').textContent);
    const hash = await page.evaluate(() => location.hash);
    const probe = await api(tokens.comm411571001001, 'GET', '/api/v1/notices');
    if (probe.missing) {
      check('notice: clean Chinese error while the notices API is missing', (await page.textContent('form[aria-label="发布通知"] .form-error')).includes('暂未开通'));
    } else {
      check('notice sent, report opened', hash.startsWith('#/notices/'), hash);
      await page.waitForSelector('#delivery-counts');
      await settled(page);
      const id = hash.split('/')[2];
      const n = await api(tokens.comm411571001001, 'GET', '/api/v1/notices/' + id);
      const rows = await page.$$('.delivery-table tbody tr');
      check('delivery report lists every group', rows.length === (n.data?.deliveries || []).length && rows.length > 0, rows.length);
    }
    await noRawJson(page, 'notices');
    await shot(page, 'notices');
    await page.context().close();
  });

  // ---- keyboard: tabs pattern, every action reachable ----------------------------
  await section('keyboard', async () => {
    const page = await newPage();
    await login(page, 'district1');
    await page.goto(base + '/#/tuning?tab=try');
    await page.reload();
    await page.waitForSelector('#try-text');
    const active = () => page.evaluate(() => ({ tab: document.activeElement.dataset.tab || '', role: document.activeElement.getAttribute('role'), list: document.activeElement.closest('[role=tablist]')?.getAttribute('aria-label') || '' }));
    // Tab from the top reaches each tab list once: at its selected tab
    const stops = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const a = await active();
      if (a.role === 'tab') stops.push(a.list + ':' + a.tab);
      if (a.list === '调优内容') break;
    }
    check('keyboard: Tab stops once in the navigation, at the current page', stops[0] === '主导航:tuning' && stops.filter((x) => x.startsWith('主导航')).length === 1, stops.join(' '));
    check('keyboard: Tab reaches the page tabs at the selected one', stops[stops.length - 1] === '调优内容:try', stops.join(' '));
    const roving = await page.$$eval('[role=tablist]', (ls) => ls.every((l) => l.querySelectorAll('[role=tab][tabindex="0"]').length === 1 && l.querySelector('[tabindex="0"]').getAttribute('aria-selected') === 'true'));
    check('keyboard: one tab of each list in the Tab order (roving tabindex)', roving);
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
    });
    check('keyboard: the focused tab has a visible focus ring', ring);
    const seq = [];
    for (const key of ['ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowLeft', 'End', 'Home', 'ArrowUp', 'ArrowDown']) {
      await page.keyboard.press(key);
      seq.push((await active()).tab);
    }
    check('keyboard: arrows, Home and End move round the tabs', seq.join(',') === 'policies,lexicon,try,lexicon,lexicon,try,lexicon,try', seq.join(','));
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.includes('tab=policies'));
    // wait for the whole state checked below: focus, selection and panel are set by one re-render
    await page.waitForFunction(() => document.activeElement?.dataset.tab === 'policies' && document.activeElement.getAttribute('aria-selected') === 'true' && document.getElementById('tabpanel')?.getAttribute('aria-labelledby') === 'tab-policies').catch(() => {});
    const after = await page.evaluate(() => ({ tab: document.activeElement.dataset.tab, sel: document.activeElement.getAttribute('aria-selected'), panel: document.getElementById('tabpanel')?.getAttribute('aria-labelledby') }));
    check('keyboard: Enter opens the tab and keeps the focus on it', after.tab === 'policies' && after.sel === 'true' && after.panel === 'tab-policies', JSON.stringify(after));
    // the navigation: arrows move along the pages, Enter opens one
    await page.focus('#nav [aria-selected=true]');
    await page.keyboard.press('ArrowRight');
    const next = (await active()).tab;
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => location.hash.startsWith('#/' + n), next).catch(() => {});
    await page.waitForFunction((n) => document.activeElement?.dataset.tab === n && document.querySelector('#nav [aria-current=page]')?.dataset.tab === n, next).catch(() => {});
    const nav = await page.evaluate(() => ({ hash: location.hash, tab: document.activeElement.dataset.tab, cur: document.querySelector('#nav [aria-current=page]')?.dataset.tab }));
    check('keyboard: the navigation opens a page with Enter', nav.hash.startsWith('#/' + next) && nav.tab === next && nav.cur === next, JSON.stringify(nav));
    await page.context().close();

    // every control of a case page is reached by Tab, and a case is accepted by keyboard only
    if (!residentCase) return check('keyboard: a case to work on', false);
    const gw = await newPage();
    await login(gw, 'gw411571001001001');
    await gw.goto(base + '/#/cases/' + residentCase);
    await gw.reload();
    await gw.waitForSelector('#actions button');
    const reached = new Set();
    for (let i = 0; i < 80; i++) {
      await gw.keyboard.press('Tab');
      const id = await gw.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return '';
        if (!el.dataset.kbd) el.dataset.kbd = String(Math.random()).slice(2);
        return el.dataset.kbd;
      });
      if (id) reached.add(id);
    }
    const missed = await gw.evaluate((seen) => {
      const all = [...document.querySelectorAll('main a[href], main button, main input, main select, main textarea, header a[href], header button')].filter((e) => e.offsetParent && !e.disabled && !(e.getAttribute('role') === 'tab' && e.tabIndex < 0));
      return all.filter((e) => !seen.includes(e.dataset.kbd)).map((e) => e.outerHTML.slice(0, 80));
    }, [...reached]);
    check('keyboard: every control of the case page is reached with Tab', missed.length === 0, missed.join(' | '));
    await gw.focus('#actions button[data-action="accept"]');
    await gw.keyboard.press('Enter');
    const inForm = await gw.evaluate(() => !!document.activeElement.closest('.action-form'));
    check('keyboard: an action button opens its form with the focus in it', inForm);
    for (let i = 0; i < 6; i++) {
      if (await gw.evaluate(() => document.activeElement.type === 'submit')) break;
      await gw.keyboard.press('Tab');
    }
    await gw.keyboard.press('Enter');
    await gw.waitForFunction(() => document.querySelector('#case-status')?.dataset.status === 'accepted').catch(() => {});
    check('keyboard: a case accepted with the keyboard alone', (await gw.getAttribute('#case-status', 'data-status')) === 'accepted');
    check('keyboard: no script errors', gw.errors.length === 0, gw.errors.join('; '));
    await gw.context().close();
  });

  // ---- tuning: edit a policy and a lexicon entry, live --------------------------
  await section('tuning edits', async () => {
    const page = await newPage();
    await login(page, 'district1');
    const tok = await page.evaluate(() => JSON.parse(sessionStorage.getItem('nuanyang.session')).token);
    const tryIt = async (text) => {
      await page.goto(base + '/#/tuning?tab=try');
      await page.fill('#try-text', text);
      await page.click('#tabpanel form button[type=submit]');
      await page.waitForSelector('#try-result dl');
      return {
        intent: await page.getAttribute('#try-result [data-k=intent]', 'data-v'),
        keywords: await page.textContent('#try-result [data-k=keywords]'),
        policies: await page.textContent('#try-result [data-k=policies]'),
        priority: await page.textContent('#try-result [data-k=priority]'),
      };
    };
    // a policy: a new title, seen in the list and in the reading
    await page.goto(base + '/#/tuning?tab=policies');
    await page.waitForSelector('tr[data-key="gaoling_jintie"] button');
    await page.click('tr[data-key="gaoling_jintie"] button');
    const title = '高龄津贴（界面测试修订）';
    await page.fill('#tabpanel form [name=title]', title);
    await page.click('#tabpanel form button[type=submit]');
    await page.waitForFunction((t) => document.querySelector('tr[data-key="gaoling_jintie"]')?.textContent.includes(t), title).catch(() => {});
    check('tuning: the edited policy title is in the list', (await page.textContent('tr[data-key="gaoling_jintie"]')).includes(title));
    const api1 = await api(tok, 'GET', '/api/v1/policies/gaoling_jintie');
    check('tuning: the policy is saved on the server', api1.data?.title === title, api1.data?.title);
    const r1 = await tryIt('请问高龄津贴怎么申请？');
    check('tuning: try a message uses the edited policy at once', r1.policies.includes(title), r1.policies);
    // a lexicon entry: added, then edited; the live engine follows each save
    const term = '界面测试井喷';
    await page.goto(base + '/#/tuning?tab=lexicon');
    await page.waitForSelector('#tabpanel table');
    await page.click('#tabpanel button.primary');
    await page.fill('#tabpanel form [name=term]', term);
    await page.selectOption('#tabpanel form [name=intent]', 'report');
    await page.fill('#tabpanel form [name=weight]', '2');
    await page.click('#tabpanel form button[type=submit]');
    await page.waitForFunction(() => !document.querySelector('#tabpanel form [name=term]')).catch(() => {});
    const msg = '小区门口出现' + term + '了';
    const before = await tryIt(msg);
    check('tuning: try a message matches the new keyword', before.keywords.includes(term) && before.priority === '普通', before.keywords + ' ' + before.priority);
    await page.goto(base + '/#/tuning?tab=lexicon');
    await page.waitForSelector('#tabpanel table');
    await page.fill('#tabpanel input[type=search]', term);
    await page.press('#tabpanel input[type=search]', 'Enter');
    await page.waitForSelector(`tr[data-key="${term}"]`);
    await page.click(`tr[data-key="${term}"] button`);
    await page.fill('#tabpanel form [name=action]', 'urgent');
    await page.click('#tabpanel form button[type=submit]');
    await page.waitForFunction((t) => document.querySelector(`tr[data-key="${t}"]`)?.textContent.includes('urgent'), term).catch(() => {});
    check('tuning: the edited lexicon entry is in the list', (await page.textContent(`tr[data-key="${term}"]`)).includes('urgent'));
    const after = await tryIt(msg);
    check('tuning: try a message follows the edited entry (urgent raises the priority)', after.keywords.includes(term) && ['高', '紧急'].includes(after.priority), after.keywords + ' ' + after.priority);
    // a bad form: the server's refusal is a Chinese sentence, never raw JSON
    await page.goto(base + '/#/tuning?tab=policies');
    await page.waitForSelector('#tabpanel table');
    await page.click('#tabpanel button.primary');
    await page.fill('#tabpanel form [name=code]', 'bad code');
    await page.fill('#tabpanel form [name=title]', '界面测试');
    await page.click('#tabpanel form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#tabpanel .form-error')?.textContent.length > 0);
    const err = await page.textContent('#tabpanel .form-error');
    check('tuning: a bad form answers a Chinese sentence', /[\u4e00-\u9fff]/.test(err) && /。$/.test(err) && !/[{}]|\//.test(err), err);
    await shot(page, 'tuning-edit-error', true);
    check('tuning edits: no script errors', page.errors.length === 0, page.errors.join('; '));
    await page.context().close();
  });

  // ---- phone layout: every page of a community's staff fits 390 px ------------
  await section('phone layout', async () => {
    const page = await newPage({ width: 390, height: 844 });
    await login(page, 'comm411571001001');
    for (const [hash, name] of [['dashboard', 'dashboard-390'], ['cases', 'cases-390'], ['notices', 'notices-390'], ['reports?tab=units', 'reports-390']]) {
      await page.goto(base + '/#/' + hash);
      await settled(page);
      const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(`phone: ${hash} fits 390 px`, over <= 0, over + ' px too wide');
      await shot(page, name);
    }
    check('phone: no script errors', page.errors.length === 0, page.errors.join('; '));
    await page.context().close();
  });

  // ---- tuning: try a message; reports ---------------------------------------------
  await section('tuning: try a message; reports', async () => {
    const page = await newPage();
    await login(page, 'district1');
    await page.goto(base + '/#/tuning?tab=try');
    await page.fill('#try-text', '请问低保怎么申请');
    await page.click('form button[type=submit]');
    await page.waitForFunction(() => !document.querySelector('#try-result .state.loading') && document.querySelector('#try-result').textContent.length > 0);
    const r = await api(tokens.district1, 'POST', '/api/v1/triage', { text: '请问低保怎么申请', kind: 'resident' });
    if (r.missing) check('try a message: clean state while the triage API is missing', (await page.textContent('#try-result')).includes('暂未开通'));
    else {
      check('try a message: intent as the live engine says', (await page.getAttribute('#try-result [data-k=intent]', 'data-v')) === r.data.intent, r.data.intent);
      check('try a message: the reply is shown', !r.data.reply || (await page.textContent('#try-result [data-k=reply]')).includes(r.data.reply.slice(0, 10)));
    }
    await shot(page, 'tuning-try');
    for (const tab of ['policies', 'lexicon']) {
      await page.goto(base + '/#/tuning?tab=' + tab);
      await settled(page);
      await noRawJson(page, 'tuning ' + tab);
      await shot(page, 'tuning-' + tab);
    }
    for (const tab of ['units', 'workers', 'ledger', 'digest']) {
      await page.goto(base + '/#/reports?tab=' + tab);
      await settled(page);
      const text = await page.textContent('main');
      check(`reports ${tab}: a table, an empty or a clean state`, /导出 CSV|暂无|没有|暂未开通|日报|重试/.test(text), text.slice(0, 120));
      await noRawJson(page, 'reports ' + tab);
      await shot(page, 'reports-' + tab);
    }
    check('tuning and reports: no script errors', page.errors.length === 0, page.errors.join('; '));
    await page.context().close();
  });
} catch (err) {
  check('browser run finished', false, err && err.stack);
} finally {
  await browser.close();
}

function label(a) {
  return { accept: '受理', start: '开始处置', resolve: '办结', verify: '核查', close: '结案', handle_on_spot: '当场处置' }[a] || a;
}

process.exit(failures ? 1 : 0);
