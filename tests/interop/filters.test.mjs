// Qualified channel names and subscription filters (#16 item 2) with the real SDK: channels.getDerived(name,
// { filter }) delivers only what the expression matches on name and extras.headers; [?rewind=N]name is the channel
// name with those params; capabilities apply to the unqualified name and a filtered attachment only subscribes; a
// bad filter or qualifier fails that channel and nothing else.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FORMATS, Clients, serverPerFile, SUB_KEY, connectionState, record, uniqueName, waitFor, within, errText, sleep } from './helpers.mjs';

let server;
const clients = new Clients('filters');
serverPerFile(clients, { logName: 'filters' }, (started) => (server = started));

/** A message per case: which ones `name == 'order' && headers.region == 'eu' && headers.total >= 100` keeps. */
const ORDERS = [
  { name: 'order', data: 'keep-1', extras: { headers: { region: 'eu', total: 120 } }, keep: true },
  { name: 'order', data: 'drop-region', extras: { headers: { region: 'us', total: 500 } }, keep: false },
  { name: 'order', data: 'drop-total', extras: { headers: { region: 'eu', total: 99 } }, keep: false },
  { name: 'refund', data: 'drop-name', extras: { headers: { region: 'eu', total: 150 } }, keep: false },
  { name: 'order', data: 'drop-no-headers', keep: false },
  { name: 'order', data: 'drop-total-as-string', extras: { headers: { region: 'eu', total: '150' } }, keep: false },
  { name: 'order', data: 'keep-2', extras: { headers: { region: 'eu', total: 100, note: 'boundary' } }, keep: true },
];
const ORDER_FILTER = "name == 'order' && headers.region == `\"eu\"` && headers.total >= `100`";
const strip = ({ keep, ...message }) => message;

for (const format of FORMATS) {
  describe(`subscription filters and qualified names [${format.name}]`, () => {
    test('getDerived delivers exactly the messages the filter matches, in order, beside an unfiltered attachment of the same channel', async () => {
      const name = uniqueName('filtered');
      const subscriber = clients.realtime(server, format);
      const filtered = subscriber.channels.getDerived(name, { filter: ORDER_FILTER });
      const plain = subscriber.channels.get(name);
      const kept = record(filtered);
      const all = record(plain);
      await Promise.all([kept.subscribed, all.subscribed]);
      assert.equal(filtered.state, 'attached');
      assert.match(filtered.name, /^\[filter=[A-Za-z0-9+/=]+\]/);

      const publisher = clients.realtime(server, format);
      const channel = publisher.channels.get(name);
      for (const message of ORDERS) await channel.publish(strip(message));
      await channel.publish({ name: 'end', data: 'end' });

      await waitFor(() => all.messages.some((m) => m.name === 'end'), 10000, 'the unfiltered attachment receives everything');
      assert.deepEqual(all.messages.map((m) => m.data), [...ORDERS.map((m) => m.data), 'end']);
      await waitFor(() => kept.messages.length >= 2, 10000, 'the filtered attachment receives the matches', () => JSON.stringify(kept.messages.map((m) => m.data)));
      assert.deepEqual(kept.messages.map((m) => m.data), ORDERS.filter((m) => m.keep).map((m) => m.data));
      assert.deepEqual(kept.messages[1].extras.headers, { region: 'eu', total: 100, note: 'boundary' });
      assert.equal(kept.messages[0].id, all.messages[0].id, 'the same message, not a copy');

      // The filtered attachment's frames went to it alone: nothing more after the end marker on the plain channel.
      const later = { name: 'order', data: 'keep-3', extras: { headers: { region: 'eu', total: 1000 } } };
      await channel.publish(later);
      await waitFor(() => kept.messages.length === 3, 10000, 'a later match');
      assert.equal(kept.messages[2].data, 'keep-3');
      assert.equal(all.messages.length, ORDERS.length + 2);
    });

    test('the ably-js filtered-channel flow: a REST batch publish, a subscribe-capable key, headers of every type', async () => {
      const name = uniqueName('chan');
      const realtime = clients.realtime(server, format, { key: SUB_KEY });
      const filtered = realtime.channels.getDerived(name, { filter: 'name == `"filtered"` && headers.number == `26095`' });
      const kept = record(filtered);
      const all = record(realtime.channels.get(name));
      await Promise.all([kept.subscribed, all.subscribed]);
      const data = [
        { name: 'filtered', data: 'match-1', extras: { headers: { name: 'Lorem Choo', number: 26095, bool: true } } },
        { name: 'filtered', data: 'no extras' },
        { name: 'filtered', data: 'match-2', extras: { headers: { name: 'John Bull', number: 26095, bool: false } } },
        { name: 'filtered', data: 'other number', extras: { headers: { name: 'John Bull', number: 12345, bool: false } } },
        { name: 'end', data: 'last' },
      ];
      await clients.rest(server, format).channels.get(name).publish(data);
      await waitFor(() => all.messages.length === data.length, 10000, 'every message unfiltered');
      await waitFor(() => kept.messages.length >= 2, 10000, 'the two matches');
      assert.deepEqual(kept.messages.map((m) => m.data), ['match-1', 'match-2']);
      for (const m of kept.messages) assert.equal(m.extras.headers.number, 26095);
    });

    test('[?rewind=2]name attaches name with rewind=2, exactly as params: { rewind: 2 } does; publishing on it reaches name', async () => {
      const name = uniqueName('rewind');
      const publisher = clients.realtime(server, format);
      const channel = publisher.channels.get(name);
      for (let i = 0; i < 5; i++) await channel.publish('m', `m${i}`);

      const viaName = clients.realtime(server, format).channels.get(`[?rewind=2]${name}`);
      const viaParams = clients.realtime(server, format).channels.get(name, { params: { rewind: '2' } });
      const a = record(viaName);
      const b = record(viaParams);
      await Promise.all([a.subscribed, b.subscribed]);
      await waitFor(() => a.messages.length >= 2 && b.messages.length >= 2, 10000, 'both rewinds', () => `${a.messages.length} ${b.messages.length}`);
      assert.deepEqual(a.messages.map((m) => m.data), ['m3', 'm4']);
      assert.deepEqual(b.messages.map((m) => m.data), ['m3', 'm4']);
      assert.equal(viaName.params?.rewind, '2', 'the qualifier params are echoed as channel.params');

      // Publish through the qualified name: it is the channel itself, so every attachment sees it once.
      const plain = record(channel);
      await plain.subscribed;
      await viaName.publish('m', 'via-qualified');
      await waitFor(() => a.messages.length === 3 && b.messages.length === 3 && plain.messages.length === 1, 10000, 'the publish everywhere');
      assert.deepEqual([a.messages[2].data, b.messages[2].data, plain.messages[0].data], ['via-qualified', 'via-qualified', 'via-qualified']);

      // Presence entered through a qualified name is presence on the channel.
      const entered = new Promise((resolve) => channel.presence.subscribe('enter', resolve));
      const member = clients.realtime(server, format, { clientId: 'qualified-member' });
      const memberChannel = member.channels.get(`[?rewind=1]${name}`);
      await memberChannel.presence.enter('here');
      assert.equal((await within(entered, 10000, 'the enter on the plain channel')).clientId, 'qualified-member');
      assert.deepEqual((await channel.presence.get()).map((m) => m.clientId), ['qualified-member']);
      // And the qualified attachment sees its channel's presence under its own name.
      assert.deepEqual((await memberChannel.presence.get()).map((m) => m.clientId), ['qualified-member']);
    });

    test('a filtered attachment composes with [?rewind=N]: the rewound messages are filtered too', async () => {
      const name = uniqueName('filtered-rewind');
      const channel = clients.realtime(server, format).channels.get(name);
      for (const message of ORDERS) await channel.publish(strip(message));
      const filtered = clients.realtime(server, format).channels.getDerived(`[?rewind=100]${name}`, { filter: ORDER_FILTER });
      assert.match(filtered.name, /^\[filter=[^?\]]+\?rewind=100\]/);
      const kept = record(filtered);
      await kept.subscribed;
      await waitFor(() => kept.messages.length >= 2, 10000, 'the rewound matches');
      await channel.publish({ name: 'order', data: 'live', extras: { headers: { region: 'eu', total: 101 } } });
      await waitFor(() => kept.messages.length >= 3, 10000, 'the live match');
      assert.deepEqual(kept.messages.map((m) => m.data), ['keep-1', 'keep-2', 'live']);
    });

    test('a filtered attachment resumes after a transport cut: the gap is replayed through the filter, each match once, in order', async () => {
      const name = uniqueName('filtered-resume');
      const proxy = await clients.proxy(server.port);
      const subscriber = clients.realtime(proxy, format);
      const filtered = subscriber.channels.getDerived(name, { filter: "headers.even == `true` || name == 'end'" });
      const kept = record(filtered);
      await within(kept.subscribed, 10000, 'filtered attach');
      const resumed = [];
      filtered.on('attached', (change) => resumed.push(change.resumed));

      const channel = clients.realtime(server, format).channels.get(name);
      const total = 400;
      const publishes = [];
      for (let i = 0; i < total; i++) {
        publishes.push(channel.publish({ name: 'n', data: String(i), extras: { headers: { i, even: i % 2 === 0 } } }));
        if (i === 150) {
          await waitFor(() => kept.messages.length >= 20, 10000, 'some matches before the cut');
          assert.ok(proxy.killAll() >= 1, 'the proxy had a connection to cut');
        }
        if (i % 20 === 0) await sleep(1);
      }
      await Promise.all(publishes);
      await channel.publish('end', 'end');
      await connectionState(subscriber, 'connected', 20000);
      await waitFor(() => kept.messages.some((m) => m.name === 'end'), 30000, 'the end marker', () => `${kept.messages.length} kept`);
      const received = kept.messages.filter((m) => m.name === 'n').map((m) => m.data);
      assert.deepEqual(received, Array.from({ length: total / 2 }, (_, k) => String(2 * k)));
      assert.ok(resumed.length >= 1 && resumed.every((r) => r === true), `re-attached with RESUMED: ${JSON.stringify(resumed)}`);
    });

    test('capabilities apply to the unqualified name; a filtered attachment needs subscribe and may not publish or enter presence', async () => {
      const name = uniqueName('cap');
      const rest = clients.rest(server, format);
      const publishOnly = await rest.auth.requestToken({ capability: { [name]: ['publish', 'presence'] } });
      const noSubscribe = clients.realtime(server, format, { key: undefined, token: publishOnly.token });
      await connectionState(noSubscribe, 'connected');
      await assert.rejects(within(noSubscribe.channels.getDerived(name, { filter: "name == 'x'" }).attach(), 10000, 'filtered attach without subscribe'), (err) => {
        assert.equal(err.code, 40160, errText(err));
        return true;
      });
      // The qualified params form needs only some right on the name, as the name itself does.
      await within(noSubscribe.channels.get(`[?rewind=1]${name}`).attach(), 10000, 'params-qualified attach with publish only');
      const elsewhere = await rest.auth.requestToken({ capability: { 'other-*': ['*'] } });
      const outside = clients.realtime(server, format, { key: undefined, token: elsewhere.token });
      await assert.rejects(within(outside.channels.get(`[?rewind=1]${name}`).attach(), 10000, 'attach outside the capability'), (err) => err.code === 40160);

      const subscriber = clients.realtime(server, format, { clientId: 'sub' });
      const filtered = subscriber.channels.getDerived(name, { filter: "name == 'x'" });
      await within(filtered.attach(), 10000, 'filtered attach');
      await assert.rejects(within(filtered.publish('x', 'no'), 10000, 'publish on a filtered channel'), (err) => {
        assert.equal(err.code, 40160, errText(err));
        assert.match(err.message, /filtered/);
        return true;
      });
      await assert.rejects(within(filtered.presence.enter('no'), 10000, 'enter on a filtered channel'), (err) => err.code === 40160);
      assert.equal(filtered.state, 'attached', 'a refused publish leaves the attachment as it was');
      assert.equal(subscriber.connection.state, 'connected');
    });

    test('a bad filter expression fails that channel with 40003, a bad qualifier with 40010; the connection and its other channels carry on', async () => {
      const client = clients.realtime(server, format);
      const good = client.channels.get(uniqueName('good'));
      const received = record(good);
      await received.subscribed;

      const badFilter = client.channels.getDerived(uniqueName('bad'), { filter: "name = 'x'" });
      await assert.rejects(within(badFilter.attach(), 10000, 'attach with a bad filter'), (err) => {
        assert.equal(err.code, 40003, errText(err));
        assert.match(err.message, /Invalid filter expression.*'=='/);
        return true;
      });
      assert.equal(badFilter.state, 'failed');
      await assert.rejects(within(client.channels.getDerived(uniqueName('bad'), { filter: 'data.secret == `1`' }).attach(), 10000, 'data field'), (err) => err.code === 40003);

      await assert.rejects(within(client.channels.get(`[meta]${uniqueName('meta')}`).attach(), 10000, 'unsupported qualifier'), (err) => {
        assert.equal(err.code, 40010, errText(err));
        return true;
      });
      await assert.rejects(within(client.channels.get(`[?rewind=1${uniqueName('open')}`).attach(), 10000, 'unclosed qualifier'), (err) => err.code === 40010);
      await assert.rejects(within(client.channels.get(`[?rewind=often]${uniqueName('rewind')}`).attach(), 10000, 'bad param value'), (err) => err.code === 40003);

      assert.equal(client.connection.state, 'connected');
      await good.publish('still', 'works');
      await waitFor(() => received.messages.length === 1, 10000, 'the good channel still delivers');
    });

    test('REST: [?params]name publishes to and reads the history of name; a filter is a realtime-only qualifier (40010)', async () => {
      const name = uniqueName('rest');
      const rest = clients.rest(server, format);
      await rest.channels.get(`[?rewind=1]${name}`).publish('r', 'via-qualified');
      const page = await rest.channels.get(name).history();
      assert.deepEqual(page.items.map((m) => m.data), ['via-qualified']);
      const qualifiedPage = await rest.channels.get(`[?delta=vcdiff]${name}`).history();
      assert.deepEqual(qualifiedPage.items.map((m) => m.data), ['via-qualified']);
      const filterName = `[filter=${Buffer.from("name == 'r'").toString('base64')}]${name}`;
      await assert.rejects(rest.channels.get(filterName).history(), (err) => {
        assert.equal(err.code, 40010, errText(err));
        return true;
      });
    });
  });
}
