// Configuration at startup: development keys only in Development; elsewhere configured apps or a clear refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { startServer, defaultDll } from './server.mjs';
import { Ably, within } from './helpers.mjs';

test('outside Development a server with no apps refuses to start with a clear message', async () => {
  const dll = process.env.TOKENWIRE_SERVER_DLL || defaultDll;
  assert.ok(fs.existsSync(dll), `server dll at ${dll}`);
  const child = spawn('dotnet', [dll, '--urls', 'http://127.0.0.1:0'], {
    env: { ...process.env, ASPNETCORE_ENVIRONMENT: 'Production', DOTNET_ENVIRONMENT: 'Production' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', () => {});
  const code = await within(new Promise((resolve) => child.on('exit', resolve)), 30000, 'server exit');
  assert.equal(code, 1);
  assert.match(stderr, /No apps are configured\. Configure TokenWire:Apps/);
});

test('configured apps replace the development keys', async () => {
  const server = await startServer({
    logName: 'startup-production',
    env: {
      ASPNETCORE_ENVIRONMENT: 'Production',
      DOTNET_ENVIRONMENT: 'Production',
      TokenWire__Apps__0__Id: 'prod',
      TokenWire__Apps__0__Keys__0__Id: 'server',
      TokenWire__Apps__0__Keys__0__Secret: 'prod-secret-for-tests',
      TokenWire__Apps__0__Keys__0__Capability: '{"*":["*"]}',
    },
  });
  try {
    const opts = { endpoint: '127.0.0.1', port: server.port, tls: false, fallbackHosts: [] };
    const good = new Ably.Rest({ ...opts, key: 'prod.server:prod-secret-for-tests' });
    assert.ok(await within(good.time(), 10000, 'time'));
    const page = await within(good.channels.get('x').history(), 10000, 'history with the configured key');
    assert.equal(page.items.length, 0);
    const dev = new Ably.Rest({ ...opts, key: 'dev.root:dev-root-secret' });
    await assert.rejects(within(dev.channels.get('x').history(), 10000, 'history with a dev key'), (err) => err.code === 40101);
    assert.doesNotMatch(fs.readFileSync(server.logFile, 'utf8'), /Development keys are active/);
  } finally {
    await server.stop();
  }
});
