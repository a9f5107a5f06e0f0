// Starts a real TokenWire server process for one test file.
//
//   const server = await startServer({ logName: 'seed-flow' });
//   ... server.port, server.url ...
//   await server.stop();
//
// The server dll defaults to <repo>/src/TokenWire.Server/bin/Release/net10.0/TokenWire.Server.dll
// (build it with `dotnet build -c Release` first); override with TOKENWIRE_SERVER_DLL.
// TOKENWIRE_SERVER_CMD (e.g. "node /tmp/mock.mjs") replaces `dotnet <dll>` entirely — a debugging aid
// for running the suite against something else; `--urls http://127.0.0.1:<port>` is still appended.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const defaultDll = path.join(repoRoot, 'src', 'TokenWire.Server', 'bin', 'Release', 'net10.0', 'TokenWire.Server.dll');
export const logDir = path.join(here, '.logs');

// A bound on a hang, not a budget: a server that exits is reported at once, and one starting on a saturated box
// (one core, a full test run beside it) has been seen to take over 30 s to listen.
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

/** Picks a free port on 127.0.0.1 (listen(0), read the port, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, maxChars = 4000) {
  try {
    const s = fs.readFileSync(file, 'utf8');
    return s.length > maxChars ? '…' + s.slice(-maxChars) : s;
  } catch {
    return '(no log)';
  }
}

/**
 * @param {{ env?: Record<string,string>, args?: string[], logName?: string, extraUrls?: string[], port?: number }} [options]
 *   extraUrls: more listeners for the same process (e.g. a metrics port), added to `--urls`. port: a given port (a
 *   node restarted where it was), else a free one.
 * @returns {Promise<{ port: number, url: string, logFile: string, stop: () => Promise<void>, process: import('node:child_process').ChildProcess, exited: Promise<{ code: number | null, signal: string | null }> }>}
 */
export async function startServer(options = {}) {
  // A free port is free when it is picked, not necessarily when the server binds it: another run on the box can take
  // it in between. The server then exits at once saying so, and a port of our choosing is simply picked again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(options);
    } catch (err) {
      if (!err.addressInUse || options.port !== undefined || attempt >= 5) throw err;
    }
  }
}

async function startServerOnce({ env = {}, args = [], logName = 'server', extraUrls = [], port: requestedPort } = {}) {
  let command;
  let commandArgs;
  if (process.env.TOKENWIRE_SERVER_CMD) {
    [command, ...commandArgs] = process.env.TOKENWIRE_SERVER_CMD.split(' ').filter(Boolean);
  } else {
    const dll = process.env.TOKENWIRE_SERVER_DLL || defaultDll;
    if (!fs.existsSync(dll)) {
      throw new Error(
        `TokenWire server dll not found at ${dll}. Build it first: ` +
          `(cd ${repoRoot} && dotnet build -c Release src/TokenWire.Server), or set TOKENWIRE_SERVER_DLL.`,
      );
    }
    command = 'dotnet';
    commandArgs = [dll];
  }

  const port = requestedPort ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const urls = [url, ...extraUrls].join(';');
  fs.mkdirSync(logDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logFile = path.join(logDir, `${logName}-${stamp}-${port}.log`);
  const log = fs.openSync(logFile, 'a');
  fs.writeSync(log, `# ${command} ${[...commandArgs, '--urls', urls, ...args].join(' ')}\n`);

  const child = spawn(command, [...commandArgs, '--urls', urls, ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ASPNETCORE_ENVIRONMENT: 'Development',
      DOTNET_ENVIRONMENT: 'Development',
      DOTNET_NOLOGO: '1',
      ...env,
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log); // the child holds its own descriptors

  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.once('error', (err) => {
      exited = { code: null, signal: null, error: err };
      resolve(exited);
    });
  });

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    let timer;
    const done = await Promise.race([exitPromise, new Promise((r) => (timer = setTimeout(() => r(null), STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (!done) {
      child.kill('SIGKILL');
      await exitPromise;
    }
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError = null;
  while (Date.now() < deadline) {
    if (exited) {
      const log = tail(logFile);
      const err = new Error(`TokenWire server exited before answering GET /time (${JSON.stringify(exited)}); log ${logFile}:\n${log}`);
      err.addressInUse = /address already in use/i.test(log);
      throw err;
    }
    try {
      const res = await fetch(`${url}/time`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) {
        return { port, url, logFile, stop, process: child, exited: exitPromise };
      }
      lastError = new Error(`GET /time answered ${res.status}`);
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  await stop();
  throw new Error(
    `TokenWire server did not answer GET /time with 200 within ${START_TIMEOUT_MS} ms ` +
      `(last: ${lastError && lastError.message}); log ${logFile}:\n${tail(logFile)}`,
  );
}
