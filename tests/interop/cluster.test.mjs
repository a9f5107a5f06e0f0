// Scale-out on Redis: three TokenWire processes on 127.0.0.1 sharing one real redis-server.
// - clients on different nodes get the same messages in the same order, with concurrent publishers on every node;
// - history({ untilAttach }) read on another node than the one attached to is exact at the seam;
// - a node killed with SIGKILL mid-stream: its clients move (TCP proxy = load balancer) to another node, resume
//   with the same connectionId and get the exact stream; their unacknowledged publishes are retransmitted there and
//   deduplicated.
// Redis restarts and partitions under a pipelined publisher are in redis-outage.test.mjs.
// This file starts its own redis-server (AOF with appendfsync always, so a restart keeps what was acknowledged) on a
// free port (redis.mjs) and stops it at the end; ./test.sh installs redis-server when it is missing.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from './server.mjs';
import { startRedis } from './redis.mjs';
import {
  FORMATS,
  Clients,
  connectionState,
  record,
  streamResponse,
  settleAll,
  checkSeedSequence,
  checkSerialsAndIds,
  allPages,
  startProxy,
  uniqueName,
  randomInt,
  waitFor,
  within,
  sleep,
  barrier,
  errText,
} from './helpers.mjs';

const clients = new Clients('cluster');
const keyPrefix = `cluster-${process.pid}-${Date.now().toString(36)}:`;
let redis;
let nodes = [];
let proxy;

function startNode(name) {
  return startServer({ logName: `cluster-${name}`, args: ['--redis', `127.0.0.1:${redis.port}`, `--TokenWire:RedisKeyPrefix=${keyPrefix}`] });
}

let redisDir;
before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-cluster-redis-'));
  redis = await startRedis({ port: await freePort(), dir: redisDir });
  nodes = await Promise.all(['a', 'b', 'c'].map((n) => startNode(n)));
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
  await Promise.all(nodes.map((n) => n.stop()));
  if (redis) await redis.stop();
  fs.rmSync(redisDir, { recursive: true, force: true });
});

const tokensOf = (msgs) => msgs.filter((m) => m.name === 'token').map((m) => m.data && m.data.token);

// ---------------------------------------------------------------------------------------------
for (const format of FORMATS) {
  describe(`cluster of three nodes on one redis-server [${format.name}]`, () => {
    test('subscribers on every node get the same messages in the same order from concurrent publishers on every node', async () => {
      const name = uniqueName('cluster-order');
      const subscribers = nodes.map((node) => clients.realtime(node, format));
      const publishers = nodes.map((node, i) => clients.realtime(node, format, { clientId: `publisher-${i}` }));
      const recordings = subscribers.map((s) => record(s.channels.get(name)));
      await within(Promise.all(recordings.map((r) => r.subscribed)), 10000, 'subscribers attach');

      const PER_PUBLISHER = 150;
      const sent = publishers.map((publisher, p) => {
        const channel = publisher.channels.get(name);
        return Array.from({ length: PER_PUBLISHER }, (_, i) => {
          const promise = channel.publish('m', { p, i });
          promise.catch(() => {});
          return promise;
        });
      });
      await Promise.all(sent.map((promises, p) => settleAll(promises, 30000, `publisher ${p}`)));
      const total = PER_PUBLISHER * publishers.length;
      for (const [i, r] of recordings.entries()) {
        await waitFor(() => r.messages.length >= total, 30000, `node ${i} subscriber receives ${total}`, () => `${r.messages.length}`);
      }
      // A channel has one order on every node (checked below), so a duplicate or extra message reaches each
      // subscriber before a sentinel published after every publish was acknowledged.
      await barrier(publishers[0].channels.get(name), recordings.map((r) => r.messages), { label: 'after every publish' });

      const ids = recordings.map((r) => r.messages.map((m) => m.id));
      assert.equal(ids[0].length, total, 'no duplicates or extra messages');
      assert.deepEqual(ids[1], ids[0], 'node b delivers the order node a delivers');
      assert.deepEqual(ids[2], ids[0], 'node c delivers the order node a delivers');
      for (const r of recordings) checkSerialsAndIds(assert, r.messages);
      for (let p = 0; p < publishers.length; p++) {
        const mine = recordings[0].messages.filter((m) => m.clientId === `publisher-${p}`).map((m) => m.data.i);
        assert.deepEqual(mine, Array.from({ length: PER_PUBLISHER }, (_, i) => i), `publisher ${p}'s messages in its publish order`);
      }
    });

    test('history untilAttach read on another node than the one attached to is exact at the seam', async () => {
      const pub = clients.realtime(nodes[0], format, { clientId: 'ai-agent' });
      const sub = clients.realtime(nodes[1], format);
      const rest = clients.rest(nodes[2], format);
      await connectionState(pub, 'connected');
      await connectionState(sub, 'connected');
      for (let iteration = 0; iteration < 5; iteration++) {
        const name = uniqueName(`cluster-seam-${iteration}`);
        const TOKENS = 150;
        const attachAfter = randomInt(5, TOKENS - 20);
        let issued = 0;
        const stream = streamResponse(pub.channels.get(name), {
          count: TOKENS,
          onToken: (i) => {
            issued = i + 1;
          },
          pace: () => sleep(1),
        });
        await waitFor(() => issued >= attachAfter, 15000, 'publishing under way');

        // Attach on node b (buffering live messages), then read history up to the attach point on node c.
        const channel = sub.channels.get(name);
        const live = record(channel);
        await within(live.subscribed, 10000, 'attach');
        const attachSerial = channel.properties.attachSerial;
        assert.ok(attachSerial, 'ATTACHED carries a channelSerial');
        const { items } = await allPages(rest.channels.get(name).history({ from_serial: attachSerial, limit: randomInt(7, 40) }), {
          label: 'history on node c',
        });
        await stream.issued;
        await settleAll(stream.promises, 30000, 'publishes');
        // On a busy box the attach can land after the whole stream was appended: then 'stop' is history, not live.
        const stopInHistory = items.some((m) => m.name === 'stop');
        await waitFor(() => stopInHistory || live.messages.some((m) => m.name === 'stop'), 15000, 'stop received (live or in history)', () =>
          `iteration ${iteration}: ${live.messages.length} live, last ${JSON.stringify(live.messages.at(-1)?.name)} ${live.messages.at(-1)?.serial}; attachSerial ${attachSerial}; connection ${sub.connection.state}, channel ${channel.state}`);

        const history = items.reverse();
        assert.ok(history.every((m) => m.serial <= attachSerial), 'history is at or before the attach point');
        assert.ok(live.messages.every((m) => m.serial > attachSerial), 'live is after the attach point');
        const all = [...history, ...live.messages];
        checkSeedSequence(assert, all, stream, { clientId: 'ai-agent' });
        live.stop();
      }
    });

    test('a node killed with SIGKILL mid-stream: its clients resume on another node with the same connection id and the exact stream', async () => {
      const victim = await startNode(`victim-${format.name}`);
      try {
        proxy = await startProxy(victim.port);
        const sub = clients.realtime(proxy, format);
        const pub = clients.realtime(proxy, format, { clientId: 'ai-agent' });
        const observer = clients.realtime(nodes[2], format);
        await connectionState(sub, 'connected');
        await connectionState(pub, 'connected');
        const ids = { sub: sub.connection.id, pub: pub.connection.id };
        const name = uniqueName('cluster-kill');
        const rec = record(sub.channels.get(name));
        const watched = record(observer.channels.get(name));
        await within(Promise.all([rec.subscribed, watched.subscribed]), 10000, 'attach');
        const attached = [];
        sub.channels.get(name).on('attached', (change) => attached.push(change));

        const killAt = randomInt(80, 200);
        const stream = streamResponse(pub.channels.get(name), { count: 400, pace: () => sleep(2) });
        await waitFor(() => tokensOf(rec.messages).length >= killAt, 20000, `subscriber receives ${killAt} tokens`);

        // The node dies; the load balancer sends new connections to node a.
        proxy.setTarget(nodes[0].port);
        victim.process.kill('SIGKILL');
        proxy.killAll();

        await stream.issued;
        await settleAll(stream.promises, 60000, 'every publish is acknowledged (retransmitted ones deduplicated)');
        await waitFor(() => rec.messages.some((m) => m.name === 'stop'), 30000, 'subscriber receives stop', () => `${rec.messages.length} received`);
        await waitFor(() => watched.messages.some((m) => m.name === 'stop'), 30000, 'observer receives stop');
        await barrier(pub.channels.get(name), [rec.messages, watched.messages], { label: 'after stop' });

        assert.equal(sub.connection.id, ids.sub, `subscriber resumed with its connection id (errorReason ${errText(sub.connection.errorReason)})`);
        assert.equal(pub.connection.id, ids.pub, `publisher resumed with its connection id (errorReason ${errText(pub.connection.errorReason)})`);
        assert.ok(attached.length >= 1 && attached.every((c) => c.resumed === true), `re-attach on node a is RESUMED: ${JSON.stringify(attached.map((c) => c.resumed))}`);
        checkSeedSequence(assert, rec.messages, stream, { clientId: 'ai-agent', connectionId: ids.pub });
        checkSeedSequence(assert, watched.messages, stream, { clientId: 'ai-agent', connectionId: ids.pub });
      } finally {
        await victim.stop();
      }
    });
  });
}
