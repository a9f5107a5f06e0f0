// capture-frames.mjs — capture real client→server wire frames produced by the unmodified npm `ably@2.28.0`
// SDK (JSON text frames and msgpack binary frames), write hand-made server→client fixture frames, verify the
// SDK accepts them, and regenerate tests/TokenWire.Protocol.Tests/Frames/README.md.
//
// Usage (Node 20, ES module). The packages `ably@2.28.0` and `ws` must be resolvable from
// $CAPTURE_NODE_MODULES_DIR, the current working directory, or tests/interop (in that order):
//
//   mkdir -p /tmp/capture && cd /tmp/capture && npm init -y && npm install ably@2.28.0 ws
//   node /work/main/tests/interop/tools/capture-frames.mjs [outDir]
//
// outDir defaults to ../../TokenWire.Protocol.Tests/Frames relative to this file. The script deletes and
// rewrites only outDir/json, outDir/msgpack, outDir/server and outDir/README.md.
//
// The mock server is deliberately minimal (see brief): CONNECTED on connect, ATTACH→ATTACHED (flags 983040,
// channelSerial 'ser:1'), MESSAGE/PRESENCE→ACK, DETACH→DETACHED, CLOSE→CLOSED, HEARTBEAT→HEARTBEAT(same id).
// Connections opened with transportParams {scenario:'fixtures'} are answered from the server/*.json|.msgpack
// fixture files instead, byte for byte as stored on disk.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const scriptDir = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------- module loading
function makeRequire() {
  const candidates = [
    process.env.CAPTURE_NODE_MODULES_DIR,
    process.cwd(),
    path.resolve(scriptDir, '..'),
  ].filter(Boolean);
  for (const dir of candidates) {
    const req = createRequire(pathToFileURL(path.join(dir, 'noop.js')));
    try {
      req.resolve('ably');
      req.resolve('ws');
      return req;
    } catch {
      /* try next */
    }
  }
  throw new Error(`cannot resolve 'ably' and 'ws' from ${candidates.join(', ')}; run from a dir with npm install ably@2.28.0 ws`);
}
const req = makeRequire();
const Ably = req('ably');
const { WebSocketServer } = req('ws');
// The msgpack codec ably itself bundles (ably's serialize() calls MsgPack.encode(body, true) = sparse mode).
const msgpack = createRequire(req.resolve('ably'))('@ably/msgpack-js');
const ablyVersion = JSON.parse(fs.readFileSync(path.join(path.dirname(req.resolve('ably')), '..', 'package.json'), 'utf8')).version;
if (ablyVersion !== '2.28.0') console.warn(`WARNING: ably version is ${ablyVersion}, expected 2.28.0`);

const outDir = path.resolve(process.argv[2] ?? path.resolve(scriptDir, '../../TokenWire.Protocol.Tests/Frames'));

// ---------------------------------------------------------------------------------------------- helpers
const ACTIONS = ['HEARTBEAT', 'ACK', 'NACK', 'CONNECT', 'CONNECTED', 'DISCONNECT', 'DISCONNECTED', 'CLOSE', 'CLOSED',
  'ERROR', 'ATTACH', 'ATTACHED', 'DETACH', 'DETACHED', 'PRESENCE', 'MESSAGE', 'SYNC', 'AUTH', 'ACTIVATE', 'OBJECT',
  'OBJECT_SYNC', 'ANNOTATION'];
const actionName = (a) => ACTIONS[a] ?? `action${a}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withTimeout(promise, ms, what) {
  let t;
  const timeout = new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout (${ms} ms): ${what}`)), ms); });
  try { return await Promise.race([promise, timeout]); } finally { clearTimeout(t); }
}
function waitState(emitter, state, ms = 8000, what = '') {
  if (emitter.state === state) return Promise.resolve();
  return withTimeout(new Promise((res) => emitter.once(state, res)), ms, `state ${state} ${what}`);
}
async function waitUntil(pred, ms = 8000, what = 'condition') {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}

// Decode a msgpack buffer into an annotated tree: { t: <msgpack type name>, v: <value or children> }.
function mpAnnotate(buf) {
  let o = 0;
  const u8 = () => buf[o++];
  const rd = (n) => { const s = buf.subarray(o, o + n); o += n; return s; };
  function str(n, t) { return { t, v: rd(n).toString('utf8') }; }
  function bin(n, t) { return { t, v: Buffer.from(rd(n)), bin: true }; }
  function arr(n, t) { const v = []; for (let i = 0; i < n; i++) v.push(parse()); return { t, v, arr: true }; }
  function map(n, t) { const v = []; for (let i = 0; i < n; i++) { const k = parse(); v.push([k, parse()]); } return { t, v, map: true }; }
  function parse() {
    const b = u8();
    if (b <= 0x7f) return { t: 'positive fixint', v: b };
    if (b <= 0x8f) return map(b & 0x0f, `fixmap(${b & 0x0f})`);
    if (b <= 0x9f) return arr(b & 0x0f, `fixarray(${b & 0x0f})`);
    if (b <= 0xbf) return str(b & 0x1f, 'fixstr');
    if (b >= 0xe0) return { t: 'negative fixint', v: b - 0x100 };
    switch (b) {
      case 0xc0: return { t: 'nil', v: null };
      case 0xc2: return { t: 'false', v: false };
      case 0xc3: return { t: 'true', v: true };
      case 0xc4: return bin(buf.readUInt8((o += 1) - 1), 'bin8');
      case 0xc5: return bin(buf.readUInt16BE((o += 2) - 2), 'bin16');
      case 0xc6: return bin(buf.readUInt32BE((o += 4) - 4), 'bin32');
      case 0xca: return { t: 'float32', v: buf.readFloatBE((o += 4) - 4) };
      case 0xcb: return { t: 'float64', v: buf.readDoubleBE((o += 8) - 8) };
      case 0xcc: return { t: 'uint8', v: buf.readUInt8((o += 1) - 1) };
      case 0xcd: return { t: 'uint16', v: buf.readUInt16BE((o += 2) - 2) };
      case 0xce: return { t: 'uint32', v: buf.readUInt32BE((o += 4) - 4) };
      case 0xcf: return { t: 'uint64', v: Number(buf.readBigUInt64BE((o += 8) - 8)) };
      case 0xd0: return { t: 'int8', v: buf.readInt8((o += 1) - 1) };
      case 0xd1: return { t: 'int16', v: buf.readInt16BE((o += 2) - 2) };
      case 0xd2: return { t: 'int32', v: buf.readInt32BE((o += 4) - 4) };
      case 0xd3: return { t: 'int64', v: Number(buf.readBigInt64BE((o += 8) - 8)) };
      case 0xd9: return str(buf.readUInt8((o += 1) - 1), 'str8');
      case 0xda: return str(buf.readUInt16BE((o += 2) - 2), 'str16');
      case 0xdb: return str(buf.readUInt32BE((o += 4) - 4), 'str32');
      case 0xdc: { const n = buf.readUInt16BE(o); o += 2; return arr(n, `array16(${n})`); }
      case 0xdd: { const n = buf.readUInt32BE(o); o += 4; return arr(n, `array32(${n})`); }
      case 0xde: { const n = buf.readUInt16BE(o); o += 2; return map(n, `map16(${n})`); }
      case 0xdf: { const n = buf.readUInt32BE(o); o += 4; return map(n, `map32(${n})`); }
      default: {
        const ext = { 0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16 }[b];
        if (ext) { const type = buf.readInt8(o); o += 1; return { t: `fixext${ext} type ${type}`, v: Buffer.from(rd(ext)).toString('hex') }; }
        throw new Error(`unsupported msgpack byte 0x${b.toString(16)} at ${o - 1}`);
      }
    }
  }
  const root = parse();
  if (o !== buf.length) throw new Error(`trailing bytes: parsed ${o} of ${buf.length}`);
  return root;
}

// Render an annotated tree as JSON-with-comments: `"key": value,   // <msgpack type>`; bin as {"$bin":"<hex>"}.
function renderAnnotated(node) {
  const lines = [];
  const push = (indent, text, type) => lines.push({ text: '  '.repeat(indent) + text, type });
  function scalar(n) {
    if (n.bin) return JSON.stringify({ $bin: n.v.toString('hex') });
    return JSON.stringify(n.v);
  }
  function walk(n, indent, prefix, comma) {
    const c = comma ? ',' : '';
    if (n.map) {
      push(indent, `${prefix}{`, n.t);
      n.v.forEach(([k, val], i) => {
        const keyNote = k.t === 'fixstr' ? '' : ` key:${k.t}`;
        walk(val, indent + 1, `${JSON.stringify(k.v)}: `, i < n.v.length - 1, keyNote);
      });
      push(indent, `}${c}`, '');
    } else if (n.arr) {
      push(indent, `${prefix}[`, n.t);
      n.v.forEach((val, i) => walk(val, indent + 1, '', i < n.v.length - 1));
      push(indent, `]${c}`, '');
    } else {
      push(indent, `${prefix}${scalar(n)}${c}`, n.bin ? `${n.t}, ${n.v.length} bytes` : n.t);
    }
  }
  walk(node, 0, '', false);
  const width = Math.min(90, Math.max(...lines.map((l) => l.text.length)) + 2);
  return lines.map((l) => (l.type ? l.text.padEnd(width) + '// ' + l.type : l.text)).join('\n');
}

// Plain JSON view of an annotated tree (bin → {"$bin": hex}).
function annotatedToPlain(n) {
  if (n.map) return Object.fromEntries(n.v.map(([k, v]) => [k.v, annotatedToPlain(v)]));
  if (n.arr) return n.v.map(annotatedToPlain);
  if (n.bin) return { $bin: n.v.toString('hex') };
  return n.v;
}

// Collect msgpack type usage per path (for the summary of int widths etc.).
function collectTypes(n, p, acc) {
  if (n.map) n.v.forEach(([k, v]) => collectTypes(v, `${p}.${k.v}`, acc));
  else if (n.arr) n.v.forEach((v) => collectTypes(v, `${p}[]`, acc));
  else {
    const key = p.replace(/^\./, '');
    (acc[key] ??= new Set()).add(n.t);
  }
  return acc;
}

// ---------------------------------------------------------------------------------------------- server fixtures
// Defined per format: the JSON variant carries binary data as base64 with encoding 'base64'; the msgpack variant
// carries the same bytes as msgpack `bin` without a base64 encoding step (what a server should do, §3.4).
const FIX_TS = 1700000000123;
const BIN_BYTES = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]);
const FIXTURES = [
  {
    name: '01-connected',
    what: 'CONNECTED — first frame on the connection (clientId echoed in connectionDetails)',
    frame: () => ({
      action: 4,
      connectionId: 'conn-fx',
      connectionDetails: {
        clientId: 'carol',
        connectionKey: 'key-fx!abc123',
        maxMessageSize: 65536,
        maxInboundRate: 250,
        maxOutboundRate: 100,
        maxFrameSize: 524288,
        serverId: 'tokenwire-1',
        connectionStateTtl: 120000,
        maxIdleInterval: 15000,
      },
    }),
  },
  {
    name: '02-attached-flags',
    what: 'ATTACHED reply to ATTACH{channel:"fx", params:{rewind:"1"}}: flags 983042 = HAS_BACKLOG(2) | PRESENCE|PUBLISH|SUBSCRIBE|PRESENCE_SUBSCRIBE, params echoed',
    frame: () => ({ action: 11, channel: 'fx', channelSerial: 'fx-ser:0', flags: 983042, params: { rewind: '1' } }),
  },
  {
    name: '03-message-delivery',
    what: 'MESSAGE delivery to a subscriber: 3 messages; #0 fully populated (id/serial/clientId/connectionId/timestamp/extras), #1 inherits id/connectionId/timestamp from the ProtocolMessage and carries JSON data, #2 binary data',
    frame: (fmt) => ({
      action: 15,
      id: 'conn-pub:7',
      connectionId: 'conn-pub',
      channel: 'fx',
      channelSerial: 'fx-ser:1',
      timestamp: FIX_TS,
      messages: [
        {
          id: 'conn-pub:7:0',
          clientId: 'dave',
          connectionId: 'conn-pub',
          timestamp: FIX_TS,
          name: 'greeting',
          data: 'Hello',
          extras: { headers: { responseId: 'r1' } },
          serial: '01700000000123-000@tokenwire:0',
          action: 0,
        },
        {
          clientId: 'dave',
          name: 'token',
          data: '{"token":"Hel"}',
          encoding: 'json',
          serial: '01700000000123-000@tokenwire:1',
          action: 0,
        },
        fmt === 'json'
          ? { clientId: 'dave', name: 'bin', data: BIN_BYTES.toString('base64'), encoding: 'base64', serial: '01700000000123-000@tokenwire:2', action: 0 }
          : { clientId: 'dave', name: 'bin', data: BIN_BYTES, serial: '01700000000123-000@tokenwire:2', action: 0 },
      ],
    }),
  },
  {
    name: '04-ack-res',
    what: 'ACK covering msgSerial 0 and 1 (count 2); res[0] for a single-message publish, res[1] for a 2-message batch',
    frame: () => ({
      action: 1,
      msgSerial: 0,
      count: 2,
      res: [
        { serials: ['01700000000200-000@tokenwire:0'] },
        { serials: ['01700000000201-000@tokenwire:0', '01700000000201-000@tokenwire:1'] },
      ],
    }),
  },
  {
    name: '05-nack-error',
    what: 'NACK for msgSerial 2 with error 40160',
    frame: () => ({
      action: 2,
      msgSerial: 2,
      count: 1,
      error: { message: 'Unable to perform channel operation (permission denied)', code: 40160, statusCode: 401, href: 'https://help.ably.io/error/40160' },
    }),
  },
  {
    name: '06-error-channel',
    what: 'channel-scoped ERROR in reply to ATTACH{channel:"fx-denied"} → attach() rejects, channel FAILED',
    frame: () => ({
      action: 9,
      channel: 'fx-denied',
      error: { message: 'Channel denied access based on given capability; channelId = fx-denied', code: 40160, statusCode: 401, href: 'https://help.ably.io/error/40160' },
    }),
  },
  {
    name: '07-error-connection',
    what: 'connection-level ERROR (no channel) → connection FAILED',
    frame: () => ({
      action: 9,
      error: { message: 'Invalid credentials', code: 40101, statusCode: 401, href: 'https://help.ably.io/error/40101' },
    }),
  },
];

function writeFixtures() {
  const dir = path.join(outDir, 'server');
  for (const fx of FIXTURES) {
    fs.writeFileSync(path.join(dir, `${fx.name}.json`), JSON.stringify(fx.frame('json')));
    fs.writeFileSync(path.join(dir, `${fx.name}.msgpack`), msgpack.encode(fx.frame('msgpack'), true));
  }
}
// Returns the stored bytes (read back from disk so the files themselves are what gets verified).
function fixtureBytes(name, fmt) {
  return fs.readFileSync(path.join(outDir, 'server', `${name}.${fmt === 'msgpack' ? 'msgpack' : 'json'}`));
}

// ---------------------------------------------------------------------------------------------- mock server
const recorded = []; // { fmt, label, call, raw, isBinary, msg }
let current = null; // { label: string | (msg)=>string, call }
const upgrades = []; // { fmt, scenario, url }
const connections = [];

function startServer() {
  return new Promise((resolve) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('listening', () => resolve(wss));
    wss.on('connection', (ws, req) => {
      const q = new URL(req.url, 'http://127.0.0.1').searchParams;
      const fmt = q.get('format') === 'msgpack' ? 'msgpack' : 'json';
      const scenario = q.get('scenario') ?? 'default';
      upgrades.push({ fmt, scenario, url: req.url });
      const conn = { ws, fmt, q, scenario, received: [], fixturesSent: [] };
      connections.push(conn);
      conn.send = (obj) => ws.send(fmt === 'msgpack' ? msgpack.encode(obj, true) : JSON.stringify(obj));
      conn.sendFixture = (name) => {
        const bytes = fixtureBytes(name, fmt);
        conn.fixturesSent.push(name);
        if (fmt === 'msgpack') ws.send(bytes, { binary: true });
        else ws.send(bytes.toString('utf8'));
      };
      ws.on('message', (data, isBinary) => {
        const raw = Buffer.isBuffer(data) ? Buffer.from(data) : Buffer.concat(data);
        const msg = fmt === 'msgpack' ? msgpack.decode(raw) : JSON.parse(raw.toString('utf8'));
        conn.received.push(msg);
        if (scenario === 'default' && current) {
          const label = typeof current.label === 'function' ? current.label(msg) : current.label;
          recorded.push({ fmt, label, call: current.call, raw, isBinary, msg });
        } else if (scenario === 'default') {
          recorded.push({ fmt, label: `unexpected-${actionName(msg.action).toLowerCase()}`, call: '(not driven)', raw, isBinary, msg });
        }
        (scenario === 'fixtures' ? onFixtureMessage : onDefaultMessage)(conn, msg);
      });
      if (scenario === 'fixtures') conn.sendFixture('01-connected');
      else {
        const details = { connectionKey: 'key-conn1', maxMessageSize: 65536, connectionStateTtl: 120000, maxIdleInterval: 15000 };
        if (q.get('clientId')) details.clientId = q.get('clientId');
        conn.send({ action: 4, connectionId: 'conn1', connectionDetails: details });
      }
    });
  });
}

function onDefaultMessage(conn, msg) {
  switch (msg.action) {
    case 0: conn.send(msg.id !== undefined ? { action: 0, id: msg.id } : { action: 0 }); break;
    case 10: {
      const resumed = conn.q.get('resume') && msg.channelSerial ? 4 : 0;
      conn.send({ action: 11, channel: msg.channel, channelSerial: msg.channelSerial ?? 'ser:1', flags: 983040 | resumed });
      break;
    }
    case 12: conn.send({ action: 13, channel: msg.channel }); break;
    case 14:
    case 15: conn.send({ action: 1, msgSerial: msg.msgSerial, count: 1, res: [{ serials: ['s1'] }] }); break;
    case 7: conn.send({ action: 8 }); setTimeout(() => conn.ws.close(), 50); break;
    default: break;
  }
}

function onFixtureMessage(conn, msg) {
  if (msg.action === 10 && msg.channel === 'fx') {
    conn.sendFixture('02-attached-flags');
    setTimeout(() => conn.sendFixture('03-message-delivery'), 50);
  } else if (msg.action === 10 && msg.channel === 'fx-denied') {
    conn.sendFixture('06-error-channel');
  } else if (msg.action === 15 && msg.msgSerial === 1) {
    conn.sendFixture('04-ack-res');
  } else if (msg.action === 15 && msg.msgSerial === 2) {
    conn.sendFixture('05-nack-error');
  } else if (msg.action === 0) {
    conn.send({ action: 0, id: msg.id });
  } else if (msg.action === 7) {
    conn.send({ action: 8 });
  }
}

// ---------------------------------------------------------------------------------------------- drivers
function clientOptions(port, fmt, extra = {}) {
  return {
    key: 'appid.keyid:secret',
    endpoint: '127.0.0.1',
    port,
    tls: false,
    fallbackHosts: [],
    disableConnectivityCheck: true,
    useBinaryProtocol: fmt === 'msgpack',
    logLevel: 0,
    ...extra,
  };
}

async function step(label, call, fn) {
  current = { label, call };
  const before = recorded.length;
  try {
    await fn();
    await sleep(30); // let any trailing frame of this step arrive
  } finally {
    current = null;
  }
  if (recorded.length === before) throw new Error(`step ${typeof label === 'string' ? label : call}: no frame recorded`);
}

async function captureClientFrames(port, fmt) {
  const a = new Ably.Realtime(clientOptions(port, fmt));
  await waitState(a.connection, 'connected', 8000, `${fmt} client A`);
  const ch1 = a.channels.get('chan1');
  const ch2 = a.channels.get('chan2', { params: { rewind: '1' }, modes: ['PUBLISH', 'SUBSCRIBE', 'PRESENCE'] });

  await step('attach', "channels.get('chan1').attach()", () => ch1.attach());
  await step('attach-params-modes', "channels.get('chan2', {params:{rewind:'1'}, modes:['PUBLISH','SUBSCRIBE','PRESENCE']}).attach()", () => ch2.attach());
  await step('publish-string', "chan1.publish('greeting', 'Hello')", () => ch1.publish('greeting', 'Hello'));
  await step('publish-json-extras', "chan1.publish({name:'token', data:{token:'Hel'}, extras:{headers:{responseId:'r1'}}})",
    () => ch1.publish({ name: 'token', data: { token: 'Hel' }, extras: { headers: { responseId: 'r1' } } }));
  await step('publish-binary-buffer', "chan1.publish('bin', Buffer.from([0x00,0x01,0x02,0xfd,0xfe,0xff]))",
    () => ch1.publish('bin', Buffer.from([0x00, 0x01, 0x02, 0xfd, 0xfe, 0xff])));
  await step('publish-binary-uint8array', "chan1.publish('u8', new Uint8Array([0xde,0xad,0xbe,0xef]))",
    () => ch1.publish('u8', new Uint8Array([0xde, 0xad, 0xbe, 0xef])));
  await step('publish-batch', "chan1.publish([{name:'a', data:'one'}, {name:'b', data:{n:2}}, {name:'c', data:Buffer.from('hi')}, {data:'no-name'}])",
    () => ch1.publish([{ name: 'a', data: 'one' }, { name: 'b', data: { n: 2 } }, { name: 'c', data: Buffer.from('hi') }, { data: 'no-name' }]));
  await step('publish-long-string', "chan1.publish('long', 'x'.repeat(300))", () => ch1.publish('long', 'x'.repeat(300)));
  await step('publish-unicode-string', "chan1.publish('utf8', 'h\\u00e9llo \\u2713 \\u{1F600}')", () => ch1.publish('utf8', 'h\u00e9llo \u2713 \u{1F600}'));
  await step('publish-id-clientid', "chan1.publish({id:'client-msg-id-1', clientId:'bob', name:'explicit', data:'x'})",
    () => ch1.publish({ id: 'client-msg-id-1', clientId: 'bob', name: 'explicit', data: 'x' }));
  await step('publish-params', "chan1.publish('p', 'v', {quickAck:true, ttl:5})", () => ch1.publish('p', 'v', { quickAck: true, ttl: 5 }));
  await step('ping', 'connection.ping()', () => a.connection.ping());

  // Resume: kill the socket server-side; the SDK reconnects with resume=<key>, gets CONNECTED with the same
  // connectionId and re-ATTACHes both channels with their channelSerial.
  await step((m) => `resume-reattach-${m.channel ?? actionName(m.action).toLowerCase()}`,
    'server terminates the socket; SDK resumes (resume=key-conn1) and re-attaches every attached channel',
    async () => {
      const conn = connections.filter((c) => c.scenario === 'default' && c.fmt === fmt).at(-1);
      const disconnected = waitState(a.connection, 'disconnected', 8000, 'after kill');
      conn.ws.terminate();
      await disconnected;
      await waitState(a.connection, 'connected', 8000, 'resume');
      const resumedConn = connections.at(-1);
      assert.equal(resumedConn.q.get('resume'), 'key-conn1', 'resume param');
      await waitUntil(() => resumedConn.received.filter((m) => m.action === 10).length >= 2 && ch1.state === 'attached' && ch2.state === 'attached', 8000, 're-attach');
    });
  await step('detach', 'chan2.detach()', () => ch2.detach());
  await step('close', 'realtime.close()', async () => { a.close(); await waitState(a.connection, 'closed', 8000, 'close A'); });

  // Identified client for presence.
  const b = new Ably.Realtime(clientOptions(port, fmt, { clientId: 'alice' }));
  await waitState(b.connection, 'connected', 8000, `${fmt} client B`);
  const room = b.channels.get('room');
  await step((m) => (m.action === 10 ? 'presence-implicit-attach' : 'presence-enter'),
    "(clientId 'alice') channels.get('room').presence.enter({status:'here'}) — implicit ATTACH then PRESENCE",
    () => room.presence.enter({ status: 'here' }));
  await step('presence-update-string', "room.presence.update('busy')", () => room.presence.update('busy'));
  await step('presence-leave', 'room.presence.leave()', () => room.presence.leave());
  await step('publish-identified-client', "(clientId 'alice') room.publish('hi', 'from alice')", () => room.publish('hi', 'from alice'));
  await step('close-identified-client', "(clientId 'alice') realtime.close()", async () => { b.close(); await waitState(b.connection, 'closed', 8000, 'close B'); });
}

// Verify the server fixtures are accepted by the real SDK. Returns a list of check descriptions.
async function verifyFixtures(port, fmt) {
  const checks = [];
  const ok = (fixture, text) => checks.push({ fixture, text });
  const c = new Ably.Realtime(clientOptions(port, fmt, { clientId: 'carol', transportParams: { scenario: 'fixtures' } }));
  await waitState(c.connection, 'connected', 8000, `${fmt} fixture client`);
  assert.equal(c.connection.id, 'conn-fx');
  assert.equal(c.connection.key, 'key-fx!abc123');
  assert.equal(c.auth.clientId, 'carol');
  assert.equal(c.connection.connectionManager.connectionDetails.maxIdleInterval, 15000);
  ok('01-connected', "connection state 'connected'; connection.id='conn-fx'; connection.key='key-fx!abc123'; auth.clientId='carol'; connectionDetails.maxIdleInterval=15000");

  const fx = c.channels.get('fx', { params: { rewind: '1' } });
  const received = [];
  const gotAll = new Promise((res) => fx.subscribe((m) => { received.push(m); if (received.length === 3) res(); }));
  const stateChange = await withTimeout(fx.attach(), 8000, 'attach fx');
  assert.equal(fx.state, 'attached');
  assert.equal(stateChange.hasBacklog, true);
  assert.equal(stateChange.resumed, false);
  assert.deepEqual([...fx.modes].sort(), ['presence', 'presence_subscribe', 'publish', 'subscribe']);
  assert.deepEqual(fx.params, { rewind: '1' });
  assert.equal(fx.properties.attachSerial, 'fx-ser:0');
  ok('02-attached-flags', "attach() resolved; stateChange.hasBacklog=true, resumed=false; channel.modes=[publish,subscribe,presence,presence_subscribe]; channel.params={rewind:'1'}; properties.attachSerial='fx-ser:0'");

  await withTimeout(gotAll, 8000, 'message delivery');
  const [m0, m1, m2] = received;
  assert.equal(m0.id, 'conn-pub:7:0'); assert.equal(m0.serial, '01700000000123-000@tokenwire:0');
  assert.equal(m0.clientId, 'dave'); assert.equal(m0.connectionId, 'conn-pub'); assert.equal(m0.timestamp, FIX_TS);
  assert.equal(m0.name, 'greeting'); assert.equal(m0.data, 'Hello'); assert.equal(m0.action, 'message.create');
  assert.deepEqual(m0.extras, { headers: { responseId: 'r1' } });
  assert.deepEqual(m0.version, { serial: '01700000000123-000@tokenwire:0', timestamp: FIX_TS });
  assert.equal(m1.id, 'conn-pub:7:1'); assert.equal(m1.connectionId, 'conn-pub'); assert.equal(m1.timestamp, FIX_TS);
  assert.deepEqual(m1.data, { token: 'Hel' }); assert.equal(m1.encoding ?? null, null);
  assert.equal(m2.id, 'conn-pub:7:2'); assert.ok(Buffer.isBuffer(m2.data), 'binary data decoded to Buffer');
  assert.deepEqual(Buffer.from(m2.data), BIN_BYTES); assert.equal(m2.encoding ?? null, null);
  assert.equal(fx.properties.channelSerial, 'fx-ser:1');
  ok('03-message-delivery', "subscriber fired 3x: #0 id/serial/clientId/connectionId/timestamp/name/data/extras as sent, action='message.create', version synthesised {serial,timestamp}; #1 id='conn-pub:7:1', connectionId & timestamp inherited from the ProtocolMessage, data decoded to {token:'Hel'}, encoding cleared; #2 id='conn-pub:7:2', data = Buffer deadbeef00ff, encoding cleared; channel.properties.channelSerial='fx-ser:1'");

  const p0 = fx.publish('a', 'x');
  const p1 = fx.publish([{ name: 'b1', data: 'y' }, { name: 'b2', data: 'z' }]);
  const [r0, r1] = await withTimeout(Promise.all([p0, p1]), 8000, 'ack');
  assert.deepEqual(r0, { serials: ['01700000000200-000@tokenwire:0'] });
  assert.deepEqual(r1, { serials: ['01700000000201-000@tokenwire:0', '01700000000201-000@tokenwire:1'] });
  ok('04-ack-res', 'publish #0 resolved {serials:[…200-000@tokenwire:0]}; batch publish #1 resolved {serials:[…201…:0, …201…:1]} (one ACK, count 2)');

  const err = await withTimeout(fx.publish('c', 'fail').then(() => null, (e) => e), 8000, 'nack');
  assert.ok(err, 'publish should reject');
  assert.equal(err.code, 40160); assert.equal(err.statusCode, 401);
  ok('05-nack-error', `publish #2 rejected: code=${err.code} statusCode=${err.statusCode} message='${err.message}'`);

  const denied = c.channels.get('fx-denied');
  const aerr = await withTimeout(denied.attach().then(() => null, (e) => e), 8000, 'channel error');
  assert.ok(aerr); assert.equal(aerr.code, 40160); assert.equal(denied.state, 'failed');
  assert.equal(c.connection.state, 'connected');
  ok('06-error-channel', `attach('fx-denied') rejected code=${aerr.code}; channel state 'failed'; connection stays 'connected'`);

  const conn = connections.filter((x) => x.scenario === 'fixtures' && x.fmt === fmt).at(-1);
  const failed = waitState(c.connection, 'failed', 8000, 'connection error');
  conn.sendFixture('07-error-connection');
  await failed;
  assert.equal(c.connection.errorReason.code, 40101);
  assert.equal(fx.state, 'failed');
  ok('07-error-connection', `connection state 'failed', errorReason.code=${c.connection.errorReason.code} statusCode=${c.connection.errorReason.statusCode}; attached channel 'fx' → 'failed'`);
  c.close();
  return checks;
}

// ---------------------------------------------------------------------------------------------- README
function fence(lang, text) { return '```' + lang + '\n' + text + '\n```\n'; }

function writeReadme(files, checksByFmt) {
  const out = [];
  out.push('# Wire-frame fixtures captured from the npm `ably@2.28.0` SDK\n');
  out.push('Generated by `tests/interop/tools/capture-frames.mjs` (do not edit by hand; re-run the script). ' +
    'Node ' + process.version + ', `ably@' + ablyVersion + '` (Node build, unmodified), mock `ws` server on 127.0.0.1.\n');
  out.push('* `json/` — client→server WebSocket **text** frames, exactly the UTF-8 bytes received (`useBinaryProtocol:false`).');
  out.push('* `msgpack/` — client→server WebSocket **binary** frames, raw bytes (`useBinaryProtocol:true`, the Node default).');
  out.push('* `server/` — hand-written server→client frames (`.json` text and `.msgpack` binary encoding of the same ' +
    'ProtocolMessage, encoded with ably\'s own bundled `@ably/msgpack-js` in sparse mode: smallest int types, string keys, ' +
    'null/undefined fields omitted). Each was sent, byte for byte as stored, to the real SDK and the effect was asserted (see below).\n');
  out.push('Client options: `{key:\'appid.keyid:secret\', endpoint:\'127.0.0.1\', port:<random>, tls:false, fallbackHosts:[], ' +
    'disableConnectivityCheck:true, useBinaryProtocol}`. Files with the same `NN-description` in `json/` and `msgpack/` come from the ' +
    'same call. Values that are random per run: the `ping` id. msgSerial values are deterministic.\n');
  out.push('Mock replies: CONNECTED `{action:4, connectionId:\'conn1\', connectionDetails:{connectionKey:\'key-conn1\', maxMessageSize:65536, ' +
    'connectionStateTtl:120000, maxIdleInterval:15000, clientId?}}`; ATTACH→ATTACHED flags 983040 (983044 = +RESUMED on a resumed ' +
    'connection when ATTACH carried a channelSerial), channelSerial `ser:1`; MESSAGE/PRESENCE→ACK `{action:1, msgSerial, count:1, res:[{serials:[\'s1\']}]}`; ' +
    'DETACH→DETACHED; CLOSE→CLOSED; HEARTBEAT→HEARTBEAT with the same id.\n');

  out.push('## Observations (ably-js 2.28.0)\n');
  out.push([
    '* **Frame types**: `format=json` → every client frame is a WebSocket *text* frame (compact `JSON.stringify`, no whitespace, non-ASCII emitted as raw UTF-8, not `\\u` escapes); `format=msgpack` → every frame is *binary*. Both formats serialise the same object, so **key order is identical** in JSON and msgpack.',
    '* **ProtocolMessage key order**: MESSAGE/PRESENCE `action, channel, messages|presence, params?, msgSerial`; ATTACH `action, channel, params?, channelSerial?, flags?`; DETACH `action, channel`; HEARTBEAT (ping) `action, id`; CLOSE just `action`. No `id`, `connectionId`, `timestamp` or `count` on client frames; null/undefined fields are omitted in both formats (msgpack "sparse" mode), never sent as nil.',
    '* **Message key order**: `id?, clientId?, name?, data, extras?, action, encoding?, size` — note `encoding` comes *after* `action`. `action` is always `0` (int). A message without a name simply has no `name` key.',
    '* **Stray `size`** on every Message (never on presence): UTF-8 byte length of name + data (string: UTF-8 bytes; binary: raw byte count before base64; objects: length of the JSON string) + clientId + `JSON.stringify(extras)`. Seen: 13 (`greeting`+`Hello`), 51 (`token` + 15 + 31 extras), 9 (`bin` + 6 bytes), 12 (`explicit`+`x`+`bob`), 19 (`utf8` + 15 UTF-8 bytes of `héllo ✓ 😀`), 304 (msgpack uint16). A server must ignore it.',
    '* **Binary data**: JSON → base64 string with `encoding:"base64"`; msgpack → `bin8` (bin16/bin32 for larger) and **no** `encoding` key. `Buffer` and `Uint8Array` produce identical frames.',
    '* **Object data** (`{token:\'Hel\'}`): stringified to a `str` `{"token":"Hel"}` with `encoding:"json"` in *both* formats (msgpack does not send a map). **`extras`** is sent as a nested object/map verbatim (`{"headers":{"responseId":"r1"}}`, msgpack fixmap of fixmap), not stringified.',
    '* **Batch** `publish([...])`: one MESSAGE ProtocolMessage, one msgSerial, `messages` in call order, each with its own `encoding`/`size`; realtime publishes do **not** get client-generated ids (unlike REST idempotent publishing). Explicit `id`/`clientId` are passed through verbatim at the front of the message.',
    '* **Publish params** (`publish(name, data, {quickAck:true, ttl:5})`) → PM `params` with all values stringified (`"true"`, `"5"`), placed before `msgSerial`.',
    '* **msgSerial** is one per-connection counter shared by MESSAGE and PRESENCE (client `alice`: enter 0, update 1, leave 2, publish 3).',
    '* **ATTACH**: `modes:[\'PUBLISH\',\'SUBSCRIBE\',\'PRESENCE\']` → `flags:458752` (0x70000, msgpack uint32); no `flags` key when no modes were requested. After a resume (upgrade URL carries `resume=key-conn1`) the SDK re-sends ATTACH for every attached channel immediately after CONNECTED, with `channelSerial` (from the last ATTACHED) inserted *between* `params` and `flags`; params and flags are repeated.',
    '* **Presence**: `enter()` on an un-attached channel sends an implicit ATTACH (no params/flags) and sends the PRESENCE only after ATTACHED. Presence messages carry no `clientId` (implicit from the connection), no `id`, no `size`: enter `{data:"{\\"status\\":\\"here\\"}", action:2, encoding:"json"}`, update `{data:"busy", action:4}`, leave `{action:3}`.',
    '* **Ping**: `{action:0, id:"<random decimal digits>"}`, `id` is a string (msgpack fixstr), echoed back by the server.',
    '* **msgpack widths**: smallest encoding everywhere (ably\'s bundled `@ably/msgpack-js`): fixint for action/msgSerial/small numbers, uint8/uint16/uint32 as values grow (flags → uint32, size 304 → uint16, maxIdleInterval 15000 → uint16, maxInboundRate 250 → uint8), timestamps (> 2^32) → **uint64 (0xcf)**; negative ints use negative fixint/int8..int64; non-integers float64. Strings always use the str family (fixstr/str8/str16/str32 — a 300-char string is str16), never bin; keys are always str. From the encoder source (not observed here): `undefined` as an *array element* would be encoded as fixext1 type 0 (`d4 00 00`); the decoder side accepts any int width.',
    '* **Server frames accepted** (see checks below): binary delivered as base64 + `encoding:"base64"` over JSON and as msgpack `bin` without `encoding` both decode to a Buffer ; children inherit `id` (`<pm.id>:<index>`), `connectionId` and `timestamp` from the ProtocolMessage; `version` is synthesised as `{serial, timestamp}`; one ACK with `count:2` resolves both publishes, `res[i]` maps to the i-th ProtocolMessage; NACK `error` becomes the rejection (code/statusCode kept); channel ERROR fails just that channel; connection ERROR fails the connection and all its channels.',
  ].join('\n') + '\n');
  out.push('## WebSocket upgrade URLs seen\n');
  out.push(fence('', upgrades.map((u) => `[${u.fmt}/${u.scenario}] GET ${u.url}`).join('\n')));

  // Summary of msgpack types per field.
  const acc = {};
  for (const f of files.filter((x) => x.fmt === 'msgpack')) collectTypes(mpAnnotate(f.raw), '', acc);
  out.push('## msgpack type usage in the captured client frames (field path → msgpack types seen)\n');
  out.push(fence('', Object.entries(acc).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k.padEnd(40)} ${[...v].join(', ')}`).join('\n')));

  out.push('## Client → server frames\n');
  const byName = new Map();
  for (const f of files) {
    if (!byName.has(f.base)) byName.set(f.base, {});
    byName.get(f.base)[f.fmt] = f;
  }
  for (const [base, pair] of byName) {
    const any = pair.json ?? pair.msgpack;
    out.push(`### ${base}\n`);
    out.push(`Call: \`${any.call}\` — ${actionName(any.msg.action)} (action ${any.msg.action}).\n`);
    if (pair.json) {
      out.push(`\`json/${base}.json\` (${pair.json.raw.length} bytes, ${pair.json.isBinary ? 'BINARY' : 'text'} frame), exact text:\n`);
      out.push(fence('json', pair.json.raw.toString('utf8')));
    } else out.push('(no JSON counterpart)\n');
    if (pair.msgpack) {
      const ann = mpAnnotate(pair.msgpack.raw);
      out.push(`\`msgpack/${base}.msgpack\` (${pair.msgpack.raw.length} bytes, ${pair.msgpack.isBinary ? 'binary' : 'TEXT'} frame), decoded (bin shown as \`{"$bin":"<hex>"}\`, msgpack type per value in comments):\n`);
      out.push(fence('jsonc', renderAnnotated(ann)));
      out.push(fence('', 'hex: ' + pair.msgpack.raw.toString('hex')));
    } else out.push('(no msgpack counterpart)\n');
  }

  out.push('## Server → client frames (`server/`)\n');
  out.push('Each file was sent to the SDK (JSON text to a `useBinaryProtocol:false` client, msgpack binary to a `useBinaryProtocol:true` client, ' +
    'clientId `carol`, `transportParams:{scenario:\'fixtures\'}`) in this order: CONNECTED on connect; ATTACH `fx` (params rewind=1) → 02 then 03; ' +
    'publish(\'a\') (msgSerial 0) and a 2-message batch (msgSerial 1) → 04; publish(\'c\') (msgSerial 2) → 05; ATTACH `fx-denied` → 06; then 07.\n');
  for (const fx of FIXTURES) {
    out.push(`### server/${fx.name}\n`);
    out.push(`${fx.what}.\n`);
    for (const fmt of ['json', 'msgpack']) {
      const c = checksByFmt[fmt].find((x) => x.fixture === fx.name);
      out.push(`* SDK check (${fmt}): ${c ? 'PASSED — ' + c.text : 'NOT RUN'}`);
    }
    out.push('');
    const jsonBytes = fixtureBytes(fx.name, 'json');
    out.push(`\`server/${fx.name}.json\` (${jsonBytes.length} bytes):\n`);
    out.push(fence('json', jsonBytes.toString('utf8')));
    const mp = fixtureBytes(fx.name, 'msgpack');
    out.push(`\`server/${fx.name}.msgpack\` (${mp.length} bytes):\n`);
    out.push(fence('jsonc', renderAnnotated(mpAnnotate(mp))));
    out.push(fence('', 'hex: ' + mp.toString('hex')));
  }
  fs.writeFileSync(path.join(outDir, 'README.md'), out.join('\n'));
}

// ---------------------------------------------------------------------------------------------- main
async function main() {
  for (const sub of ['json', 'msgpack', 'server']) {
    fs.rmSync(path.join(outDir, sub), { recursive: true, force: true });
    fs.mkdirSync(path.join(outDir, sub), { recursive: true });
  }
  writeFixtures();
  const wss = await startServer();
  const port = wss.address().port;
  console.log(`mock ws server on 127.0.0.1:${port}; ably ${ablyVersion}; out ${outDir}`);

  const checksByFmt = {};
  for (const fmt of ['json', 'msgpack']) {
    await captureClientFrames(port, fmt);
    checksByFmt[fmt] = await verifyFixtures(port, fmt);
    console.log(`${fmt}: fixture checks passed: ${checksByFmt[fmt].map((c) => c.fixture).join(', ')}`);
  }

  // Name and write the recorded frames.
  const files = [];
  for (const fmt of ['json', 'msgpack']) {
    const frames = recorded.filter((r) => r.fmt === fmt);
    frames.forEach((r, i) => {
      const base = `${String(i + 1).padStart(2, '0')}-${r.label}`;
      const file = path.join(outDir, fmt, `${base}.${fmt}`);
      const expectBinary = fmt === 'msgpack';
      if (r.isBinary !== expectBinary) console.warn(`WARNING: ${fmt} frame ${base} arrived as ${r.isBinary ? 'binary' : 'text'}`);
      fs.writeFileSync(file, r.raw);
      files.push({ ...r, base });
    });
  }
  const jsonNames = files.filter((f) => f.fmt === 'json').map((f) => f.base).join('|');
  const mpNames = files.filter((f) => f.fmt === 'msgpack').map((f) => f.base).join('|');
  if (jsonNames !== mpNames) console.warn('WARNING: json and msgpack frame sequences differ:\n' + jsonNames + '\n' + mpNames);

  writeReadme(files, checksByFmt);
  for (const f of files) console.log(`${f.fmt}/${f.base}.${f.fmt}  ${f.raw.length} bytes  ${f.fmt === 'json' ? f.raw.toString('utf8') : JSON.stringify(annotatedToPlain(mpAnnotate(f.raw)))}`);
  wss.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
