// Shared helpers for the interop tests: clients, bounded waits, token streams, a TCP proxy.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import Ably from 'ably';
import WebSocket from 'ws';
import msgpack from '@ably/msgpack-js';
import { before, after, afterEach } from 'node:test';
import { logDir, startServer } from './server.mjs';

export { Ably };

export const ROOT_KEY = 'dev.root:dev-root-secret';
export const SUB_KEY = 'dev.sub:dev-sub-secret';

/** Every test is generated once per wire format. */
export const FORMATS = [
  { name: 'msgpack', useBinaryProtocol: true },
  { name: 'json', useBinaryProtocol: false },
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Bounds an await: rejects with a descriptive error if `promise` does not settle within `ms`. */
export function within(promise, ms, label) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `predicate` (every 5 ms) until it returns truthy; rejects after `ms` with `label`
 * plus whatever `describe()` says about the current state.
 */
export async function waitFor(predicate, ms, label, describe = () => '') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = predicate();
    if (v) return v;
    if (Date.now() > deadline) {
      const d = describe();
      throw new Error(`timed out after ${ms} ms waiting for: ${label}${d ? ` (${d})` : ''}`);
    }
    await sleep(5);
  }
}

let nameCounter = 0;
export function uniqueName(prefix) {
  nameCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${nameCounter}-${crypto.randomBytes(3).toString('hex')}`;
}

const TOKEN_ALPHABET = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-_\'"\\/\n\téüß字文😀'];
/** A random short string (1..6 code points) — includes spaces, quotes, escapes and non-ASCII. */
export function randomToken() {
  const n = 1 + crypto.randomInt(6);
  let s = '';
  for (let i = 0; i < n; i++) s += TOKEN_ALPHABET[crypto.randomInt(TOKEN_ALPHABET.length)];
  return s;
}
export function randomInt(lo, hi) {
  return lo + crypto.randomInt(hi - lo + 1);
}

// ---------------------------------------------------------------------------------------------
// SDK logging goes to .logs/sdk-<file>.log (level from ABLY_LOG_LEVEL, default 1 = errors).
const sdkLogLevel = Number(process.env.ABLY_LOG_LEVEL ?? 1);
let sdkLogStream = null;
function sdkLogHandler(logName) {
  return (msg) => {
    if (!sdkLogStream) {
      fs.mkdirSync(logDir, { recursive: true });
      sdkLogStream = fs.createWriteStream(path.join(logDir, `sdk-${logName}.log`), { flags: 'a' });
    }
    sdkLogStream.write(`${new Date().toISOString()} ${msg}\n`);
  };
}

/** Creates and tracks SDK clients for one test file; closeAll() closes every one of them. */
export class Clients {
  constructor(logName = 'interop') {
    this.logName = logName;
    this.realtimes = new Set();
    this.proxies = new Set();
  }

  /** A proxy in front of `targetPort` (see `startProxy`), closed by `closeAll` after the clients that use it. */
  async proxy(targetPort) {
    const proxy = await startProxy(targetPort);
    this.proxies.add(proxy);
    return proxy;
  }

  baseOptions(server, format, opts) {
    return {
      key: ROOT_KEY,
      endpoint: '127.0.0.1',
      port: server.port,
      tls: false,
      useBinaryProtocol: format.useBinaryProtocol,
      fallbackHosts: [],
      disableConnectivityCheck: true,
      logLevel: sdkLogLevel,
      logHandler: sdkLogHandler(this.logName),
      ...opts,
    };
  }

  /** `server` only needs a `port` (a proxy works too). */
  realtime(server, format, opts = {}) {
    const client = new Ably.Realtime(this.baseOptions(server, format, opts));
    this.realtimes.add(client);
    return client;
  }

  rest(server, format, opts = {}) {
    return new Ably.Rest(this.baseOptions(server, format, opts));
  }

  async close(client) {
    this.realtimes.delete(client);
    await closeRealtime(client);
  }

  async closeAll() {
    const all = [...this.realtimes];
    this.realtimes.clear();
    await Promise.all(all.map((c) => closeRealtime(c)));
    const proxies = [...this.proxies];
    this.proxies.clear();
    await Promise.all(proxies.map((p) => p.close()));
  }
}

/**
 * The hooks of a test file whose tests share one server: it starts before them (`onStarted` gets it) and stops after
 * them, and the clients and proxies a test opened through `clients` are closed after that test.
 */
export function serverPerFile(clients, serverOptions, onStarted) {
  let server;
  before(async () => {
    server = await startServer(serverOptions);
    onStarted(server);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients.closeAll();
    if (server) await server.stop();
  });
}

export async function closeRealtime(client) {
  const conn = client.connection;
  if (conn.state === 'closed' || conn.state === 'failed') return;
  const done = new Promise((resolve) => {
    const check = () => {
      if (conn.state === 'closed' || conn.state === 'failed') {
        conn.off(check);
        resolve();
      }
    };
    conn.on(check);
  });
  try {
    client.close();
  } catch {
    /* ignore */
  }
  let timer;
  await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 5000)))]);
  clearTimeout(timer);
}

/** Resolves when the connection reaches `state`; rejects if it fails (unless waiting for failed). */
export function connectionState(client, state, ms = 15000) {
  const conn = client.connection;
  let listener;
  const p = new Promise((resolve, reject) => {
    listener = (change) => {
      if (conn.state === state) resolve(change);
      else if (conn.state === 'failed' && state !== 'failed') {
        reject(new Error(`connection failed while waiting for ${state}: ${errText(conn.errorReason)}`));
      }
    };
    conn.on(listener);
    if (conn.state === state) resolve(null);
  });
  return within(p, ms, `connection state ${state} (now ${conn.state}, reason ${errText(conn.errorReason)})`).finally(
    () => conn.off(listener),
  );
}

export function errText(err) {
  if (!err) return 'none';
  return `code=${err.code} statusCode=${err.statusCode} message=${JSON.stringify(err.message)}`;
}

/** Subscribes to every message on a channel, recording them. */
export function record(channel, filter = () => true) {
  const messages = [];
  const listener = (m) => {
    if (filter(m)) messages.push(m);
  };
  const subscribed = channel.subscribe(listener);
  return {
    messages,
    subscribed,
    stop: () => channel.unsubscribe(listener),
  };
}

/**
 * A barrier on a channel's ordered delivery, in place of "sleep, then check that nothing more arrived": publishes a
 * uniquely tagged sentinel through `channel` (realtime or REST) and waits until every one of `recordings` (message
 * arrays recording that channel) holds it, then cuts the sentinel and anything after it from them. A channel delivers
 * in the order the server accepted its messages, so whatever it accepted before the sentinel (a duplicate, a stray
 * or refused message it let through) has arrived by then, and what a test then asserts is all that ever will.
 */
export async function barrier(channel, recordings, { ms = 30000, label = 'barrier' } = {}) {
  const tag = uniqueName('barrier');
  await within(channel.publish(BARRIER_NAME, tag), ms, `${label}: publish the sentinel`);
  const at = (messages) => messages.findIndex((m) => m.name === BARRIER_NAME && m.data === tag);
  for (const [i, messages] of recordings.entries()) {
    await waitFor(() => at(messages) >= 0, ms, `${label}: sentinel delivered to recording ${i}`, () => `${messages.length} received`);
    messages.splice(at(messages));
  }
}
export const BARRIER_NAME = 'test-barrier';

/** Awaits a `PaginatedResult` chain to the end; returns { items, pages }. */
export async function allPages(firstPagePromise, { maxPages = 10_000, ms = 15000, label = 'history' } = {}) {
  let page = await within(firstPagePromise, ms, `${label}: first page`);
  const pages = [];
  while (page) {
    pages.push(page);
    if (pages.length > maxPages) throw new Error(`${label}: more than ${maxPages} pages`);
    if (!page.hasNext()) break;
    page = await within(page.next(), ms, `${label}: page ${pages.length + 1}`);
  }
  return { items: pages.flatMap((p) => p.items), pages };
}

// ---------------------------------------------------------------------------------------------
/** Compares two token arrays; returns null if equal, else a human-readable diagnosis. */
export function diffTokens(expected, actual) {
  if (expected.length === actual.length && expected.every((t, i) => t === actual[i])) return null;
  let i = 0;
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++;
  const show = (arr) => JSON.stringify(arr.slice(Math.max(0, i - 3), i + 4));
  return (
    `expected ${expected.length} tokens, got ${actual.length}; first difference at index ${i}: ` +
    `expected …${show(expected)}… got …${show(actual)}…`
  );
}

/**
 * Publishes the seed flow on `channel`: `start`, `count` `token`s, `stop`, each with
 * `extras.headers.responseId`, WITHOUT awaiting individual publishes. `pace(i)` is awaited
 * between tokens (return undefined for a burst). Returns the publish promises and what was sent.
 */
export function streamResponse(channel, { count, pace = null, responseId = uniqueName('resp'), onToken = null } = {}) {
  const extras = { headers: { responseId } };
  const tokens = Array.from({ length: count }, () => randomToken());
  const promises = [];
  const publishOne = (msg) => {
    const p = channel.publish(msg);
    p.catch(() => {}); // observed by the caller via `promises`
    promises.push(p);
    return p;
  };
  const done = (async () => {
    publishOne({ name: 'start', extras });
    for (let i = 0; i < count; i++) {
      publishOne({ name: 'token', data: { token: tokens[i] }, extras });
      if (onToken) await onToken(i);
      if (pace) await pace(i);
    }
    publishOne({ name: 'stop', extras });
  })();
  return { responseId, tokens, extras, promises, issued: done, text: tokens.join('') };
}

/** Awaits all publish promises (bounded); rejects with the first failure. */
export async function settleAll(promises, ms, label) {
  const results = await within(Promise.allSettled(promises), ms, label);
  const failed = results.map((r, i) => [r, i]).filter(([r]) => r.status === 'rejected');
  if (failed.length) {
    const [r, i] = failed[0];
    throw new Error(`${label}: ${failed.length} of ${promises.length} publishes rejected; first (#${i}): ${errText(r.reason)}`);
  }
  return results.map((r) => r.value);
}

/** Checks a received message list against the seed flow; throws an informative assertion. */
export function checkSeedSequence(assert, received, stream, { clientId, connectionId } = {}) {
  const names = received.map((m) => m.name);
  const tokens = received.filter((m) => m.name === 'token').map((m) => m.data && m.data.token);
  const diff = diffTokens(stream.tokens, tokens);
  assert.equal(diff, null, diff ?? '');
  assert.equal(received.length, stream.tokens.length + 2, `expected start + ${stream.tokens.length} tokens + stop, got ${received.length} messages`);
  assert.equal(names[0], 'start', 'first message must be start');
  assert.equal(names[names.length - 1], 'stop', 'last message must be stop');
  for (const m of received) {
    assert.deepEqual(m.extras, stream.extras, `extras of ${m.name} ${m.id}`);
    if (clientId !== undefined) assert.equal(m.clientId, clientId, `clientId of ${m.name} ${m.id}`);
    if (connectionId !== undefined) assert.equal(m.connectionId, connectionId, `connectionId of ${m.name} ${m.id}`);
    assert.equal(typeof m.timestamp, 'number', `timestamp of ${m.id}`);
  }
  checkSerialsAndIds(assert, received);
}

export function checkSerialsAndIds(assert, received) {
  const ids = new Set();
  for (let i = 0; i < received.length; i++) {
    const m = received[i];
    assert.equal(typeof m.id, 'string', `message ${i} has no id`);
    assert.ok(!ids.has(m.id), `duplicate message id ${m.id} at index ${i}`);
    ids.add(m.id);
    assert.equal(typeof m.serial, 'string', `message ${i} (${m.id}) has no serial`);
    if (i > 0) {
      assert.ok(
        received[i - 1].serial < m.serial,
        `serials not strictly increasing at ${i}: ${JSON.stringify(received[i - 1].serial)} then ${JSON.stringify(m.serial)}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
/**
 * A tiny TCP proxy on 127.0.0.1 forwarding to `targetPort`.
 * - killAll(): abruptly destroys every current connection (both sides).
 * - blackholeDownstream(): from now on, drop server→client bytes on current connections
 *   (ACKs are lost while the client keeps sending); use right before killAll().
 * - block(true): new connections are destroyed immediately.
 * - setTarget(port): new connections go to another port (a load balancer moving clients to another node).
 */
export async function startProxy(targetPort) {
  const pairs = new Set();
  let blocked = false;
  let target = targetPort;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target, '127.0.0.1');
    const pair = { client, upstream, blackhole: false };
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!pair.blackhole) client.write(d);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    killAll() {
      const n = pairs.size;
      for (const p of [...pairs]) {
        pairs.delete(p);
        if (typeof p.client.resetAndDestroy === 'function') p.client.resetAndDestroy();
        else p.client.destroy();
        p.upstream.destroy();
      }
      return n;
    },
    blackholeDownstream() {
      for (const p of pairs) p.blackhole = true;
    },
    block(value = true) {
      blocked = value;
    },
    setTarget(port) {
      target = port;
    },
    async close() {
      this.killAll();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * A TCP load balancer on 127.0.0.1 in front of several nodes, as nginx with `proxy_next_upstream error` is: each new
 * connection goes to the next node in turn, and to the one after it if that node refuses the connection (a node that
 * is stopping, or down). It knows nothing else about the nodes: no health checks, no deregistration.
 * - accepted(port): how many client connections went to that node.
 * - refused(port): how many times that node refused a connection.
 */
export async function startBalancer(targetPorts) {
  const pairs = new Set();
  const accepted = new Map();
  const refused = new Map();
  let next = 0;
  const count = (map, port) => map.set(port, (map.get(port) ?? 0) + 1);
  const server = net.createServer((client) => {
    client.pause();
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    const tryNode = (attempt) => {
      if (attempt >= targetPorts.length || client.destroyed) {
        client.destroy();
        return;
      }
      const port = targetPorts[next++ % targetPorts.length];
      const upstream = net.connect(port, '127.0.0.1');
      upstream.once('error', () => {
        count(refused, port);
        tryNode(attempt + 1);
      });
      upstream.once('connect', () => {
        count(accepted, port);
        upstream.removeAllListeners('error');
        upstream.setNoDelay(true);
        const pair = { client, upstream };
        pairs.add(pair);
        const end = () => {
          pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        };
        upstream.on('error', end);
        upstream.on('close', end);
        client.on('close', end);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryNode(0);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    accepted: (port) => accepted.get(port) ?? 0,
    refused: (port) => refused.get(port) ?? 0,
    async close() {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Raw WebSocket client speaking the Ably protocol by hand (for bad-input tests).
export { msgpack };

export function decodeFrame(data, isBinary) {
  if (isBinary) return msgpack.decode(Buffer.from(data));
  return JSON.parse(data.toString('utf8'));
}

/**
 * Opens ws://127.0.0.1:port/?key=…&format=…&v=6 and collects decoded frames.
 * Resolves once the socket is open (it does not wait for CONNECTED; use waitFrame).
 */
export async function rawSocket(port, { format = 'json', key = ROOT_KEY, params = {} } = {}) {
  const qs = new URLSearchParams({ key, format, heartbeats: 'true', v: '6', ...params });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?${qs}`);
  const frames = [];
  const undecodable = [];
  let closeInfo = null;
  ws.on('message', (data, isBinary) => {
    try {
      frames.push(decodeFrame(data, isBinary));
    } catch (e) {
      undecodable.push({ data, isBinary, error: e.message });
    }
  });
  const closed = new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString() };
      resolve(closeInfo);
    });
  });
  ws.on('error', () => {});
  await within(
    new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', (req, res) => reject(new Error(`WebSocket upgrade answered HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    }),
    10000,
    'raw WebSocket open',
  );
  const sock = {
    ws,
    frames,
    undecodable,
    closed,
    get closeInfo() {
      return closeInfo;
    },
    /** Sends an object encoded in this socket's format. */
    send(obj) {
      if (format === 'msgpack') ws.send(msgpack.encode(obj, true), { binary: true });
      else ws.send(JSON.stringify(obj), { binary: false });
    },
    sendRaw(data, binary) {
      ws.send(data, { binary });
    },
    /** Waits for a frame matching pred; resolves null if the socket closes first. */
    async waitFrame(pred, ms = 10000, label = 'frame') {
      const deadline = Date.now() + ms;
      for (;;) {
        const f = frames.find(pred);
        if (f) return f;
        // ws emits every frame it read before 'close', so nothing can trail it.
        if (closeInfo) return frames.find(pred) || null;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${ms} ms waiting for ${label}; frames so far: ${JSON.stringify(frames).slice(0, 800)}`);
        }
        await sleep(5);
      }
    },
    async close() {
      if (!closeInfo) {
        ws.terminate();
        let timer;
        await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
      }
    },
  };
  return sock;
}
