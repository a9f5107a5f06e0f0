// A real redis-server for the cluster tests (cluster*.test.mjs): a child process, not daemonized, so a test can stop
// it and start it again on the same port and data. ./test.sh installs redis-server when it is missing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { logDir } from './server.mjs';
import { sleep, within } from './helpers.mjs';

/** A redis-server child process (not daemonized, so it can be stopped and restarted on the same port and data). */
export async function startRedis({ port, dir }) {
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p));
  if (!binary) throw new Error('redis-server is not installed (apt-get install -y redis-server; ./test.sh does it)');
  fs.mkdirSync(logDir, { recursive: true });
  const log = fs.openSync(path.join(logDir, `redis-${port}.log`), 'a');
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitForRedis(port, true);
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await within(exited, 10000, 'redis-server exits');
    },
  };
}

/** Polls until redis answers PING (up) or refuses connections (down). */
export async function waitForRedis(port, up) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const answered = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (answered === up) return;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not come ${up ? 'up' : 'down'}`);
    await sleep(50);
  }
}
