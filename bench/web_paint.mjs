// web_paint.mjs - first paint of the command centre in headless Chromium.
// Usage: node bench/web_paint.mjs URL ACCOUNT PASSWORD. Logs in through the
// API once, then loads the dashboard 5 times in fresh browser contexts (cold
// cache) with the session already in sessionStorage, and prints the median
// first contentful paint and the median time until all nine figure cards
// hold their values, next to the login page's first paint (the baseline: the
// shell and style sheet alone) measured the same way in the same run.
import { chromium } from '../web/node_modules/playwright-core/index.mjs';

const [base, account, password] = process.argv.slice(2);
const res = await fetch(base + '/api/v1/login', {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ account, password }),
});
const session = await res.json();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});

async function load(hash, withSession, ready) {
  const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  if (withSession) await ctx.addInitScript((s) => sessionStorage.setItem('nuanyang.session', s), JSON.stringify(session));
  const page = await ctx.newPage();
  const t0 = Date.now();
  await page.goto(base + '/' + hash);
  await page.waitForSelector(ready, { timeout: 20000 });
  const filled = Date.now() - t0;
  const fcp = await page.evaluate(() => {
    const e = performance.getEntriesByName('first-contentful-paint')[0];
    return e ? e.startTime : NaN;
  });
  await ctx.close();
  return { fcp, filled };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { login: [], dash: [] };
await load('#/login', false, '#account'); // warm the server's page cache once
for (let i = 0; i < 5; i++) {
  runs.login.push(await load('#/login', false, '#account'));
  runs.dash.push(await load('#/dashboard', true, '.figure:nth-child(9) .fig-value[data-value]'));
}
await browser.close();
const fmt = (v) => v.toFixed(0).padStart(6);
const lf = median(runs.login.map((r) => r.fcp));
const df = median(runs.dash.map((r) => r.fcp));
const dd = median(runs.dash.map((r) => r.filled));
console.log('page                         first paint ms   figures filled ms   x login paint');
console.log(`login (baseline)                     ${fmt(lf)}                   —             1.0`);
console.log(`dashboard (district1)                ${fmt(df)}              ${fmt(dd)}   ${(df / lf).toFixed(1).padStart(13)}`);
