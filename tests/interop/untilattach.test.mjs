// The seed's reconnect flow (handleReconnect): detach mid-stream, keep publishing, re-subscribe
// buffering live tokens, attach, page history({ untilAttach: true }) and reassemble.
// The seam must be exact: no token lost, none doubled, none reordered.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import {
  FORMATS,
  Clients,
  connectionState,
  streamResponse,
  settleAll,
  allPages,
  checkSerialsAndIds,
  diffTokens,
  uniqueName,
  randomInt,
  waitFor,
  within,
  sleep,
  barrier,
} from './helpers.mjs';

const ITERATIONS = Number(process.env.UNTILATTACH_ITERATIONS ?? 50);
const TOKENS = 200;

let server;
const clients = new Clients('untilattach');

before(async () => {
  server = await startServer({ logName: 'untilattach' });
});
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

const isToken = (m) => m.name === 'token';
const tokensOf = (msgs) => msgs.filter(isToken).map((m) => m.data && m.data.token);

async function oneIteration(sub, pub, iteration) {
  const name = uniqueName(`untilattach-${iteration}`);
  const subChannel = sub.channels.get(name);
  const pubChannel = pub.channels.get(name);
  const detachAfter = randomInt(0, TOKENS - 20); // tokens seen live before detaching
  const gap = randomInt(0, 60); // tokens published while detached (at least)
  const limit = randomInt(7, 50); // history page size
  const info = `iteration ${iteration} (channel ${name}, detachAfter=${detachAfter}, gap=${gap}, limit=${limit})`;

  // An earlier response on the same channel: history must be filtered by responseId.
  const earlier = streamResponse(pubChannel, { count: 5 });
  await earlier.issued;
  await settleAll(earlier.promises, 10000, `${info}: earlier response`);

  // Phase 1: attached and receiving.
  const phase1 = [];
  const l1 = (m) => phase1.push(m);
  await within(subChannel.subscribe(l1), 10000, `${info}: first attach`);

  let issuedTokens = 0;
  const stream = streamResponse(pubChannel, {
    count: TOKENS,
    onToken: (i) => {
      issuedTokens = i + 1;
    },
    pace: () => sleep(1),
  });
  const mine = (m) => m.extras && m.extras.headers && m.extras.headers.responseId === stream.responseId;

  // Mid-stream: detach at a random point.
  await waitFor(
    () => tokensOf(phase1.filter(mine)).length >= detachAfter || issuedTokens === TOKENS,
    15000,
    `${info}: phase-1 tokens`,
    () => `${phase1.length} received`,
  );
  subChannel.unsubscribe(l1);
  await within(subChannel.detach(), 10000, `${info}: detach`);
  assert.equal(subChannel.state, 'detached', info);

  // The publisher keeps going while we are detached.
  const resumeAt = Math.min(TOKENS, issuedTokens + gap);
  await waitFor(() => issuedTokens >= resumeAt, 15000, `${info}: publisher progress`);

  // Reconnect flow: buffer live tokens, attach, then page untilAttach history.
  const live = [];
  const subscribed = subChannel.subscribe((m) => live.push(m));
  subscribed.catch(() => {});
  await within(subChannel.attach(), 10000, `${info}: re-attach`);
  await within(subscribed, 10000, `${info}: subscribe`);
  const { items, pages } = await allPages(subChannel.history({ untilAttach: true, limit }), {
    label: `${info}: untilAttach history`,
    maxPages: 1000,
  });
  for (const p of pages) assert.ok(p.items.length <= limit, `${info}: page larger than limit ${limit}: ${p.items.length}`);
  const history = items.slice().reverse().filter(mine);

  await stream.issued;
  await settleAll(stream.promises, 15000, `${info}: publishes`);
  await waitFor(
    () => history.some((m) => m.name === 'stop') || live.some((m) => m.name === 'stop'),
    15000,
    `${info}: stop (history or live)`,
    () => `history ${history.length}, live ${live.length}`,
  );
  await barrier(pubChannel, [live], { label: `${info}: after stop` }); // a stray duplicate is in by now

  const liveMine = live.filter(mine);
  const combined = [...history, ...liveMine];
  const historyIds = new Set(history.map((m) => m.id));
  const both = liveMine.filter((m) => historyIds.has(m.id));
  assert.equal(both.length, 0, `${info}: ${both.length} messages both in history and live, e.g. ${both[0] && both[0].id}`);
  const diff = diffTokens(stream.tokens, tokensOf(combined));
  assert.equal(diff, null, `${info}: history ${history.length} + live ${liveMine.length}: ${diff}`);
  assert.equal(tokensOf(combined).join(''), stream.text, `${info}: reassembled text`);
  assert.deepEqual(
    combined.map((m) => m.name),
    ['start', ...stream.tokens.map(() => 'token'), 'stop'],
    `${info}: names`,
  );
  assert.equal(live.length, liveMine.length, `${info}: live messages from another response`);
  checkSerialsAndIds(assert, combined);
  for (const m of history) {
    assert.equal(m.clientId, 'ai-agent', `${info}: history clientId`);
    assert.deepEqual(m.extras, stream.extras, `${info}: history extras`);
  }

  // Phase-1 messages are a prefix of the stream.
  const p1 = tokensOf(phase1.filter(mine));
  assert.equal(diffTokens(stream.tokens.slice(0, p1.length), p1), null, `${info}: phase-1 prefix`);

  await within(subChannel.detach(), 10000, `${info}: final detach`);
  sub.channels.release(name);
  pub.channels.release(name);
  return { history: history.length, live: liveMine.length };
}

for (const format of FORMATS) {
  describe(`untilAttach reconnect flow [${format.name}]`, () => {
    test(`detach mid-stream, re-attach, history({untilAttach}) + live = published text, ${ITERATIONS} random iterations`, async () => {
      const sub = clients.realtime(server, format);
      const pub = clients.realtime(server, format, { clientId: 'ai-agent' });
      await connectionState(sub, 'connected');
      await connectionState(pub, 'connected');
      const stats = [];
      for (let i = 0; i < ITERATIONS; i++) {
        stats.push(await oneIteration(sub, pub, i));
      }
      // The random points must actually have exercised both sides of the seam.
      assert.ok(stats.some((s) => s.history > 0 && s.live > 0), `no iteration split the stream: ${JSON.stringify(stats)}`);
      await clients.close(sub);
      await clients.close(pub);
    });
  });
}
