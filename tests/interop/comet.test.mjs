// The comet (HTTP) transport as ably-js speaks it when WebSockets are blocked: the SDK forced to
// transports: ['comet'], streaming (Node's default) and long polling (stream=false, what browsers' xhr_polling
// sends). Seed flow, a resume after the HTTP connections are cut, history untilAttach, presence; raw requests for
// the MessagePack framing and for a connection key the server does not hold.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import msgpack from '@ably/msgpack-js';
import { startServer } from './server.mjs';
import {
  FORMATS,
  Clients,
  serverPerFile,
  ROOT_KEY,
  connectionState,
  record,
  streamResponse,
  settleAll,
  checkSeedSequence,
  uniqueName,
  randomInt,
  waitFor,
  within,
  sleep,
  barrier,
  allPages,
  diffTokens,
  errText,
} from './helpers.mjs';

let server;
const clients = new Clients('comet');
serverPerFile(clients, { logName: 'comet' }, (started) => (server = started));

const MODES = [
  { name: 'streaming', opts: { transports: ['comet'] }, stream: true },
  { name: 'polling', opts: { transports: ['comet'], transportParams: { stream: false } }, stream: false },
];

const tokensOf = (msgs) => msgs.filter((m) => m.name === 'token').map((m) => m.data && m.data.token);

/** The SDK's active transport: proves the test ran over comet, not a WebSocket. */
function transportOf(client) {
  const protocol = client.connection.connectionManager.activeProtocol;
  return protocol && protocol.getTransport();
}

function assertComet(client, mode) {
  const transport = transportOf(client);
  assert.ok(transport, 'an active transport');
  assert.equal(transport.shortName, 'comet');
  assert.equal(Boolean(transport.stream), mode.stream, `stream mode of ${transport}`);
}

function trackStates(client) {
  const states = [];
  client.connection.on((change) => {
    if (change.current !== change.previous) states.push(change.current);
  });
  return states;
}

for (const mode of MODES) {
  for (const format of FORMATS) {
    describe(`comet seed flow [${mode.name}, SDK ${format.name} setting]`, () => {
      test('connect, attach, 300 tokens published without awaiting, delivered live in order; ACK serials match', async () => {
        const agent = clients.realtime(server, format, { ...mode.opts, clientId: 'ai-agent' });
        const viewer = clients.realtime(server, format, mode.opts);
        await connectionState(agent, 'connected');
        await connectionState(viewer, 'connected');
        assertComet(agent, mode);
        assertComet(viewer, mode);
        assert.match(agent.connection.key, /^[A-Za-z0-9]{12}!/, 'connection key as on a WebSocket');
        const name = uniqueName('comet-seed');

        const subChannel = viewer.channels.get(name);
        const rec = record(subChannel);
        await within(rec.subscribed, 10000, 'subscriber attach');
        const stream = streamResponse(agent.channels.get(name), { count: 300 });
        await stream.issued;
        const results = await settleAll(stream.promises, 30000, 'agent publishes');
        await waitFor(() => rec.messages.some((m) => m.name === 'stop'), 30000, 'subscriber receives stop', () => `${rec.messages.length} received`);
        await barrier(agent.channels.get(name), [rec.messages], { label: 'after stop' });

        checkSeedSequence(assert, rec.messages, stream, { clientId: 'ai-agent', connectionId: agent.connection.id });
        assert.equal(results.length, 302);
        for (let i = 0; i < results.length; i++) assert.equal(results[i].serials[0], rec.messages[i].serial, `ACK serial of publish #${i}`);
        await within(viewer.connection.ping(), 10000, 'ping over comet');
      });
    });
  }

  describe(`comet resume [${mode.name}]`, () => {
    test('every HTTP connection cut mid-stream (in-flight recv and sends): both resume with the same connection id, nothing lost or doubled', async () => {
      const proxy = await clients.proxy(server.port);
      const format = FORMATS[1];
      const sub = clients.realtime(proxy, format, mode.opts);
      const pub = clients.realtime(proxy, format, { ...mode.opts, clientId: 'ai-agent' });
      await connectionState(sub, 'connected');
      await connectionState(pub, 'connected');
      const subId = sub.connection.id;
      const pubId = pub.connection.id;
      const keyBefore = sub.connection.key;
      const states = trackStates(sub);
      const name = uniqueName('comet-resume');
      const subChannel = sub.channels.get(name);
      const rec = record(subChannel);
      await within(rec.subscribed, 10000, 'subscriber attach');

      const killAt = randomInt(50, 150);
      const stream = streamResponse(pub.channels.get(name), { count: 300, pace: () => sleep(2) });
      await waitFor(() => tokensOf(rec.messages).length >= killAt, 20000, `subscriber receives ${killAt} tokens`);
      assert.ok(proxy.killAll() >= 2, 'the proxy had the clients\' HTTP connections to cut');

      await waitFor(() => states.includes('disconnected'), 30000, 'subscriber goes disconnected', () => states.join('>'));
      await connectionState(sub, 'connected', 30000);
      await stream.issued;
      await settleAll(stream.promises, 30000, 'publishes');
      await waitFor(() => rec.messages.some((m) => m.name === 'stop'), 30000, 'subscriber receives stop', () => `${rec.messages.length} received`);
      await barrier(pub.channels.get(name), [rec.messages], { label: 'after stop' });

      assert.equal(sub.connection.id, subId, `subscriber resumed (errorReason ${errText(sub.connection.errorReason)})`);
      assert.equal(pub.connection.id, pubId, `publisher resumed (errorReason ${errText(pub.connection.errorReason)})`);
      assert.notEqual(sub.connection.key, keyBefore, 'a resumed connection gets a new key');
      assert.equal(sub.connection.errorReason, null);
      assertComet(sub, mode);
      checkSeedSequence(assert, rec.messages, stream, { clientId: 'ai-agent', connectionId: pubId });
    });
  });
}

describe('comet and WebSocket share one connection', () => {
  for (const [from, to] of [
    ['comet', 'WebSocket'],
    ['WebSocket', 'comet'],
  ]) {
    test(`a ${from} connection recovered on a ${to} (createRecoveryKey): same id, the messages missed in between, then live`, async () => {
      const options = (kind) => (kind === 'comet' ? MODES[1].opts : {});
      const proxy = await clients.proxy(server.port);
      const a = clients.realtime(proxy, FORMATS[1], options(from));
      const pub = clients.realtime(server, FORMATS[1], { clientId: 'ai-agent' });
      await connectionState(a, 'connected');
      await connectionState(pub, 'connected');
      const name = uniqueName('comet-recover');
      const aRec = record(a.channels.get(name));
      await within(aRec.subscribed, 10000, 'A attach');
      const id = a.connection.id;
      const stream = streamResponse(pub.channels.get(name), { count: 200, pace: () => sleep(2) });
      await waitFor(() => tokensOf(aRec.messages).length >= 40, 20000, 'A receives 40 tokens');

      // A vanishes without a CLOSE (its proxy refuses from now on); B recovers the connection on the other transport.
      proxy.block(true);
      proxy.killAll();
      const recoveryKey = a.connection.createRecoveryKey();
      aRec.stop();
      const aMessages = aRec.messages.slice();
      await waitFor(() => stream.promises.length >= 120 || stream.promises.length === 202, 20000, 'publisher progress');
      const b = clients.realtime(server, FORMATS[1], { ...options(to), recover: recoveryKey });
      await connectionState(b, 'connected');
      assert.equal(b.connection.id, id, `recovered (errorReason ${errText(b.connection.errorReason)})`);
      const bRec = record(b.channels.get(name));
      await within(bRec.subscribed, 10000, 'B attach');
      await stream.issued;
      await settleAll(stream.promises, 30000, 'publishes');
      await waitFor(() => bRec.messages.some((m) => m.name === 'stop'), 30000, 'B receives stop', () => `${bRec.messages.length} received`);
      await barrier(pub.channels.get(name), [bRec.messages], { label: 'after stop' });

      // A's messages then B's: none repeated, none missing.
      const seen = new Set(aMessages.map((m) => m.id));
      assert.deepEqual(bRec.messages.filter((m) => seen.has(m.id)).map((m) => m.id), [], 'B is not given what A had');
      const combined = [...aMessages, ...bRec.messages];
      checkSeedSequence(assert, combined, stream, { clientId: 'ai-agent', connectionId: pub.connection.id });
      assert.equal(transportOf(b).shortName, to === 'comet' ? 'comet' : 'web_socket');
    });
  }
});

describe('comet history and presence [polling]', () => {
  const mode = MODES[1];
  const format = FORMATS[1];

  test('attach mid-stream, history({ untilAttach }) + live = the published text', async () => {
    const pub = clients.realtime(server, format, { ...mode.opts, clientId: 'ai-agent' });
    const sub = clients.realtime(server, format, mode.opts);
    await connectionState(pub, 'connected');
    await connectionState(sub, 'connected');
    const name = uniqueName('comet-history');
    let issued = 0;
    const stream = streamResponse(pub.channels.get(name), { count: 200, pace: () => sleep(2), onToken: (i) => (issued = i + 1) });
    await waitFor(() => issued >= 60, 15000, 'publisher progress');

    const subChannel = sub.channels.get(name);
    const live = [];
    const subscribed = subChannel.subscribe((m) => live.push(m));
    await within(subscribed, 10000, 'attach');
    const { items } = await allPages(subChannel.history({ untilAttach: true, limit: 50 }), { label: 'untilAttach history' });
    const history = items.slice().reverse();
    await stream.issued;
    await settleAll(stream.promises, 15000, 'publishes');
    await waitFor(() => live.some((m) => m.name === 'stop'), 15000, 'live stop', () => `${live.length} live`);
    await barrier(pub.channels.get(name), [live], { label: 'after stop' });

    assert.ok(history.length > 0, 'history held the start of the stream');
    const combined = [...history, ...live];
    assert.equal(diffTokens(stream.tokens, tokensOf(combined)), null);
    assert.equal(tokensOf(combined).join(''), stream.text);
    assert.deepEqual(combined.map((m) => m.name), ['start', ...stream.tokens.map(() => 'token'), 'stop']);
  });

  test('presence enter over comet: get() on another comet client sees the member, leave on close', async () => {
    const member = clients.realtime(server, format, { ...mode.opts, clientId: 'comet-member' });
    const watcher = clients.realtime(server, format, mode.opts);
    const name = uniqueName('comet-presence');
    await within(member.channels.get(name).presence.enter({ mood: 'polling' }), 10000, 'enter');
    const watched = watcher.channels.get(name);
    const members = await within(watched.presence.get(), 10000, 'presence.get()');
    assert.deepEqual(members.map((m) => [m.clientId, m.data.mood, m.connectionId]), [['comet-member', 'polling', member.connection.id]]);

    const left = new Promise((resolve) => watched.presence.subscribe('leave', resolve));
    await clients.close(member);
    const leave = await within(left, 10000, 'leave after the comet client closed');
    assert.equal(leave.clientId, 'comet-member');
  });
});

describe('comet token expiry [polling]', () => {
  test('a 5 s token expires: DISCONNECTED 40142 arrives on a recv, the SDK renews and resumes the same connection over comet', async () => {
    const mode = MODES[1];
    const keyRest = clients.rest(server, FORMATS[1]);
    const clientId = uniqueName('comet-expiry');
    const client = clients.realtime(server, FORMATS[1], {
      ...mode.opts,
      key: undefined,
      authCallback: (_params, callback) => keyRest.auth.createTokenRequest({ clientId, ttl: 5000 }).then((r) => callback(null, r), (e) => callback(e)),
    });
    await connectionState(client, 'connected');
    const expiry = client.connection.once('disconnected');
    const id = client.connection.id;
    assertComet(client, mode);

    const expired = await within(expiry, 20000, 'DISCONNECTED on token expiry');
    assert.equal(expired.reason?.code, 40142, `reason ${errText(expired.reason)}`);
    await connectionState(client, 'connected', 20000);
    assert.equal(client.connection.id, id, 'resumed with the renewed token');
    const channel = client.channels.get(uniqueName('comet-expiry'));
    const rec = record(channel);
    await within(rec.subscribed, 10000, 'attach after the renewal');
    await within(channel.publish('after', 'renewed'), 10000, 'publish after the renewal');
    await waitFor(() => rec.messages.some((m) => m.name === 'after'), 10000, 'own message back');
  });
});

describe('comet raw requests', () => {
  const base = () => `http://127.0.0.1:${server.port}/comet`;
  const key = encodeURIComponent(ROOT_KEY);

  async function msgpackRequest(url, body) {
    const response = await fetch(url, {
      method: body ? 'POST' : 'GET',
      headers: { accept: 'application/x-msgpack', ...(body ? { 'content-type': 'application/x-msgpack' } : {}) },
      body: body ? msgpack.encode(body) : undefined,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, type: response.headers.get('content-type'), items: bytes.length ? msgpack.decode(bytes) : null };
  }

  /** Recvs until `predicate` matches a message; each recv answers one array (long poll). */
  async function recvUntil(connectionKey, predicate, label) {
    const seen = [];
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      const { status, items } = await msgpackRequest(`${base()}/${connectionKey}/recv`);
      assert.equal(status, 200, `recv status (${label})`);
      assert.ok(Array.isArray(items), 'recv answers an array');
      seen.push(...items);
      const found = items.find(predicate);
      if (found) return { found, seen };
    }
    throw new Error(`timed out waiting for ${label}; saw actions ${seen.map((m) => m.action).join(',')}`);
  }

  test('format=msgpack: CONNECTED, ATTACH, publish and its ACK and MESSAGE, all as MessagePack arrays', async () => {
    const connect = await msgpackRequest(`${base()}/connect?key=${key}&format=msgpack&stream=false&heartbeats=true&v=6`);
    assert.equal(connect.status, 200);
    assert.equal(connect.type, 'application/x-msgpack');
    const connected = connect.items.find((m) => m.action === 4);
    assert.ok(connected, `CONNECTED in ${JSON.stringify(connect.items)}`);
    const connectionKey = connected.connectionDetails.connectionKey;
    const channel = uniqueName('comet-raw');

    const sent = await msgpackRequest(`${base()}/${connectionKey}/send`, [{ action: 10, channel }]);
    assert.equal(sent.status, 204);
    await recvUntil(connectionKey, (m) => m.action === 11 && m.channel === channel, 'ATTACHED');

    const publish = await msgpackRequest(`${base()}/${connectionKey}/send`, [{ action: 15, channel, msgSerial: 0, messages: [{ name: 'n', data: 'hello' }] }]);
    assert.equal(publish.status, 204);
    const { seen } = await recvUntil(connectionKey, (m) => m.action === 15, 'MESSAGE');
    const more = seen.some((m) => m.action === 1) ? seen : (await recvUntil(connectionKey, (m) => m.action === 1, 'ACK')).seen;
    const ack = more.find((m) => m.action === 1);
    assert.equal(ack.msgSerial, 0);
    const message = seen.find((m) => m.action === 15);
    assert.equal(message.messages[0].data, 'hello');
    assert.equal(message.messages[0].connectionId, connected.connectionId);

    const closed = await msgpackRequest(`${base()}/${connectionKey}/close`);
    assert.equal(closed.status, 204);
    await recvUntil(connectionKey, (m) => m.action === 8, 'CLOSED');
  });

  test('a recv or send for a connection key this server does not hold answers DISCONNECTED 80003 (the SDK resumes), never a fatal 4xxxx', async () => {
    for (const path of ['AAAAAAAAAAAA!BBBBBBBBBBBBBBBBBBBB/recv', 'AAAAAAAAAAAA!BBBBBBBBBBBBBBBBBBBB/send']) {
      const response = await fetch(`${base()}/${path}`, { method: path.endsWith('send') ? 'POST' : 'GET', body: path.endsWith('send') ? '[]' : undefined, headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, 404);
      assert.equal(response.headers.get('x-ably-errorcode'), '80003');
      const [disconnected] = await response.json();
      assert.equal(disconnected.action, 6);
      assert.equal(disconnected.error.code, 80003);
    }
  });

  test('a bad key or protocol version is refused with ERROR in the array, as on the WebSocket', async () => {
    const bad = await fetch(`${base()}/connect?key=${encodeURIComponent('dev.root:wrong')}&stream=false&v=6`);
    assert.equal(bad.status, 401);
    const [error] = await bad.json();
    assert.equal(error.action, 9);
    assert.equal(error.error.code, 40101);
    const old = await fetch(`${base()}/connect?key=${key}&stream=false&v=3`);
    const [versionError] = await old.json();
    assert.equal(versionError.error.code, 40017);
  });
});

describe('comet without a recv outstanding', () => {
  let idleServer;
  before(async () => {
    idleServer = await startServer({
      logName: 'comet-idle',
      args: ['--TokenWire:Connection:MaxIdleInterval=00:00:02', '--TokenWire:Presence:LeaveDelay=00:00:01'],
    });
  });
  after(async () => {
    if (idleServer) await idleServer.stop();
  });

  test('a client that stops polling is disconnected after maxIdleInterval (its member leaves), and its connection resumes', async () => {
    const base = `http://127.0.0.1:${idleServer.port}/comet`;
    const key = encodeURIComponent(ROOT_KEY);
    const channel = uniqueName('comet-idle');
    const post = (connectionKey, body) =>
      fetch(`${base}/${connectionKey}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    async function recvUntil(connectionKey, predicate, label) {
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline) {
        const items = await (await fetch(`${base}/${connectionKey}/recv`)).json();
        if (items.some(predicate)) return;
      }
      throw new Error(`timed out waiting for ${label}`);
    }

    const witness = clients.realtime(idleServer, FORMATS[1]);
    const watched = witness.channels.get(channel);
    const events = [];
    await within(watched.presence.subscribe((m) => events.push(m.action)), 10000, 'witness attach');

    const connected = (await (await fetch(`${base}/connect?key=${key}&clientId=idler&stream=false&heartbeats=true&v=6`)).json()).find((m) => m.action === 4);
    const connectionKey = connected.connectionDetails.connectionKey;
    await post(connectionKey, [{ action: 10, channel }]);
    await recvUntil(connectionKey, (m) => m.action === 11, 'ATTACHED');
    await post(connectionKey, [{ action: 14, channel, msgSerial: 0, presence: [{ action: 2, data: 'here' }] }]);
    await recvUntil(connectionKey, (m) => m.action === 1, 'ACK of the enter');
    await waitFor(() => events.includes('enter'), 10000, 'witness sees the enter');

    // No more recvs: the server must notice on its own.
    await waitFor(() => events.includes('leave'), 15000, 'witness sees the leave of a client that stopped polling', () => events.join(','));

    const resumed = (await (await fetch(`${base}/connect?key=${key}&clientId=idler&stream=false&heartbeats=true&v=6&resume=${encodeURIComponent(connectionKey)}`)).json()).find((m) => m.action === 4);
    assert.equal(resumed.connectionId, connected.connectionId, `resumed (error ${JSON.stringify(resumed.error)})`);
    assert.equal(resumed.error, undefined);
    await fetch(`${base}/${resumed.connectionDetails.connectionKey}/close`);
  });
});
