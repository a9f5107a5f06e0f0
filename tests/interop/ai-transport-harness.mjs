// Shared pieces of the @ably/ai-transport interop tests (ai-transport*.test.mjs): a deterministic, paced model
// (`MockLanguageModelV3` from `ai/test`), an agent endpoint that answers invocations the way the SDK's README does
// (createAgentSession → createRun → page history until the trigger is located → start → pipe(streamText(…)
// .toUIMessageStream()) → end), a client helper around `createClientSession`, and an HTTP proxy that makes channel
// history late (everything else, WebSocket upgrades included, goes straight through).
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { Invocation } from '@ably/ai-transport';
import { createAgentSession, createClientSession, createUIMessageCodec, vercelRunOutcome } from '@ably/ai-transport/vercel';
import { streamText, convertToModelMessages } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { sleep, within, waitFor, errText } from './helpers.mjs';

/** The dev app's `mutable` namespace has mutableMessages, which the SDK needs (appends; else 93002). */
export const MUTABLE_PREFIX = 'mutable:';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'token', 'wire', 'stream', 'append', 'serial', 'ably', 'über', 'naïve', 'façade', '字', '😀'];

/** `count` text deltas, each distinct (it carries its index), so a lost, doubled or reordered delta shows. */
export function makeAnswer(count) {
  const deltas = Array.from({ length: count }, (_, i) => {
    const word = WORDS[crypto.randomInt(WORDS.length)];
    return `${i === 0 ? '' : ' '}${word}#${i}`;
  });
  return { deltas, text: deltas.join('') };
}

/**
 * A MockLanguageModelV3 streaming `deltas` as one text part, `delayMs` apart. `emitted` counts the deltas handed to
 * the AI SDK so far (tests pick reload/cut/cancel points with it); the stream stops when the call's abortSignal fires.
 */
export function pacedModel(deltas, { delayMs = 5 } = {}) {
  const state = { emitted: 0, calls: 0, aborted: false, finished: false };
  const model = new MockLanguageModelV3({
    doStream: async ({ abortSignal }) => {
      state.calls += 1;
      const parts = [
        { type: 'stream-start', warnings: [] },
        { type: 'text-start', id: 'text-1' },
        ...deltas.map((delta) => ({ type: 'text-delta', id: 'text-1', delta })),
        { type: 'text-end', id: 'text-1' },
        {
          type: 'finish',
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: {
            inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
            outputTokens: { total: deltas.length, text: deltas.length, reasoning: undefined },
          },
        },
      ];
      let next = 0;
      return {
        stream: new ReadableStream({
          async pull(controller) {
            if (abortSignal && abortSignal.aborted) {
              state.aborted = true;
              controller.close();
              return;
            }
            const part = parts[next++];
            if (part.type === 'text-delta') {
              await sleep(delayMs);
              state.emitted += 1;
            }
            controller.enqueue(part);
            if (next === parts.length) {
              state.finished = true;
              controller.close();
            }
          },
        }),
      };
    },
  });
  return { model, state };
}

/**
 * An HTTP agent endpoint (`POST /api/chat` with `run.toInvocation().toJSON()`, as `createChatTransport` posts it).
 * Each invocation runs on `agentClient` (an ably Realtime with clientId `ai-agent`) with the model `modelFor()` returns.
 * `runs` records each invocation: { invocation, promise (the outcome), run, session, published }.
 */
export async function startAgentEndpoint(agentClient, modelFor) {
  const runs = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/chat') {
        res.writeHead(404).end();
        return;
      }
      let invocation;
      try {
        invocation = Invocation.fromJSON(JSON.parse(body));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: e.message }));
        return;
      }
      const entry = runAgent(agentClient, invocation, modelFor(invocation));
      runs.push(entry);
      entry.promise.catch(() => {});
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: true }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/api/chat`;
  return {
    url,
    runs,
    /** Posts an invocation directly (what createChatTransport does for useChat). */
    async invoke(clientRun) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(clientRun.toInvocation().toJSON()),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`agent endpoint answered ${res.status}`);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** One agent invocation, as the SDK README's route handler does it (`tools`/`stopWhen` go to streamText when given). */
export function runAgent(agentClient, invocation, { model, onChunk, tools, stopWhen } = {}) {
  const entry = { invocation, run: null, session: null, outcome: null, errors: [], chunks: [] };
  entry.promise = (async () => {
    const session = createAgentSession({ client: agentClient, channelName: invocation.sessionName });
    entry.session = session;
    session.on('error', (e) => entry.errors.push(e));
    await session.connect();
    const run = session.createRun(invocation);
    entry.run = run;
    try {
      // Page in the conversation so far (the trigger was published before this session attached), then open the run.
      while (run.view.hasOlder()) await run.view.loadOlder();
      await run.start();
      const conversation = run.view.getMessages().map(({ message }) => message);
      entry.conversation = conversation;
      const result = streamText({
        model,
        messages: await convertToModelMessages(conversation),
        abortSignal: run.abortSignal,
        // Optional, for tool round trips (the parity tests): tools run on the agent, stopWhen allows the next step.
        ...(tools && { tools }),
        ...(stopWhen && { stopWhen }),
      });
      const ui = result.toUIMessageStream().pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            entry.chunks.push(chunk);
            if (onChunk) onChunk(chunk);
            controller.enqueue(chunk);
          },
        }),
      );
      const pipeResult = await run.pipe(ui);
      entry.pipeResult = pipeResult;
      const outcome = await vercelRunOutcome(pipeResult, result.finishReason);
      entry.outcome = outcome;
      if (outcome.reason === 'suspend') await run.suspend();
      else await run.end(outcome);
      return outcome;
    } finally {
      await session.end();
    }
  })();
  return entry;
}

/** The text of the last assistant message a view renders, its run status, and the message count. */
export function rendered(view) {
  const messages = view.getMessages();
  const assistants = messages.filter((m) => m.message.role === 'assistant');
  const last = assistants.at(-1);
  const text = last ? last.message.parts.filter((p) => p.type === 'text').map((p) => p.text).join('') : '';
  const runs = view.runs();
  return { text, assistants: assistants.length, messages: messages.length, runs, status: runs.at(-1)?.status };
}

/** A user message in Vercel's UIMessage shape. */
export function userMessage(text) {
  return { id: `user-${crypto.randomUUID()}`, role: 'user', parts: [{ type: 'text', text }] };
}

/**
 * createClientSession + connect, recording session errors and, from a raw subscription on the same channel, how each
 * streamed message (`extras.ai.transport.stream: 'true'`) was first delivered live to this attachment.
 */
export async function clientSession(client, channelName, label = 'client session') {
  const session = createClientSession({ client, channelName });
  const errors = [];
  session.on('error', (e) => errors.push(e));
  const firstContact = new Map();
  const channel = client.channels.get(channelName);
  const raw = (m) => {
    const t = m.extras && m.extras.ai && m.extras.ai.transport;
    if (!t || t.stream !== 'true' || !m.serial || firstContact.has(m.serial)) return;
    firstContact.set(m.serial, {
      action: m.action,
      data: m.data,
      version: m.version && m.version.serial,
      status: t.status,
    });
  };
  channel.subscribe(raw).catch(() => {});
  await within(session.connect(), 15000, `${label}: connect (subscribe + attach)`);
  return {
    session,
    view: session.view,
    errors,
    codec: createUIMessageCodec(),
    firstContact,
    /** How the streamed messages first reached this attachment live, for failure messages. */
    describeFirstContact() {
      if (firstContact.size === 0) return 'no streamed message was delivered live to this attachment';
      return [...firstContact.entries()]
        .map(([serial, f]) => {
          const text = typeof f.data === 'string' ? `${f.data.length} chars ${JSON.stringify(f.data.slice(0, 24))}` : typeof f.data;
          return `streamed message ${serial} first arrived live as ${f.action} (version ${f.version}, status ${f.status}, data ${text})`;
        })
        .join('; ');
    },
  };
}

/** Pages the view's history until nothing older is left (each loadOlder bounded). */
export async function loadAllOlder(view, label = 'view') {
  let pages = 0;
  while (view.hasOlder()) {
    pages += 1;
    if (pages > 50) throw new Error(`${label}: hasOlder() still true after 50 loadOlder() calls`);
    await within(view.loadOlder(50), 15000, `${label}: view.loadOlder() #${pages}`);
  }
  return pages;
}

/** Waits until the view's last run has `status` (a terminal status) and says what it saw if it does not. */
export async function waitForRunStatus(view, status, ms, label) {
  await waitFor(
    () => rendered(view).status === status,
    ms,
    `${label}: run status ${status}`,
    () => {
      const r = rendered(view);
      return `runs ${JSON.stringify(r.runs.map((x) => ({ runId: x.runId, status: x.status })))}, ${r.messages} messages, assistant text ${r.text.length} chars`;
    },
  );
}

/**
 * null if `got` equals `expected`, else what differs: lengths, the first differing index, and whether `got` is
 * `expected` with its start cut off (the prefix an attachment lost).
 */
export function diffText(expected, got) {
  if (expected === got) return null;
  let i = 0;
  while (i < expected.length && i < got.length && expected[i] === got[i]) i++;
  const around = (s) => JSON.stringify(s.slice(Math.max(0, i - 20), i + 40));
  let verdict = '';
  if (got.length < expected.length && expected.endsWith(got)) {
    verdict = `; got is the expected text missing its first ${expected.length - got.length} chars (lost prefix ${JSON.stringify(
      expected.slice(0, Math.min(80, expected.length - got.length)),
    )}${expected.length - got.length > 80 ? '…' : ''})`;
  } else if (got.length < expected.length && expected.startsWith(got)) {
    verdict = `; got is a prefix of the expected text (the last ${expected.length - got.length} chars missing)`;
  } else if (got.length > expected.length) {
    const twice = got.indexOf(expected.slice(0, 20), 1);
    verdict = `; got is longer${twice > 0 ? ` (the start repeats at index ${twice})` : ''}`;
  }
  return (
    `expected ${expected.length} chars, got ${got.length}; first difference at index ${i}: ` +
    `expected …${around(expected)}… got …${around(got)}…${verdict}`
  );
}

/** Every `errors` entry as text. */
export function errorsText(errors) {
  return errors.map((e) => errText(e)).join('; ');
}

/**
 * An HTTP proxy on 127.0.0.1 in front of `targetPort`: channel history (`GET /channels/{name}/messages`) is answered
 * `historyDelayMs` late; every other request is passed straight through; WebSocket upgrades are piped raw.
 * killSockets() destroys every proxied WebSocket (a transport cut). `historyRequests` counts delayed requests.
 */
export async function startDelayProxy(targetPort, { historyDelayMs = 100 } = {}) {
  const sockets = new Set();
  const state = { historyRequests: 0, requests: 0, upgrades: 0 };
  const isHistory = (req) => req.method === 'GET' && /^\/channels\/[^/]+\/messages(\?|$)/.test(req.url);
  const server = http.createServer(async (req, res) => {
    state.requests += 1;
    if (isHistory(req)) {
      state.historyRequests += 1;
      await sleep(historyDelayMs);
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers, agent: false },
      (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (req, socket, head) => {
    state.upgrades += 1;
    const upstream = net.connect(targetPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head && head.length) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    const pair = { socket, upstream };
    sockets.add(pair);
    socket.setNoDelay(true);
    upstream.setNoDelay(true);
    const end = () => {
      sockets.delete(pair);
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', end);
    upstream.on('error', end);
    socket.on('close', end);
    upstream.on('close', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    state,
    get webSockets() {
      return sockets.size;
    },
    killSockets() {
      const n = sockets.size;
      for (const p of [...sockets]) {
        sockets.delete(p);
        if (typeof p.socket.resetAndDestroy === 'function') p.socket.resetAndDestroy();
        else p.socket.destroy();
        p.upstream.destroy();
      }
      return n;
    },
    async close() {
      this.killSockets();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
    },
  };
}
