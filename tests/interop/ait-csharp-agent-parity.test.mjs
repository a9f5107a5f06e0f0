// Parity: the same conversation answered by the C# agent (the server's POST /agent/chat) and by the JS agent
// (@ably/ai-transport 0.8's createAgentSession + streamText, as in ai-transport-harness.mjs), with the JS model
// replaying the C# model's output, must fold identically in the unmodified client (view.getMessages(), runs) and put
// the same messages on the channel (history: names, actions, header keys, codec headers, data; ids compared by
// their pattern of equality). Conversation: a long answer, a tool call round trip (get_weather), a follow-up turn;
// regenerate and edit (view.regenerate / view.edit: sibling branches, msg-regenerate / fork-of / parent on the wire);
// then a second prompt sent while the first answer streams (double-texting). Both wire formats.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, Clients, uniqueName, waitFor, within, allPages } from './helpers.mjs';
import { MUTABLE_PREFIX, clientSession, startAgentEndpoint, userMessage, errorsText } from './ai-transport-harness.mjs';
import { createChatTransport } from '@ably/ai-transport/vercel';
import { tool, jsonSchema, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';

let server;
const clients = new Clients('ait-csharp-parity');
const cleanups = [];

before(async () => {
  server = await startServer({
    logName: 'ait-csharp-parity',
    env: { 'Logging__LogLevel__TokenWire.AITransport': 'Debug', TokenWire__Agent__Simulated__MinDelay: '00:00:00.002', TokenWire__Agent__Simulated__MaxDelay: '00:00:00.006' },
  });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
  await clients.closeAll();
});
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

const usage = { inputTokens: { total: 1, noCache: 1 }, outputTokens: { total: 1, text: 1 } };

/** A mock model whose n-th call streams `script[n]`: { text } or { toolCall: { toolCallId, toolName, input } }. */
function replayModel(script, { delayMs = 2 } = {}) {
  let call = 0;
  return new MockLanguageModelV3({
    doStream: async () => {
      const step = script[call++];
      if (!step) throw new Error(`the replay model was called ${call} times; the script has ${script.length} steps`);
      const parts = [{ type: 'stream-start', warnings: [] }];
      if (step.toolCall) {
        parts.push({ type: 'tool-call', toolCallId: step.toolCall.toolCallId, toolName: step.toolCall.toolName, input: JSON.stringify(step.toolCall.input) });
        parts.push({ type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage });
      } else {
        parts.push({ type: 'text-start', id: 'text-1' });
        for (let i = 0; i < step.text.length; i += 7) parts.push({ type: 'text-delta', id: 'text-1', delta: step.text.slice(i, i + 7) });
        parts.push({ type: 'text-end', id: 'text-1' });
        parts.push({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage });
      }
      let next = 0;
      return {
        stream: new ReadableStream({
          async pull(controller) {
            if (parts[next].type === 'text-delta') await new Promise((r) => setTimeout(r, delayMs));
            controller.enqueue(parts[next++]);
            if (next === parts.length) controller.close();
          },
        }),
      };
    },
  });
}

/**
 * The client's folded conversation without its random ids (an approval's id is each agent's own: only whether there
 * is one is compared), copied: the view replaces parts in place as they change.
 */
function folded(view) {
  const part = (p) => (p.approval ? { ...p, approval: { ...p.approval, id: p.approval.id ? '(id)' : '' } } : p);
  return view.getMessages().map(({ message }) => ({ role: message.role, parts: structuredClone(message.parts).map(part) }));
}

function runShapes(view) {
  return view.runs().map((r) => ({ status: r.status, steps: r.steps.map((s) => s.status) }));
}

/**
 * The channel's history, oldest first, as comparable records: ids and serials (random per run) are replaced by the
 * order in which each distinct value first appears, so "the same id here as there" is still checked.
 */
async function wireShape(rest, name) {
  const { items } = await allPages(rest.channels.get(name).history({ direction: 'forwards', limit: 100 }), { label: `history ${name}` });
  const ids = new Map();
  const id = (v) => {
    if (!ids.has(v)) ids.set(v, `#${ids.size}`);
    return ids.get(v);
  };
  const ID_KEYS = new Set(['run-id', 'invocation-id', 'codec-message-id', 'parent', 'fork-of', 'msg-regenerate', 'supersedes', 'input-codec-message-id', 'event-id', 'step-id', 'step-start-serial', 'messageId', 'approvalId']);
  // A client tool result's fork carries the suspended run's messages under fresh ids (data.forkSeed).
  const maskData = (data) => {
    if (!data || typeof data !== 'object' || !data.forkSeed) return data;
    const messages = data.forkSeed.messages.map((m) => ({ ...m, codecMessageId: id(m.codecMessageId), message: { ...m.message, id: id(m.message.id) } }));
    return { ...data, forkSeed: { ...data.forkSeed, messages } };
  };
  const mask = (headers) =>
    Object.fromEntries(Object.entries(headers || {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, ID_KEYS.has(k) ? id(v) : v]));
  return items.map((m) => ({
    name: m.name,
    action: m.action,
    clientId: m.clientId,
    data: maskData(m.data),
    transport: mask(m.extras?.ai?.transport),
    codec: mask(m.extras?.ai?.codec),
  }));
}

/** POSTs the run's invocation to the server's /agent/chat (what createChatTransport does). */
async function postAgentChat(run) {
  let res;
  try {
    res = await fetch(`${server.url}/agent/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(run.toInvocation().toJSON()) });
  } catch (err) {
    throw new Error(`POST /agent/chat failed: ${err.message} (${err.cause && (err.cause.code || err.cause.message)})`);
  }
  const body = await res.text();
  assert.equal(res.status, 200, `POST /agent/chat: ${res.status} ${body}`);
}

/** Waits until the client run (from view.send/regenerate/edit) has been started by the agent and has ended. */
async function runEnds(c, run, label) {
  await within(run.started, 15000, `${label}: ai-run-start`);
  await waitFor(
    () => ['complete', 'cancelled', 'error'].includes(c.view.run(run.runId)?.status),
    20000,
    `${label}: run ends`,
    () => JSON.stringify(runShapes(c.view)),
  );
}

/** Per visible message: how many sibling branches it anchors and which one is shown. */
function branchShapes(view) {
  return view.getMessages().map(({ codecMessageId }) => {
    const b = view.branchSelection(codecMessageId);
    return { siblings: b.siblings.length, index: b.index };
  });
}

async function sendAndWait(c, invoke, text, runCount) {
  const run = await within(c.view.send(c.codec.createUserMessage(userMessage(text))), 10000, 'view.send');
  await invoke(run);
  await waitFor(
    () => c.view.runs().length >= runCount && c.view.runs().slice(0, runCount).every((r) => r.status !== 'active'),
    20000,
    `run ${runCount} ends`,
    () => JSON.stringify(runShapes(c.view)),
  );
  return run;
}

for (const format of FORMATS) {
  describe(`parity: the C# agent and the JS agent fold identically [${format.name}]`, () => {
    test('a long answer, a tool round trip and a follow-up: same folded messages, same runs, same wire', async () => {
      const prompts = ['What is TokenWire?', 'What is the weather in Oslo?', 'What did I ask before?'];
      // 1. The C# agent answers on one channel.
      const csName = `${MUTABLE_PREFIX}${uniqueName('parity-cs')}`;
      const cs = await clientSession(clients.realtime(server, format, { clientId: 'user' }), csName, 'C# session');
      const postCs = (run) => postAgentChat(run);
      for (const [i, p] of prompts.entries()) await sendAndWait(cs, postCs, p, i + 1);
      const csMessages = folded(cs.view);
      const assistants = csMessages.filter((m) => m.role === 'assistant');
      assert.equal(assistants.length, 3, JSON.stringify(csMessages));
      const toolPart = assistants[1].parts.find((p) => p.type === 'tool-get_weather');
      assert.ok(toolPart, `the C# agent called the tool: ${JSON.stringify(assistants[1].parts)}`);
      const textOf = (m) => m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');

      // 2. The JS agent answers the same prompts on another channel, its model replaying the C# model's output.
      const script = [
        { text: textOf(assistants[0]) },
        { toolCall: { toolCallId: toolPart.toolCallId, toolName: 'get_weather', input: toolPart.input } },
        { text: textOf(assistants[1]) },
        { text: textOf(assistants[2]) },
      ];
      const model = replayModel(script);
      const tools = { get_weather: tool({ description: 'The current weather in a city.', inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } } }), execute: async () => toolPart.output }) };
      const agent = await startAgentEndpoint(clients.realtime(server, format, { clientId: 'ai-agent' }), () => ({ model, tools, stopWhen: stepCountIs(5) }));
      cleanups.push(() => agent.close());
      const jsName = `${MUTABLE_PREFIX}${uniqueName('parity-js')}`;
      const js = await clientSession(clients.realtime(server, format, { clientId: 'user' }), jsName, 'JS session');
      for (const [i, p] of prompts.entries()) {
        await sendAndWait(js, (run) => agent.invoke(run), p, i + 1);
        // The JS agent session detaches the channel when its run ends (session.end()); the harness shares one ably
        // client between invocations, so the next one must wait for that or its new attachment is cut.
        assert.deepEqual(await within(agent.runs[i].promise, 20000, `JS agent run ${i + 1}`), { reason: 'complete' });
      }

      // 3. Same folded conversation and runs in the client; same messages on the channel.
      assert.deepEqual(folded(cs.view), folded(js.view), 'the client folds both conversations identically');
      assert.deepEqual(runShapes(cs.view), runShapes(js.view), 'same runs and steps');
      const rest = clients.rest(server, format);
      const [csWire, jsWire] = await Promise.all([wireShape(rest, csName), wireShape(rest, jsName)]);
      assert.deepEqual(csWire, jsWire, 'the same messages on the channel (history)');
      assert.equal(cs.errors.length + js.errors.length, 0, errorsText([...cs.errors, ...js.errors]));
    });

    test('regenerate and edit: each new reply is a sibling branch, folded and placed on the wire as by the JS agent', async () => {
      // Ask twice, regenerate the second answer, edit the second prompt, then ask for a recall on the edited branch:
      // the recall lists only the prompts of that branch, so the agent read the branch the edit made.
      const conversation = async (c, invoke, label, afterEach = async () => {}) => {
        const shapes = {};
        await sendAndWait(c, invoke, 'What is TokenWire?', 1);
        await afterEach();
        await sendAndWait(c, invoke, 'Explain resumable streams', 2);
        await afterEach();
        const [, , prompt2, answer2] = c.view.getMessages();
        const regen = await within(c.view.regenerate(answer2.codecMessageId), 10000, `${label}: view.regenerate`);
        await invoke(regen);
        await runEnds(c, regen, `${label}: regenerate`);
        await afterEach();
        shapes.regenerated = { folded: folded(c.view), branches: branchShapes(c.view), runs: runShapes(c.view) };
        const edit = await within(c.view.edit(prompt2.codecMessageId, c.codec.createUserMessage(userMessage('Write a haiku about latency'))), 10000, `${label}: view.edit`);
        await invoke(edit);
        await runEnds(c, edit, `${label}: edit`);
        await afterEach();
        const recall = await within(c.view.send(c.codec.createUserMessage(userMessage('What did I ask before?'))), 10000, `${label}: recall`);
        await invoke(recall);
        await runEnds(c, recall, `${label}: recall`);
        await afterEach();
        shapes.edited = { folded: folded(c.view), branches: branchShapes(c.view), runs: runShapes(c.view) };
        // Back to the first version of the prompt: its answer shows the regenerated reply, a sibling of the first.
        const editAnchor = c.view.getMessages()[2].codecMessageId;
        c.view.branchSelection(editAnchor).select(0);
        shapes.original = { folded: folded(c.view), branches: branchShapes(c.view), runs: runShapes(c.view) };
        return shapes;
      };

      const csName = `${MUTABLE_PREFIX}${uniqueName('parity-fork-cs')}`;
      const cs = await clientSession(clients.realtime(server, format, { clientId: 'user' }), csName, 'C# session');
      const csShapes = await conversation(cs, (run) => postAgentChat(run), 'C#');
      const textOf = (m) => m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
      const csTexts = (shape) => shape.folded.filter((m) => m.role === 'assistant').map(textOf);
      assert.deepEqual(csShapes.regenerated.branches.map((b) => b.siblings), [1, 1, 1, 2], 'the regenerated reply is the second of two siblings');
      assert.equal(csShapes.regenerated.branches[3].index, 1);
      assert.deepEqual(csShapes.edited.branches.map((b) => b.siblings), [1, 1, 2, 1, 1, 1], 'the edited prompt is the second of two siblings');
      const [answer1, haiku, recalled] = csTexts(csShapes.edited);
      assert.equal(recalled, 'Before this you asked: "What is TokenWire?"; "Write a haiku about latency".', 'the agent answered from the edited branch');
      assert.deepEqual(csShapes.original.folded.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
      const regenerated = csTexts(csShapes.original)[1];
      assert.ok(regenerated.startsWith('A resumable stream'), `the regenerated answer: ${regenerated.slice(0, 40)}`);

      // The JS agent answers the same five invocations, its model replaying the C# answers in order.
      const model = replayModel([answer1, regenerated, regenerated, haiku, recalled].map((text) => ({ text })));
      const agent = await startAgentEndpoint(clients.realtime(server, format, { clientId: 'ai-agent' }), () => ({ model }));
      cleanups.push(() => agent.close());
      const jsName = `${MUTABLE_PREFIX}${uniqueName('parity-fork-js')}`;
      const js = await clientSession(clients.realtime(server, format, { clientId: 'user' }), jsName, 'JS session');
      // Its agent session detaches when a run ends; the next invocation waits for that (see the first test).
      let ended = 0;
      const jsShapes = await conversation(js, (run) => agent.invoke(run), 'JS', async () => {
        assert.deepEqual(await within(agent.runs[ended].promise, 20000, `JS agent run ${ended + 1}`), { reason: 'complete' });
        ended += 1;
      });

      assert.deepEqual(csShapes, jsShapes, 'the client folds, branches and runs both conversations identically');
      const rest = clients.rest(server, format);
      const [csWire, jsWire] = await Promise.all([wireShape(rest, csName), wireShape(rest, jsName)]);
      assert.deepEqual(csWire, jsWire, 'the same messages on the channel (history)');
      assert.equal(cs.errors.length + js.errors.length, 0, errorsText([...cs.errors, ...js.errors]));
    });

    test('client tool and approvals: the run suspends, the client answers through the useChat transport, the run finishes, as with the JS agent', async () => {
      // The client's answers, as useChat's addToolResult / addToolApprovalResponse leave the tool part before it
      // resubmits: a client tool's result (a fork of the suspended run), an approval, a denial (both resume it).
      const flows = [
        { label: 'client tool', prompt: 'Where am I?', answer: (part) => ({ ...part, state: 'output-available', output: { city: 'Oslo' } }) },
        { label: 'approved', prompt: 'Book a table in Paris', answer: (part) => ({ ...part, state: 'approval-responded', approval: { id: part.approval.id, approved: true } }) },
        { label: 'denied', prompt: 'Book a table in Paris', answer: (part) => ({ ...part, state: 'approval-responded', approval: { id: part.approval.id, approved: false, reason: 'not tonight' } }) },
      ];
      const drain = async (stream, label) => {
        const reader = stream.getReader();
        for (let n = 1; ; n++) if ((await within(reader.read(), 20000, `${label}: useChat stream chunk #${n}`)).done) return;
      };
      const lastRunIs = (c, status, label) =>
        waitFor(() => c.view.runs().at(-1)?.status === status, 20000, `${label}: run ${status}`, () => JSON.stringify(runShapes(c.view)));
      const conversation = async (c, name, api, flow, label, afterRun) => {
        const transport = createChatTransport(c.session, { api });
        cleanups.push(() => transport.close());
        const send = (messages, messageId) => transport.sendMessages({ chatId: name, messages, trigger: 'submit-message', messageId, abortSignal: undefined });
        await drain(await within(send([userMessage(flow.prompt)]), 10000, `${label}: send`), label);
        await afterRun();
        await lastRunIs(c, 'suspended', label);
        const suspended = { folded: folded(c.view), runs: runShapes(c.view) };
        const messages = c.view.getMessages().map(({ message }) => structuredClone(message));
        const last = messages.at(-1);
        last.parts = last.parts.map((p) => (p.toolCallId ? flow.answer(p) : p));
        await drain(await within(send(messages, last.id), 10000, `${label}: answer`), `${label}: answer`);
        await afterRun();
        await lastRunIs(c, 'complete', `${label}: answered`);
        return { suspended, answered: { folded: folded(c.view), runs: runShapes(c.view) } };
      };
      const textOf = (m) => m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
      const toolOf = (shape) => shape.folded.flatMap((m) => m.parts).find((p) => p.toolCallId);

      for (const flow of flows) {
        const csName = `${MUTABLE_PREFIX}${uniqueName('parity-tools-cs')}`;
        const cs = await clientSession(clients.realtime(server, format, { clientId: 'user' }), csName, `C# ${flow.label}`);
        const csShapes = await conversation(cs, csName, `${server.url}/agent/chat`, flow, `C# ${flow.label}`, async () => {});
        const asked = toolOf(csShapes.suspended);
        assert.equal(asked.state, flow.label === 'client tool' ? 'input-available' : 'approval-requested', `${flow.label}: the run waits for the client`);
        const answer = textOf(csShapes.answered.folded.at(-1));
        const done = toolOf(csShapes.answered);
        if (flow.label === 'client tool') assert.equal(answer, 'You are in Oslo.');
        else if (flow.label === 'approved') assert.equal(answer, `Booked a table for two in Paris tonight: confirmation ${done.output.confirmation}.`);
        else assert.deepEqual([done.state, answer], ['output-denied', 'All right, I did not book a table.']);

        // The JS agent: the same tools (get_location without execute; book_table needing approval), its model
        // replaying the C# model's call and answer.
        const model = replayModel([{ toolCall: { toolCallId: asked.toolCallId, toolName: asked.type.slice('tool-'.length), input: asked.input } }, { text: answer }]);
        const tools = {
          get_location: tool({ description: 'The city the user is in.', inputSchema: jsonSchema({ type: 'object', properties: {} }) }),
          book_table: tool({ description: 'Books a table.', inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } } }), needsApproval: true, execute: async () => done.output }),
        };
        const agent = await startAgentEndpoint(clients.realtime(server, format, { clientId: 'ai-agent' }), () => ({ model, tools, stopWhen: stepCountIs(5) }));
        cleanups.push(() => agent.close());
        const jsName = `${MUTABLE_PREFIX}${uniqueName('parity-tools-js')}`;
        const js = await clientSession(clients.realtime(server, format, { clientId: 'user' }), jsName, `JS ${flow.label}`);
        let ended = 0;
        const jsShapes = await conversation(js, jsName, agent.url, flow, `JS ${flow.label}`, async () => {
          await within(agent.runs[ended].promise, 20000, `JS agent run ${ended + 1}`);
          ended += 1;
        });

        assert.deepEqual(csShapes, jsShapes, `${flow.label}: the client folds both conversations identically, suspended and answered`);
        const rest = clients.rest(server, format);
        const [csWire, jsWire] = await Promise.all([wireShape(rest, csName), wireShape(rest, jsName)]);
        assert.deepEqual(csWire, jsWire, `${flow.label}: the same messages on the channel (history)`);
        assert.equal(cs.errors.length + js.errors.length, 0, errorsText([...cs.errors, ...js.errors]));
      }
    });

    test('double-texting: a second prompt while the first answer streams gives two runs, as with the JS agent', async () => {
      let agentState = () => '';
      const run = async (label, invoke) => {
        const name = `${MUTABLE_PREFIX}${uniqueName(`parity-dt-${label}`)}`;
        const c = await clientSession(clients.realtime(server, format, { clientId: 'user' }), name, `${label} session`);
        const first = await within(c.view.send(c.codec.createUserMessage(userMessage('What is TokenWire?'))), 10000, 'send 1');
        await invoke(first);
        await waitFor(() => c.view.runs().some((r) => r.status === 'active'), 10000, `${label}: first run active`);
        const second = await within(c.view.send(c.codec.createUserMessage(userMessage('Explain resumable streams'))), 10000, 'send 2');
        await invoke(second);
        await waitFor(() => c.view.runs().length === 2 && c.view.runs().every((r) => r.status !== 'active'), 20000, `${label}: both runs end`, () => `${JSON.stringify(runShapes(c.view))} ${agentState()}`);
        assert.equal(c.errors.length, 0, errorsText(c.errors));
        return c;
      };
      const cs = await run('cs', (r) => postAgentChat(r));
      const texts = folded(cs.view).filter((m) => m.role === 'assistant').map((m) => m.parts.filter((p) => p.type === 'text').map((p) => p.text).join(''));
      // The JS model answers each prompt with the C# answer to it (the second run's context ends with its own prompt).
      const answerFor = { 'What is TokenWire?': texts[0], 'Explain resumable streams': texts[1] };
      const model = () => ({
        model: new MockLanguageModelV3({
          doStream: async ({ prompt }) => {
            const last = prompt.filter((m) => m.role === 'user').at(-1).content.map((p) => p.text).join('');
            return replayModel([{ text: answerFor[last] }], { delayMs: last === 'What is TokenWire?' ? 6 : 1 }).doStream({});
          },
        }),
      });
      // One ably client per JS agent endpoint: the SDK's agent session detaches the channel when its run ends, which
      // would cut off a second session sharing the client (the C# agent shares one attachment between its runs).
      const agents = [];
      for (let i = 0; i < 2; i++) {
        const agent = await startAgentEndpoint(clients.realtime(server, format, { clientId: 'ai-agent' }), model);
        cleanups.push(() => agent.close());
        agents.push(agent);
      }
      agentState = () => JSON.stringify(agents.flatMap((a) => a.runs).map((r) => ({ outcome: r.outcome, errors: r.errors.map(String) })));
      let next = 0;
      const js = await run('js', (r) => agents[next++].invoke(r));
      assert.deepEqual(runShapes(cs.view), runShapes(js.view), 'same runs');
      const sorted = (v) => folded(v).map((m) => JSON.stringify(m)).sort();
      assert.deepEqual(sorted(cs.view), sorted(js.view), 'the same messages (their order depends on timing)');
    });
  });
}
