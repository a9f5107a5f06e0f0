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
//   g. a cancel while a run is suspended on a client tool ends it cancelled.
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

// Fast for most tests; a paced server for the cancel and reload points (the simulated model's 1–8 char chunks, about
// 70 for LONG_ANSWER: 3–4 s at 40–60 ms each). The pace leaves seconds between the point a test acts at and the
// answer's end, so a cancel or a reload lands mid-answer however slowly a busy box carries it.
const FAST = { 'Logging__LogLevel__TokenWire.AITransport': 'Debug', TokenWire__Agent__Simulated__MinDelay: '00:00:00.001', TokenWire__Agent__Simulated__MaxDelay: '00:00:00.004' };
const PACED = { 'Logging__LogLevel__TokenWire.AITransport': 'Debug', TokenWire__Agent__Simulated__MinDelay: '00:00:00.040', TokenWire__Agent__Simulated__MaxDelay: '00:00:00.060' };

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
/** The simulated model's answer to LONG_PROMPT (src/TokenWire.Agent/Simulation/SimulatedAnswers.cs). */
const LONG_ANSWER =
  'TokenWire is a self-hosted realtime transport for streaming AI responses token by token. It speaks the Ably ' +
  'protocol, so apps built on the Ably SDKs and React hooks connect to it unchanged. Every token is delivered ' +
  'in order, and when a connection drops the client resumes and receives exactly what it missed: nothing lost, ' +
  'nothing doubled.';

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
      const exact = diffText(LONG_ANSWER, streamed);
      if (exact) assert.fail(`the useChat stream's text is the simulated answer: ${exact}`);
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

    test('b. multi-turn: the agent answers from the earlier turns it reads in the channel history', async () => {
      const name = `${MUTABLE_PREFIX}${uniqueName('ait-cs-turns')}`;
      const user = clients.realtime(server, format, { clientId: 'user' });
      const c = await clientSession(user, name, 'sender');
      const prompts = ['Explain resumable streams', 'Write a haiku about latency'];
      for (const [i, prompt] of prompts.entries()) {
        await send(server, c, prompt);
        await waitFor(() => c.view.runs().length === i + 1 && c.view.runs()[i].status === 'complete', 15000, `turn ${i + 1} complete`);
      }
      // A fresh agent session reads the whole conversation: the recall prompt lists the earlier user turns.
      await send(server, c, 'What did I ask before?');
      await waitFor(() => c.view.runs().length === 3 && c.view.runs()[2].status === 'complete', 15000, 'recall turn complete', () => JSON.stringify(c.view.runs()));
      const answers = texts(c.view, 'assistant');
      assert.equal(answers.length, 3, 'three assistant messages');
      assert.equal(answers[2], 'Before this you asked: "Explain resumable streams"; "Write a haiku about latency".');
      assert.ok(answers[0].startsWith('A resumable stream'), `turn 1 answer: ${answers[0].slice(0, 40)}`);
      assert.deepEqual(texts(c.view, 'user'), [...prompts, 'What did I ask before?']);
      assert.equal(c.errors.length, 0, `session errors: ${errorsText(c.errors)}`);

      // A reload folds the same three turns from history alone.
      const reloaded = clients.realtime(server, format, { clientId: 'user' });
      const r = await clientSession(reloaded, name, 'reload');
      await loadAllOlder(r.view, 'reload');
      assert.deepEqual(texts(r.view, 'assistant'), answers, 'the reload renders the same answers');
      assert.deepEqual(r.view.runs().map((x) => x.status), ['complete', 'complete', 'complete']);
    });

    test('c. tool call round trip: get_weather runs on the agent and the answer uses its result', async () => {
      const name = `${MUTABLE_PREFIX}${uniqueName('ait-cs-tool')}`;
      const user = clients.realtime(server, format, { clientId: 'user' });
      const c = await clientSession(user, name, 'sender');
      await send(server, c, 'What is the weather in Paris?');
      await waitForRunStatus(c.view, 'complete', 15000, 'tool run');
      const assistant = c.view.getMessages().filter((m) => m.message.role === 'assistant');
      assert.equal(assistant.length, 1, 'one assistant message for the whole run');
      const parts = assistant[0].message.parts;
      assert.deepEqual(parts.map((p) => p.type), ['step-start', 'tool-get_weather', 'step-start', 'text'], JSON.stringify(parts));
      const tool = parts[1];
      assert.equal(tool.state, 'output-available');
      assert.deepEqual(tool.input, { city: 'Paris' });
      assert.equal(tool.output.city, 'Paris');
      assert.equal(parts[3].text, `In Paris it is ${tool.output.sky} and ${tool.output.celsius} °C right now.`);

      // The next turn sees the tool call and its result in its context: it is still a valid conversation to the model.
      await send(server, c, 'What did I ask before?');
      await waitFor(() => c.view.runs().length === 2 && c.view.runs()[1].status === 'complete', 15000, 'second turn');
      assert.equal(texts(c.view, 'assistant')[1], 'Before this you asked: "What is the weather in Paris?".');
    });

    for (const how of ['session.cancel(runId)', 'run.cancel() (the run handle)']) {
      test(`d. cancel by ${how}: the run ends cancelled, the text so far is kept, nothing follows`, async () => {
        const name = `${MUTABLE_PREFIX}${uniqueName('ait-cs-cancel')}`;
        const user = clients.realtime(slowServer, format, { clientId: 'user' });
        const c = await clientSession(user, name, 'sender');
        const { run, accepted } = await send(slowServer, c, LONG_PROMPT);
        await waitFor(() => rendered(c.view).text.length >= 20, 15000, 'the view renders some text');
        if (how.startsWith('session')) {
          const active = c.view.runs().find((r) => r.status === 'active');
          assert.ok(active, `an active run (runs: ${JSON.stringify(c.view.runs())})`);
          assert.equal(active.runId, accepted.runId, 'the run the endpoint answered with');
          await within(c.session.cancel(active.runId), 10000, 'session.cancel');
        } else {
          await within(run.cancel(), 10000, 'run.cancel');
        }
        const textAtCancel = rendered(c.view).text;
        await waitForRunStatus(c.view, 'cancelled', 15000, 'after cancel');
        const atEnd = rendered(c.view).text;
        let changed = null;
        const off = c.view.on('update', () => {
          if (rendered(c.view).text !== atEnd && changed === null) changed = `${atEnd.length} → ${rendered(c.view).text.length} chars`;
        });
        // A sentinel published after the end: once it is here, anything the agent sent before it is too.
        const sentinel = clients.realtime(slowServer, format, { clientId: 'sentinel' });
        const seen = new Promise((resolve) => user.channels.get(name).subscribe('sentinel', () => resolve()));
        await within(sentinel.channels.get(name).publish('sentinel', 'after'), 10000, 'publish sentinel');
        await within(seen, 10000, 'sentinel delivered');
        off();
        assert.equal(changed, null, `the text changed after the run ended: ${changed}`);
        assert.ok(atEnd.length >= textAtCancel.length, 'the text so far is kept');
        assert.ok(LONG_ANSWER.startsWith(atEnd), `the kept text is a prefix of the answer: ${diffText(LONG_ANSWER.slice(0, atEnd.length), atEnd)}`);
        assert.ok(atEnd.length < LONG_ANSWER.length, `the answer was cut short (${atEnd.length} of ${LONG_ANSWER.length} chars)`);
        assert.equal(c.errors.length, 0, `session errors: ${errorsText(c.errors)}`);

        // History agrees: a reload shows the run cancelled with the same text.
        const reloaded = clients.realtime(slowServer, format, { clientId: 'user' });
        const r = await clientSession(reloaded, name, 'reload');
        await loadAllOlder(r.view, 'reload');
        assert.equal(rendered(r.view).status, 'cancelled');
        assert.equal(rendered(r.view).text, atEnd);
      });
    }

    test('g. a cancel while the run is suspended (a client tool awaits its result) ends it cancelled', async () => {
      const name = `${MUTABLE_PREFIX}${uniqueName('ait-cs-suspended-cancel')}`;
      const user = clients.realtime(server, format, { clientId: 'user' });
      const c = await clientSession(user, name, 'sender');
      const { accepted } = await send(server, c, 'Where am I?');
      await waitForRunStatus(c.view, 'suspended', 15000, 'the client tool suspends the run');
      const tool = c.view.getMessages().at(-1).message.parts.find((p) => p.type === 'tool-get_location');
      assert.equal(tool?.state, 'input-available', 'the call waits for the client');
      await within(c.session.cancel(accepted.runId), 10000, 'session.cancel');
      await waitForRunStatus(c.view, 'cancelled', 15000, 'the cancel ends the suspended run');
      assert.equal(c.errors.length, 0, `session errors: ${errorsText(c.errors)}`);
    });

    test('e. reload mid-answer: a new client and session attached while the agent streams render the whole answer once', async () => {
      const failures = [];
      for (let i = 0; i < 3; i++) {
        const name = `${MUTABLE_PREFIX}${uniqueName(`ait-cs-reload-${i}`)}`;
        const user = clients.realtime(slowServer, format, { clientId: 'user' });
        const c = await clientSession(user, name, `reload ${i}: sender`);
        await send(slowServer, c, LONG_PROMPT);
        const at = 10 + i * 45; // the last point leaves about 230 chars (2–3 s) for the reload to attach in
        await waitFor(() => rendered(c.view).text.length >= at, 15000, `reload ${i}: ${at} chars rendered`);
        const reloaded = clients.realtime(slowServer, format, { clientId: 'user' });
        const r = await clientSession(reloaded, name, `reload ${i}`);
        const midStream = rendered(c.view).status === 'active';
        await loadAllOlder(r.view, `reload ${i}`);
        await waitForRunStatus(c.view, 'complete', 20000, `reload ${i}: sender`);
        await waitForRunStatus(r.view, 'complete', 20000, `reload ${i}: reloaded`);
        assert.ok(midStream, `reload ${i}: attached while the answer streamed`);
        const diff = diffText(rendered(c.view).text, rendered(r.view).text);
        if (diff) failures.push(`reload ${i} at ${at} chars: ${diff}\n    ${r.describeFirstContact()}`);
        assert.equal(rendered(r.view).assistants, 1, `reload ${i}: one assistant message`);
        assert.equal(r.errors.length, 0, `reload ${i}: session errors: ${errorsText(r.errors)}`);
        await Promise.all([c.session.close(), r.session.close()]);
      }
      if (failures.length) assert.fail(failures.join('\n'));
    });
  });
}

describe('C# agent: bad invocations get Ably-style errors', () => {
  const post = (body, headers = { 'content-type': 'application/json' }) =>
    fetch(`${server.url}/agent/chat`, { method: 'POST', headers, body }).then(async (res) => ({ status: res.status, code: res.headers.get('x-ably-errorcode'), body: await res.json() }));

  test('f. not JSON → 400/40000; missing fields → 400/40003; unknown input event → 404/40400', async () => {
    let res = await post('not json');
    assert.deepEqual([res.status, res.body.error.code, res.code], [400, 40000, '40000']);
    res = await post(JSON.stringify({ sessionName: 'mutable:x' }));
    assert.deepEqual([res.status, res.body.error.code], [400, 40003]);
    assert.match(res.body.error.message, /inputEventId/);
    res = await post(JSON.stringify({ inputEventId: 42, sessionName: 'mutable:x' }));
    assert.deepEqual([res.status, res.body.error.code], [400, 40003]);
    const started = Date.now();
    res = await post(JSON.stringify({ inputEventId: 'no-such-event', sessionName: `${MUTABLE_PREFIX}${uniqueName('ait-cs-missing')}` }));
    assert.deepEqual([res.status, res.body.error.code], [404, 40400], JSON.stringify(res.body));
    assert.ok(Date.now() - started < 30000);
  });

  test('f. a channel outside a mutable namespace: the appends are refused (93002) and the run ends in error', async () => {
    const user = clients.realtime(server, FORMATS[1], { clientId: 'user' });
    const name = uniqueName('ait-cs-not-mutable');
    const c = await clientSession(user, name, 'sender');
    const run = await within(c.view.send(c.codec.createUserMessage(userMessage('hi'))), 10000, 'send');
    const res = await post(JSON.stringify(run.toInvocation().toJSON()));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await waitForRunStatus(c.view, 'error', 15000, 'the run ends in error');
  });

});
