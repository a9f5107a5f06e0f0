// The agent runtime in message-per-response mode (TokenWire:Agent:ResponseMode=MessagePerResponse): POST
// /agent/prompts → the in-process agent publishes one `response` message and appends each delta to it (pipelined),
// then a final empty append whose extras.headers carry status, tokenCount and textSha256. A real ably JS subscriber
// sees the fragments live; history and a late joiner read the whole answer as one message. Cancel ends it cancelled.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer } from './server.mjs';
import { FORMATS, Clients, ROOT_KEY, sleep, uniqueName, waitFor, within } from './helpers.mjs';

const clients = new Clients('agent-per-response');
const sha256 = (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
let server;

before(async () => {
  server = await startServer({
    logName: 'agent-per-response',
    env: {
      TokenWire__Agent__ResponseMode: 'MessagePerResponse',
      TokenWire__Agent__Simulated__MinDelay: '00:00:00.010',
      TokenWire__Agent__Simulated__MaxDelay: '00:00:00.020',
    },
  });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

async function postPrompt(body) {
  const response = await fetch(`${server.url}/agent/prompts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(ROOT_KEY).toString('base64')}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Waits until the in-process agent follows its requests channel (a prompt published before that reaches no agent). */
async function agentAttached() {
  const deadline = Date.now() + 30000;
  for (;;) {
    const response = await fetch(`${server.url}/channels/${encodeURIComponent('tokenwire-agent:requests')}`, {
      headers: { authorization: `Basic ${Buffer.from(ROOT_KEY).toString('base64')}` },
    });
    const status = await response.json();
    if (status.status?.occupancy?.metrics?.subscribers > 0) return;
    if (Date.now() > deadline) throw new Error(`the in-process agent did not attach: ${JSON.stringify(status)}`);
    await sleep(50);
  }
}

/** Follows the response on a channel: the live text (create + appends) and the final append. */
async function watch(client, name) {
  const channel = client.channels.get(name);
  const state = { text: '', creates: 0, appends: 0, final: null };
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  await within(
    channel.subscribe((m) => {
      if (m.action === 'message.create' && m.name === 'response') {
        state.creates += 1;
        state.text = m.data;
      } else if (m.action === 'message.append') {
        state.appends += 1;
        state.text += m.data;
        if (m.extras?.headers?.status !== 'streaming') {
          state.final = m.extras.headers;
          done();
        }
      }
    }),
    10000,
    'attach',
  );
  return { channel, state, finished };
}

for (const format of FORMATS) {
  describe(`agent message-per-response [${format.name}]`, () => {
    test('one response message, appended per token; live text, history and getMessage agree with the checksum', async () => {
      await agentAttached();
      const name = `mutable:${uniqueName('per-response')}`;
      const client = clients.realtime(server, format, { clientId: 'viewer' });
      const w = await watch(client, name);
      const posted = await postPrompt({ channel: name, prompt: 'What is TokenWire?' });
      assert.equal(posted.status, 202, JSON.stringify(posted.body));
      await within(w.finished, 30000, 'the final append');
      assert.equal(w.state.final.status, 'complete');
      assert.equal(w.state.final.responseId, posted.body.responseId);
      assert.equal(w.state.creates, 1, 'one response message');
      assert.equal(sha256(w.state.text), w.state.final.textSha256, 'the live text matches the checksum');
      assert.ok(w.state.text.startsWith('TokenWire is a self-hosted'), w.state.text.slice(0, 40));
      assert.ok(w.state.appends > 1, `appends: ${w.state.appends}`);

      const history = await within(client.channels.get(name).history(), 10000, 'history');
      const responses = history.items.filter((m) => m.name === 'response');
      assert.equal(responses.length, 1, 'history holds the response once');
      assert.equal(responses[0].data, w.state.text, 'history holds the whole text');
      assert.equal(responses[0].extras.headers.status, 'complete', 'with the latest headers');
    });

    test('cancel mid-answer: the final append says cancelled and the text is a prefix', async () => {
      await agentAttached();
      const name = `mutable:${uniqueName('per-response-cancel')}`;
      const client = clients.realtime(server, format, { clientId: 'viewer' });
      const w = await watch(client, name);
      const posted = await postPrompt({ channel: name, prompt: 'What is TokenWire?' });
      await waitFor(() => w.state.appends >= 3, 15000, 'a few appends');
      await within(w.channel.publish({ name: 'cancel', extras: { headers: { responseId: posted.body.responseId } } }), 10000, 'publish cancel');
      await within(w.finished, 10000, 'the final append after cancel');
      assert.equal(w.state.final.status, 'cancelled');
      assert.equal(sha256(w.state.text), w.state.final.textSha256);
      assert.ok(w.state.text.length < 200 && 'TokenWire is a self-hosted realtime transport'.slice(0, w.state.text.length) === w.state.text.slice(0, 45), w.state.text);
    });
  });
}
