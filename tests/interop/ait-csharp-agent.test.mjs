// The unmodified @ably/ai-transport 0.8.0 client (Vercel codec, `ai` 6, `ably` 2.28) against the C# agent: the
// server's built-in POST /agent/chat (TokenWire.AITransport over TokenWire.Client, the simulated model with its
// get_weather tool), both wire formats.
//   a. useChat's transport (createChatTransport) posts the invocation; the useChat stream, the sender's view and a
//      second tab render the same answer; run complete; the answer is the simulated model's.
//   b. multi-turn: the agent sees the earlier turns from the channel's history ("What did I ask before?").
//   c. tool call round trip: the model calls get_weather, the agent runs it and the model answers from the result;
//      the view folds reasoning-free parts: step-start, tool-get_weather (output-available), step-start, text.
//   d. cancel by run id (session.cancel) and through the run handle (run.cancel()): the run ends cancelled, the text
//      so far is kept, nothing is appended after the end.
//   e. reload mid-answer (new client + new session while the agent streams) → the whole answer once.
//   f. bad invocations are refused with Ably-style errors.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, Clients, uniqueName, waitFor, within } from './helpers.mjs';
import { createChatTransport } from '@ably/ai-transport/vercel';
import { MUTABLE_PREFIX, clientSession, loadAllOlder, rendered, userMessage, waitForRunStatus, diffText, errorsText } from './ai-transport-harness.mjs';

let server;
let slowServer;
const clients = new Clients('ait-csharp-agent');
const cleanups = [];

// Fast for most tests; a paced server for the cancel and reload points (the simulated model's 1–8 char chunks).
const FAST = { TokenWire__Agent__Simulated__MinDelay: '00:00:00.001', TokenWire__Agent__Simulated__MaxDelay: '00:00:00.004' };
const PACED = { TokenWire__Agent__Simulated__MinDelay: '00:00:00.015', TokenWire__Agent__Simulated__MaxDelay: '00:00:00.025' };

before(async () => {
  [server, slowServer] = await Promise.all([
    startServer({ logName: 'ait-csharp-agent', env: FAST }),
    startServer({ logName: 'ait-csharp-agent-paced', env: PACED }),
  ]);
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
  await clients.closeAll();
});
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
  if (slowServer) await slowServer.stop();
});

const LONG_PROMPT = 'What is TokenWire?';

/** POSTs what createChatTransport posts (run.toInvocation().toJSON()) to the server's /agent/chat. */
async function invoke(node, run) {
  const res = await fetch(`${node.url}/agent/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(run.toInvocation().toJSON()),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `POST /agent/chat answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** Sends a user message from a client session and posts its invocation; resolves with the client run + agent answer. */
async function send(node, c, text) {
  const run = await within(c.view.send(c.codec.createUserMessage(userMessage(text))), 10000, 'view.send (publish ai-input)');
  const accepted = await within(invoke(node, run), 15000, 'POST /agent/chat');
  return { run, accepted };
}

function texts(view, role) {
  return view
    .getMessages()
    .filter((m) => m.message.role === role)
    .map((m) => m.message.parts.filter((p) => p.type === 'text').map((p) => p.text).join(''));
}

for (const format of FORMATS) {
  describe(`C# agent (POST /agent/chat) with @ably/ai-transport 0.8 [${format.name}]`, () => {
    test('a. useChat transport: the stream, the sender view and a second tab render the same whole answer', async () => {
      const name = `${MUTABLE_PREFIX}${uniqueName('ait-cs-basic')}`;
      const user = clients.realtime(server, format, { clientId: 'user' });
      const tab = clients.realtime(server, format, { clientId: 'user' });
      const c = await clientSession(user, name, 'sender');
      const other = await clientSession(tab, name, 'second tab');
      const transport = createChatTransport(c.session, { api: `${server.url}/agent/chat` });
      cleanups.push(() => transport.close());
      const stream = await within(
        transport.sendMessages({ chatId: name, messages: [userMessage(LONG_PROMPT)], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }),
        10000,
        'chatTransport.sendMessages',
      );
      const chunks = [];
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await within(reader.read(), 20000, `useChat stream chunk #${chunks.length + 1}`);
        if (done) break;
        chunks.push(value);
      }
      const streamed = chunks.filter((ch) => ch.type === 'text-delta').map((ch) => ch.delta).join('');
      assert.ok(streamed.startsWith('TokenWire is a self-hosted realtime transport'), `the simulated answer: ${JSON.stringify(streamed.slice(0, 80))}`);
      assert.equal(chunks[0].type, 'start', 'the useChat stream starts with start');
      assert.equal(chunks.at(-1).type, 'finish', 'the useChat stream ends with finish');
      assert.ok(chunks.filter((ch) => ch.type === 'text-delta').length > 5, 'the answer arrived in many deltas');
      for (const [label, s] of [['sender', c], ['second tab', other]]) {
        await waitForRunStatus(s.view, 'complete', 15000, label);
        const diff = diffText(streamed, rendered(s.view).text);
        if (diff) assert.fail(`${label}: rendered text: ${diff}`);
        assert.deepEqual(texts(s.view, 'user'), [LONG_PROMPT], `${label}: the user's message once`);
        assert.equal(rendered(s.view).assistants, 1, `${label}: one assistant message`);
        assert.equal(s.errors.length, 0, `${label}: session errors: ${errorsText(s.errors)}`);
      }
    });
  });
}
