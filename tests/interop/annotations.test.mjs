// Message annotations with the real SDK, in both formats: realtime and REST publish and delete, raw annotations to
// annotation_subscribe attachments only, message.summary to every subscriber for each summary type (total.v1,
// flag.v1, distinct.v1, unique.v1, multiple.v1), REST annotations.get paging, getMessage carrying the summary,
// refusals (capability 40160, non-mutable channel 93002, bad type 40003, unknown message 40400) with the connection
// up, and two nodes on one redis-server annotating one message at once into one summary.
// The dev app's `mutable` namespace has mutableMessages enabled.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from './server.mjs';
import { startRedis } from './redis.mjs';
import { FORMATS, Clients, record, uniqueName, waitFor, within, allPages } from './helpers.mjs';

const clients = new Clients('annotations');
const keyPrefix = `annotations-${process.pid}-${Date.now().toString(36)}:`;
let server;
let redis;
let redisDir;
let nodes = [];

before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-annotations-redis-'));
  redis = await startRedis({ port: await freePort(), dir: redisDir });
  const redisArgs = ['--redis', `127.0.0.1:${redis.port}`, `--TokenWire:RedisKeyPrefix=${keyPrefix}`];
  [server, ...nodes] = await Promise.all([
    startServer({ logName: 'annotations' }),
    startServer({ logName: 'annotations-node-a', args: redisArgs }),
    startServer({ logName: 'annotations-node-b', args: redisArgs }),
  ]);
});
afterEach(async () => {
  await clients.closeAll();
});
after(async () => {
  await clients.closeAll();
  await Promise.all([server, ...nodes].filter(Boolean).map((s) => s.stop()));
  if (redis) await redis.stop();
  if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
});

const ALL_MODES = ['publish', 'subscribe', 'annotation_publish', 'annotation_subscribe'];

async function rejection(promise) {
  try {
    await within(promise, 10000, 'operation');
  } catch (err) {
    return err;
  }
  assert.fail('expected the operation to be refused');
}

/** Publishes one message and returns its serial once the subscriber `rec` has it. */
async function publishMessage(channel, rec) {
  const { serials } = await within(channel.publish({ name: 'answer', data: 'hello' }), 10000, 'publish');
  await waitFor(() => rec.messages.some((m) => m.serial === serials[0]), 10000, 'the message');
  return serials[0];
}

const summaryOf = (rec, serial) => rec.messages.filter((m) => m.action === 'message.summary' && m.serial === serial).at(-1)?.annotations?.summary;

for (const format of FORMATS) {
  describe(`annotations [${format.name}]`, () => {
    test('realtime publish and delete: raw annotations to annotation_subscribe only, the right summary to every subscriber for each type', async () => {
      const name = `mutable:${uniqueName('annot')}`;
      const alice = clients.realtime(server, format, { clientId: 'alice' });
      const bob = clients.realtime(server, format, { clientId: 'bob' });
      const anonymous = clients.realtime(server, format);
      const watcher = clients.realtime(server, format);
      const aliceChannel = alice.channels.get(name, { modes: ALL_MODES });
      const bobChannel = bob.channels.get(name);
      const anonChannel = anonymous.channels.get(name);
      const watcherChannel = watcher.channels.get(name, { modes: ['subscribe', 'annotation_subscribe'] });
      const raw = [];
      await within(watcherChannel.annotations.subscribe((a) => raw.push(a)), 10000, 'annotation subscribe');
      const onlyAnnotations = clients.realtime(server, format);
      const onlyChannel = onlyAnnotations.channels.get(name, { modes: ['annotation_subscribe'] });
      const onlyRaw = [];
      await within(onlyChannel.attach(), 10000, 'annotation-only attach');
      onlyChannel.annotations.subscribe((a) => onlyRaw.push(a));
      const rec = record(watcherChannel);
      const bobRec = record(bobChannel);
      await within(Promise.all([rec.subscribed, bobRec.subscribed, aliceChannel.attach(), anonChannel.attach()]), 10000, 'attach');
      assert.ok(watcherChannel.modes.includes('annotation_subscribe'), `granted modes ${watcherChannel.modes}`);
      assert.ok(!bobChannel.modes.includes('annotation_subscribe'), 'not granted unless requested');

      const serial = await publishMessage(aliceChannel, rec);
      const publish = (channel, annotation) => within(channel.annotations.publish(serial, annotation), 10000, `annotate ${annotation.type}`);
      await publish(aliceChannel, { type: 'like:total.v1' });
      await publish(bobChannel, { type: 'like:total.v1' });
      await publish(anonChannel, { type: 'like:total.v1' });
      await publish(aliceChannel, { type: 'spam:flag.v1' });
      await publish(bobChannel, { type: 'spam:flag.v1' });
      await publish(bobChannel, { type: 'spam:flag.v1' }); // a repeated flag counts once
      await publish(aliceChannel, { type: 'reaction:distinct.v1', name: '👍' });
      await publish(aliceChannel, { type: 'reaction:distinct.v1', name: '🎉' });
      await publish(bobChannel, { type: 'reaction:distinct.v1', name: '👍' });
      await publish(aliceChannel, { type: 'vote:unique.v1', name: 'yes' });
      await publish(bobChannel, { type: 'vote:unique.v1', name: 'yes' });
      await publish(aliceChannel, { type: 'vote:unique.v1', name: 'no' }); // alice moves from yes to no
      await publish(aliceChannel, { type: 'stars:multiple.v1', name: 'gold', count: 3 });
      await publish(bobChannel, { type: 'stars:multiple.v1', name: 'gold' });
      await publish(anonChannel, { type: 'stars:multiple.v1', name: 'gold', count: 2 });
      await within(aliceChannel.annotations.delete(serial, { type: 'reaction:distinct.v1', name: '🎉' }), 10000, 'delete');
      await within(bobChannel.annotations.delete(serial, { type: 'like:total.v1' }), 10000, 'delete total');

      const expected = {
        'like:total.v1': { total: 2 },
        'spam:flag.v1': { total: 2, clientIds: ['alice', 'bob'], clipped: false },
        'reaction:distinct.v1': { '👍': { total: 2, clientIds: ['alice', 'bob'], clipped: false } },
        'vote:unique.v1': {
          yes: { total: 1, clientIds: ['bob'], clipped: false },
          no: { total: 1, clientIds: ['alice'], clipped: false },
        },
        'stars:multiple.v1': { gold: { total: 6, clientIds: { alice: 3, bob: 1 }, totalUnidentified: 2, clipped: false, totalClientIds: 2 } },
      };
      for (const r of [rec, bobRec]) {
        await waitFor(() => r.messages.filter((m) => m.action === 'message.summary').length >= 17, 10000, 'every summary');
        await waitFor(() => JSON.stringify(summaryOf(r, serial)) === JSON.stringify(expected), 10000, 'the final summary', () => JSON.stringify(summaryOf(r, serial)));
      }

      await waitFor(() => raw.length === 17, 10000, 'every raw annotation', () => `${raw.length}`);
      await waitFor(() => onlyRaw.length === 17, 10000, 'every raw annotation without subscribe mode', () => `${onlyRaw.length}`);
      const first = raw[0];
      assert.equal(first.action, 'annotation.create');
      assert.equal(first.messageSerial, serial);
      assert.equal(first.type, 'like:total.v1');
      assert.equal(first.clientId, 'alice');
      assert.ok(first.serial > serial, 'an annotation serial sorts after its message');
      assert.ok(typeof first.id === 'string' && first.timestamp > 0, 'id and timestamp set');
      assert.deepEqual(raw.map((a) => a.serial), [...raw.map((a) => a.serial)].sort(), 'serials increase');
      assert.equal(raw.at(-1).action, 'annotation.delete');
      assert.equal(raw.find((a) => a.type === 'stars:multiple.v1').count, 3);
      assert.equal(alice.connection.state, 'connected');

      const got = await within(watcherChannel.getMessage(serial), 10000, 'getMessage');
      assert.deepEqual(got.annotations.summary, expected, 'getMessage carries the summary');
      const history = await within(watcherChannel.history(), 10000, 'history');
      assert.deepEqual(history.items.find((m) => m.serial === serial).annotations.summary, expected, 'history carries the summary');
    });

    test('REST publish and delete, annotations.get in order with paging, data and extras kept', async () => {
      const name = `mutable:${uniqueName('annot-rest')}`;
      const rest = clients.rest(server, format, { clientId: 'carol' });
      const sub = clients.realtime(server, format);
      const channel = sub.channels.get(name, { modes: ['subscribe', 'annotation_subscribe'] });
      const raw = [];
      await within(channel.annotations.subscribe((a) => raw.push(a)), 10000, 'annotation subscribe');
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'subscribe');
      const restChannel = rest.channels.get(name);
      const serial = await publishMessage(restChannel, rec);
      const emojis = ['👍', '😕', '👎', '👍👍', '😕😕'];
      for (const emoji of emojis) {
        await within(restChannel.annotations.publish(serial, { type: 'reaction:distinct.v1', name: emoji, data: { why: emoji }, extras: { headers: { k: 'v' } } }), 10000, 'rest annotate');
      }
      await within(restChannel.annotations.delete(serial, { type: 'reaction:distinct.v1', name: '😕' }), 10000, 'rest delete');
      await waitFor(() => raw.length === 6, 10000, 'raw annotations from REST', () => `${raw.length}`);
      assert.deepEqual(raw[0].data, { why: '👍' });
      assert.deepEqual(raw[0].extras, { headers: { k: 'v' } });
      assert.equal(raw[0].clientId, 'carol');
      await waitFor(() => Object.keys(summaryOf(rec, serial)?.['reaction:distinct.v1'] ?? {}).length === 4, 10000, 'summary without 😕');

      const page = await within(restChannel.annotations.get(serial, { limit: 2 }), 10000, 'get');
      assert.deepEqual(page.items.map((a) => a.name), ['👍', '😕']);
      assert.ok(page.hasNext());
      const { items } = await allPages(restChannel.annotations.get(serial, { limit: 2 }), { label: 'annotations' });
      assert.deepEqual(items.map((a) => a.name), [...emojis, '😕']);
      assert.deepEqual(items.map((a) => a.action), ['annotation.create', 'annotation.create', 'annotation.create', 'annotation.create', 'annotation.create', 'annotation.delete']);
      assert.deepEqual(items.map((a) => a.serial), [...items.map((a) => a.serial)].sort());
      assert.deepEqual(items[1].data, { why: '😕' });
    });

    test('refusals: no annotation-publish capability (40160), not mutable (93002), bad type (40003), unknown message (40400), no clientId for flag.v1; the connection stays up', async () => {
      const name = `mutable:${uniqueName('annot-refused')}`;
      const rest = clients.rest(server, format);
      const tokenDetails = await rest.auth.requestToken({ clientId: 'dave', capability: JSON.stringify({ [name]: ['publish', 'subscribe'] }) });
      const limited = clients.realtime(server, format, { key: undefined, tokenDetails });
      const limitedChannel = limited.channels.get(name, { modes: ALL_MODES });
      await within(limitedChannel.attach(), 10000, 'attach');
      assert.ok(!limitedChannel.modes.includes('annotation_subscribe'), 'annotation_subscribe needs the capability');
      const { serials: [serial] } = await limitedChannel.publish({ name: 'm', data: 'x' });
      let err = await rejection(limitedChannel.annotations.publish(serial, { type: 'reaction:distinct.v1', name: 'x' }));
      assert.equal(err.code, 40160);

      const root = clients.realtime(server, format, { clientId: 'erin' });
      const channel = root.channels.get(name);
      await within(channel.attach(), 10000, 'attach');
      err = await rejection(channel.annotations.publish(serial, { type: 'reaction:bogus.v1', name: 'x' }));
      assert.equal(err.code, 40003);
      err = await rejection(channel.annotations.publish(serial, { type: 'reaction', name: 'x' }));
      assert.equal(err.code, 40003);
      err = await rejection(channel.annotations.publish(serial.replace(/\d$/, (d) => String((Number(d) + 5) % 10)) + '9', { type: 'reaction:distinct.v1', name: 'x' }));
      assert.equal(err.code, 40400);
      const anonymous = clients.realtime(server, format);
      const anonChannel = anonymous.channels.get(name);
      err = await rejection(anonChannel.annotations.publish(serial, { type: 'spam:flag.v1' }));
      assert.equal(err.code, 40003);

      const plainName = uniqueName('not-mutable');
      const plain = root.channels.get(plainName);
      const { serials: [plainSerial] } = await plain.publish({ name: 'm', data: 'x' });
      err = await rejection(plain.annotations.publish(plainSerial, { type: 'reaction:distinct.v1', name: 'x' }));
      assert.equal(err.code, 93002);
      err = await rejection(rest.channels.get(plainName).annotations.publish(plainSerial, { type: 'reaction:distinct.v1', name: 'x' }));
      assert.equal(err.code, 93002);

      await within(channel.annotations.publish(serial, { type: 'reaction:distinct.v1', name: 'ok' }), 10000, 'a valid one after the refusals');
      assert.equal(root.connection.state, 'connected');
      assert.equal(limited.connection.state, 'connected');
      assert.equal(anonymous.connection.state, 'connected');
    });

    test('cluster: two nodes on one redis-server annotating one message at once make one summary, delivered on both', async () => {
      const name = `mutable:${uniqueName('annot-cluster')}`;
      const subs = nodes.map((n) => clients.realtime(n, format));
      const recs = subs.map((s) => record(s.channels.get(name)));
      await within(Promise.all(recs.map((r) => r.subscribed)), 10000, 'subscribers');
      const publisher = clients.realtime(nodes[0], format, { clientId: 'owner' });
      const serial = await publishMessage(publisher.channels.get(name), recs[0]);
      await waitFor(() => recs[1].messages.some((m) => m.serial === serial), 10000, 'message on node b');

      const perNode = 10;
      const annotators = nodes.flatMap((n, i) => Array.from({ length: perNode }, (_, j) => clients.realtime(n, format, { clientId: `c${i}-${j}` })));
      await within(
        Promise.all(annotators.map((a, k) => Promise.all([
          a.channels.get(name).annotations.publish(serial, { type: 'reaction:distinct.v1', name: k % 2 ? 'up' : 'down' }),
          a.channels.get(name).annotations.publish(serial, { type: 'seen:total.v1' }),
          a.channels.get(name).annotations.publish(serial, { type: 'score:multiple.v1', name: 'pts', count: 2 }),
        ]))),
        30000,
        'concurrent annotations on both nodes',
      );
      const total = nodes.length * perNode;
      const done = (r) => {
        const s = summaryOf(r, serial);
        return s?.['seen:total.v1']?.total === total && s['score:multiple.v1'].pts.total === total * 2
          && s['reaction:distinct.v1'].up.total + s['reaction:distinct.v1'].down.total === total;
      };
      for (const r of recs) {
        await waitFor(() => done(r), 15000, 'the full summary on each node', () => JSON.stringify(summaryOf(r, serial)));
      }
      const rest = clients.rest(nodes[1], format);
      const { items } = await allPages(rest.channels.get(name).annotations.get(serial, { limit: 25 }), { label: 'annotations' });
      assert.equal(items.length, total * 3, 'every annotation stored once');
      assert.equal(new Set(items.map((a) => a.serial)).size, total * 3, 'distinct serials');
    });
  });
}
