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

/**
 * Runs one command on the redis-server at `port` and returns its reply: a string, a number, null, or an array of
 * them (RESP2). For tests that look at (or change) what the engine stored.
 */
export function redisCommand(port, ...args) {
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;
  return within(
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let buffer = Buffer.alloc(0);
      socket.once('connect', () => socket.write(request));
      socket.on('data', (d) => {
        buffer = Buffer.concat([buffer, d]);
        const parsed = parseReply(buffer, 0);
        if (parsed) {
          socket.destroy();
          if (parsed.value instanceof Error) reject(parsed.value);
          else resolve(parsed.value);
        }
      });
      socket.once('error', reject);
    }),
    10000,
    `redis ${args[0]}`,
  );
}

/** One RESP2 reply from `buffer` at `at`: { value, end }, or null while incomplete. */
function parseReply(buffer, at) {
  const lineEnd = buffer.indexOf('\r\n', at);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buffer[at]);
  const line = buffer.toString('utf8', at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return null;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end);
        if (!item) return null;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      return { value: new Error(`unexpected reply ${JSON.stringify(buffer.toString())}`), end: buffer.length };
  }
}
