// Presence across a cluster on Redis: two TokenWire processes sharing one real redis-server, driven by the ably SDK.
// - a member entered on node a is seen on node b, as events and in presence.get();
// - a node killed with SIGKILL: its members leave for clients on the surviving nodes once its heartbeat has expired
//   (the victim's RedisNodeTtl, short here) and a sweep has run;
// - a client whose node is killed resumes on another node (TCP proxy = load balancer) and its member stays present:
//   the SDK re-enters it there, which takes it over before the dead node's members are swept. The dead node's
//   heartbeat is ended by the test once that has happened, not by its TTL, so a slow resume on a loaded box cannot
//   lose the race.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from './server.mjs';
import { redisCommand, startRedis } from './redis.mjs';
import { FORMATS, Clients, connectionState, errText, startProxy, uniqueName, waitFor, within, sleep } from './helpers.mjs';

// The surviving nodes' TTL: they renew every third of it, so only a stall of two thirds of it could make a live node
// look dead to the other's sweep, which would take a member away mid-test; 10 s is far past any pause on a busy box.
// The sweep runs every half of it. The SIGKILLed victim's own heartbeat is short: its expiry is what is tested.
const NODE_TTL_MS = 10000;
const VICTIM_TTL_MS = 2000;
// The victim's heartbeat expires, then the next sweeps (every NODE_TTL / 2) find its members: a bound to fail on.
const SWEPT_WITHIN_MS = VICTIM_TTL_MS + 3 * NODE_TTL_MS + 5000;
const ttl = (ms) => `00:00:${String(ms / 1000).padStart(2, '0')}`;

const clients = new Clients('cluster-presence');
const keyPrefix = `cluster-presence-${process.pid}-${Date.now().toString(36)}:`;
let redis;
let redisDir;
let nodes = [];
let proxy;

function startNode(name, { nodeTtl = ttl(NODE_TTL_MS) } = {}) {
  return startServer({
    logName: `cluster-presence-${name}`,
    args: ['--redis', `127.0.0.1:${redis.port}`, `--TokenWire:RedisKeyPrefix=${keyPrefix}`, `--TokenWire:RedisNodeTtl=${nodeTtl}`, `--TokenWire:ServerId=${name}`],
  });
}

/** The node instance (its heartbeat key's name) of the node started as `name`: the key's value is its ServerId. */
async function nodeInstanceOf(name) {
  for (const key of await redisCommand(redis.port, 'KEYS', `${keyPrefix}node:*`)) {
    if ((await redisCommand(redis.port, 'GET', key)) === name) return key.slice(`${keyPrefix}node:`.length);
  }
  throw new Error(`no heartbeat for node ${name}`);
}

/** Who owns each presence member of `channel` (app dev): member key ("clientId:connectionId") → "nodeInstance/connectionId". */
async function ownersOf(channel) {
  const flat = await redisCommand(redis.port, 'HGETALL', `${keyPrefix}pres:{dev:${channel}}:o`);
  return Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]));
}

before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-cluster-presence-redis-'));
  redis = await startRedis({ port: await freePort(), dir: redisDir });
  nodes = await Promise.all(['a', 'b'].map((n) => startNode(n)));
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

/** Records presence events on a channel: [{ action, clientId, data, connectionId }]. */
async function recordPresence(channel) {
  const events = [];
  await channel.presence.subscribe((m) => events.push({ action: m.action, clientId: m.clientId, data: m.data, connectionId: m.connectionId }));
  return events;
}

const summary = (events) => events.map((e) => `${e.action}:${e.clientId}:${JSON.stringify(e.data)}`);
const membersOf = async (channel) => (await within(channel.presence.get(), 10000, 'presence.get()')).map((m) => `${m.clientId}=${JSON.stringify(m.data)}`).sort();

for (const format of FORMATS) {
  describe(`presence on a cluster of two nodes [${format.name}]`, () => {
    test('a member entered on node a is seen on node b: events in order and presence.get()', async () => {
      const name = uniqueName('cluster-presence');
      const watcher = clients.realtime(nodes[1], format);
      const watched = await recordPresence(watcher.channels.get(name));
      const alice = clients.realtime(nodes[0], format, { clientId: 'alice' });
      const channel = alice.channels.get(name);
      await channel.presence.enter({ mood: 'curious' });
      await waitFor(() => watched.length >= 1, 10000, 'enter seen on node b', () => JSON.stringify(watched));
      assert.deepEqual(await membersOf(watcher.channels.get(name)), ['alice={"mood":"curious"}']);

      // A client attaching on node b later gets the member through SYNC.
      const late = clients.realtime(nodes[1], format);
      assert.deepEqual(await membersOf(late.channels.get(name)), ['alice={"mood":"curious"}']);

      await channel.presence.update('typing');
      await channel.presence.leave();
      await waitFor(() => watched.length >= 3, 10000, 'three events on node b', () => JSON.stringify(watched));
      assert.deepEqual(summary(watched), ['enter:alice:{"mood":"curious"}', 'update:alice:"typing"', 'leave:alice:"typing"']);
      assert.equal(watched[0].connectionId, alice.connection.id);
      assert.deepEqual(await membersOf(late.channels.get(name)), []);
    });

    test('a node killed with SIGKILL: its members leave for clients on the surviving node', async (t) => {
      const victim = await startNode(`victim-${format.name}`, { nodeTtl: ttl(VICTIM_TTL_MS) });
      try {
        const name = uniqueName('cluster-presence-kill');
        const watcher = clients.realtime(nodes[0], format);
        const watched = await recordPresence(watcher.channels.get(name));
        const stays = clients.realtime(nodes[1], format, { clientId: 'stays' });
        await stays.channels.get(name).presence.enter('on node b');
        const doomed = clients.realtime(victim, format, { clientId: 'doomed' });
        await doomed.channels.get(name).presence.enter('on the victim');
        await waitFor(() => watched.length >= 2, 10000, 'both enters seen', () => JSON.stringify(watched));

        const killedAt = Date.now();
        victim.process.kill('SIGKILL');
        await waitFor(() => watched.some((e) => e.action === 'leave'), SWEPT_WITHIN_MS, 'the dead node\'s member leaves', () => JSON.stringify(watched));
        t.diagnostic(`member of the killed node left after ${Date.now() - killedAt} ms (its TTL ${VICTIM_TTL_MS} ms, sweeps every ${NODE_TTL_MS / 2} ms)`);

        assert.deepEqual(summary(watched), ['enter:stays:"on node b"', 'enter:doomed:"on the victim"', 'leave:doomed:"on the victim"']);
        assert.deepEqual(await membersOf(watcher.channels.get(name)), ['stays="on node b"']);
        const other = clients.realtime(nodes[1], format);
        assert.deepEqual(await membersOf(other.channels.get(name)), ['stays="on node b"']);
      } finally {
        await victim.stop();
      }
    });

    test('a client whose node is killed resumes on another node and its member stays present', async () => {
      // The victim's heartbeat would outlive the test (a minute): the test ends it once carol's member has moved,
      // which is the order a resume within the TTL has, whatever the resume costs on a loaded box.
      const victimName = uniqueName(`resume-victim-${format.name}`);
      const victim = await startNode(victimName, { nodeTtl: '00:01:00' });
      try {
        const name = uniqueName('cluster-presence-resume');
        proxy = await startProxy(victim.port);
        const carol = clients.realtime(proxy, format, { clientId: 'carol' });
        // Dave is on the victim too but never comes back: his leave shows a sweep has been through the channel.
        const dave = clients.realtime(victim, format, { clientId: 'dave' });
        const watcher = clients.realtime(nodes[1], format);
        const watched = await recordPresence(watcher.channels.get(name));
        await connectionState(carol, 'connected');
        const connectionId = carol.connection.id;
        await carol.channels.get(name).presence.enter('still here');
        await waitFor(() => watched.length >= 1, 10000, 'carol\'s enter seen on node b', () => JSON.stringify(watched));
        await dave.channels.get(name).presence.enter('gone');
        await waitFor(() => watched.length >= 2, 10000, 'dave\'s enter seen on node b', () => JSON.stringify(watched));
        const victimInstance = await nodeInstanceOf(victimName);

        // The node dies; the load balancer sends new connections to node a. States are recorded as events: the
        // resume can be over before a poll of connection.state would see it.
        const states = [];
        carol.connection.on((change) => states.push(change.current));
        proxy.setTarget(nodes[0].port);
        victim.process.kill('SIGKILL');
        proxy.killAll();
        await waitFor(() => states.includes('disconnected') || states.includes('connecting'), 10000, 'carol notices', () => states.join('>'));
        await connectionState(carol, 'connected', 20000);
        assert.equal(carol.connection.id, connectionId, `carol resumed with her connection id (errorReason ${errText(carol.connection.errorReason)})`);

        // The SDK re-enters carol's member on node a (same id and data: no event), which takes it over.
        const carolsOwner = async () => Object.entries(await ownersOf(name)).find(([member]) => member.startsWith('carol:'))?.[1];
        for (const deadline = Date.now() + 20000; (await carolsOwner())?.startsWith(`${victimInstance}/`); await sleep(20)) {
          if (Date.now() > deadline) throw new Error(`carol's member still belongs to the dead node: ${JSON.stringify(await ownersOf(name))}`);
        }

        // The dead node's heartbeat ends: the next sweep removes what it still owns — dave, not carol.
        await redisCommand(redis.port, 'DEL', `${keyPrefix}node:${victimInstance}`);
        await waitFor(() => watched.some((e) => e.action === 'leave'), SWEPT_WITHIN_MS, 'the dead node\'s remaining member leaves', () => JSON.stringify(watched));
        assert.deepEqual(summary(watched), ['enter:carol:"still here"', 'enter:dave:"gone"', 'leave:dave:"gone"'], 'no leave for a member whose client resumed elsewhere');
        assert.deepEqual(await membersOf(watcher.channels.get(name)), ['carol="still here"']);
        const late = clients.realtime(nodes[1], format);
        assert.deepEqual(await membersOf(late.channels.get(name)), ['carol="still here"']);

        // And it is node a's now: closing the connection there makes it leave at once.
        await clients.close(carol);
        await waitFor(() => watched.some((e) => e.action === 'leave' && e.clientId === 'carol'), 10000, 'leave after close on node a', () => JSON.stringify(watched));
      } finally {
        await victim.stop();
      }
    });
  });
}
