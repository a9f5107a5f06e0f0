// Bad input: garbage frames on raw WebSockets while the SDK keeps streaming, oversized
// messages, invalid channel names, wrong keys, capability violations, bad history params.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import {
  FORMATS,
  Clients,
  ROOT_KEY,
  SUB_KEY,
  connectionState,
  record,
  streamResponse,
  settleAll,
  checkSeedSequence,
  rawSocket,
  msgpack,
  uniqueName,
  waitFor,
  within,
  sleep,
  barrier,
  BARRIER_NAME,
  errText,
} from './helpers.mjs';

let server;
const clients = new Clients('bad-input');
const rawSockets = new Set();

before(async () => {
  server = await startServer({ logName: 'bad-input' });
});
afterEach(async () => {
  await clients.closeAll();
  await Promise.all([...rawSockets].map((s) => s.close()));
  rawSockets.clear();
});
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

async function openRaw(format, opts = {}) {
  const s = await rawSocket(server.port, { format, ...opts });
  rawSockets.add(s);
  return s;
}

async function openConnectedRaw(format, opts = {}) {
  const s = await openRaw(format, opts);
  const connected = await s.waitFrame((f) => f.action === 4, 10000, 'CONNECTED');
  assert.ok(connected, `raw ${format} socket closed before CONNECTED: ${JSON.stringify(s.closeInfo)} frames ${JSON.stringify(s.frames)}`);
  assert.ok(connected.connectionDetails && connected.connectionDetails.connectionKey, 'CONNECTED carries connectionDetails.connectionKey');
  return s;
}

const ERROR_ACTIONS = new Set([2 /* NACK */, 6 /* DISCONNECTED */, 9 /* ERROR */]);
const MALFORMED_CODES = [40000, 40001, 80013];
const hasError = (f) => ERROR_ACTIONS.has(f.action) && f.error;

/** Expects the socket to get an ERROR/DISCONNECTED/NACK frame whose error.code is one of `codes`. */
async function expectErrorFrame(sock, codes, what) {
  const f = await sock.waitFrame(hasError, 10000, `${what}: error frame`);
  if (!f) {
    return `${what}: socket closed ${JSON.stringify(sock.closeInfo)} without an Ably ERROR/DISCONNECTED/NACK frame (frames: ${JSON.stringify(sock.frames)})`;
  }
  if (!codes.includes(f.error.code)) {
    return `${what}: got action ${f.action} with error ${JSON.stringify(f.error)}; expected code in ${JSON.stringify(codes)}`;
  }
  if (typeof f.error.statusCode !== 'number' || f.error.statusCode < 400) {
    return `${what}: error frame lacks a 4xx/5xx statusCode: ${JSON.stringify(f.error)}`;
  }
  return null;
}

const BIG = 'x'.repeat(70_000);

for (const format of FORMATS) {
  describe(`bad input [${format.name}]`, () => {
    test('garbage on raw WebSockets while an SDK client streams 300 tokens: the stream is intact, the garbage gets Ably errors', async () => {
      const agent = clients.realtime(server, format, { clientId: 'ai-agent' });
      const viewer = clients.realtime(server, format);
      await connectionState(agent, 'connected');
      await connectionState(viewer, 'connected');
      const name = uniqueName('garbage-stream');
      const rec = record(viewer.channels.get(name));
      await within(rec.subscribed, 10000, 'viewer attach');
      const stream = streamResponse(agent.channels.get(name), { count: 300, pace: () => sleep(3) });

      const problems = [];
      const cases = [
        {
          what: 'non-JSON text on a json socket',
          format: 'json',
          codes: MALFORMED_CODES,
          send: (s) => s.sendRaw('this is {not json', false),
        },
        {
          what: 'JSON that is not an object on a json socket',
          format: 'json',
          codes: MALFORMED_CODES,
          send: (s) => s.sendRaw('[1,2,3]', false),
        },
        {
          what: 'unknown action 99 on a json socket',
          format: 'json',
          codes: MALFORMED_CODES,
          send: (s) => s.sendRaw(JSON.stringify({ action: 99, channel: name }), false),
        },
        {
          what: 'truncated msgpack on a msgpack socket',
          format: 'msgpack',
          codes: MALFORMED_CODES,
          send: (s) => {
            const full = msgpack.encode({ action: 15, channel: name, msgSerial: 0, messages: [{ name: 'token', data: 'never delivered' }] }, true);
            s.sendRaw(full.subarray(0, Math.floor(full.length / 2)), true);
          },
        },
        {
          what: 'random bytes on a msgpack socket',
          format: 'msgpack',
          codes: MALFORMED_CODES,
          send: (s) => s.sendRaw(Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37]), true),
        },
        {
          what: 'MESSAGE over 65536 bytes on a json socket',
          format: 'json',
          codes: [40009],
          send: (s) => s.send({ action: 15, channel: name, msgSerial: 0, messages: [{ name: 'token', data: BIG }] }),
        },
        {
          what: 'MESSAGE over 65536 bytes on a msgpack socket',
          format: 'msgpack',
          codes: [40009],
          send: (s) => s.send({ action: 15, channel: name, msgSerial: 0, messages: [{ name: 'token', data: BIG }] }),
        },
      ];
      for (const c of cases) {
        const s = await openConnectedRaw(c.format);
        c.send(s);
        const p = await expectErrorFrame(s, c.codes, c.what);
        if (p) problems.push(p);
        await s.close();
        rawSockets.delete(s);
        await sleep(10);
      }

      await stream.issued;
      await settleAll(stream.promises, 30000, 'agent publishes');
      await waitFor(() => rec.messages.some((m) => m.name === 'stop'), 30000, 'viewer receives stop', () => `${rec.messages.length} received`);
      // Every garbage socket got its error and was closed before this sentinel: whatever of theirs the server let
      // into the channel was accepted before it.
      await barrier(agent.channels.get(name), [rec.messages], { label: 'after the garbage and the stream' });
      // nothing from the garbage sockets reached the channel
      checkSeedSequence(assert, rec.messages, stream, { clientId: 'ai-agent', connectionId: agent.connection.id });
      assert.equal(agent.connection.state, 'connected');
      assert.equal(viewer.connection.state, 'connected');
      assert.deepEqual(problems, [], problems.join('\n'));
    });

    test('oversized MESSAGE is NACKed with 40009, never delivered, and the connection keeps working', async () => {
      const viewer = clients.realtime(server, format);
      await connectionState(viewer, 'connected');
      const name = uniqueName('oversize');
      const rec = record(viewer.channels.get(name));
      await within(rec.subscribed, 10000, 'viewer attach');

      const s = await openConnectedRaw(format.name);
      s.send({ action: 15, channel: name, msgSerial: 0, messages: [{ name: 'big', data: BIG }] });
      const nack = await s.waitFrame(hasError, 10000, 'NACK for oversized message');
      assert.ok(nack, `socket closed without NACK: ${JSON.stringify(s.closeInfo)}`);
      assert.equal(nack.error.code, 40009, `error ${JSON.stringify(nack.error)}`);
      assert.equal(nack.action, 2, `oversized message should be NACKed (action 2), got ${JSON.stringify(nack)}`);
      assert.equal(nack.msgSerial, 0);
      assert.equal(nack.count, 1);

      s.send({ action: 15, channel: name, msgSerial: 1, messages: [{ name: 'small', data: 'ok' }] });
      const ack = await s.waitFrame((f) => f.action === 1, 10000, 'ACK for the next message');
      assert.ok(ack, `socket closed before ACK: ${JSON.stringify(s.closeInfo)}`);
      assert.equal(ack.msgSerial, 1, `ACK ${JSON.stringify(ack)}`);
      assert.equal(ack.count, 1);
      await waitFor(() => rec.messages.some((m) => m.name === 'small'), 10000, 'small message delivered');
      await barrier(viewer.channels.get(name), [rec.messages], { label: 'after the NACKed and the small message' });
      assert.deepEqual(rec.messages.map((m) => m.name), ['small']);
      assert.equal(rec.messages[0].serial, ack.res && ack.res[0] && ack.res[0].serials[0], `ACK res ${JSON.stringify(ack.res)}`);
    });

    test('the SDK refuses to publish an oversized message itself (maxMessageSize from connectionDetails)', async () => {
      const c = clients.realtime(server, format);
      await connectionState(c, 'connected');
      await assert.rejects(
        within(c.channels.get(uniqueName('oversize-sdk')).publish('big', BIG), 10000, 'publish'),
        (err) => err.code === 40009,
      );
      assert.equal(c.connection.state, 'connected');
    });

    test('ATTACH with an empty channel name on a raw socket gets error 40010', async () => {
      const s = await openConnectedRaw(format.name);
      s.send({ action: 10, channel: '' });
      const p = await expectErrorFrame(s, [40010], 'attach empty channel name');
      assert.equal(p, null, p ?? '');
    });

    test("attach to an invalid channel name (':leading-colon') fails with 40010; the connection and other channels keep working", async () => {
      const c = clients.realtime(server, format);
      await connectionState(c, 'connected');
      const bad = c.channels.get(':leading-colon');
      await assert.rejects(within(bad.attach(), 10000, 'attach invalid name'), (err) => {
        assert.equal(err.code, 40010, errText(err));
        return true;
      });
      assert.equal(bad.state, 'failed');
      assert.equal(c.connection.state, 'connected');
      const good = c.channels.get(uniqueName('good'));
      const rec = record(good);
      await within(rec.subscribed, 10000, 'attach valid channel');
      await within(good.publish('ok', 'fine'), 10000, 'publish');
      await waitFor(() => rec.messages.length === 1, 10000, 'message');
    });

    test('wrong key secret: connection fails with 40101', async () => {
      const c = clients.realtime(server, format, { key: 'dev.root:wrong' });
      await connectionState(c, 'failed');
      assert.equal(c.connection.errorReason.code, 40101, errText(c.connection.errorReason));
      assert.equal(c.connection.errorReason.statusCode, 401, errText(c.connection.errorReason));
    });

    test('unknown key name: connection fails with 40101 (or 40400)', async () => {
      const c = clients.realtime(server, format, { key: 'dev.nosuchkey:whatever' });
      await connectionState(c, 'failed');
      assert.ok([40101, 40400].includes(c.connection.errorReason.code), errText(c.connection.errorReason));
    });

    test('wrong key over REST: history rejects with 40101 / 401', async () => {
      const rest = clients.rest(server, format, { key: 'dev.root:wrong' });
      await assert.rejects(within(rest.channels.get(uniqueName('r')).history(), 10000, 'history'), (err) => {
        assert.equal(err.code, 40101, errText(err));
        assert.equal(err.statusCode, 401, errText(err));
        return true;
      });
    });

    test('subscribe-only key: attach grants subscribe but not publish; publish is NACKed with 40160; subscribing still works', async () => {
      const subOnly = clients.realtime(server, format, { key: SUB_KEY });
      const root = clients.realtime(server, format);
      await connectionState(subOnly, 'connected');
      await connectionState(root, 'connected');
      const name = uniqueName('subonly');
      const channel = subOnly.channels.get(name);
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach with subscribe-only key');
      assert.ok(channel.modes.includes('subscribe'), `modes ${channel.modes}`);
      assert.ok(!channel.modes.includes('publish'), `modes ${channel.modes}`);
      await assert.rejects(within(channel.publish('nope', 'x'), 10000, 'publish with subscribe-only key'), (err) => {
        assert.equal(err.code, 40160, errText(err));
        assert.equal(err.statusCode, 401, errText(err));
        return true;
      });
      assert.equal(subOnly.connection.state, 'connected');
      assert.equal(channel.state, 'attached');
      await within(root.channels.get(name).publish('yes', 'y'), 10000, 'root publishes');
      await waitFor(() => rec.messages.some((m) => m.name === 'yes'), 10000, 'sub-only client receives');
      await barrier(root.channels.get(name), [rec.messages], { label: 'after the refused and the allowed publish' });
      assert.deepEqual(rec.messages.map((m) => m.name), ['yes']);

      // REST: publish denied, history allowed
      const rest = clients.rest(server, format, { key: SUB_KEY });
      await assert.rejects(within(rest.channels.get(name).publish('nope', 'x'), 10000, 'REST publish'), (err) => {
        assert.equal(err.code, 40160, errText(err));
        assert.equal(err.statusCode, 401, errText(err));
        return true;
      });
      const hist = await within(rest.channels.get(name).history(), 10000, 'REST history with sub key');
      assert.deepEqual(hist.items.map((m) => m.name), [BARRIER_NAME, 'yes'], 'newest first: the sentinel, the allowed publish');
    });

    for (const [label, params] of [
      ['limit=abc', { limit: 'abc' }],
      ['direction=sideways', { direction: 'sideways' }],
      ['start > end', { start: 2_000_000_000_000, end: 1_000_000_000_000 }],
    ]) {
      test(`REST history with bad parameter (${label}) rejects with 40003 / 400`, async () => {
        const rest = clients.rest(server, format);
        const channel = rest.channels.get(uniqueName('badparams'));
        await within(channel.publish('m', 'x'), 10000, 'publish');
        await assert.rejects(within(channel.history(params), 10000, 'history'), (err) => {
          assert.equal(err.code, 40003, errText(err));
          assert.equal(err.statusCode, 400, errText(err));
          return true;
        });
      });
    }
  });
}

describe('bad input [raw HTTP]', () => {
  test('raw REST error body and headers are exactly what the SDKs parse', async () => {
    const res = await fetch(`${server.url}/channels/${encodeURIComponent(uniqueName('raw'))}/messages?limit=abc`, {
      headers: { authorization: 'Basic ' + Buffer.from(ROOT_KEY).toString('base64'), accept: 'application/json' },
      signal: AbortSignal.timeout(10000),
    });
    const body = await res.json();
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('x-ably-errorcode'), '40003');
    assert.ok(res.headers.get('x-ably-errormessage'), 'X-Ably-ErrorMessage header');
    assert.equal(body.error.code, 40003);
    assert.equal(body.error.statusCode, 400);
    assert.equal(typeof body.error.message, 'string');
  });
});
