// The container recipe (issue 15): no container engine runs here, so this checks what can be checked without one —
// that the Dockerfile, docker-compose.yml and deploy/nginx.conf agree with each other and with the repository, and
// that the app the image would run (dotnet publish, as the Dockerfile does) starts with node1's environment from the
// compose file, on a real redis-server, serves the demo page, answers its own health check, keeps /metrics off the
// public port and carries a stream for the real ably SDK with the compose file's key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { freePort, repoRoot, logDir } from './server.mjs';
import { startRedis } from './redis.mjs';
import { Ably, connectionState, sleep, uniqueName, waitFor, within } from './helpers.mjs';

const run = promisify(execFile);
const read = (file) => fs.readFileSync(path.join(repoRoot, file), 'utf8');

/** Dockerfile instructions, continuation lines joined, comments dropped: [{ op, args, stage }]. */
function dockerfile() {
  const lines = read('Dockerfile').replace(/\\\n/g, ' ').split('\n');
  const instructions = [];
  let stage = null;
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line);
    if (op.toUpperCase() === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${instructions.length}`;
    instructions.push({ op: op.toUpperCase(), args, stage });
  }
  return instructions;
}

const compose = () => YAML.parse(read('docker-compose.yml'), { merge: true });
const NODES = ['node1', 'node2', 'node3'];

test('Dockerfile: three stages (Node for the page, the SDK for the server, the ASP.NET runtime to run it), paths that exist', () => {
  const instructions = dockerfile();
  const froms = instructions.filter((i) => i.op === 'FROM').map((i) => i.args);
  assert.equal(froms.length, 3, froms.join(' | '));
  // The build stages run natively on the build machine; only the runtime stage is the target platform's.
  assert.match(froms[0], /^--platform=\$BUILDPLATFORM node:\d+\S* AS web$/);
  assert.match(froms[1], /^--platform=\$BUILDPLATFORM mcr\.microsoft\.com\/dotnet\/sdk:10\.0 AS build$/);
  assert.match(froms[2], /^mcr\.microsoft\.com\/dotnet\/aspnet:10\.0$/);

  // Every COPY from the build context names something in the repository; --from names an earlier stage.
  const stages = [];
  for (const { op, args, stage } of instructions) {
    if (op === 'FROM') stages.push(stage);
    if (op !== 'COPY') continue;
    const from = /--from=(\S+)/.exec(args)?.[1];
    const parts = args.replace(/--\S+/g, '').trim().split(/\s+/);
    if (from) {
      assert.ok(stages.slice(0, -1).includes(from), `COPY --from=${from} names no earlier stage`);
      continue;
    }
    for (const source of parts.slice(0, -1)) {
      assert.ok(fs.existsSync(path.join(repoRoot, source)), `COPY ${source}: not in the repository`);
    }
  }

  // The page is built as the host project builds it, into the web/dist the project includes as wwwroot.
  const packageJson = JSON.parse(read('web/package.json'));
  const csproj = read('src/TokenWire.Server/TokenWire.Server.csproj');
  assert.ok(packageJson.scripts.build, 'web/package.json has a build script');
  assert.ok(instructions.some((i) => i.stage === 'web' && i.op === 'RUN' && i.args.includes('npm run build')));
  assert.match(csproj, /\$\(WebDirectory\)dist\/\*\*\/\*/);
  assert.ok(instructions.some((i) => i.op === 'COPY' && /--from=web \/src\/web\/dist web\/dist$/.test(i.args)), 'dist copied to web/dist');
  const publish = instructions.find((i) => i.op === 'RUN' && i.args.includes('dotnet publish'));
  assert.match(publish.args, /dotnet publish src\/TokenWire\.Server .*-p:SkipWebBuild=true/);
  // For the image's architecture (the ReadyToRun test below checks what that publish is).
  const targetArch = instructions.findIndex((i) => i.stage === 'build' && i.op === 'ARG' && i.args === 'TARGETARCH');
  assert.ok(targetArch >= 0 && targetArch < instructions.indexOf(publish), 'ARG TARGETARCH in the build stage, before the publish');
  assert.match(csproj, /'\$\(SkipWebBuild\)' != 'true'/, 'the project honours SkipWebBuild');

  // Runs as the runtime image's non-root user, on 8080, with a health check the image can run.
  const final = instructions.filter((i) => i.stage === instructions.filter((x) => x.op === 'FROM').at(-1).stage);
  assert.deepEqual(final.filter((i) => i.op === 'USER').map((i) => i.args), ['$APP_UID']);
  assert.ok(final.some((i) => i.op === 'EXPOSE' && i.args === '8080'));
  assert.ok(final.some((i) => i.op === 'ENV' && /\bURLS=http:\/\/\+:8080\b/.test(i.args)));
  assert.match(final.find((i) => i.op === 'HEALTHCHECK').args, /CMD \["dotnet", "TokenWire\.Server\.dll", "healthcheck"\]/);
  assert.equal(final.find((i) => i.op === 'ENTRYPOINT').args, '["dotnet", "TokenWire.Server.dll"]');
  assert.match(read('src/TokenWire.Server/Program.cs'), /args\[0\] == "healthcheck"/);

  const ignored = read('.dockerignore').split('\n');
  for (const pattern of ['**/bin/', '**/obj/', '**/node_modules/', 'web/dist/']) assert.ok(ignored.includes(pattern), pattern);
});

test('Dockerfile: the publish is ReadyToRun and framework-dependent for the image\'s architecture; RID-less builds are not', async () => {
  // The publish names the architecture (`-a amd64` / `-a arm64`: the SDK's linux-x64 / linux-arm64) and the shared
  // framework; the project makes any publish for a runtime identifier ReadyToRun. Checked by evaluating the project,
  // not by publishing: a ReadyToRun publish costs CI minutes and the runtime packs' download, and the app the tests
  // below run is the IL publish of the same code.
  const publish = dockerfile().find((i) => i.op === 'RUN' && i.args.includes('dotnet publish'));
  assert.match(publish.args, / -a \$TARGETARCH /);
  assert.match(publish.args, / --no-self-contained /);
  const evaluate = async (...properties) => {
    const { stdout } = await run('dotnet', ['msbuild', 'src/TokenWire.Server', '-p:Configuration=Release', ...properties.map((p) => `-p:${p}`),
      '-getProperty:RuntimeIdentifier', '-getProperty:SelfContained', '-getProperty:PublishReadyToRun'], { cwd: repoRoot, timeout: 120_000 });
    return JSON.parse(stdout).Properties;
  };
  for (const rid of ['linux-x64', 'linux-arm64']) {
    assert.deepEqual(await evaluate(`RuntimeIdentifier=${rid}`, 'SelfContained=false'), { RuntimeIdentifier: rid, SelfContained: 'false', PublishReadyToRun: 'true' });
  }
  // `dotnet run`, ./test.sh and the tests' builds have no runtime identifier: no ReadyToRun, no runtime packs to restore.
  assert.deepEqual(await evaluate(), { RuntimeIdentifier: '', SelfContained: 'false', PublishReadyToRun: '' });
});

test('docker-compose.yml: redis with AOF, three nodes on it with distinct ids and one agent, nginx on 8080', () => {
  const { services, volumes } = compose();
  assert.deepEqual(Object.keys(services).sort(), ['lb', 'node1', 'node2', 'node3', 'redis']);

  const redisCommand = services.redis.command.join(' ');
  assert.match(redisCommand, /--appendonly yes/);
  assert.match(redisCommand, /--appendfsync always/);
  assert.ok(services.redis.volumes.some((v) => v.startsWith('redis-data:')) && 'redis-data' in volumes);

  const ids = new Set();
  let agents = 0;
  for (const name of NODES) {
    const node = services[name];
    assert.equal(node.build, '.', `${name} builds the Dockerfile at the root`);
    assert.ok(fs.existsSync(path.join(repoRoot, node.build, 'Dockerfile')));
    const env = node.environment;
    const [host, port] = env.TokenWire__Redis.split(':');
    assert.ok(host in services && port === '6379', `${name}: TokenWire__Redis ${env.TokenWire__Redis} is the redis service`);
    assert.equal(node.depends_on.redis.condition, 'service_healthy');
    assert.equal(env.URLS, 'http://+:8080;http://+:9464');
    assert.equal(env.TokenWire__Metrics__PrometheusPort, '9464');
    assert.equal(env.ASPNETCORE_ENVIRONMENT, 'Production');
    ids.add(env.TokenWire__ServerId);
    if (env.TokenWire__Agent__Enabled === 'true') agents++;
  }
  assert.equal(ids.size, 3, 'each node has its own TokenWire__ServerId');
  assert.equal(agents, 1, 'one in-process agent for the cluster');

  assert.deepEqual(services.lb.ports, ['8080:80']);
  const [mount, target] = services.lb.volumes[0].split(':');
  assert.ok(fs.existsSync(path.join(repoRoot, mount)), `${mount} exists`);
  assert.equal(target, '/etc/nginx/conf.d/default.conf');
  assert.deepEqual(Object.keys(services.lb.depends_on).sort(), NODES);
});

test('deploy/nginx.conf: the three nodes on their port, HTTP/1.1 with the upgrade headers, long timeouts, port 80', () => {
  const conf = read('deploy/nginx.conf').replace(/#.*$/gm, '');
  const upstream = /upstream\s+(\w+)\s*\{([^}]*)\}/.exec(conf);
  assert.ok(upstream, 'an upstream block');
  const servers = [...upstream[2].matchAll(/server\s+([\w.-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
  // The nodes' public port is the first of URLS in the compose file.
  const nodePort = /:(\d+)/.exec(compose().services.node1.environment.URLS)[1];
  assert.deepEqual(servers, NODES.map((n) => `${n}:${nodePort}`));
  assert.match(conf, new RegExp(`proxy_pass\\s+http://${upstream[1]};`));
  assert.match(conf, /proxy_http_version\s+1\.1;/);
  assert.match(conf, /proxy_set_header\s+Upgrade\s+\$http_upgrade;/);
  assert.match(conf, /proxy_set_header\s+Connection\s+\$connection_upgrade;/);
  assert.match(conf, /map\s+\$http_upgrade\s+\$connection_upgrade\s*\{\s*default\s+upgrade;\s*''\s+close;\s*\}/);
  const timeout = /proxy_read_timeout\s+(\d+)([smhd]?);/.exec(conf);
  const seconds = Number(timeout[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[timeout[2]];
  assert.ok(seconds >= 300, `proxy_read_timeout ${seconds} s outlives idle connections`);
  // Comet: one connection's requests to one node, hashed by connection id, over the same nodes.
  const comet = /upstream\s+(\w+)\s*\{([^}]*hash\s+\$comet_route\s+consistent;[^}]*)\}/.exec(conf);
  assert.ok(comet, 'a comet upstream hashed by $comet_route');
  assert.deepEqual([...comet[2].matchAll(/server\s+([\w.-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`), servers);
  assert.match(conf, new RegExp(`location\\s+/comet/\\s*\\{[^}]*proxy_pass\\s+http://${comet[1]};[^}]*proxy_buffering\\s+off;`));
  const listen = /listen\s+(\d+);/.exec(conf)[1];
  assert.equal(compose().services.lb.ports[0].split(':')[1], listen);
});

// --- the app the image runs, with node1's environment ------------------------------------------------------------

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-publish-'));
let redis;
let node;

before(async () => {
  // As the Dockerfile's build stage but as IL (no runtime identifier, so not ReadyToRun: the same code without its
  // precompiled copy), from the Release build the interop suite runs against (no second compile).
  await run('dotnet', ['publish', path.join(repoRoot, 'src/TokenWire.Server'), '-c', 'Release', '--no-build', '-o', work, '-p:SkipWebBuild=true'], {
    cwd: repoRoot,
    timeout: 300_000,
  });
  redis = await startRedis({ port: await freePort(), dir: fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-container-redis-')) });

  // node1's environment, as compose would resolve it, with what only a container has replaced: the redis host, the
  // ports (free ones on loopback, same shape: public;metrics) and the secret compose asks for.
  const env = { ...compose().services.node1.environment };
  const [publicPort, metricsPort] = [await freePort(), await freePort()];
  env.URLS = `http://127.0.0.1:${publicPort};http://127.0.0.1:${metricsPort}`;
  env.TokenWire__Metrics__PrometheusPort = String(metricsPort);
  env.TokenWire__Redis = `127.0.0.1:${redis.port}`;
  env.TokenWire__Apps__0__Id = 'app';
  env.TokenWire__Apps__0__Keys__0__Secret = 'compose-secret';
  env.TokenWire__Demo__Enabled = 'true';
  for (const [key, value] of Object.entries(env)) assert.doesNotMatch(String(value), /\$\{/, `${key} left unresolved`);

  fs.mkdirSync(logDir, { recursive: true });
  const log = fs.openSync(path.join(logDir, `container-node1-${publicPort}.log`), 'a');
  const { ASPNETCORE_URLS, ASPNETCORE_ENVIRONMENT, DOTNET_ENVIRONMENT, ...inherited } = process.env;
  const child = spawn('dotnet', ['TokenWire.Server.dll'], { cwd: work, env: { ...inherited, ...env }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  node = { child, exited, url: `http://127.0.0.1:${publicPort}`, metricsUrl: `http://127.0.0.1:${metricsPort}` };
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const response = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`the published app did not answer /health on ${node.url}`);
    await sleep(200);
  }
});

after(async () => {
  node?.child.kill('SIGTERM');
  if (node) await within(node.exited, 15000, 'the published app exits');
  await redis?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('the published app starts with node1\'s environment: demo page, health check command, metrics on their port only', async () => {
  assert.ok(fs.existsSync(path.join(work, 'wwwroot', 'index.html')), 'the demo page is in the published output');
  const page = await fetch(`${node.url}/`);
  assert.match(await page.text(), /<div id="root">|<script/);

  const health = await fetch(`${node.url}/health`);
  assert.equal(await health.text(), 'Healthy', 'Healthy, with its redis link');

  const healthcheck = await run('dotnet', [path.join(work, 'TokenWire.Server.dll'), 'healthcheck', '--url', `${node.url}/health`]);
  assert.match(healthcheck.stdout, /^200 Healthy/);
  const closed = await freePort();
  await assert.rejects(run('dotnet', [path.join(work, 'TokenWire.Server.dll'), 'healthcheck', '--url', `http://127.0.0.1:${closed}/health`]), (e) => e.code === 1);

  const publicMetrics = await fetch(`${node.url}/metrics`);
  await publicMetrics.arrayBuffer();
  assert.equal(publicMetrics.status, 404, '/metrics is not on the public port');
  const metrics = await fetch(`${node.metricsUrl}/metrics`);
  assert.match(await metrics.text(), /^tokenwire_connections\{/m);
});

test('a stream through the published app with the compose file\'s key arrives whole, in order', async () => {
  const port = Number(new URL(node.url).port);
  const options = { key: 'app.root:compose-secret', endpoint: '127.0.0.1', port, tls: false, fallbackHosts: [], disableConnectivityCheck: true };
  const subscriber = new Ably.Realtime(options);
  const publisher = new Ably.Realtime(options);
  try {
    await connectionState(subscriber, 'connected');
    const name = uniqueName('container');
    const received = [];
    await within(subscriber.channels.get(name).subscribe((m) => received.push(m.data)), 10000, 'attach');
    const tokens = Array.from({ length: 50 }, (_, i) => `t${i}`);
    await within(Promise.all(tokens.map((t) => publisher.channels.get(name).publish('token', t))), 15000, 'publish');
    await waitFor(() => received.length === tokens.length, 15000, 'every token');
    assert.deepEqual(received, tokens);
  } finally {
    subscriber.close();
    publisher.close();
  }
});
