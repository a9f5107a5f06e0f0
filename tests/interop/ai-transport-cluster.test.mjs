// @ably/ai-transport 0.8 across a two-node TokenWire cluster on one real redis-server (redis.mjs): the agent and the
// sending tab are on node a; a second tab (a new ably client + new client session) attaches on node b while the agent
// streams and pages view.loadOlder() through a proxy that answers history 100 ms late. Both tabs must end with the
// whole response exactly once. Several random attach points per wire format. The harness (agent endpoint, paced
// MockLanguageModelV3, delaying proxy) is ai-transport-harness.mjs; ./test.sh installs redis-server when missing.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from './server.mjs';
import { startRedis } from './redis.mjs';
import { FORMATS, Clients, uniqueName, randomInt, waitFor, within } from './helpers.mjs';
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

const ATTACHES_PER_FORMAT = Number(process.env.AIT_CLUSTER_ATTACHES || 5);
const HISTORY_DELAY_MS = 100;
const USER_TEXT = 'Tell me something long.';

const clients = new Clients('ai-transport-cluster');
const keyPrefix = `ait-cluster-${process.pid}-${Date.now().toString(36)}:`;
let redis;
let redisDir;
let nodeA;
let nodeB;
let proxyB;
const cleanups = [];

function startNode(name) {
  return startServer({
    logName: `ai-transport-cluster-${name}`,
    args: ['--redis', `127.0.0.1:${redis.port}`, `--TokenWire:RedisKeyPrefix=${keyPrefix}`],
  });
}

before(async () => {
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-ait-cluster-redis-'));
  redis = await startRedis({ port: await freePort(), dir: redisDir });
  [nodeA, nodeB] = await Promise.all([startNode('a'), startNode('b')]);
  proxyB = await startDelayProxy(nodeB.port, { historyDelayMs: HISTORY_DELAY_MS });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
  await clients.closeAll();
});
after(async () => {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
  await clients.closeAll();
  if (proxyB) await proxyB.close();
  await Promise.all([nodeA, nodeB].filter(Boolean).map((n) => n.stop()));
  if (redis) await redis.stop();
  if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
});

async function checkFinal(view, expectedText, { label, errors }) {
  await waitForRunStatus(view, 'complete', 15000, label);
  const r = rendered(view);
  const diff = diffText(expectedText, r.text);
  if (diff) assert.fail(`${label}: rendered assistant text: ${diff}`);
  const users = view.getMessages().filter((m) => m.message.role === 'user');
  assert.deepEqual(users.map((m) => m.message.parts.map((p) => p.text).join('')), [USER_TEXT], `${label}: the user's message once`);
  assert.equal(r.assistants, 1, `${label}: one assistant message`);
  assert.equal(errors.length, 0, `${label}: session errors: ${errorsText(errors)}`);
}

for (const format of FORMATS) {
  describe(`@ably/ai-transport 0.8 on a two-node cluster [${format.name}]`, () => {
    test(`f. a second tab attaching on node b mid-stream renders the whole response once (${ATTACHES_PER_FORMAT} random points)`, async () => {
      const agentClient = clients.realtime(nodeA, format, { clientId: 'ai-agent' });
      const models = new Map();
      const agent = await startAgentEndpoint(agentClient, (invocation) => models.get(invocation.sessionName));
      cleanups.push(() => agent.close());
      const failures = [];
      const seen = [];
      for (let i = 0; i < ATTACHES_PER_FORMAT; i++) {
        const name = `${MUTABLE_PREFIX}${uniqueName(`ait-cluster-${i}`)}`;
        const COUNT = 200;
        const answer = makeAnswer(COUNT);
        const { model, state } = pacedModel(answer.deltas, { delayMs: 6 });
        models.set(name, { model });

        const user = clients.realtime(nodeA, format, { clientId: 'user' });
        const c = await clientSession(user, name, `iteration ${i} tab on node a`);
        const run = await within(c.view.send(c.codec.createUserMessage(userMessage(USER_TEXT))), 10000, 'view.send');
        const index = agent.runs.length;
        await within(agent.invoke(run), 10000, 'POST invocation');
        const agentRun = await waitFor(() => agent.runs[index], 15000, 'agent endpoint records the invocation');

        const attachAt = randomInt(1, Math.floor(COUNT * 0.6));
        await waitFor(() => state.emitted >= attachAt, 15000, `iteration ${i}: model emits ${attachAt} deltas`, () => `${state.emitted}`);
        const historyBefore = proxyB.state.historyRequests;
        const tabB = clients.realtime({ port: proxyB.port }, format, { clientId: 'user' });
        const b = await clientSession(tabB, name, `iteration ${i} tab on node b`);
        const attachedAt = state.emitted;
        const midStream = !state.finished;
        await loadAllOlder(b.view, `iteration ${i} tab on node b`);
        assert.ok(proxyB.state.historyRequests > historyBefore, `iteration ${i}: node b's tab read history through the delaying proxy`);

        const outcome = await within(agentRun.promise, 30000, `iteration ${i}: agent run finishes`);
        assert.deepEqual(outcome, { reason: 'complete' });
        assert.equal(agentRun.errors.length, 0, `agent session errors: ${errorsText(agentRun.errors)}`);
        await checkFinal(c.view, answer.text, { label: `iteration ${i} tab on node a`, errors: c.errors });
        assert.ok(midStream, `iteration ${i}: node b's tab attached mid-stream (at delta ${attachedAt} of ${COUNT})`);

        const where = `node b attach at delta ${attachedAt}/${COUNT} (asked ${attachAt})`;
        try {
          await checkFinal(b.view, answer.text, { label: `iteration ${i} ${where}`, errors: b.errors });
          seen.push(`${where}: exact`);
        } catch (err) {
          failures.push(`${err.message}\n    ${b.describeFirstContact()}`);
          seen.push(`${where}: FAILED`);
        }
        await Promise.all([c.session.close(), b.session.close()]);
        await Promise.all([clients.close(user), clients.close(tabB)]);
      }
      if (failures.length) {
        assert.fail(
          `${failures.length} of ${ATTACHES_PER_FORMAT} node-b tabs did not render the whole response exactly once:\n  ` +
            failures.join('\n  ') +
            `\nall iterations: ${seen.join('; ')}`,
        );
      }
    });
  });
}
