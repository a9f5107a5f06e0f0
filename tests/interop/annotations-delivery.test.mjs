// Annotations and message.summary across a dropped transport (RTN15c6), with the real SDK in both formats: the
// subscriber's transport is cut by a TCP proxy and kept down while another client annotates; after the resume it has
// every raw annotation and every summary exactly once, in order, ending at the final summary. On one node (in-memory
// engine), and on two nodes sharing a redis-server with the resume landing on the other node. Also on Redis: a
// subscriber on one node never sees a summary before its message while another node publishes and annotates a stream.
// A filtered attachment (getDerived) gets the summaries of the messages its filter matches, live and after a resume.
// The dev app's `mutable` namespace has mutableMessages enabled.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from './server.mjs';
import { startRedis } from './redis.mjs';
import { FORMATS, Clients, record, uniqueName, waitFor, within, startProxy, connectionState } from './helpers.mjs';

const clients = new Clients('annotations-delivery');
const keyPrefix = `annotations-delivery-${process.pid}-${Date.now().toString(36)}:`;
const MODES = ['publish', 'subscribe', 'annotation_publish', 'annotation_subscribe'];
let server;
let redis;
let redisDir;
let nodes = [];
let proxy;

before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-annotations-delivery-redis-'));
  redis = await startRedis({ port: await freePort(), dir: redisDir });
  const redisArgs = ['--redis', `127.0.0.1:${redis.port}`, `--TokenWire:RedisKeyPrefix=${keyPrefix}`];
  [server, ...nodes] = await Promise.all([
    startServer({ logName: 'annotations-delivery' }),
    startServer({ logName: 'annotations-delivery-node-a', args: redisArgs }),
    startServer({ logName: 'annotations-delivery-node-b', args: redisArgs }),
  ]);
});
afterEach(async () => {
  await clients.closeAll();
  if (proxy) {
    await proxy.close();
    proxy = null;
  }
});
after(async () => {
  await clients.closeAll();
  await Promise.all([server, ...nodes].filter(Boolean).map((s) => s.stop()));
  if (redis) await redis.stop();
  if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
});

const summaries = (rec, serial) => rec.messages.filter((m) => m.action === 'message.summary' && m.serial === serial);
const totalOf = (summary) => summary?.annotations?.summary?.['like:total.v1']?.total;

/**
 * Subscribes through a proxy, annotates two messages while the subscriber is connected, cuts its transport, annotates
 * more while it is down (on `annotateNode`), lets it resume (through the proxy, to `resumeNode`), and checks it got
 * every raw annotation and summary once, in order.
 */
async function resumeScenario(format, { subscribeNode, annotateNode, resumeNode }) {
  const name = `mutable:${uniqueName('annot-resume')}`;
  proxy = await startProxy(subscribeNode.port);
  const sub = clients.realtime(proxy, format, { disconnectedRetryTimeout: 500 });
  const pub = clients.realtime(annotateNode, format, { clientId: 'annotator' });
  const subChannel = sub.channels.get(name, { modes: ['subscribe', 'annotation_subscribe'] });
  const raw = [];
  await within(subChannel.annotations.subscribe((a) => raw.push(a)), 10000, 'annotation subscribe');
  const rec = record(subChannel);
  await within(rec.subscribed, 10000, 'subscribe');
  await connectionState(sub, 'connected');
  const connectionId = sub.connection.id;
  const attached = [];
  subChannel.on('attached', (change) => attached.push(change));

  const pubChannel = pub.channels.get(name, { modes: MODES });
  const { serials: [first] } = await within(pubChannel.publish({ name: 'answer', data: 'one' }), 10000, 'publish');
  const annotate = (serial, n) => within(Promise.all(Array.from({ length: n }, () => pubChannel.annotations.publish(serial, { type: 'like:total.v1' }))), 10000, 'annotate');
  await annotate(first, 3);
  await waitFor(() => totalOf(summaries(rec, first).at(-1)) === 3 && raw.length === 3, 10000, 'the annotations before the cut', () => `${raw.length} raw`);

  // Cut, and keep the subscriber out while the annotator carries on: a second message, annotations on both.
  proxy.block(true);
  proxy.killAll();
  await connectionState(sub, 'disconnected', 10000);
  const { serials: [second] } = await within(pubChannel.publish({ name: 'answer', data: 'two' }), 10000, 'publish');
  await annotate(first, 4);
  await annotate(second, 5);
  if (resumeNode !== subscribeNode) proxy.setTarget(resumeNode.port);
  proxy.block(false);
  await connectionState(sub, 'connected', 20000);

  await waitFor(() => totalOf(summaries(rec, second).at(-1)) === 5 && totalOf(summaries(rec, first).at(-1)) === 7, 15000, 'the final summaries after the resume',
    () => `${summaries(rec, first).length} + ${summaries(rec, second).length} summaries, ${raw.length} raw`);
  await waitFor(() => raw.length >= 12, 10000, 'every raw annotation', () => `${raw.length} raw`);
  // Nothing more is on its way: the summaries count up to their totals one by one.
  assert.equal(sub.connection.id, connectionId, 'the connection resumed');
  assert.ok(attached.every((c) => c.resumed), `re-attached with RESUMED: ${JSON.stringify(attached.map((c) => c.resumed))}`);
  assert.equal(raw.length, 12, 'each raw annotation once');
  assert.equal(new Set(raw.map((a) => a.id)).size, 12, 'no raw annotation twice');
  assert.deepEqual(raw.filter((a) => a.messageSerial === first).map((a) => a.serial), raw.filter((a) => a.messageSerial === first).map((a) => a.serial).sort(), 'in order');
  assert.deepEqual(summaries(rec, first).map(totalOf), [1, 2, 3, 4, 5, 6, 7], 'every summary of the first message once, in order');
  assert.deepEqual(summaries(rec, second).map(totalOf), [1, 2, 3, 4, 5], 'every summary of the second message once, in order');
  const messageAt = rec.messages.findIndex((m) => m.serial === second && m.action === 'message.create');
  assert.ok(messageAt >= 0 && messageAt < rec.messages.findIndex((m) => m.serial === second && m.action === 'message.summary'), 'the message before its summary');
  assert.equal(rec.messages.filter((m) => m.action === 'message.create').length, 2, 'each message once');
}

for (const format of FORMATS) {
  describe(`annotations across a resume [${format.name}]`, () => {
    test('one node: the annotations and summaries missed while the transport was down arrive after the resume, once, in order', async () => {
      await resumeScenario(format, { subscribeNode: server, annotateNode: server, resumeNode: server });
    });

    test('two nodes on Redis: resuming onto the other node replays the missed annotations and summaries from the store', async () => {
      await resumeScenario(format, { subscribeNode: nodes[0], annotateNode: nodes[1], resumeNode: nodes[1] });
    });

    test('a filtered attachment gets the summaries of the messages its filter matches, live and after a resume, and no others', async () => {
      const name = `mutable:${uniqueName('annot-filter')}`;
      proxy = await startProxy(server.port);
      const sub = clients.realtime(proxy, format, { disconnectedRetryTimeout: 500 });
      const filtered = sub.channels.getDerived(name, { filter: 'name == `"answer"` || headers.kind == `"answer"`' });
      const rec = record(filtered);
      await within(rec.subscribed, 10000, 'filtered subscribe');
      const pub = clients.realtime(server, format, { clientId: 'annotator' });
      const channel = pub.channels.get(name, { modes: MODES });
      const { serials: [answer] } = await within(channel.publish({ name: 'answer', data: 'a' }), 10000, 'publish');
      const { serials: [other] } = await within(channel.publish({ name: 'other', data: 'b' }), 10000, 'publish');
      const { serials: [byHeader] } = await within(channel.publish({ name: 'x', data: 'c', extras: { headers: { kind: 'answer' } } }), 10000, 'publish');
      const annotate = async (serial) => within(channel.annotations.publish(serial, { type: 'like:total.v1' }), 10000, 'annotate');
      for (const serial of [answer, other, byHeader, answer, other]) await annotate(serial);
      await waitFor(() => totalOf(summaries(rec, answer).at(-1)) === 2 && totalOf(summaries(rec, byHeader).at(-1)) === 1, 10000, 'the matching summaries');

      proxy.block(true);
      proxy.killAll();
      await connectionState(sub, 'disconnected', 10000);
      for (const serial of [other, answer, byHeader]) await annotate(serial);
      proxy.block(false);
      await connectionState(sub, 'connected', 20000);
      // A last matching message and summary: everything before them has arrived once they have.
      const { serials: [last] } = await within(channel.publish({ name: 'answer', data: 'd' }), 10000, 'publish');
      await annotate(last);
      await waitFor(() => summaries(rec, last).length === 1, 10000, 'the last summary');

      assert.deepEqual(summaries(rec, answer).map(totalOf), [1, 2, 3], 'each summary of the matching message once, in order');
      assert.deepEqual(summaries(rec, byHeader).map(totalOf), [1, 2], 'matched by a header');
      assert.equal(summaries(rec, other).length, 0, 'no summary of a message the filter does not match');
      assert.deepEqual(rec.messages.filter((m) => m.action === 'message.create').map((m) => m.serial), [answer, byHeader, last]);
    });

    test('two nodes on Redis: a subscriber on one node never sees a summary before its message while the other publishes and annotates a stream', async () => {
      const name = `mutable:${uniqueName('annot-order')}`;
      const sub = clients.realtime(nodes[1], format);
      const rec = record(sub.channels.get(name));
      await within(rec.subscribed, 10000, 'subscribe');
      const pub = clients.realtime(nodes[0], format, { clientId: 'streamer' });
      const channel = pub.channels.get(name, { modes: MODES });
      await within(channel.attach(), 10000, 'attach');
      const count = 60;
      const pending = [];
      for (let i = 0; i < count; i++) {
        // Annotate as soon as the publish is acknowledged, before the subscriber's node has necessarily delivered it.
        const { serials: [serial] } = await within(channel.publish({ name: 'token', data: `t${i}` }), 10000, 'publish');
        pending.push(channel.annotations.publish(serial, { type: 'like:total.v1' }));
      }
      await within(Promise.all(pending), 15000, 'annotations');
      await waitFor(() => rec.messages.filter((m) => m.action === 'message.summary').length === count, 15000, 'every summary',
        () => `${rec.messages.filter((m) => m.action === 'message.summary').length}`);
      const seen = new Set();
      for (const m of rec.messages) {
        if (m.action === 'message.create') seen.add(m.serial);
        else assert.ok(seen.has(m.serial), `a summary for ${m.serial} arrived before its message`);
      }
      assert.equal(seen.size, count);
    });
  });
}
