// A rolling restart of a three-node cluster on Redis under a live stream, with the real ably SDK.
// Every client connects through a load balancer (helpers.mjs startBalancer: round robin, the next node when one refuses
// the connection; no health checks). Each node in turn gets SIGTERM, exits, and is started again on its port while a
// publisher streams. A stopping node stops accepting, sends each of its clients DISCONNECTED 80003 and a close frame,
// and exits: the clients reconnect at once through the balancer to another node and resume there.
//
// The clients are given a disconnectedRetryTimeout of ten minutes: a client that did not reconnect at once (a
// refused reconnection, a reset instead of DISCONNECTED) would wait that long, and the test would fail on its bounds.
// So "they moved without a long gap" is proven by the stream completing, not by a clock.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from './server.mjs';
import { startRedis } from './redis.mjs';
import { FORMATS, Clients, checkSerialsAndIds, connectionState, errText, record, startBalancer, uniqueName, waitFor, within, sleep } from './helpers.mjs';

const NAMES = ['a', 'b', 'c'];
const SUBSCRIBERS = 6;
const NO_QUICK_RETRY = { disconnectedRetryTimeout: 600_000, suspendedRetryTimeout: 600_000 };

const clients = new Clients('rolling-restart');
const keyPrefix = `rolling-${process.pid}-${Date.now().toString(36)}:`;
let redis;
let redisDir;
let balancer;
const nodes = [];

function startNode(name, port) {
  return startServer({
    logName: `rolling-${name}`,
    port,
    args: ['--redis', `127.0.0.1:${redis.port}`, `--TokenWire:RedisKeyPrefix=${keyPrefix}`, `--TokenWire:ServerId=rolling-${name}`],
  });
}

before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-rolling-redis-'));
  redis = await startRedis({ port: await freePort(), dir: redisDir });
  nodes.push(...(await Promise.all(NAMES.map((name) => startNode(name)))));
  balancer = await startBalancer(nodes.map((n) => n.port));
});
after(async () => {
  await clients.closeAll();
  if (balancer) await balancer.close();
  await Promise.all(nodes.map((n) => n.stop()));
  if (redis) await redis.stop();
  fs.rmSync(redisDir, { recursive: true, force: true });
});

/** Every connection state change of `client`, with its reason. */
function trackStates(client) {
  const changes = [];
  client.connection.on((change) => changes.push({ from: change.previous, to: change.current, code: change.reason?.code, statusCode: change.reason?.statusCode }));
  return changes;
}

const serverIdOf = (client) => client.connection.connectionManager?.connectionDetails?.serverId;

describe('rolling restart of a three-node cluster', () => {
  test('each node in turn gets SIGTERM and comes back while a stream runs: every subscriber gets every message once, in order, and every client moves at once', async (t) => {
    const name = uniqueName('rolling');
    const publisher = clients.realtime(balancer, FORMATS[0], { clientId: 'publisher', ...NO_QUICK_RETRY });
    const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => clients.realtime(balancer, FORMATS[i % FORMATS.length], NO_QUICK_RETRY));
    const everyone = [publisher, ...subscribers];
    const states = everyone.map(trackStates);
    const recordings = subscribers.map((s) => record(s.channels.get(name)));
    await within(Promise.all(recordings.map((r) => r.subscribed)), 15000, 'subscribers attach');
    await Promise.all(everyone.map((c) => connectionState(c, 'connected')));
    const ids = everyone.map((c) => c.connection.id);
    const reattaches = subscribers.map((s) => {
      const resumed = [];
      s.channels.get(name).on('attached', (change) => resumed.push(change.resumed));
      return resumed;
    });
    t.diagnostic(`clients on ${everyone.map(serverIdOf).join(', ')}`);

    // The stream: numbered tokens, one every few ms, not awaited one by one, until the restarts are over.
    const channel = publisher.channels.get(name);
    const publishes = [];
    let acked = 0;
    let streaming = true;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        const p = channel.publish('token', { i });
        p.then(() => acked++, () => {});
        publishes.push(p);
        await sleep(5);
      }
    })();
    const streamFor = async (tokens, label) => {
      const target = acked + tokens;
      await waitFor(() => acked >= target, 60000, label, () => `${acked} acknowledged of ${publishes.length}`);
    };

    await streamFor(50, 'the stream is under way');
    for (const [index, node] of nodes.entries()) {
      // Every client settled after the previous move: a restart meets connected clients only.
      await Promise.all(everyone.map((c) => connectionState(c, 'connected', 30000)));
      const on = everyone.filter((c) => serverIdOf(c) === `rolling-${NAMES[index]}`).length;
      node.process.kill('SIGTERM');
      const exit = await within(node.exited, 30000, `node ${NAMES[index]} exits after SIGTERM`);
      assert.deepEqual(exit, { code: 0, signal: null }, `node ${NAMES[index]} stopped cleanly`);
      t.diagnostic(`node ${NAMES[index]} stopped with ${on} clients; ${acked} tokens acknowledged`);
      nodes[index] = await startNode(NAMES[index], node.port);
      await streamFor(50, `the stream goes on after node ${NAMES[index]} restarted`);
    }
    streaming = false;
    await stream;
    const total = publishes.length;
    await within(channel.publish('stop', {}), 30000, 'stop is acknowledged');
    const results = await within(Promise.allSettled(publishes), 30000, 'every publish settles');
    const rejected = results.filter((r) => r.status === 'rejected');
    assert.deepEqual(rejected.map((r) => errText(r.reason)), [], 'every publish was acknowledged');
    for (const [i, r] of recordings.entries()) {
      await waitFor(() => r.messages.some((m) => m.name === 'stop'), 30000, `subscriber ${i} receives stop`, () => `${r.messages.length} received`);
    }

    const expected = Array.from({ length: total }, (_, i) => i);
    for (const [i, r] of recordings.entries()) {
      const tokens = r.messages.filter((m) => m.name === 'token').map((m) => m.data.i);
      assert.deepEqual(tokens, expected, `subscriber ${i} (${subscribers[i].options.useBinaryProtocol ? 'msgpack' : 'json'}): every token once, in order`);
      checkSerialsAndIds(assert, r.messages);
      assert.ok(reattaches[i].every((resumed) => resumed === true), `subscriber ${i} re-attached RESUMED every time: ${JSON.stringify(reattaches[i])}`);
    }
    for (const [i, client] of everyone.entries()) {
      const who = i === 0 ? 'the publisher' : `subscriber ${i - 1}`;
      const changes = states[i];
      assert.equal(client.connection.id, ids[i], `${who} resumed its connection every time (${errText(client.connection.errorReason)})`);
      const disconnects = changes.filter((c) => c.to === 'disconnected');
      assert.ok(disconnects.length >= 1, `${who} was moved by a restart: ${JSON.stringify(changes)}`);
      assert.ok(
        disconnects.every((c) => c.from === 'connected' && c.code === 80003 && c.statusCode === 503),
        `${who} was only ever told to move (DISCONNECTED 80003/503), never dropped or refused: ${JSON.stringify(changes)}`,
      );
      assert.ok(!changes.some((c) => c.to === 'suspended' || c.to === 'failed'), `${who}: ${JSON.stringify(changes)}`);
    }
    for (const [index, node] of nodes.entries()) {
      t.diagnostic(`node ${NAMES[index]}: ${balancer.accepted(node.port)} connections accepted, ${balancer.refused(node.port)} refused`);
    }
  });
});
