// The agent runtime end to end: POST /agent/prompts → the in-process agent (TokenWire.Client over the wire) →
// tokens on the channel → a real ably JS subscriber. Also the OpenAI path through a local OpenAI-compatible
// streaming endpoint, so the real OpenAI .NET client parses real server-sent events.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startServer } from './server.mjs';
import { FORMATS, Clients, ROOT_KEY, SUB_KEY, connectionState, sleep, uniqueName, waitFor, within } from './helpers.mjs';

const clients = new Clients('agent');
afterEach(() => clients.closeAll());
after(() => clients.closeAll());

const sha256 = (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

async function postPrompt(server, body, key = ROOT_KEY) {
  const response = await fetch(`${server.url}/agent/prompts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(key).toString('base64')}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * The server answers before its in-process agent has connected back and attached to the requests channel, and a
 * prompt published before that attach reaches no agent: wait until the channel has a subscriber.
 */
async function agentAttached(server, ms = 30000) {
  const deadline = Date.now() + ms;
  let last = null;
  for (;;) {
    const response = await fetch(`${server.url}/channels/${encodeURIComponent('tokenwire-agent:requests')}`, {
      headers: { authorization: `Basic ${Buffer.from(ROOT_KEY).toString('base64')}` },
    });
    last = await response.json();
    if (last.status?.occupancy?.metrics?.subscribers > 0) return;
    if (Date.now() > deadline) throw new Error(`the in-process agent did not attach within ${ms} ms: ${JSON.stringify(last)}`);
    await sleep(50);
  }
}

/** Subscribes to one response on a channel and resolves when its stop arrives. */
async function watchResponse(client, channelName) {
  const channel = client.channels.get(channelName);
  const messages = [];
  let resolveStop;
  const stopped = new Promise((resolve) => (resolveStop = resolve));
  await within(
    channel.subscribe((m) => {
      messages.push(m);
      if (m.name === 'stop') resolveStop(m);
    }),
    10000,
    'attach',
  );
  return { channel, messages, stopped };
}

function tokensOf(messages, responseId) {
  return messages.filter((m) => m.name === 'token' && m.extras?.headers?.responseId === responseId);
}

describe('agent with the simulated model', () => {
  let server;
  before(async () => {
    server = await startServer({
      logName: 'agent-simulated',
      args: ['--TokenWire:Agent:Simulated:MinDelay=00:00:00.010', '--TokenWire:Agent:Simulated:MaxDelay=00:00:00.020'],
    });
    await agentAttached(server);
  });
  after(() => server?.stop());

  for (const format of FORMATS) {
    test(`[${format.name}] the answer arrives token by token, reassembles exactly and matches tokenCount/textSha256`, async () => {
      const viewer = clients.realtime(server, format);
      await connectionState(viewer, 'connected');
      const name = `ai-transport-${crypto.randomUUID()}`;
      const watch = await watchResponse(viewer, name);
      const posted = await postPrompt(server, { channel: name, prompt: 'What is TokenWire?', responseId: 'r-' + format.name });
      assert.equal(posted.status, 202);
      assert.equal(posted.body.responseId, 'r-' + format.name);
      const stop = await within(watch.stopped, 30000, 'stop');

      assert.equal(watch.messages[0].name, 'start');
      assert.equal(watch.messages[0].clientId, 'ai-agent');
      const tokens = tokensOf(watch.messages, 'r-' + format.name);
      assert.deepEqual(tokens.map((m) => m.extras.headers.index), tokens.map((_, i) => i), 'indexes are 0..n-1 in order');
      const text = tokens.map((m) => m.data.token).join('');
      const headers = stop.extras.headers;
      assert.equal(headers.reason, 'complete');
      assert.equal(headers.tokenCount, tokens.length);
      assert.equal(headers.textSha256, sha256(text));
      assert.match(text, /^TokenWire is a self-hosted realtime transport/);

      // The same answer, read independently from history, is identical.
      const page = await within(watch.channel.history({ direction: 'forwards', limit: 1000 }), 10000, 'history');
      const fromHistory = page.items.filter((m) => m.name === 'token').map((m) => m.data.token).join('');
      assert.equal(fromHistory, text);
    });
  }

  test('POST /agent/prompts checks credentials, publish capability and the body', async () => {
    const name = `ai-transport-${crypto.randomUUID()}`;
    const noPublish = await postPrompt(server, { channel: name, prompt: 'hi' }, SUB_KEY);
    assert.equal(noPublish.status, 401);
    assert.equal(noPublish.body.error.code, 40160);
    const noPrompt = await postPrompt(server, { channel: name });
    assert.equal(noPrompt.status, 400);
    assert.equal(noPrompt.body.error.code, 40003);
    const badChannel = await postPrompt(server, { channel: ':bad', prompt: 'hi' });
    assert.equal(badChannel.body.error.code, 40010);
    const wrongKey = await postPrompt(server, { channel: name, prompt: 'hi' }, 'dev.root:wrong');
    assert.equal(wrongKey.status, 401);
    assert.equal(wrongKey.body.error.code, 40101);
  });
});

// Paced as shipped (50–200 ms a token, about 80 tokens for this prompt): the cancel lands mid-answer however long a
// busy box takes to carry it, so the test depends on the cancel, not on the machine's speed.
describe('agent cancel with the model paced as shipped', () => {
  let server;
  before(async () => {
    server = await startServer({ logName: 'agent-cancel' });
    await agentAttached(server);
  });
  after(() => server?.stop());

  test('cancel mid-stream ends the response promptly with reason "cancelled"', async () => {
    const viewer = clients.realtime(server, FORMATS[0]);
    await connectionState(viewer, 'connected');
    const name = `ai-transport-${crypto.randomUUID()}`;
    const watch = await watchResponse(viewer, name);
    const posted = await postPrompt(server, { channel: name, prompt: 'Explain resumable streams' });
    const responseId = posted.body.responseId;
    await waitFor(() => tokensOf(watch.messages, responseId).length >= 5, 15000, 'first tokens');
    const cancelledAt = Date.now();
    await within(watch.channel.publish({ name: 'cancel', extras: { headers: { responseId } } }), 10000, 'publish cancel');
    const stop = await within(watch.stopped, 15000, 'stop after cancel');
    const latency = Date.now() - cancelledAt;
    assert.equal(stop.extras.headers.reason, 'cancelled');
    const tokens = tokensOf(watch.messages, responseId);
    assert.equal(stop.extras.headers.tokenCount, tokens.length, 'tokenCount counts what was sent');
    assert.equal(stop.extras.headers.textSha256, sha256(tokens.map((m) => m.data.token).join('')));
    assert.ok(tokens.length < 60, `generation stopped early (${tokens.length} of about 80 tokens)`);
    test.diagnostic?.(`cancel → stop in ${latency} ms`);
    console.log(`# cancel -> stop latency: ${latency} ms`);
  });
});

/** A small OpenAI-compatible endpoint: streams chat completions as the real API does (SSE, role-only and empty deltas, [DONE]). */
function startFakeOpenAI() {
  const chunks = ['Stream', 'ing ', 'through ', 'a real ', 'OpenAI ', 'client', ', token', ' by token.'];
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const request = JSON.parse(body || '{}');
      requests.push({ url: req.url, auth: req.headers.authorization, request });
      const prompt = request.messages?.at(-1)?.content ?? '';
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (delta, finish = null) =>
        `data: ${JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1764000000, model: request.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '' }));
      res.write(chunk({ content: '' }));
      const text = typeof prompt === 'string' && prompt.includes('FAIL') ? chunks.slice(0, 3) : chunks;
      for (const piece of text) res.write(chunk({ content: piece }));
      if (text !== chunks) {
        res.socket.destroy(); // the model dies mid-answer
        return;
      }
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, requests, text: chunks.join(''), close: () => server.close() })),
  );
}

describe('agent with an OpenAI-compatible endpoint', () => {
  let server;
  let openai;
  before(async () => {
    openai = await startFakeOpenAI();
    server = await startServer({
      logName: 'agent-openai',
      args: [`--TokenWire:Agent:OpenAI:Endpoint=http://127.0.0.1:${openai.port}/v1`, '--TokenWire:Agent:OpenAI:ApiKey=test-key', '--TokenWire:Agent:OpenAI:Model=test-model'],
    });
    await agentAttached(server);
  });
  after(async () => {
    await server?.stop();
    openai?.close();
  });

  test('the real OpenAI client parses the stream; the answer arrives exactly', async () => {
    const viewer = clients.realtime(server, FORMATS[1]);
    await connectionState(viewer, 'connected');
    const name = `ai-transport-${crypto.randomUUID()}`;
    const watch = await watchResponse(viewer, name);
    const { body } = await postPrompt(server, { channel: name, prompt: 'Say something' });
    const stop = await within(watch.stopped, 30000, 'stop');
    const text = tokensOf(watch.messages, body.responseId).map((m) => m.data.token).join('');
    assert.equal(text, openai.text);
    assert.equal(stop.extras.headers.reason, 'complete');
    assert.equal(stop.extras.headers.tokenCount, 8, 'empty and role-only deltas are not tokens');
    assert.equal(stop.extras.headers.textSha256, sha256(openai.text));
    const call = openai.requests.at(-1);
    assert.equal(call.url, '/v1/chat/completions');
    assert.equal(call.auth, 'Bearer test-key');
    assert.equal(call.request.model, 'test-model');
    assert.equal(call.request.stream, true);
  });

  test('a model that fails mid-answer ends the response with reason "error"', async () => {
    const viewer = clients.realtime(server, FORMATS[0]);
    await connectionState(viewer, 'connected');
    const name = `ai-transport-${crypto.randomUUID()}`;
    const watch = await watchResponse(viewer, name);
    const { body } = await postPrompt(server, { channel: name, prompt: 'please FAIL' });
    const stop = await within(watch.stopped, 60000, 'stop');
    assert.equal(stop.extras.headers.reason, 'error');
    assert.ok(stop.extras.headers.error, 'an error message is given');
    const tokens = tokensOf(watch.messages, body.responseId);
    assert.equal(stop.extras.headers.tokenCount, tokens.length);
  });
});
