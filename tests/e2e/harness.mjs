// Shared pieces of the e2e suite: a real TokenWire server process, Debian chromium through playwright-core,
// the demo page's testable contract, and an independent read of an answer from REST history.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const logDir = path.join(here, '.logs');
const defaultDll = path.join(repoRoot, 'src', 'TokenWire.Server', 'bin', 'Release', 'net10.0', 'TokenWire.Server.dll');

export const ROOT_KEY = 'dev.root:dev-root-secret';
/** Faster than the default 50–200 ms per chunk, still slow enough to disconnect mid-answer. */
export const FAST_PACING = ['--TokenWire:Agent:Simulated:MinDelay=00:00:00.020', '--TokenWire:Agent:Simulated:MaxDelay=00:00:00.060'];
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const randomInt = (lo, hi) => lo + crypto.randomInt(hi - lo + 1);
export const sha256Hex = (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** A free port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

function tail(file, maxChars = 3000) {
  try {
    const s = fs.readFileSync(file, 'utf8');
    return s.length > maxChars ? '…' + s.slice(-maxChars) : s;
  } catch {
    return '(no log)';
  }
}

/**
 * Starts `dotnet <TokenWire.Server.dll> --urls http://127.0.0.1:<free port>` (Development: dev keys and the demo
 * endpoints) and waits until it serves `/time`. TOKENWIRE_SERVER_DLL overrides the dll.
 */
export async function startServer({ args = FAST_PACING, logName = 'server' } = {}) {
  const dll = process.env.TOKENWIRE_SERVER_DLL || defaultDll;
  if (!fs.existsSync(dll)) {
    throw new Error(`server dll not found at ${dll}; build it: (cd ${repoRoot} && dotnet build -c Release src/TokenWire.Server)`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${logName}-${new Date().toISOString().replace(/[:.]/g, '-')}-${port}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawn('dotnet', [dll, '--urls', url, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ASPNETCORE_ENVIRONMENT: 'Development', DOTNET_ENVIRONMENT: 'Development', DOTNET_NOLOGO: '1' },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  let exited = null;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve((exited = { code, signal })));
    child.once('error', (error) => resolve((exited = { error: error.message })));
  });
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited during start-up (${JSON.stringify(exited)}); log ${logFile}:\n${tail(logFile)}`);
    try {
      const res = await fetch(`${url}/time`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return { port, url, logFile, stop };
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`server did not answer GET /time within 30 s; log ${logFile}:\n${tail(logFile)}`);
}

/** Debian chromium, headless, with the flags this machine needs. */
export function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 60_000 });
}

/**
 * Opens the demo page in a fresh context and waits until it is connected and Ready. Collects page errors and the
 * URLs of the WebSockets it opens.
 */
export async function openDemo(browser, server, { viewport = { width: 1100, height: 760 }, colorScheme = 'light', query = '', blockWebSockets = false } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  context.setDefaultTimeout(15_000);
  if (blockWebSockets) {
    // As a network that refuses WebSockets: every one is closed before it reaches the server.
    await context.routeWebSocket(/.*/, (ws) => ws.close({ code: 1011, reason: 'blocked by the test' }));
  }
  const page = await context.newPage();
  const errors = [];
  const sockets = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('websocket', (ws) => sockets.push(ws.url()));
  const res = await page.goto(`${server.url}/${query}`, { waitUntil: 'load' });
  const type = res?.headers()['content-type'] ?? '';
  if (!res || res.status() !== 200 || !type.includes('text/html')) {
    const body = res ? (await res.text()).slice(0, 200) : '';
    throw new Error(`GET / did not serve the demo page: ${res && res.status()} ${type} ${JSON.stringify(body)}`);
  }
  await waitForStatus(page, ['Ready'], 20_000);
  await page.getByTestId('prompts').getByRole('button').first().waitFor({ state: 'visible' });
  const channel = (await page.getByTestId('channel').textContent()).trim();
  return { context, page, channel, errors, sockets };
}

/** The page's view of the current answer. */
export function readPage(page) {
  return page.evaluate(() => {
    const q = (id) => document.querySelector(`[data-testid="${id}"]`);
    return {
      status: q('status')?.textContent ?? null,
      text: q('response')?.textContent ?? null,
      responseId: q('response')?.getAttribute('data-response-id') ?? null,
      connection: q('connection')?.textContent ?? null,
      connectionId: q('connection')?.getAttribute('data-connection-id') ?? null,
      verified: q('verified')?.getAttribute('data-result') ?? null,
      verifiedText: q('verified')?.textContent ?? null,
      reason: q('stop-reason')?.getAttribute('data-reason') ?? null,
      error: document.querySelector('[role="alert"]')?.textContent ?? null,
    };
  });
}

/** Waits (bounded) until the page satisfies `predicate(state)`; the error says what the page showed last. */
export async function waitForPage(page, predicate, ms, label) {
  const deadline = Date.now() + ms;
  let state;
  for (;;) {
    state = await readPage(page);
    if (predicate(state)) return state;
    if (Date.now() > deadline) {
      const shown = { ...state, text: state.text && (state.text.length > 80 ? `${state.text.slice(0, 80)}… (${state.text.length} chars)` : state.text) };
      throw new Error(`timed out after ${ms} ms waiting for ${label}; page: ${JSON.stringify(shown)}`);
    }
    await sleep(15);
  }
}

export const waitForStatus = (page, statuses, ms) =>
  waitForPage(page, (s) => statuses.includes(s.status), ms, `status ${statuses.join('|')}`);

/** Clicks the prompt button with this text (or the `n`th one) and returns its text. */
export async function clickPrompt(page, which = 0) {
  const buttons = page.getByTestId('prompts').getByRole('button');
  const button = typeof which === 'string' ? buttons.filter({ hasText: which }).first() : buttons.nth(which);
  const prompt = (await button.textContent()).trim();
  await button.click();
  return prompt;
}

function decodeData(m) {
  if (typeof m.data === 'string' && typeof m.encoding === 'string' && m.encoding.split('/').pop() === 'json') {
    return JSON.parse(m.data);
  }
  return m.data;
}

/**
 * The answer `responseId` as REST history has it (Basic auth with the root key, oldest first): its tokens in
 * order and its stop message's headers.
 */
export async function answerFromHistory(server, channel, responseId) {
  const url = `${server.url}/channels/${encodeURIComponent(channel)}/messages?direction=forwards&limit=1000`;
  const res = await fetch(url, {
    headers: { Authorization: `Basic ${Buffer.from(ROOT_KEY).toString('base64')}`, Accept: 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
  const messages = (await res.json()).filter((m) => m.extras?.headers?.responseId === responseId);
  const tokens = messages.filter((m) => m.name === 'token').map((m) => ({ index: Number(m.extras.headers.index), token: decodeData(m).token }));
  const stop = messages.find((m) => m.name === 'stop');
  return {
    tokens,
    text: tokens.map((t) => t.token).join(''),
    start: messages.find((m) => m.name === 'start'),
    stop: stop ? { ...stop.extras.headers, data: decodeData(stop) } : null,
  };
}

/**
 * The hooks of a test file whose tests share one server and one browser: both start before the tests
 * (`onStarted(server, browser)`, which may be async) and stop after them.
 */
export function serverAndBrowserPerFile(logName, onStarted) {
  let server;
  let browser;
  before(async () => {
    server = await startServer({ logName });
    browser = await launchBrowser();
    await onStarted(server, browser);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}

/** The page's final answer must be the one REST history holds, whole, verified, each token once. */
export async function assertExactAnswer(server, page, channel, label) {
  const shown = await waitForPage(page, (s) => s.verified && s.verified !== 'checking', 10_000, `${label}: verification result`);
  const history = await answerFromHistory(server, channel, shown.responseId);
  assert.ok(history.stop, `${label}: REST history has no stop for ${shown.responseId}`);
  assert.equal(history.stop.reason, 'complete', `${label}: stop reason in history`);
  assert.deepEqual(
    history.tokens.map((t) => t.index),
    history.tokens.map((_, i) => i),
    `${label}: history token indexes are 0..n-1 in order`,
  );
  assert.equal(Number(history.stop.tokenCount), history.tokens.length, `${label}: stop.tokenCount vs tokens in history`);
  assert.equal(history.stop.textSha256, sha256Hex(history.text), `${label}: stop.textSha256 vs history text`);
  assert.equal(shown.text, history.text, `${label}: page text vs REST history (page ${shown.text.length} chars, history ${history.text.length})`);
  assert.equal(shown.verified, 'verified', `${label}: page verification (${shown.verifiedText})`);
  assert.match(shown.verifiedText, /verified/);
  return history;
}
