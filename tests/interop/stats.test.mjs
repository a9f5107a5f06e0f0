// App statistics (GET /stats, spec RSC6/TS12) through the real SDK's rest.stats(): what the server counted for a
// sandbox app's traffic, per minute and rolled up, paged with .next(); fixtures posted as Ably's sandbox takes them.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, Clients, connectionState, record, uniqueName, waitFor, within, sleep } from './helpers.mjs';

let server;
let app;
const clients = new Clients('stats');

before(async () => {
  server = await startServer({ logName: 'stats', args: ['--sandbox', '--TokenWire:Stats:FlushInterval=00:00:00.200'] });
  const response = await fetch(`${server.url}/apps`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ keys: [{}] }),
  });
  assert.equal(response.status, 201);
  app = await response.json();
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

/** Every minute from `start` on, paged one interval at a time forwards: the entries summed, and the pages read. */
async function minutesSince(rest, start) {
  let page = await within(rest.stats({ unit: 'minute', start, direction: 'forwards', limit: 1 }), 10000, 'stats');
  const totals = {};
  let pages = 0;
  for (;;) {
    pages += 1;
    for (const item of page.items) {
      assert.equal(item.unit, 'minute');
      assert.equal(item.appId, app.appId);
      for (const [name, value] of Object.entries(item.entries)) totals[name] = name.endsWith('.peak') ? Math.max(totals[name] ?? 0, value) : (totals[name] ?? 0) + value;
    }
    if (!page.hasNext()) return { totals, pages };
    page = await within(page.next(), 10000, 'stats next page');
  }
}

/** Polls `read` (an async function) until `done(value)`; the flush runs every 200 ms, so this is bounded by `ms`. */
async function eventually(read, done, ms, label) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label}: ${JSON.stringify(last)}`);
    await sleep(50);
  }
}

for (const format of FORMATS) {
  describe(`stats [${format.name}]`, () => {
    test('published messages, connections, channels and requests show up in the counts after a flush, minute by minute and rolled up', async () => {
      const rest = clients.rest(server, format, { key: app.keys[0].keyStr });
      const start = Date.now();
      const before = await minutesSince(rest, start);
      const publisher = clients.realtime(server, format, { key: app.keys[0].keyStr, echoMessages: false });
      const subscriber = clients.realtime(server, format, { key: app.keys[0].keyStr });
      await Promise.all([publisher, subscriber].map((c) => connectionState(c, 'connected')));
      const name = uniqueName('stats');
      const rec = record(subscriber.channels.get(name));
      await within(rec.subscribed, 10000, 'subscribe');
      const channel = publisher.channels.get(name);
      const N = 7;
      for (let i = 0; i < N; i++) await within(channel.publish('m', `payload-${i}`), 10000, `publish ${i}`);
      await within(rest.channels.get(name).publish('via-rest', 'x'), 10000, 'REST publish');
      await waitFor(() => rec.messages.length === N + 1, 10000, 'the subscriber got every message');
      await within(rest.auth.requestToken({ clientId: 'someone' }), 10000, 'requestToken');

      const counted = (entries, key) => (entries[key] ?? 0) - (before.totals[key] ?? 0);
      const { totals, pages } = await eventually(
        () => minutesSince(rest, start),
        ({ totals: t }) => counted(t, 'messages.outbound.realtime.messages.count') >= N + 1 && counted(t, 'apiRequests.tokenRequests.succeeded') >= 1,
        15000,
        'the flushed counts',
      );
      assert.equal(counted(totals, 'messages.inbound.realtime.messages.count'), N);
      assert.equal(counted(totals, 'messages.inbound.rest.messages.count'), 1);
      assert.equal(counted(totals, 'messages.inbound.all.messages.count'), N + 1);
      assert.ok(counted(totals, 'messages.inbound.realtime.messages.data') >= N * 'payload-0'.length, JSON.stringify(totals));
      assert.equal(counted(totals, 'messages.outbound.realtime.messages.count'), N + 1, 'delivered to the subscriber only (no echo)');
      assert.equal(totals['messages.all.all.count'] - (before.totals['messages.all.all.count'] ?? 0), 2 * (N + 1));
      assert.ok(counted(totals, 'connections.all.opened') >= 2, JSON.stringify(totals));
      assert.ok(totals['connections.all.peak'] >= 2, JSON.stringify(totals));
      assert.ok(counted(totals, 'channels.opened') >= 1, JSON.stringify(totals));
      assert.ok(totals['channels.peak'] >= 1, JSON.stringify(totals));
      assert.ok(counted(totals, 'apiRequests.other.succeeded') >= 1, JSON.stringify(totals));
      assert.equal(counted(totals, 'apiRequests.tokenRequests.succeeded'), 1);
      assert.ok(pages >= 1);

      // The same minutes rolled up: the current hour holds at least what they hold, and says it is in progress.
      const [hour] = (await within(rest.stats({ unit: 'hour', limit: 1 }), 10000, 'hour stats')).items;
      assert.equal(hour.unit, 'hour');
      assert.equal(typeof hour.inProgress, 'string');
      assert.equal(hour.schema, 'https://schemas.ably.com/json/app-stats-0.0.1.json');
      assert.ok(hour.entries['messages.inbound.realtime.messages.count'] >= N, JSON.stringify(hour.entries));
    });

    test('fixtures posted as Ably’s sandbox takes them are paged backwards and forwards and rolled up by hour', async () => {
      const rest = clients.rest(server, format, { key: app.keys[0].keyStr });
      const year = new Date().getUTCFullYear() - 3 - FORMATS.indexOf(format);
      const fixtures = [3, 4, 5].map((minute, i) => ({
        intervalId: `${year}-02-03:15:0${minute}`,
        inbound: { realtime: { messages: { count: 50 + 10 * i, data: 5000 + 1000 * i } } },
        outbound: { realtime: { messages: { count: 20, data: 2000 } } },
      }));
      fixtures[2].connections = { tls: { peak: 20, opened: 10 } };
      fixtures[2].apiRequests = { succeeded: 50, failed: 10 };
      fixtures[2].tokenRequests = { succeeded: 60, failed: 20 };
      const posted = await fetch(`${server.url}/stats`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(app.keys[0].keyStr).toString('base64')}` },
        body: JSON.stringify(fixtures),
      });
      assert.equal(posted.status, 201);

      const range = { start: `${year}-02-03:15:03`, end: `${year}-02-03:15:05`, limit: 1 };
      let page = await within(rest.stats(range), 10000, 'backwards');
      const seen = [];
      for (;;) {
        seen.push(...page.items.map((s) => [s.intervalId, s.entries['messages.inbound.all.messages.data']]));
        if (page.isLast()) break;
        page = await within(page.next(), 10000, 'next');
      }
      assert.deepEqual(seen, [[`${year}-02-03:15:05`, 7000], [`${year}-02-03:15:04`, 6000], [`${year}-02-03:15:03`, 5000]]);
      assert.equal((await within(page.first(), 10000, 'first')).items[0].intervalId, `${year}-02-03:15:05`);

      const forwards = await within(rest.stats({ ...range, direction: 'forwards', limit: 10 }), 10000, 'forwards');
      assert.deepEqual(forwards.items.map((s) => s.intervalId), [3, 4, 5].map((m) => `${year}-02-03:15:0${m}`));
      assert.equal(forwards.hasNext(), false);
      const last = forwards.items[2].entries;
      assert.equal(last['connections.all.peak'], 20);
      assert.equal(last['apiRequests.all.succeeded'], 110);
      assert.equal(last['apiRequests.tokenRequests.failed'], 20);
      assert.equal(last['messages.all.messages.count'], 70 + 20);

      const hours = await within(rest.stats({ unit: 'hour', start: `${year}-02-03:15`, end: `${year}-02-03:18`, direction: 'forwards' }), 10000, 'by hour');
      assert.equal(hours.items.length, 1);
      assert.equal(hours.items[0].intervalId, `${year}-02-03:15`);
      assert.equal(hours.items[0].entries['messages.inbound.all.messages.count'], 50 + 60 + 70);
      assert.equal(hours.items[0].entries['messages.outbound.all.messages.count'], 60);
      const month = await within(rest.stats({ unit: 'month', start: `${year}-02`, end: `${year}-02` }), 10000, 'by month');
      assert.deepEqual(month.items.map((s) => [s.intervalId, s.entries['messages.all.all.count']]), [[`${year}-02`, 180 + 60]]);
    });

    test('bad parameters are refused Ably-style (40003, status 400)', async () => {
      const rest = clients.rest(server, format, { key: app.keys[0].keyStr });
      for (const params of [{ unit: 'week' }, { limit: 1001 }, { start: 2000, end: 1000 }, { direction: 'up' }]) {
        await assert.rejects(within(rest.stats(params), 10000, JSON.stringify(params)), (err) => {
          assert.equal(err.code, 40003, `${JSON.stringify(params)}: ${err.message}`);
          assert.equal(err.statusCode, 400);
          return true;
        });
      }
    });
  });
}
