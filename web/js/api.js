// api.js - the one way the pages talk to the server.
//
// Every call goes through api(): it adds the bearer token from login, sends
// and reads JSON, and turns every failure into an ApiError whose message is a
// Chinese sentence for the user (the Chinese half of the server's
// "中文 / English" reason, or a sentence chosen by status), never raw JSON.
// A 401 on any call ends the session and sends the user to the login page.
// stream() reads the server-sent events of /api/v1/stream through fetch, so
// the Authorization header goes along (EventSource cannot send it).

const KEY = 'nuanyang.session';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body || null;
    // the endpoint is not on this server yet (no such route, or the path
    // exists only for another method): pages show a "not available" state
    this.missing = notThere(status, body);
  }
}

function notThere(status, body) {
  const err = (body && body.error) || '';
  return (status === 404 && /^no such route/.test(err)) || (status === 405 && /^method \S+ not allowed here/.test(err));
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

export function setSession(s) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

const byStatus = {
  400: '请求格式有误，请检查后重试。',
  401: '登录已失效，请重新登录。',
  403: '您没有权限进行此操作。',
  404: '要找的内容不存在，或不在您的管辖范围内。',
  405: '此操作不被允许。',
  409: '当前状态下不能进行此操作。',
  413: '提交的内容太大。',
  422: '填写的内容有误，请检查后重试。',
  429: '尝试次数过多，请稍后再试。',
  500: '服务器出现问题，请稍后再试。',
  503: '服务暂时不可用，请稍后再试。',
};

// The sentence the user reads for an error answer.
export function sentence(status, body) {
  const err = body && typeof body.error === 'string' ? body.error : '';
  if (notThere(status, body)) return '该功能暂未开通（服务器尚未提供此接口）。';
  const zh = err.split(' / ')[0].trim();
  if (zh && /[\u4e00-\u9fff]/.test(zh)) return /[。！？]$/.test(zh) ? zh : zh + '。';
  return byStatus[status] || (status >= 500 ? byStatus[500] : '操作没有成功，请稍后再试。');
}

function headers(extra) {
  const h = Object.assign({}, extra);
  const s = session();
  if (s && s.token) h.Authorization = 'Bearer ' + s.token;
  return h;
}

async function request(method, path, body, accept) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, '无法连接服务器，请检查网络后重试。');
  }
  if (res.ok) return res;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  const e = new ApiError(res.status, sentence(res.status, data), data);
  if (res.status === 401 && path !== '/api/v1/login') {
    setSession(null);
    onUnauthorized(e);
  }
  throw e;
}

// JSON call: api('GET', '/api/v1/stats', null, {unit}) -> parsed body.
export async function api(method, path, body, query) {
  const res = await request(method, path + qs(query), body === null ? undefined : body);
  if (res.status === 204) return null;
  try {
    return await res.json();
  } catch {
    throw new ApiError(res.status, '服务器返回的内容无法识别。');
  }
}

export const get = (path, query) => api('GET', path, null, query);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path, null);

// Text call (CSV exports): the body as text.
export async function getText(path, query) {
  const res = await request('GET', path + qs(query));
  return res.text();
}

export function qs(query) {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '' && v !== false) p.set(k, String(v));
  const s = p.toString();
  return s ? '?' + s : '';
}

// Reads /api/v1/stream until stop() is called, handing each event to
// onEvent(type, data). onState('open' | 'closed' | 'missing' | 'error', err)
// tells the page how the connection is; it reconnects after 3 s.
export function stream(onEvent, onState) {
  let stopped = false;
  let ctrl = null;
  let timer = null;
  async function run() {
    ctrl = new AbortController();
    try {
      const res = await fetch('/api/v1/stream', {
        headers: headers({ Accept: 'text/event-stream' }),
        signal: ctrl.signal,
      });
      if (!res.ok) {
        let data = null;
        try {
          data = await res.json();
        } catch {
          data = null;
        }
        const e = new ApiError(res.status, sentence(res.status, data), data);
        onState(e.missing ? 'missing' : 'error', e);
        if (e.missing || res.status === 401 || res.status === 403) return;
      } else {
        onState('open');
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let cut;
          while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
            let type = 'message';
            const data = [];
            for (const line of block.split(/\r?\n/)) {
              if (line.startsWith('event:')) type = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (!data.length) continue;
            let parsed = null;
            try {
              parsed = JSON.parse(data.join('\n'));
            } catch {
              continue;
            }
            onEvent(type, parsed);
          }
        }
        onState('closed');
      }
    } catch (err) {
      if (stopped) return;
      onState('error', new ApiError(0, '实时连接中断，正在重新连接…'));
    }
    if (!stopped) timer = setTimeout(run, 3000);
  }
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (ctrl) ctrl.abort();
  };
}
