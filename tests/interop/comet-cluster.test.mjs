// The comet transport across a Redis cluster of two nodes: a comet client moved to the other node (the balancer
// changes target and every HTTP connection is cut) resumes there with the same connection id and the exact stream;
// a recv or send for a connection key that lives on the other node is told DISCONNECTED 80003 (not a fatal error),
// and the resume on that node takes the connection over from the first. With an nginx binary (TOKENWIRE_NGINX, or
// nginx on the PATH) the SDK also runs through deploy/nginx.conf, whose comet location routes by connection id.
import { describe, test, before, after, afterEach } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort, repoRoot } from './server.mjs';
import { startRedis } from './redis.mjs';
import {
  FORMATS,
  Clients,
  ROOT_KEY,
  connectionState,
  record,
  streamResponse,
  settleAll,
  checkSeedSequence,
  startProxy,
  uniqueName,
  randomInt,
  waitFor,
  within,
  sleep,
  barrier,
  errText,
} from './helpers.mjs';

const clients = new Clients('comet-cluster');
const keyPrefix = `comet-cluster-${process.pid}-${Date.now().toString(36)}:`;
let redis;
let redisDir;
let nodes = [];
let proxy;

before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-comet-cluster-redis-'));
  redis = await startRedis({ port: await freePort(), dir: redisDir });
  nodes = await Promise.all(['a', 'b'].map((n) =>
    startServer({ logName: `comet-cluster-${n}`, args: ['--redis', `127.0.0.1:${redis.port}`, `--TokenWire:RedisKeyPrefix=${keyPrefix}`] })));
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

describe('comet on a Redis cluster', () => {
  for (const mode of [
    { name: 'streaming', opts: { transports: ['comet'] } },
    { name: 'polling', opts: { transports: ['comet'], transportParams: { stream: false } } },
  ]) {
    test(`[${mode.name}] a comet subscriber moved to the other node mid-stream resumes there: same connection id, every token once in order`, async () => {
      const [a, b] = nodes;
      proxy = await startProxy(a.port);
      const format = FORMATS[1];
      const sub = clients.realtime(proxy, format, mode.opts);
      const pub = clients.realtime(b, format, { clientId: 'ai-agent' }); // a WebSocket publisher on the other node
      await connectionState(sub, 'connected');
      await connectionState(pub, 'connected');
      const connectionId = sub.connection.id;
      const name = uniqueName('comet-cluster');
      const rec = record(sub.channels.get(name));
      await within(rec.subscribed, 10000, 'subscriber attach');

      const killAt = randomInt(50, 150);
      const stream = streamResponse(pub.channels.get(name), { count: 300, pace: () => sleep(2) });
      await waitFor(() => tokensOf(rec.messages).length >= killAt, 20000, `subscriber receives ${killAt} tokens`);
      proxy.setTarget(b.port);
      assert.ok(proxy.killAll() >= 1, 'the proxy had the comet client\'s HTTP connections to cut');

      await stream.issued;
      await settleAll(stream.promises, 30000, 'publishes');
      await waitFor(() => rec.messages.some((m) => m.name === 'stop'), 30000, 'subscriber receives stop', () => `${rec.messages.length} received, state ${sub.connection.state}`);
      await barrier(pub.channels.get(name), [rec.messages], { label: 'after stop' });

      assert.equal(sub.connection.id, connectionId, `resumed on node b (errorReason ${errText(sub.connection.errorReason)})`);
      assert.equal(sub.connection.state, 'connected');
      checkSeedSequence(assert, rec.messages, stream, { clientId: 'ai-agent', connectionId: pub.connection.id });
    });
  }

  test('raw: a recv on the node that does not hold the key is DISCONNECTED 80003; a resume there takes the connection over from the first node', async () => {
    const [a, b] = nodes;
    const key = encodeURIComponent(ROOT_KEY);
    const connect = await fetch(`http://127.0.0.1:${a.port}/comet/connect?key=${key}&stream=false&heartbeats=true&v=6`);
    const connected = (await connect.json()).find((m) => m.action === 4);
    assert.ok(connected, 'CONNECTED from node a');
    const connectionKey = connected.connectionDetails.connectionKey;

    const elsewhere = await fetch(`http://127.0.0.1:${b.port}/comet/${connectionKey}/recv`);
    assert.equal(elsewhere.status, 404);
    const [disconnected] = await elsewhere.json();
    assert.equal(disconnected.action, 6);
    assert.equal(disconnected.error.code, 80003);

    const resume = await fetch(`http://127.0.0.1:${b.port}/comet/connect?key=${key}&stream=false&heartbeats=true&v=6&resume=${encodeURIComponent(connectionKey)}`);
    const resumed = (await resume.json()).find((m) => m.action === 4);
    assert.ok(resumed, 'CONNECTED from node b');
    assert.equal(resumed.connectionId, connected.connectionId, `same connection (error ${JSON.stringify(resumed.error)})`);
    assert.equal(resumed.error, undefined);
    assert.notEqual(resumed.connectionDetails.connectionKey, connectionKey);

    // Node a's transport is ended by the takeover: its key no longer serves.
    const deadline = Date.now() + 10000;
    let status;
    do {
      status = (await fetch(`http://127.0.0.1:${a.port}/comet/${connectionKey}/recv`)).status;
    } while (status !== 404 && Date.now() < deadline);
    assert.equal(status, 404, 'node a let go of the connection');
    await fetch(`http://127.0.0.1:${b.port}/comet/${resumed.connectionDetails.connectionKey}/close`);
  });
});

const nginxBinary = process.env.TOKENWIRE_NGINX || (spawnSync('sh', ['-c', 'command -v nginx']).stdout?.toString().trim() || null);

/** deploy/nginx.conf with the compose node names replaced by the test's two nodes, on a free loopback port. */
async function startNginx(nodePorts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-nginx-'));
  const port = await freePort();
  let conf = fs.readFileSync(path.join(repoRoot, 'deploy', 'nginx.conf'), 'utf8')
    .replace(/^resolver .*$/m, '')
    .replace(/^\s*server node3:.*$/gm, '')
    .replace(/server node(\d):8080 resolve/g, (_, n) => `server 127.0.0.1:${nodePorts[Number(n) - 1]}`)
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  fs.writeFileSync(path.join(dir, 'default.conf'), conf);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join(' ');
  fs.writeFileSync(path.join(dir, 'nginx.conf'),
    `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log; events {} http { access_log off; ${temp} include ${dir}/default.conf; }\n`);
  const child = spawn(nginxBinary, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/time`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nginx did not start: ${fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : ''}`);
    await sleep(50);
  }
  return {
    port,
    stop: () => {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('comet behind deploy/nginx.conf', { skip: nginxBinary ? false : 'no nginx binary (set TOKENWIRE_NGINX)' }, () => {
  for (const mode of [
    { name: 'streaming', opts: { transports: ['comet'] } },
    { name: 'polling', opts: { transports: ['comet'], transportParams: { stream: false } } },
  ]) {
    test(`[${mode.name}] routed by connection id: the stream arrives whole, the connection moves at most once and keeps its id`, async () => {
      const nginx = await startNginx(nodes.map((n) => n.port));
      try {
        const format = FORMATS[1];
        const sub = clients.realtime(nginx, format, mode.opts);
        const pub = clients.realtime(nodes[1], format, { clientId: 'ai-agent' });
        await connectionState(sub, 'connected');
        await connectionState(pub, 'connected');
        const connectionId = sub.connection.id;
        const moves = [];
        sub.connection.on('disconnected', (change) => moves.push(change.reason && change.reason.code));
        const name = uniqueName('comet-nginx');
        const rec = record(sub.channels.get(name));
        await within(rec.subscribed, 20000, 'subscriber attach');
        const stream = streamResponse(pub.channels.get(name), { count: 200, pace: () => sleep(5) });
        await stream.issued;
        await settleAll(stream.promises, 30000, 'publishes');
        await waitFor(() => rec.messages.some((m) => m.name === 'stop'), 30000, 'subscriber receives stop', () => `${rec.messages.length} received`);
        await barrier(pub.channels.get(name), [rec.messages], { label: 'after stop' });
        checkSeedSequence(assert, rec.messages, stream, { clientId: 'ai-agent', connectionId: pub.connection.id });
        assert.equal(sub.connection.id, connectionId, 'the same connection throughout');
        assert.ok(moves.length <= 1, `moved at most once (a new connection hashed to another node): ${JSON.stringify(moves)}`);
      } finally {
        await clients.closeAll();
        nginx.stop();
      }
    });
  }
});
