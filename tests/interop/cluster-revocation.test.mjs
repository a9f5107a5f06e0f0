// Token revocation on a two-node Redis cluster: a revocation sent to node A reaches node B through the shared list
// (Redis hash + pub/sub), so B disconnects its live client with 40141 and refuses the old token on REST.
// Starts its own redis-server on a free port (./test.sh installs redis-server when it is missing).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, freePort, logDir } from './server.mjs';
import { FORMATS, Clients, connectionState, uniqueName, within, sleep, errText } from './helpers.mjs';

const clients = new Clients('cluster-revocation');
const KEY = 'rv.admin:rv-admin-secret';
let redis;
let nodes = [];

async function startRedis(port) {
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p));
  if (!binary) throw new Error('redis-server is not installed (apt-get install -y redis-server; ./test.sh does it)');
  fs.mkdirSync(logDir, { recursive: true });
  const log = fs.openSync(path.join(logDir, `redis-revocation-${port}.log`), 'a');
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (const deadline = Date.now() + 15000; ; await sleep(50)) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (d) => resolve(socket.destroy() || d.toString().startsWith('+PONG')));
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
  }
  return { stop: async () => (child.kill('SIGTERM'), within(exited, 10000, 'redis-server exits')) };
}

before(async () => {
  const port = await freePort();
  redis = await startRedis(port);
  const app = [
    '--TokenWire:Apps:0:Id=rv',
    '--TokenWire:Apps:0:Keys:0:Id=admin',
    '--TokenWire:Apps:0:Keys:0:Secret=rv-admin-secret',
    '--TokenWire:Apps:0:Keys:0:RevocableTokens=true',
    '--TokenWire:Agent:Enabled=false',
  ];
  const prefix = `revocation-${process.pid}-${Date.now().toString(36)}:`;
  nodes = await Promise.all(['a', 'b'].map((n) =>
    startServer({ logName: `cluster-revocation-${n}`, args: ['--redis', `127.0.0.1:${port}`, `--TokenWire:RedisKeyPrefix=${prefix}`, ...app] })));
});
after(async () => {
  await clients.closeAll();
  await Promise.all(nodes.map((n) => n.stop()));
  if (redis) await redis.stop();
});

for (const format of FORMATS) {
  test(`a revocation sent to node A disconnects a client on node B with 40141 [${format.name}]`, async () => {
    const [nodeA, nodeB] = nodes;
    const restA = clients.rest(nodeA, format, { key: KEY });
    const restB = clients.rest(nodeB, format, { key: KEY });
    const victim = uniqueName('victim');
    const bystander = uniqueName('bystander');
    const issued = [];
    const tokenClient = (clientId) =>
      clients.realtime(nodeB, format, {
        key: undefined,
        authCallback: async (_params, callback) => {
          try {
            const details = await restB.auth.requestToken({ clientId });
            issued.push({ clientId, token: details.token });
            callback(null, details);
          } catch (err) {
            callback(err);
          }
        },
      });
    const v = tokenClient(victim);
    const b = tokenClient(bystander);
    await Promise.all([connectionState(v, 'connected'), connectionState(b, 'connected')]);
    const oldToken = issued.find((i) => i.clientId === victim).token;
    const bStates = [];
    b.connection.on((change) => bStates.push(change.current));
    const disconnected = v.connection.once('disconnected');

    const result = await within(restA.auth.revokeTokens([{ type: 'clientId', value: victim }]), 10000, 'revokeTokens on node A');
    assert.equal(result.successCount, 1, JSON.stringify(result));

    const change = await within(disconnected, 10000, 'victim on node B DISCONNECTED');
    assert.equal(change.reason?.code, 40141, `reason ${errText(change.reason)}`);
    const refused = await fetch(`${nodeB.url}/channels/x/messages`, {
      headers: { authorization: `Bearer ${Buffer.from(oldToken).toString('base64')}` },
    });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error.code, 40141);

    // The victim renews (a token issued after the revocation) and is back on node B; the bystander was untouched.
    await connectionState(v, 'connected');
    assert.equal(b.connection.state, 'connected');
    assert.deepEqual(bStates, []);
  });
}
