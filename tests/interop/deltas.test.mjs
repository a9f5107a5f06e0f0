// vcdiff deltas (channel param delta: 'vcdiff', issue 17) with the real SDK and @ably/vcdiff-decoder: string, binary
// and JSON payloads arrive intact and in order as deltas; an appendMode 'full' stream costs only its new tails; a base
// the client lost is recovered by its re-attach (RTL18, 40018) with nothing lost; a transport cut resumes whole first.
// Raw WebSockets beside the SDK show what went on the wire, and apply every delta themselves.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as vcdiff from '@ably/vcdiff-decoder';
import { FORMATS, Clients, serverPerFile, connectionState, errText, rawSocket, record, sleep, uniqueName, waitFor, within } from './helpers.mjs';

let server;
const clients = new Clients('deltas');
const raws = [];
serverPerFile(clients, { logName: 'deltas' }, (started) => (server = started));
afterEach(() => Promise.all(raws.splice(0).map((r) => r.close())));

/** The decoder the SDK is given, counting the deltas it applies. */
function countingDecoder() {
  const decoder = {
    calls: 0,
    decode(delta, base) {
      decoder.calls += 1;
      return vcdiff.decode(delta, base);
    },
  };
  return decoder;
}

/** Fails the test on any channel re-attach (a delta the SDK could not apply makes it re-attach). */
function watchReattach(channel) {
  const reasons = [];
  channel.on('attaching', (change) => reasons.push(errText(change.reason)));
  return reasons;
}

/**
 * A raw WebSocket attached to `name` with `params`; it decodes every message as the SDK does, applying deltas to the
 * payload it decoded last, and records for each message the wire payload's size and whether it was a delta.
 */
async function rawSubscriber(format, name, params) {
  const sock = await rawSocket(server.port, { format: format.name });
  raws.push(sock);
  await sock.waitFrame((f) => f.action === 4, 10000, 'CONNECTED');
  sock.send({ action: 10, channel: name, params });
  await sock.waitFrame((f) => f.action === 11 && f.channel === name, 10000, 'ATTACHED');
  const bytes = [];
  sock.ws.on('message', (data) => bytes.push(data.length));
  return {
    sock,
    /** Frame bytes received since attach. */
    frameBytes: () => bytes.reduce((a, b) => a + b, 0),
    /** Every message so far, decoded; throws on a broken chain. */
    decoded() {
      let lastId = null;
      let last = null;
      const out = [];
      for (const frame of sock.frames.filter((f) => f.action === 15 && f.channel === name)) {
        for (const m of frame.messages) {
          let data = m.data;
          const steps = (m.encoding ?? '').split('/').filter(Boolean);
          const delta = m.extras?.delta;
          let wireSize = typeof data === 'string' ? Buffer.byteLength(data) : data ? data.length : 0;
          let base = data;
          while (steps.length) {
            const step = steps.pop();
            if (step === 'base64') {
              data = Buffer.from(data, 'base64');
              wireSize = data.length;
              base = data;
            } else if (step === 'vcdiff') {
              assert.equal(delta?.format, 'vcdiff', 'a vcdiff payload names its format');
              assert.equal(delta.from, lastId, `delta from ${delta.from} follows the last message ${lastId}`);
              data = Buffer.from(vcdiff.decode(new Uint8Array(data), new Uint8Array(typeof last === 'string' ? Buffer.from(last) : last)));
              base = data;
            } else if (step === 'utf-8') {
              data = Buffer.from(data).toString('utf8');
            } else if (step === 'json') {
              data = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
            } else {
              throw new Error(`unexpected encoding step ${step}`);
            }
          }
          lastId = m.id;
          last = base;
          out.push({ name: m.name, data, encoding: m.encoding ?? null, delta: Boolean(delta), wireSize });
        }
      }
      return out;
    },
  };
}

const same = (a, b) => Buffer.isBuffer(a) || a instanceof ArrayBuffer || ArrayBuffer.isView(a)
  ? Buffer.from(a).equals(Buffer.from(b))
  : JSON.stringify(a) === JSON.stringify(b);

/** Strings, binary and JSON objects that each change a little from the one before, interleaved. */
function payloads() {
  const list = [];
  let text = 'The quick brown fox jumps over the lazy dog. ';
  const binary = Buffer.alloc(300);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 7) % 251;
  for (let i = 0; i < 8; i++) {
    text += `sentence ${i} continues the text; `;
    list.push(text);
  }
  for (let i = 0; i < 6; i++) {
    binary[i * 13] = 255 - i;
    list.push(Buffer.from(binary));
  }
  for (let i = 0; i < 6; i++) {
    list.push({ foo: 'bar', count: i, status: i % 2 ? 'active' : 'inactive', items: ['alpha', 'beta', 'gamma', 'delta', i] });
  }
  list.push('x'); // too small to be worth a delta
  list.push(text);
  return list;
}

for (const format of FORMATS) {
  describe(`vcdiff deltas [${format.name}]`, () => {
    test('string, binary and JSON messages arrive intact and in order, as deltas with the right encoding', async () => {
      const name = uniqueName('deltas-types');
      const decoder = countingDecoder();
      const sub = clients.realtime(server, format, { plugins: { vcdiff: decoder } });
      const channel = sub.channels.get(name, { params: { delta: 'vcdiff' } });
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach');
      const reattached = watchReattach(channel);
      assert.equal(channel.params.delta, 'vcdiff', 'ATTACHED echoes the delta param');
      const raw = await rawSubscriber(format, name, { delta: 'vcdiff' });

      const pub = clients.realtime(server, format);
      const sent = payloads();
      for (let i = 0; i < sent.length; i++) await within(pub.channels.get(name).publish(String(i), sent[i]), 10000, `publish ${i}`);

      await waitFor(() => rec.messages.length >= sent.length, 15000, 'every message received', () => `${rec.messages.length}/${sent.length}`);
      await waitFor(() => raw.decoded().length >= sent.length, 15000, 'raw socket receives every message');
      assert.deepEqual(reattached, [], 'no re-attach (every delta applied)');
      assert.deepEqual(rec.messages.map((m) => m.name), sent.map((_, i) => String(i)), 'in order');
      rec.messages.forEach((m, i) => assert.ok(same(m.data, sent[i]), `message ${i} intact: ${JSON.stringify(m.data)}`));

      const wire = raw.decoded();
      wire.forEach((m, i) => assert.ok(same(m.data, sent[i]), `raw message ${i} intact`));
      assert.equal(wire[0].delta, false, 'the first message after attach is whole');
      const b64 = format.name === 'json' ? '/base64' : '';
      const deltas = wire.filter((m) => m.delta);
      assert.ok(deltas.length >= sent.length - 6, `most messages are deltas (${deltas.length}/${sent.length})`);
      assert.equal(decoder.calls, deltas.length, 'the SDK applied each delta the wire carried');
      assert.ok(wire[7].delta && wire[7].encoding === `utf-8/vcdiff${b64}`, `text delta encoding: ${wire[7].encoding}`);
      assert.ok(wire[9].delta && wire[9].encoding === `vcdiff${b64}`, `binary delta encoding: ${wire[9].encoding}`);
      assert.ok(wire[16].delta && wire[16].encoding === `json/utf-8/vcdiff${b64}`, `JSON delta encoding: ${wire[16].encoding}`);
      assert.equal(wire[20].delta, false, 'a payload too small for a delta goes whole');
      for (const i of [7, 9, 16]) assert.ok(wire[i].wireSize < 60, `a delta of a small change is small (message ${i}: ${wire[i].wireSize} bytes)`);
    });

    test("an appendMode 'full' stream arrives whole, each delivery a delta costing its new tail", async (t) => {
      const name = `mutable:${uniqueName('deltas-stream')}`;
      const decoder = countingDecoder();
      const sub = clients.realtime(server, format, { plugins: { vcdiff: decoder } });
      const channel = sub.channels.get(name, { params: { delta: 'vcdiff', appendMode: 'full' } });
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach');
      const reattached = watchReattach(channel);
      const withDeltas = await rawSubscriber(format, name, { delta: 'vcdiff', appendMode: 'full' });
      const withoutDeltas = await rawSubscriber(format, name, { appendMode: 'full' });

      const agent = clients.realtime(server, format, { clientId: 'ai-agent', transportParams: { appendRollupWindow: 0 } });
      const agentChannel = agent.channels.get(name);
      const tokens = Array.from({ length: 500 }, (_, i) => `${['the', 'model', 'streams', 'token', 'after', 'token'][i % 6]}${i % 10 === 9 ? '.\n' : ' '}`);
      const text = tokens.join('');
      const { serials } = await within(agentChannel.publish({ name: 'response', data: '' }), 10000, 'create');
      const acks = [];
      for (const token of tokens) {
        acks.push(agentChannel.appendMessage({ serial: serials[0], data: token }));
        await sleep(1);
      }
      await within(Promise.all(acks), 30000, 'every append acknowledged');

      const last = () => rec.messages.at(-1)?.data;
      await waitFor(() => last() === text, 20000, 'the SDK holds the whole response', () => `${(last() ?? '').length}/${text.length}`);
      await waitFor(() => withDeltas.decoded().at(-1)?.data === text, 20000, 'raw delta socket holds the whole response');
      await waitFor(() => withoutDeltas.decoded().at(-1)?.data === text, 20000, 'raw full socket holds the whole response');
      assert.deepEqual(reattached, [], 'no re-attach (every delta applied)');

      // Every delivery is the whole text so far; once that is past a few dozen bytes, each is a delta only slightly
      // larger than the tail (before, a delta would not be smaller than the text, so it goes whole).
      const wire = withDeltas.decoded();
      let previous = '';
      for (const [i, m] of wire.entries()) {
        if (previous.length > 48) {
          assert.ok(m.delta, `delivery ${i} is a delta`);
          const tail = Buffer.byteLength(m.data) - Buffer.byteLength(previous);
          assert.ok(m.wireSize <= tail + 24, `delivery ${i}: delta ${m.wireSize} bytes for a ${tail}-byte tail`);
        }
        previous = m.data;
      }
      assert.ok(decoder.calls >= wire.length - 20, `the SDK applied the deltas (${decoder.calls} of ${wire.length})`);

      const full = withoutDeltas.decoded();
      const payload = (messages) => messages.reduce((sum, m) => sum + m.wireSize, 0);
      const per = (bytes, count) => Math.round(bytes / count);
      t.diagnostic(
        `${format.name}: ${tokens.length} appends, ${text.length} chars; per delivery (frame bytes, of which data): ` +
          `with deltas ${wire.length} deliveries, ${per(withDeltas.frameBytes(), wire.length)} B (${per(payload(wire), wire.length)} B); ` +
          `without ${full.length} deliveries, ${per(withoutDeltas.frameBytes(), full.length)} B (${per(payload(full), full.length)} B)`,
      );
      assert.ok(payload(wire) * 20 < payload(full), 'delta payloads cost a small fraction of whole snapshots');
      assert.ok(withDeltas.frameBytes() * 3 < withoutDeltas.frameBytes(), 'and so do the frames');
    });

    test('a base the client lost: it re-attaches with 40018 and receives everything, whole first, once', async () => {
      const name = uniqueName('deltas-recovery');
      const decoder = countingDecoder();
      const sub = clients.realtime(server, format, { plugins: { vcdiff: decoder } });
      const channel = sub.channels.get(name, { params: { delta: 'vcdiff' } });
      const received = [];
      await within(
        channel.subscribe((m) => {
          received.push(m);
          if (m.name === '3') channel._lastPayload.messageId = null; // as ably-js's lastMessageNotFoundRecovery does
        }),
        10000,
        'attach',
      );
      const reasons = [];
      channel.on('attaching', (change) => reasons.push(change.reason?.code));

      const pub = clients.realtime(server, format);
      const count = 12;
      const data = (i) => ({ step: i, text: 'a long enough shared payload for deltas to pay off', done: i === count - 1 });
      for (let i = 0; i < count; i++) await within(pub.channels.get(name).publish(String(i), data(i)), 10000, `publish ${i}`);

      await waitFor(() => received.some((m) => m.name === String(count - 1)), 20000, 'last message received', () => received.map((m) => m.name).join(','));
      assert.deepEqual(reasons, [40018], 'one recovery, for the lost base');
      assert.deepEqual(received.map((m) => m.name), Array.from({ length: count }, (_, i) => String(i)), 'each message once, in order');
      received.forEach((m, i) => assert.deepEqual(m.data, data(i), `message ${i} intact`));
      // Whole: the first, and the first replayed after the re-attach; the one that failed was not applied.
      assert.equal(decoder.calls, count - 2, 'deltas applied');
      assert.equal(channel.state, 'attached');
    });

    test("a message's summary between deltas: the next message goes whole, nothing fails", async () => {
      const name = `mutable:${uniqueName('deltas-summary')}`;
      const decoder = countingDecoder();
      const sub = clients.realtime(server, format, { plugins: { vcdiff: decoder } });
      const channel = sub.channels.get(name, { params: { delta: 'vcdiff' } });
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach');
      const reattached = watchReattach(channel);

      const pub = clients.realtime(server, format, { clientId: 'reviewer' });
      const pubChannel = pub.channels.get(name);
      const data = (i) => `a response long enough for deltas to pay off, step ${i}`;
      const serials = [];
      for (let i = 0; i < 6; i++) {
        serials.push((await within(pubChannel.publish(String(i), data(i)), 10000, `publish ${i}`)).serials[0]);
        if (i === 2) await within(pubChannel.annotations.publish(serials[0], { type: 'reaction:distinct.v1', name: 'up' }), 10000, 'annotate');
      }

      const messages = () => rec.messages.filter((m) => m.action === 'message.create');
      await waitFor(() => messages().length >= 6, 15000, 'every message received', () => `${messages().length}/6`);
      await waitFor(() => rec.messages.some((m) => m.action === 'message.summary'), 15000, 'the summary');
      assert.deepEqual(reattached, [], 'no re-attach (every delta applied)');
      messages().forEach((m, i) => assert.equal(m.data, data(i), `message ${i} intact`));
      assert.equal(decoder.calls, 4, 'deltas for all but the first message and the one after the summary');
    });

    test('a transport cut mid-stream resumes with the first message whole, and the rest intact as deltas', async () => {
      const proxy = await clients.proxy(server.port);
      const name = uniqueName('deltas-resume');
      const decoder = countingDecoder();
      const sub = clients.realtime(proxy, format, { plugins: { vcdiff: decoder } });
      await connectionState(sub, 'connected');
      const connectionId = sub.connection.id;
      const channel = sub.channels.get(name, { params: { delta: 'vcdiff' } });
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach');
      const reattached = watchReattach(channel);

      const pub = clients.realtime(server, format);
      const pubChannel = pub.channels.get(name);
      const count = 200;
      let text = '';
      const expected = [];
      const acks = [];
      for (let i = 0; i < count; i++) {
        text += `word${i} `;
        expected.push(text);
        acks.push(pubChannel.publish(String(i), text));
        if (i === 80) {
          await waitFor(() => rec.messages.length >= 40, 15000, 'subscriber receives 40 messages');
          assert.ok(proxy.killAll() >= 1, 'proxy had a connection to kill');
        }
        await sleep(2);
      }
      await within(Promise.all(acks), 30000, 'every publish acknowledged');
      await connectionState(sub, 'connected', 20000);
      await waitFor(() => rec.messages.length >= count, 20000, 'every message received', () => `${rec.messages.length}/${count}`);

      assert.equal(sub.connection.id, connectionId, 'resumed');
      assert.ok(!reattached.some((r) => r.includes('40018')), `no delta decode failure: ${reattached.join('; ')}`);
      assert.deepEqual(rec.messages.map((m) => m.name), expected.map((_, i) => String(i)), 'each message once, in order');
      rec.messages.forEach((m, i) => assert.equal(m.data, expected[i], `message ${i} intact`));
      assert.ok(decoder.calls >= count - 10, `most messages were deltas (${decoder.calls})`);
    });
  });
}

describe('vcdiff deltas: params', () => {
  test('an unknown delta format is refused with 40003', async () => {
    const sub = clients.realtime(server, FORMATS[0]);
    const channel = sub.channels.get(uniqueName('deltas-bad'), { params: { delta: 'xdelta' } });
    await assert.rejects(within(channel.attach(), 10000, 'attach'), (err) => err.code === 40003);
  });
});
