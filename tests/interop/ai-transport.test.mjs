// The real Ably AI Transport SDK (`@ably/ai-transport@0.8.0`, Vercel codec) with `ai@6` and `ably@2.28.0` against a
// TokenWire server process. An agent (its own ably client, clientId `ai-agent`) answers invocations posted to an HTTP
// endpoint in this file the way the SDK's README does: createAgentSession → createRun → page history until the
// trigger is located → run.start → run.pipe(streamText(MockLanguageModelV3).toUIMessageStream()) → run.end. The model
// streams 150–250 distinct text deltas a few ms apart, so the whole rendered text can be compared exactly.
//   a. useChat's transport (createChatTransport) posts the invocation; its stream, the sender's view and a second tab
//      attached beforehand all render exactly the model's text, run status complete.
//   b. reload mid-stream: a new ably client + new client session attaches while the agent streams and pages
//      view.loadOlder() through a proxy that answers history 100 ms late; its view must end with the whole response
//      exactly once. Random reload points, several per format.
//   c. refresh: session.close() and a new session on the same client mid-stream → whole response once. (close()
//      detaches the channel, so the new session's attach is a fresh one, like a reload's.)
//   d. cancel: the client cancels the active run → the run ends cancelled, the text so far is kept (a prefix of the
//      model's text) and nothing is appended after the run ends.
//   e. transport cut: the client's WebSocket is destroyed mid-stream (through the proxy) → the connection resumes, the
//      channel is not re-attached without `resumed`, the session reports no error, whole response once.
// Channels live in the dev app's `mutable` namespace (mutableMessages), which the SDK's appends need.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, Clients, uniqueName, randomInt, waitFor, within } from './helpers.mjs';
import { createChatTransport } from '@ably/ai-transport/vercel';
import {
  MUTABLE_PREFIX,
  makeAnswer,
  pacedModel,
  startAgentEndpoint,
  startDelayProxy,
  clientSession,
  loadAllOlder,
  rendered,
  userMessage,
  waitForRunStatus,
  diffText,
  errorsText,
} from './ai-transport-harness.mjs';

const RELOADS_PER_FORMAT = Number(process.env.AIT_RELOADS || 8);
const HISTORY_DELAY_MS = 100;

let server;
let proxy;
const clients = new Clients('ai-transport');
const cleanups = [];

before(async () => {
  server = await startServer({ logName: 'ai-transport' });
  proxy = await startDelayProxy(server.port, { historyDelayMs: HISTORY_DELAY_MS });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
  await clients.closeAll();
});
after(async () => {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
  await clients.closeAll();
  if (proxy) await proxy.close();
  if (server) await server.stop();
});

/** An agent client + endpoint; `models` maps a channel name to the paced model its next invocation streams. */
async function startAgent(format, node = server) {
  const agentClient = clients.realtime(node, format, { clientId: 'ai-agent' });
  const models = new Map();
  const agent = await startAgentEndpoint(agentClient, (invocation) => {
    const entry = models.get(invocation.sessionName);
    if (!entry) throw new Error(`no model prepared for ${invocation.sessionName}`);
    return { model: entry.model };
  });
  cleanups.push(() => agent.close());
  return { agent, models, agentClient };
}

/** Prepares a channel and its model; returns what a scenario needs to send the user's message. */
function prepare(models, label, { count = 200, delayMs = 5 } = {}) {
  const name = `${MUTABLE_PREFIX}${uniqueName(label)}`;
  const answer = makeAnswer(count);
  const { model, state } = pacedModel(answer.deltas, { delayMs });
  models.set(name, { model });
  return { name, answer, model: state, count };
}

/** Sends the user's message from a client session and posts the invocation to the agent endpoint. */
async function send(agent, c, text = 'Tell me something long.') {
  const run = await within(c.view.send(c.codec.createUserMessage(userMessage(text))), 10000, 'view.send (publish ai-input)');
  const index = agent.runs.length;
  await within(agent.invoke(run), 10000, 'POST invocation to the agent endpoint');
  await waitFor(() => agent.runs[index], 15000, 'agent endpoint records the invocation');
  return { run, agentRun: agent.runs[index] };
}

async function agentOutcome(agentRun, label) {
  const outcome = await within(agentRun.promise, 30000, `${label}: agent run finishes (start, pipe, end)`);
  assert.equal(agentRun.errors.length, 0, `${label}: agent session errors: ${errorsText(agentRun.errors)}`);
  return outcome;
}

/** The rendered final state of a view after its run reached `status`: text, user message, one assistant message. */
async function checkFinal(view, expectedText, { status = 'complete', label, errors = [], userText = 'Tell me something long.' }) {
  await waitForRunStatus(view, status, 15000, label);
  const r = rendered(view);
  const diff = diffText(expectedText, r.text);
  if (diff) assert.fail(`${label}: rendered assistant text: ${diff}`);
  const users = view.getMessages().filter((m) => m.message.role === 'user');
  assert.deepEqual(
    users.map((m) => m.message.parts.map((p) => p.text).join('')),
    [userText],
    `${label}: the user's message is rendered once`,
  );
  assert.equal(r.assistants, 1, `${label}: one assistant message`);
  assert.equal(errors.length, 0, `${label}: session errors: ${errorsText(errors)}`);
}

/** Records connection and channel state changes as they happen (a fast resume outruns any poll). */
function recordStates(client, channelName) {
  const connection = [];
  const channel = [];
  const onConn = (change) => connection.push({ current: change.current, reason: change.reason && change.reason.code });
  const onChannel = (change) => channel.push({ event: change.event, current: change.current, resumed: change.resumed });
  client.connection.on(onConn);
  client.channels.get(channelName).on(onChannel);
  return { connection, channel };
}

for (const format of FORMATS) {
  describe(`@ably/ai-transport 0.8 over TokenWire [${format.name}]`, () => {
    test('a. useChat transport posts the invocation; its stream, the sender view and another tab render the exact text', async () => {
      const { agent, models } = await startAgent(format);
      const s = prepare(models, 'ait-basic', { count: 200, delayMs: 4 });
      const user = clients.realtime(server, format, { clientId: 'user' });
      const tab = clients.realtime(server, format, { clientId: 'user' });
      const c = await clientSession(user, s.name, 'sender');
      const other = await clientSession(tab, s.name, 'second tab (attached before the run)');
      const transport = createChatTransport(c.session, { api: agent.url });

      const stream = await within(
        transport.sendMessages({
          chatId: s.name,
          messages: [userMessage('Tell me something long.')],
          trigger: 'submit-message',
          messageId: undefined,
          abortSignal: undefined,
        }),
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
      const diff = diffText(s.answer.text, streamed);
      if (diff) assert.fail(`useChat stream text: ${diff}`);
      assert.equal(chunks[0].type, 'start', 'the useChat stream starts with start');
      assert.equal(chunks.at(-1).type, 'finish', 'the useChat stream ends with finish');

      assert.equal(agent.runs.length, 1, 'one invocation posted');
      assert.deepEqual(await agentOutcome(agent.runs[0], 'a'), { reason: 'complete' });
      assert.equal(s.model.emitted, s.count, 'the model streamed every delta');
      await checkFinal(c.view, s.answer.text, { label: 'sender view', errors: c.errors });
      await checkFinal(other.view, s.answer.text, { label: 'second tab', errors: other.errors });
      await transport.close();
    });

    test(`b. reload mid-stream (new client, new session, history ${HISTORY_DELAY_MS} ms late): whole response once, ${RELOADS_PER_FORMAT} random points`, async () => {
      const { agent, models } = await startAgent(format);
      const failures = [];
      const seen = [];
      for (let i = 0; i < RELOADS_PER_FORMAT; i++) {
        const s = prepare(models, `ait-reload-${i}`, { count: 200, delayMs: 6 });
        const user = clients.realtime(server, format, { clientId: 'user' });
        const c = await clientSession(user, s.name, `iteration ${i} sender`);
        const { agentRun } = await send(agent, c);
        const reloadAt = randomInt(1, Math.floor(s.count * 0.6));
        await waitFor(() => s.model.emitted >= reloadAt, 15000, `iteration ${i}: model emits ${reloadAt} deltas`, () => `${s.model.emitted} emitted`);

        // The reload: a new ably client (through the proxy that makes history late) and a new session.
        const historyBefore = proxy.state.historyRequests;
        const reloaded = clients.realtime({ port: proxy.port }, format, { clientId: 'user' });
        const r = await clientSession(reloaded, s.name, `iteration ${i} reload`);
        const attachedAt = s.model.emitted;
        const midStream = !s.model.finished;
        await loadAllOlder(r.view, `iteration ${i} reload`);
        assert.ok(proxy.state.historyRequests > historyBefore, `iteration ${i}: the reload read history through the delaying proxy`);

        assert.deepEqual(await agentOutcome(agentRun, `iteration ${i}`), { reason: 'complete' });
        await checkFinal(c.view, s.answer.text, { label: `iteration ${i} sender (attached before the run)`, errors: c.errors });
        assert.ok(midStream, `iteration ${i}: the reload attached mid-stream (at delta ${attachedAt} of ${s.count})`);

        const where = `reload at delta ${attachedAt}/${s.count} (asked ${reloadAt})`;
        try {
          await checkFinal(r.view, s.answer.text, { label: `iteration ${i} ${where}`, errors: r.errors });
          seen.push(`${where}: exact`);
        } catch (err) {
          failures.push(`${err.message}\n    ${r.describeFirstContact()}`);
          seen.push(`${where}: FAILED`);
        }
        await Promise.all([c.session.close(), r.session.close()]);
        await Promise.all([clients.close(user), clients.close(reloaded)]);
      }
      if (failures.length) {
        assert.fail(
          `${failures.length} of ${RELOADS_PER_FORMAT} reloads did not render the whole response exactly once:\n  ` +
            failures.join('\n  ') +
            `\nall iterations: ${seen.join('; ')}`,
        );
      }
    });

    test('b (control). reload after the run ended: history alone renders the whole response once', async () => {
      const { agent, models } = await startAgent(format);
      const s = prepare(models, 'ait-reload-after', { count: 150, delayMs: 2 });
      const user = clients.realtime(server, format, { clientId: 'user' });
      const c = await clientSession(user, s.name, 'sender');
      const { agentRun } = await send(agent, c);
      assert.deepEqual(await agentOutcome(agentRun, 'control'), { reason: 'complete' });
      await checkFinal(c.view, s.answer.text, { label: 'sender', errors: c.errors });
      const reloaded = clients.realtime({ port: proxy.port }, format, { clientId: 'user' });
      const r = await clientSession(reloaded, s.name, 'reload after the end');
      await loadAllOlder(r.view, 'reload after the end');
      await checkFinal(r.view, s.answer.text, { label: 'reload after the run ended', errors: r.errors });
      assert.equal(r.firstContact.size, 0, 'nothing streamed live to the late attachment');
    });

    test('c. refresh: session.close() and a new session on the same client mid-stream → whole response once', async () => {
      const { agent, models } = await startAgent(format);
      const failures = [];
      for (let i = 0; i < 3; i++) {
        const s = prepare(models, `ait-refresh-${i}`, { count: 200, delayMs: 6 });
        const user = clients.realtime({ port: proxy.port }, format, { clientId: 'user' });
        const first = await clientSession(user, s.name, `refresh ${i}: first session`);
        const { agentRun } = await send(agent, first);
        const refreshAt = randomInt(5, Math.floor(s.count * 0.6));
        await waitFor(() => s.model.emitted >= refreshAt, 15000, `refresh ${i}: model emits ${refreshAt} deltas`);
        await within(first.session.close(), 10000, `refresh ${i}: session.close()`);
        const second = await clientSession(user, s.name, `refresh ${i}: second session`);
        const attachedAt = s.model.emitted;
        const midStream = !s.model.finished;
        await loadAllOlder(second.view, `refresh ${i}: second session`);
        assert.deepEqual(await agentOutcome(agentRun, `refresh ${i}`), { reason: 'complete' });
        assert.ok(midStream, `refresh ${i}: the new session attached mid-stream (at delta ${attachedAt} of ${s.count})`);
        try {
          await checkFinal(second.view, s.answer.text, { label: `refresh ${i} at delta ${attachedAt}/${s.count}`, errors: second.errors });
        } catch (err) {
          failures.push(`${err.message}\n    ${second.describeFirstContact()}`);
        }
        await second.session.close();
        await clients.close(user);
      }
      if (failures.length) assert.fail(`${failures.length} of 3 refreshes lost or doubled text:\n  ${failures.join('\n  ')}`);
    });

    test('d. cancel: the run ends cancelled, the text so far is kept, nothing is appended after the run ends', async () => {
      const { agent, models } = await startAgent(format);
      const s = prepare(models, 'ait-cancel', { count: 250, delayMs: 6 });
      const user = clients.realtime(server, format, { clientId: 'user' });
      const c = await clientSession(user, s.name, 'sender');
      const { agentRun } = await send(agent, c);
      const cancelAt = randomInt(20, 120);
      await waitFor(() => s.model.emitted >= cancelAt && rendered(c.view).text.length > 0, 15000, `model emits ${cancelAt} deltas and the view renders some`);
      const active = c.view.runs().find((r) => r.status === 'active');
      assert.ok(active, `an active run to cancel (runs: ${JSON.stringify(c.view.runs())})`);
      const textAtCancel = rendered(c.view).text;
      await within(c.session.cancel(active.runId), 10000, 'session.cancel(runId) publishes ai-cancel');

      await waitForRunStatus(c.view, 'cancelled', 15000, 'sender view after cancel');
      const atEnd = rendered(c.view).text;
      let changedAfterEnd = null;
      const off = c.view.on('update', () => {
        const now = rendered(c.view).text;
        if (now !== atEnd && changedAfterEnd === null) changedAfterEnd = `${atEnd.length} → ${now.length} chars`;
      });

      assert.deepEqual(await agentOutcome(agentRun, 'cancel'), { reason: 'cancelled' });
      assert.equal(agentRun.pipeResult.reason, 'cancelled', 'run.pipe reports cancelled');
      assert.ok(s.model.aborted || s.model.emitted < s.count, `the model was stopped (emitted ${s.model.emitted} of ${s.count})`);

      // A sentinel published after the agent ended: once it arrives, everything the agent sent before it has too.
      const sentinelClient = clients.realtime(server, format, { clientId: 'sentinel' });
      const sentinelSeen = new Promise((resolve) => user.channels.get(s.name).subscribe('sentinel', () => resolve()));
      await within(sentinelClient.channels.get(s.name).publish('sentinel', 'after the run'), 10000, 'publish sentinel');
      await within(sentinelSeen, 10000, 'the sender receives the sentinel');
      off();

      const final = rendered(c.view).text;
      assert.equal(changedAfterEnd, null, `the rendered text changed after the run ended cancelled: ${changedAfterEnd}`);
      assert.ok(final.length >= textAtCancel.length, `the text so far is kept (${textAtCancel.length} chars at cancel, ${final.length} after)`);
      assert.ok(s.answer.text.startsWith(final), `the kept text is a prefix of the model's text: ${diffText(s.answer.text.slice(0, final.length), final)}`);
      assert.ok(final.length < s.answer.text.length, `the run was cut short (${final.length} of ${s.answer.text.length} chars)`);
      assert.equal(rendered(c.view).status, 'cancelled');
      assert.equal(c.errors.length, 0, `session errors: ${errorsText(c.errors)}`);
    });

    test('e. transport cut mid-stream: the connection resumes and the view renders the whole response once', async () => {
      const { agent, models } = await startAgent(format);
      for (let i = 0; i < 2; i++) {
        const s = prepare(models, `ait-cut-${i}`, { count: 200, delayMs: 6 });
        const user = clients.realtime({ port: proxy.port }, format, { clientId: 'user' });
        const c = await clientSession(user, s.name, `cut ${i}: sender`);
        const states = recordStates(user, s.name);
        const connectionId = user.connection.id;
        const { agentRun } = await send(agent, c);
        const cutAt = randomInt(10, 140);
        await waitFor(() => s.model.emitted >= cutAt, 15000, `cut ${i}: model emits ${cutAt} deltas`);
        const killed = proxy.killSockets();
        assert.ok(killed >= 1, `cut ${i}: a proxied WebSocket was destroyed`);
        await waitFor(
          () => {
            const d = states.connection.findIndex((x) => x.current === 'disconnected');
            return d >= 0 && states.connection.slice(d).some((x) => x.current === 'connected');
          },
          20000,
          `cut ${i}: the connection goes disconnected and then connected again`,
          () => JSON.stringify(states.connection),
        );
        assert.equal(user.connection.id, connectionId, `cut ${i}: resumed the same connection`);
        assert.deepEqual(await agentOutcome(agentRun, `cut ${i}`), { reason: 'complete' });
        await checkFinal(c.view, s.answer.text, { label: `cut ${i} at delta ${cutAt}/${s.count}`, errors: c.errors });
        const lost = states.channel.filter((x) => ['failed', 'suspended', 'detached'].includes(x.current) || (x.current === 'attached' && !x.resumed));
        assert.deepEqual(lost, [], `cut ${i}: channel continuity kept (changes: ${JSON.stringify(states.channel)})`);
        await c.session.close();
        await clients.close(user);
      }
    });
  });
}
