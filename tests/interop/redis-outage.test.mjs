// Redis outages under a pipelined publisher, with the real `ably` SDK against two TokenWire nodes on one real
// redis-server (AOF, appendfsync always). Each node reaches Redis through its own TCP proxy, so a test can cut one node
// off while the other carries on. What every test asserts, per subscriber: every token exactly once, in publish order,
// and no publish refused — an outage is a delay, or a resume the SDK does by itself, never an error for the app.
// - node a waits up to 10 s for Redis (TokenWire:EngineOutageWait): a Redis restart that has to load its AOF, and a
//   3 s partition of node a, are only delays: its publisher stays connected;
// - node b waits the default 5 s: a 9 s partition outlasts it, so b's publisher is sent DISCONNECTED, resumes when b is
//   back and retransmits what was unacknowledged, which the log deduplicates (same connectionId:msgSerial ids).
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from './server.mjs';
import { startRedis } from './redis.mjs';
import { FORMATS, Clients, connectionState, record, allPages, startProxy, uniqueName, waitFor, within, sleep, errText } from './helpers.mjs';

const clients = new Clients('redis-outage');
const keyPrefix = `outage-${process.pid}-${Date.now().toString(36)}:`;
let redis;
let redisDir;
const proxies = {};
const nodes = {};

function startNode(name, redisPort, outageWait) {
  return startServer({
    logName: `redis-outage-${name}`,
    args: ['--redis', `127.0.0.1:${redisPort}`, `--TokenWire:RedisKeyPrefix=${keyPrefix}`, `--TokenWire:EngineOutageWait=${outageWait}`],
  });
}

before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-outage-redis-'));
  redis = await startRedis({ port: await freePort(), dir: redisDir });
  // Before the nodes start: filling blocks Redis for a while (every MSET is fsynced).
  await fillRedis(redis.port, 400_000);
  proxies.a = await startProxy(redis.port);
  proxies.b = await startProxy(redis.port);
  [nodes.a, nodes.b] = await Promise.all([startNode('a', proxies.a.port, '00:00:10'), startNode('b', proxies.b.port, '00:00:05')]);
});
afterEach(async () => {
  await clients.closeAll();
  for (const proxy of Object.values(proxies)) proxy.block(false);
});
after(async () => {
  await clients.closeAll();
  await Promise.all(Object.values(nodes).map((n) => n.stop()));
  await Promise.all(Object.values(proxies).map((p) => p.close()));
  if (redis) await redis.stop();
  fs.rmSync(redisDir, { recursive: true, force: true });
});

/** Fills Redis with `keys` small keys, so that a restart spends a while loading its AOF (answering LOADING). */
async function fillRedis(port, keys) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const perCommand = 2000;
  const commands = Math.ceil(keys / perCommand);
  let replies = 0;
  const done = new Promise((resolve, reject) => {
    socket.on('data', (d) => {
      replies += d.toString().split('+OK').length - 1;
      if (replies >= commands) resolve();
    });
    socket.once('error', reject);
  });
  for (let c = 0; c < commands; c++) {
    const args = ['MSET'];
    for (let i = 0; i < perCommand; i++) args.push(`${keyPrefix}fill:${c}:${i}`, 'xxxxxxxxxxxxxxxxxxxx');
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  }
  await within(done, 60000, 'redis filled');
  socket.destroy();
}

/** Cuts a node off from Redis (open links reset, new ones refused) for `ms`, then lets it reconnect. */
async function partition(proxy, ms) {
  proxy.block(true);
  proxy.killAll();
  await sleep(ms);
  proxy.block(false);
}

/**
 * Publishes `count` numbered tokens without waiting for ACKs (the pipeline ably-js keeps), one every `paceMs`, while
 * `fault` runs once `faultAt` tokens are issued. Returns each publish's outcome.
 */
async function pipelinedStream(channel, { count, paceMs, faultAt, fault }) {
  const outcomes = [];
  let faulting = null;
  for (let index = 0; index < count; index++) {
    if (index === faultAt) faulting = fault();
    const outcome = { index, acked: false, error: null };
    outcomes.push(outcome);
    channel.publish('token', { index }).then(
      () => (outcome.acked = true),
      (err) => (outcome.error = err),
    );
    await sleep(paceMs);
  }
  await within(faulting, 60000, 'the fault ends');
  await waitFor(() => outcomes.every((o) => o.acked || o.error), 60000, 'every publish settled', () =>
    `${outcomes.filter((o) => !o.acked && !o.error).length} pending`);
  return outcomes;
}

async function assertExactlyOnceInOrder(recordings, count, outcomes) {
  const refused = outcomes.filter((o) => o.error);
  assert.deepEqual(refused.map((o) => `${o.index}: ${errText(o.error)}`), [], 'no publish is refused during the outage');
  const expected = Array.from({ length: count }, (_, i) => i);
  for (const [name, r] of Object.entries(recordings)) {
    await waitFor(() => r.messages.length >= count, 60000, `subscriber on ${name} receives ${count}`, () => `${r.messages.length}`);
    assert.deepEqual(r.messages.map((m) => m.data.index), expected, `subscriber on ${name}: every token once, in order`);
  }
}

async function assertHistoryExactlyOnce(node, format, name, count) {
  const { items } = await allPages(clients.rest(node, format).channels.get(name).history({ direction: 'forwards', limit: 1000 }));
  assert.deepEqual(items.map((m) => m.data.index), Array.from({ length: count }, (_, i) => i), 'history: every token once, in order');
}

/** Records the connection states a client goes through. */
function states(client) {
  const seen = [];
  client.connection.on((change) => seen.push(change.current));
  return seen;
}

async function setUp(format, publisherNode, { publisherOptions = {} } = {}) {
  const publisher = clients.realtime(publisherNode, format, { clientId: 'agent', ...publisherOptions });
  const subscribers = { a: clients.realtime(nodes.a, format), b: clients.realtime(nodes.b, FORMATS[1]) };
  const name = uniqueName('outage');
  const recordings = Object.fromEntries(Object.entries(subscribers).map(([n, s]) => [n, record(s.channels.get(name), (m) => m.name === 'token')]));
  await within(Promise.all(Object.values(recordings).map((r) => r.subscribed)), 15000, 'subscribers attach');
  await connectionState(publisher, 'connected');
  return { publisher, channel: publisher.channels.get(name), name, recordings, publisherStates: states(publisher) };
}

describe('Redis outages under a pipelined publisher', () => {
  test('a Redis restart that loads its AOF is only a delay: nothing refused, lost, doubled or reordered', async (t) => {
    const format = FORMATS[0];
    const { channel, name, recordings, publisherStates } = await setUp(format, nodes.a);

    const count = 400;
    const outcomes = await pipelinedStream(channel, {
      count,
      paceMs: 5,
      faultAt: 100,
      fault: async () => {
        await redis.stop();
        redis = await startRedis({ port: redis.port, dir: redisDir });
      },
    });

    await assertExactlyOnceInOrder(recordings, count, outcomes);
    assert.deepEqual(publisherStates, [], 'the publisher stayed connected (the outage was shorter than the wait)');
    await assertHistoryExactlyOnce(nodes.b, format, name, count);
    t.diagnostic(`${count} tokens, none refused`);
  });

  test('an appendMessage stream through a Redis restart reads back whole and in order, live and from history', async () => {
    const format = FORMATS[1];
    const name = `mutable:${uniqueName('outage-append')}`;
    const agent = clients.realtime(nodes.a, format, { clientId: 'ai-agent' });
    const subscriber = clients.realtime(nodes.b, FORMATS[0]);
    const live = record(subscriber.channels.get(name));
    await within(live.subscribed, 15000, 'subscriber attach');
    const channel = agent.channels.get(name);
    const { serials } = await within(channel.publish({ name: 'response', data: '' }), 15000, 'create');
    const agentStates = states(agent);

    // Appends are pipelined like an LLM's tokens; Redis restarts (loading its AOF) a quarter of the way in.
    const tokens = Array.from({ length: 300 }, (_, i) => `t${i} `);
    const outcomes = [];
    let restarting = null;
    for (const [i, token] of tokens.entries()) {
      if (i === 75) {
        restarting = (async () => {
          await redis.stop();
          redis = await startRedis({ port: redis.port, dir: redisDir });
        })();
      }
      const outcome = { acked: false, error: null };
      outcomes.push(outcome);
      channel.appendMessage({ serial: serials[0], data: token }).then(
        () => (outcome.acked = true),
        (err) => (outcome.error = err),
      );
      await sleep(5);
    }
    await within(restarting, 60000, 'redis restarts');
    await waitFor(() => outcomes.every((o) => o.acked || o.error), 60000, 'every append settled');
    assert.deepEqual(outcomes.filter((o) => o.error).map((o) => errText(o.error)), [], 'no append is refused');
    assert.deepEqual(agentStates, [], 'the agent stayed connected');

    const text = () => live.messages.filter((m) => m.serial === serials[0] && m.action === 'message.append').map((m) => m.data).join('');
    await waitFor(() => text().length >= tokens.join('').length, 60000, 'every token live', () => `${text().length} chars`);
    assert.equal(text(), tokens.join(''), 'live fragments: every token once, in order');
    const { items } = await allPages(clients.rest(nodes.b, format).channels.get(name).history({ limit: 10 }));
    assert.equal(items.length, 1, 'history shows the response once');
    assert.equal(items[0].data, tokens.join(''), 'history: the whole response, in order');
  });

  test('a node cut off from Redis for less than its wait delays its publisher, which stays connected', async () => {
    const format = FORMATS[1];
    const { channel, name, recordings, publisherStates } = await setUp(format, nodes.a);

    const count = 300;
    const outcomes = await pipelinedStream(channel, { count, paceMs: 5, faultAt: 80, fault: () => partition(proxies.a, 3000) });

    await assertExactlyOnceInOrder(recordings, count, outcomes);
    assert.deepEqual(publisherStates, [], 'the publisher stayed connected');
    await assertHistoryExactlyOnce(nodes.b, format, name, count);
  });

  test('a partition longer than the wait disconnects the publisher, which resumes and retransmits exactly once', async () => {
    const format = FORMATS[0];
    // Retry the resume every 500 ms (the SDK's default is 15 s) so the test ends soon after the node is back.
    const { publisher, channel, name, recordings, publisherStates } = await setUp(format, nodes.b, {
      publisherOptions: { disconnectedRetryTimeout: 500 },
    });
    const connectionId = publisher.connection.id;

    const count = 300;
    const outcomes = await pipelinedStream(channel, { count, paceMs: 5, faultAt: 80, fault: () => partition(proxies.b, 9000) });

    await assertExactlyOnceInOrder(recordings, count, outcomes);
    assert.ok(publisherStates.includes('disconnected'), `the publisher was disconnected (states: ${publisherStates.join(', ')})`);
    assert.equal(publisher.connection.id, connectionId, 'and resumed the same connection');
    await assertHistoryExactlyOnce(nodes.a, format, name, count);
  });
});
