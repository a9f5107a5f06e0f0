// REST through the real SDK: publish, history paging in both directions with bounds,
// idempotent publish, time, channel status, and channel `rewind` on realtime attach.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import {
  FORMATS,
  Clients,
  connectionState,
  record,
  allPages,
  checkSerialsAndIds,
  uniqueName,
  waitFor,
  within,
  sleep,
  barrier,
} from './helpers.mjs';

let server;
const clients = new Clients('rest');

before(async () => {
  server = await startServer({ logName: 'rest' });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

/** Publishes n messages one by one (awaited, a few ms apart so timestamps differ). */
async function publishSeries(channel, n, prefix = 'm') {
  const serials = [];
  for (let i = 0; i < n; i++) {
    const r = await within(channel.publish(`${prefix}${i}`, { i }), 10000, `publish ${prefix}${i}`);
    serials.push(r.serials[0]);
    await sleep(3);
  }
  return serials;
}

for (const format of FORMATS) {
  describe(`REST [${format.name}]`, () => {
    test('publish (single and array) and page history backwards and forwards', async () => {
      const rest = clients.rest(server, format);
      const name = uniqueName('rest-history');
      const channel = rest.channels.get(name);

      const single = await within(channel.publish('m0', 'zero'), 10000, 'single publish');
      assert.ok(single && Array.isArray(single.serials) && single.serials.length === 1, `single publish result ${JSON.stringify(single)}`);
      const batch = [
        { name: 'm1', data: { i: 1, nested: { ok: true } } },
        { name: 'm2', data: [1, 2, 3] },
        { name: 'm3', data: Buffer.from([0, 1, 2, 254, 255]) },
        { name: 'm4', data: 'üñíçødé 字 😀', extras: { headers: { responseId: 'r-4' } } },
        ...Array.from({ length: 6 }, (_, k) => ({ name: `m${k + 5}`, data: `d${k + 5}` })),
      ];
      const arr = await within(channel.publish(batch), 10000, 'array publish');
      assert.equal(arr.serials.length, 10, `array publish serials ${JSON.stringify(arr)}`);
      const allSerials = [...single.serials, ...arr.serials];
      for (let i = 1; i < allSerials.length; i++) assert.ok(allSerials[i - 1] < allSerials[i], `publish serials increase: ${allSerials}`);
      const expectedNames = Array.from({ length: 11 }, (_, i) => `m${i}`);

      // backwards (default), limit 4 → pages of 4, 4, 3
      const back = await allPages(channel.history({ limit: 4 }), { label: 'history backwards' });
      assert.deepEqual(back.pages.map((p) => p.items.length), [4, 4, 3]);
      assert.deepEqual(back.items.map((m) => m.name), expectedNames.slice().reverse());
      assert.equal(back.pages[0].isLast(), false);
      assert.equal(back.pages[0].hasNext(), true);
      assert.equal(back.pages[1].hasNext(), true);
      assert.equal(back.pages[2].hasNext(), false);
      assert.equal(back.pages[2].isLast(), true);
      assert.deepEqual(back.items.map((m) => m.serial), allSerials.slice().reverse());

      // forwards, limit 3 → 3, 3, 3, 2
      const fwd = await allPages(channel.history({ direction: 'forwards', limit: 3 }), { label: 'history forwards' });
      assert.deepEqual(fwd.pages.map((p) => p.items.length), [3, 3, 3, 2]);
      assert.deepEqual(fwd.items.map((m) => m.name), expectedNames);
      assert.equal(fwd.pages[3].isLast(), true);
      assert.deepEqual(fwd.items.map((m) => m.serial), allSerials);
      checkSerialsAndIds(assert, fwd.items);

      // payloads survive the round trip in this format
      assert.equal(fwd.items[0].data, 'zero');
      assert.deepEqual(fwd.items[1].data, { i: 1, nested: { ok: true } });
      assert.deepEqual(fwd.items[2].data, [1, 2, 3]);
      assert.ok(Buffer.isBuffer(fwd.items[3].data) || fwd.items[3].data instanceof Uint8Array, `binary data came back as ${typeof fwd.items[3].data}`);
      assert.deepEqual([...fwd.items[3].data], [0, 1, 2, 254, 255]);
      assert.equal(fwd.items[4].data, 'üñíçødé 字 😀');
      assert.deepEqual(fwd.items[4].extras, { headers: { responseId: 'r-4' } });
      for (const m of fwd.items) {
        assert.equal(typeof m.timestamp, 'number', `history message ${m.name} timestamp`);
        assert.equal(m.action, 'message.create', `history message ${m.name} action`);
      }

      // first() goes back to the first page
      const first = await within(back.pages[2].first(), 10000, 'first()');
      assert.deepEqual(first.items.map((m) => m.name), expectedNames.slice().reverse().slice(0, 4));

      // default limit covers everything here; limit 1000 is the max accepted
      const big = await within(channel.history({ limit: 1000 }), 10000, 'limit 1000');
      assert.equal(big.items.length, 11);
      assert.equal(big.hasNext(), false);
    });

    test('history start/end bounds (inclusive), both directions, paged', async () => {
      const rest = clients.rest(server, format);
      const channel = rest.channels.get(uniqueName('rest-bounds'));
      await publishSeries(channel, 12);
      const all = (await allPages(channel.history({ direction: 'forwards', limit: 100 }), { label: 'all' })).items;
      assert.equal(all.length, 12);
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].timestamp <= all[i].timestamp, 'timestamps non-decreasing');

      const start = all[3].timestamp;
      const end = all[8].timestamp;
      const expected = all.filter((m) => m.timestamp >= start && m.timestamp <= end).map((m) => m.id);
      assert.ok(expected.length >= 6, 'bounds select at least messages 3..8');

      const fwd = await allPages(channel.history({ start, end, direction: 'forwards', limit: 2 }), { label: 'bounded forwards' });
      assert.deepEqual(fwd.items.map((m) => m.id), expected, 'forwards within [start, end]');
      const back = await allPages(channel.history({ start, end, limit: 2 }), { label: 'bounded backwards' });
      assert.deepEqual(back.items.map((m) => m.id), expected.slice().reverse(), 'backwards within [start, end]');

      const fromStart = await allPages(channel.history({ start, direction: 'forwards', limit: 5 }), { label: 'start only' });
      assert.deepEqual(fromStart.items.map((m) => m.id), all.filter((m) => m.timestamp >= start).map((m) => m.id));
      const untilEnd = await allPages(channel.history({ end, limit: 5 }), { label: 'end only' });
      assert.deepEqual(untilEnd.items.map((m) => m.id), all.filter((m) => m.timestamp <= end).map((m) => m.id).reverse());

      const none = await within(channel.history({ start: all[11].timestamp + 60_000, end: all[11].timestamp + 120_000 }), 10000, 'future window');
      assert.equal(none.items.length, 0);
      assert.equal(none.hasNext(), false);
    });

    test('idempotent publish: a repeated message id is accepted once, delivered once, stored once', async () => {
      const rest = clients.rest(server, format);
      const rt = clients.realtime(server, format);
      await connectionState(rt, 'connected');
      const name = uniqueName('rest-idem');
      const rec = record(rt.channels.get(name));
      await within(rec.subscribed, 10000, 'attach');
      const channel = rest.channels.get(name);

      const id = uniqueName('idem');
      const r1 = await within(channel.publish({ id, name: 'once', data: 'payload' }), 10000, 'first publish');
      const r2 = await within(channel.publish({ id, name: 'once', data: 'payload' }), 10000, 'repeated publish');
      assert.equal(r1.serials.length, 1);
      assert.equal(r2.serials.length, 1);
      // an array with explicit ids, twice
      const base = uniqueName('idem-batch');
      const pair = [
        { id: `${base}:0`, name: 'pair', data: 'a' },
        { id: `${base}:1`, name: 'pair', data: 'b' },
      ];
      await within(channel.publish(pair), 10000, 'batch');
      await within(channel.publish(pair), 10000, 'repeated batch');
      await within(channel.publish('marker', 'end'), 10000, 'marker');

      // The marker, published after the repeats were answered, is the barrier: a repeat the server let through was
      // accepted before it and has arrived by the time it does.
      await waitFor(() => rec.messages.some((m) => m.name === 'marker'), 10000, 'marker delivered', () => rec.messages.map((m) => m.name).join(','));
      assert.deepEqual(
        rec.messages.map((m) => `${m.name}:${m.data}:${m.id}`),
        [`once:payload:${id}`, `pair:a:${base}:0`, `pair:b:${base}:1`, `marker:end:${rec.messages.at(-1).id}`],
      );
      const hist = await within(channel.history({ direction: 'forwards' }), 10000, 'history');
      assert.deepEqual(hist.items.map((m) => m.id), rec.messages.map((m) => m.id));
      if (r2.serials[0] !== null) assert.equal(r2.serials[0], r1.serials[0], 'a duplicate publish names the original serial (or null)');
      assert.equal(rec.messages[0].serial, r1.serials[0]);
    });

    test('publish on behalf of a realtime connection (connectionKey) is attributed to it; a bad key is 40006; a claimed connectionId is dropped', async () => {
      const realtime = clients.realtime(server, format);
      await connectionState(realtime, 'connected');
      const name = uniqueName('on-behalf');
      const rec = record(realtime.channels.get(name));
      await within(rec.subscribed, 10000, 'attach');
      const rest = clients.rest(server, format);
      const channel = rest.channels.get(name);
      await within(channel.publish({ name: 'on-behalf', data: 'x', connectionKey: realtime.connection.key }), 10000, 'publish on behalf');
      await within(channel.publish({ name: 'forged', data: 'y', connectionId: realtime.connection.id }), 10000, 'publish claiming a connectionId');
      await waitFor(() => rec.messages.length >= 2, 10000, 'two messages');
      assert.equal(rec.messages[0].connectionId, realtime.connection.id);
      assert.notEqual(rec.messages[1].connectionId, realtime.connection.id, 'a REST body cannot claim a connection');
      await assert.rejects(
        within(channel.publish({ name: 'bad', data: 'z', connectionKey: 'AAAAAAAAAAAA!bogus' }), 10000, 'publish with a bad key'),
        (err) => err.code === 40006,
      );
    });

    test('rest.time() returns the server time in ms', async () => {
      const rest = clients.rest(server, format);
      const t = await within(rest.time(), 10000, 'time');
      assert.equal(typeof t, 'number');
      assert.ok(Number.isInteger(t));
      assert.ok(Math.abs(t - Date.now()) < 60_000, `server time ${t} vs local ${Date.now()} (same machine)`);
    });

    test('channel.status() reports the channel and its occupancy', async () => {
      const rest = clients.rest(server, format);
      const rt = clients.realtime(server, format);
      await connectionState(rt, 'connected');
      const name = uniqueName('rest-status');
      const rtChannel = rt.channels.get(name);
      await within(rtChannel.attach(), 10000, 'attach');
      const status = await within(rest.channels.get(name).status(), 10000, 'status');
      assert.equal(status.channelId, name, JSON.stringify(status));
      assert.equal(status.status.isActive, true, JSON.stringify(status));
      const metrics = status.status.occupancy.metrics;
      assert.equal(metrics.connections, 1, JSON.stringify(metrics));
      assert.equal(metrics.subscribers, 1, JSON.stringify(metrics));
      assert.equal(metrics.publishers, 1, JSON.stringify(metrics));
      assert.equal(metrics.presenceMembers, 0, JSON.stringify(metrics));

      // after detaching, the occupancy drops (eventually: poll, bounded)
      await within(rtChannel.detach(), 10000, 'detach');
      let later = null;
      const deadline = Date.now() + 10000;
      for (;;) {
        later = await within(rest.channels.get(name).status(), 10000, 'status after detach');
        if (later.status.occupancy.metrics.connections === 0 || Date.now() > deadline) break;
        await sleep(100);
      }
      assert.equal(later.status.occupancy.metrics.connections, 0, `occupancy after detach: ${JSON.stringify(later)}`);
      assert.equal(later.channelId, name);
    });

    test("rewind '3': a realtime attach receives exactly the last 3 messages, in order, then live", async () => {
      const rest = clients.rest(server, format);
      const name = uniqueName('rewind-count');
      const restChannel = rest.channels.get(name);
      await publishSeries(restChannel, 10);
      const rt = clients.realtime(server, format);
      await connectionState(rt, 'connected');
      const channel = rt.channels.get(name, { params: { rewind: '3' } });
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach with rewind');
      await waitFor(() => rec.messages.length >= 3, 10000, 'rewound messages', () => `${rec.messages.length}`);
      await within(restChannel.publish('live', { i: 'live' }), 10000, 'live publish');
      await waitFor(() => rec.messages.some((m) => m.name === 'live'), 10000, 'live message');
      await barrier(restChannel, [rec.messages], { label: 'after the live message' });
      assert.deepEqual(rec.messages.map((m) => m.name), ['m7', 'm8', 'm9', 'live']);
      assert.deepEqual(rec.messages[0].data, { i: 7 });
      checkSerialsAndIds(assert, rec.messages);
    });

    test("rewind '1m' (time): a realtime attach receives the messages of the last minute, then live", async () => {
      const rest = clients.rest(server, format);
      const name = uniqueName('rewind-time');
      const restChannel = rest.channels.get(name);
      await publishSeries(restChannel, 10);
      const rt = clients.realtime(server, format);
      await connectionState(rt, 'connected');
      const channel = rt.channels.get(name, { params: { rewind: '1m' } });
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach with rewind');
      await within(restChannel.publish('live', { i: 'live' }), 10000, 'live publish');
      await waitFor(() => rec.messages.some((m) => m.name === 'live'), 10000, 'live message');
      await barrier(restChannel, [rec.messages], { label: 'after the live message' });
      assert.deepEqual(rec.messages.map((m) => m.name), [...Array.from({ length: 10 }, (_, i) => `m${i}`), 'live']);
      checkSerialsAndIds(assert, rec.messages);
    });

    test("rewind larger than the channel's history delivers what there is", async () => {
      const rest = clients.rest(server, format);
      const name = uniqueName('rewind-more');
      const restChannel = rest.channels.get(name);
      await publishSeries(restChannel, 4);
      const rt = clients.realtime(server, format);
      await connectionState(rt, 'connected');
      const rec = record(rt.channels.get(name, { params: { rewind: '50' } }));
      await within(rec.subscribed, 10000, 'attach with rewind');
      await within(restChannel.publish('live', 'x'), 10000, 'live publish');
      await waitFor(() => rec.messages.some((m) => m.name === 'live'), 10000, 'live message');
      await barrier(restChannel, [rec.messages], { label: 'after the live message' });
      assert.deepEqual(rec.messages.map((m) => m.name), ['m0', 'm1', 'm2', 'm3', 'live']);
    });
  });
}
