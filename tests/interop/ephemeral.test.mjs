// Ephemeral messages (`extras.ephemeral: true`, what @ably/ai-transport marks transient data parts with), with the real
// SDK: delivered live to every subscriber, never stored — not in history, rewind, getMessage or a resume's replay —
// and acknowledged with a null serial; stored messages of the same channel are unaffected.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FORMATS, Clients, serverPerFile, allPages, connectionState, record, uniqueName, waitFor, within } from './helpers.mjs';

let server;
const clients = new Clients('ephemeral');
serverPerFile(clients, { logName: 'ephemeral' }, (started) => (server = started));

const transient = (data) => ({ name: 'progress', data, extras: { ephemeral: true } });

for (const format of FORMATS) {
  describe(`ephemeral messages [${format.name}]`, () => {
    test('delivered live in publish order, acknowledged with a null serial, and absent from history and rewind', async () => {
      const name = uniqueName('ephemeral');
      const publisher = clients.realtime(server, format);
      const viewer = clients.realtime(server, format);
      const rec = record(viewer.channels.get(name));
      await within(rec.subscribed, 10000, 'viewer attach');
      const channel = publisher.channels.get(name);

      const first = await within(channel.publish({ name: 'stored', data: 'one' }), 10000, 'stored publish');
      const ack = await within(channel.publish(transient('50%')), 10000, 'ephemeral publish');
      await within(channel.publish({ name: 'stored', data: 'two' }), 10000, 'stored publish');
      await within(clients.rest(server, format).channels.get(name).publish(transient('rest')), 10000, 'REST ephemeral publish');

      assert.equal(typeof first.serials[0], 'string');
      assert.deepEqual(ack.serials, [null], 'an ephemeral message has no serial');
      await waitFor(() => rec.messages.length >= 4, 10000, 'four live deliveries');
      assert.deepEqual(rec.messages.map((m) => m.data), ['one', '50%', 'two', 'rest']);
      assert.equal(rec.messages[1].extras.ephemeral, true);

      const { items } = await allPages(viewer.channels.get(name).history());
      assert.deepEqual(items.map((m) => m.data), ['two', 'one'], 'history holds only the stored messages');
      const rewinder = clients.realtime(server, format);
      const rewound = record(rewinder.channels.get(name, { params: { rewind: '10' } }));
      await within(rewound.subscribed, 10000, 'rewind attach');
      await waitFor(() => rewound.messages.length >= 2, 10000, 'rewound messages');
      await within(channel.publish({ name: 'stored', data: 'marker' }), 10000, 'marker');
      await waitFor(() => rewound.messages.some((m) => m.data === 'marker'), 10000, 'marker after the rewind');
      assert.deepEqual(rewound.messages.map((m) => m.data), ['one', 'two', 'marker'], 'rewind replays only stored messages');
    });

    test('a subscriber that resumes is replayed the stored messages it missed, never the ephemeral ones', async () => {
      const name = uniqueName('ephemeral-resume');
      const proxy = await clients.proxy(server.port);
      const viewer = clients.realtime(proxy, format, { disconnectedRetryTimeout: 500 });
      await connectionState(viewer, 'connected');
      const connectionId = viewer.connection.id;
      const rec = record(viewer.channels.get(name));
      await within(rec.subscribed, 10000, 'viewer attach');
      const publisher = clients.realtime(server, format);
      const channel = publisher.channels.get(name);
      await within(channel.publish({ name: 'stored', data: 'before' }), 10000, 'before');
      await waitFor(() => rec.messages.length >= 1, 10000, 'first delivery');

      proxy.block(true);
      assert.ok(proxy.killAll() >= 1, 'the viewer had a connection to cut');
      await connectionState(viewer, 'disconnected');
      await within(channel.publish(transient('missed')), 10000, 'ephemeral while disconnected');
      await within(channel.publish({ name: 'stored', data: 'missed-stored' }), 10000, 'stored while disconnected');
      proxy.block(false);

      await waitFor(() => rec.messages.some((m) => m.data === 'missed-stored'), 20000, 'the stored message replayed');
      await within(channel.publish({ name: 'stored', data: 'after' }), 10000, 'after');
      await waitFor(() => rec.messages.some((m) => m.data === 'after'), 10000, 'live again');
      assert.equal(viewer.connection.id, connectionId, 'resumed');
      assert.deepEqual(rec.messages.map((m) => m.data), ['before', 'missed-stored', 'after']);
    });
  });
}
