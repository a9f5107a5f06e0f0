// Mutable messages with the real SDK: appendMessage streaming (one message per response), updateMessage and
// deleteMessage seen by other clients, getMessage / getMessageVersions, 93002 outside mutable namespaces,
// 40160 without message-update/delete rights, and a subscriber resuming mid-stream.
// The dev app's `mutable` namespace has mutableMessages enabled.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FORMATS, Clients, serverPerFile, connectionState, record, uniqueName, waitFor, within, sleep, allPages, barrier, BARRIER_NAME } from './helpers.mjs';

let server;
const clients = new Clients('mutable');
serverPerFile(clients, { logName: 'mutable' }, (started) => (server = started));

const fragmentsOf = (messages, serial) => messages.filter((m) => m.action === 'message.append' && m.serial === serial);

async function tokenClient(format, capability, clientId) {
  const rest = clients.rest(server, format);
  const tokenDetails = await rest.auth.requestToken({ capability: JSON.stringify(capability), clientId });
  return clients.realtime(server, format, { key: undefined, tokenDetails });
}

async function rejection(promise) {
  try {
    await within(promise, 10000, 'operation');
  } catch (err) {
    return err;
  }
  assert.fail('expected the operation to be refused');
}

for (const format of FORMATS) {
  describe(`mutable messages [${format.name}]`, () => {
    test('200 appends arrive live as fragments in order (folded when they queue up) and as one message from history(untilAttach) and getMessage', async () => {
      const name = `mutable:${uniqueName('stream')}`;
      const pub = clients.realtime(server, format, { clientId: 'ai-agent' });
      const sub = clients.realtime(server, format);
      const rec = record(sub.channels.get(name));
      await within(rec.subscribed, 10000, 'subscriber attach');

      const pubChannel = pub.channels.get(name);
      const { serials } = await within(pubChannel.publish({ name: 'response', data: '' }), 10000, 'create');
      const serial = serials[0];
      const tokens = Array.from({ length: 200 }, (_, i) => `tok${i} `);
      const results = await within(Promise.all(tokens.map((t) => pubChannel.appendMessage({ serial, data: t }))), 30000, 'appends');
      const versionSerials = results.map((r) => r.versionSerial);
      assert.deepEqual([...versionSerials].sort(), versionSerials, 'version serials increase in append order');
      assert.ok(versionSerials[0] > serial, 'a version serial sorts after the original');

      const text = () => fragmentsOf(rec.messages, serial).map((m) => m.data).join('');
      await waitFor(() => text() === tokens.join(''), 20000, 'every appended token', () => `${rec.messages.length} received`);
      await barrier(pubChannel, [rec.messages], { label: 'after the appends' });
      const fragments = fragmentsOf(rec.messages, serial);
      // Pipelined appends queue up at the subscriber, whose egress folds consecutive ones (issue 12): each fragment
      // is then several tokens, with the version of its last one.
      assert.equal(text(), tokens.join(''), 'fragments carry only the appended text, in order, each token once');
      assert.ok(fragments.length <= 200, `${fragments.length} fragments`);
      const seenVersions = fragments.map((m) => m.version.serial);
      assert.ok(seenVersions.every((v) => versionSerials.includes(v)), 'each fragment has the version of one of the appends');
      assert.deepEqual([...seenVersions].sort(), seenVersions, 'in version order');
      assert.equal(seenVersions.at(-1), versionSerials[199], 'the last fragment has the last version');
      // ably-js's own suite (realtime/updates-deletes, "Should append to a message over realtime") expects the name.
      assert.ok(fragments.every((m) => m.name === 'response' && m.clientId === 'ai-agent'), "the original's name and clientId");
      const created = rec.messages.find((m) => m.serial === serial && m.action === 'message.create');
      assert.ok(fragments.every((m) => m.timestamp === created.timestamp && m.version.timestamp >= created.timestamp), 'the create time on top, their own in the version');

      const late = clients.realtime(server, format);
      const lateChannel = late.channels.get(name);
      await within(lateChannel.attach(), 10000, 'late attach');
      const { items: stored } = await allPages(lateChannel.history({ untilAttach: true }));
      const items = stored.filter((m) => m.name !== BARRIER_NAME);
      assert.equal(items.length, 1, 'history shows the response once (besides the sentinel)');
      assert.equal(items[0].serial, serial);
      assert.equal(items[0].action, 'message.update');
      assert.equal(items[0].data, tokens.join(''));
      assert.equal(items[0].version.serial, versionSerials[199]);

      const got = await within(lateChannel.getMessage(serial), 10000, 'getMessage');
      assert.equal(got.data, tokens.join(''));
      assert.equal(got.name, 'response');
    });

    test('update and delete are seen by a second client; getMessageVersions lists every version', async () => {
      const name = `mutable:${uniqueName('edit')}`;
      const writer = clients.realtime(server, format, { clientId: 'writer' });
      const reader = clients.realtime(server, format);
      const rec = record(reader.channels.get(name));
      await within(rec.subscribed, 10000, 'reader attach');
      const channel = writer.channels.get(name);
      const { serials } = await channel.publish('note', { text: 'first' });
      const serial = serials[0];

      const update = await channel.updateMessage({ serial, data: { text: 'second' } }, { description: 'edit', metadata: { reason: 'typo' } });
      const del = await channel.deleteMessage({ serial, data: {} }, { description: 'remove' });
      await waitFor(() => rec.messages.some((m) => m.action === 'message.delete'), 10000, 'delete seen');
      const seenUpdate = rec.messages.find((m) => m.action === 'message.update');
      assert.equal(seenUpdate.serial, serial);
      assert.deepEqual(seenUpdate.data, { text: 'second' });
      assert.equal(seenUpdate.name, 'note');
      assert.equal(seenUpdate.version.serial, update.versionSerial);
      assert.equal(seenUpdate.version.clientId, 'writer');
      assert.deepEqual(seenUpdate.version.metadata, { reason: 'typo' });
      const seenDelete = rec.messages.find((m) => m.action === 'message.delete');
      assert.equal(seenDelete.version.serial, del.versionSerial);
      assert.equal(seenDelete.version.description, 'remove');

      const rest = clients.rest(server, format);
      const latest = await rest.channels.get(name).getMessage(serial);
      assert.equal(latest.action, 'message.delete');
      assert.deepEqual(latest.data, {});
      const { items } = await allPages(rest.channels.get(name).getMessageVersions(serial, { direction: 'forwards', limit: 2 }));
      assert.deepEqual(items.map((m) => m.action), ['message.create', 'message.update', 'message.delete']);

      // REST update of the same message, and an unknown serial.
      const restUpdate = await rest.channels.get(name).updateMessage({ serial, data: { text: 'third' } });
      assert.ok(restUpdate.versionSerial > del.versionSerial);
      const missing = await rejection(rest.channels.get(name).getMessage(serial.replace(/-\d+$/, '-999999999999')));
      assert.equal(missing.code, 40400);
      assert.equal(missing.statusCode, 404);
    });

    test('a channel without mutableMessages refuses with 93002; appends to JSON data with 40013', async () => {
      const client = clients.realtime(server, format);
      const plain = client.channels.get(uniqueName('plain'));
      const { serials } = await plain.publish('m', 'text');
      const realtimeErr = await rejection(plain.appendMessage({ serial: serials[0], data: 'more' }));
      assert.equal(realtimeErr.code, 93002);
      const restErr = await rejection(clients.rest(server, format).channels.get(plain.name).updateMessage({ serial: serials[0], data: 'x' }));
      assert.equal(restErr.code, 93002);

      const mutable = client.channels.get(`mutable:${uniqueName('json')}`);
      const json = await mutable.publish('m', { a: 1 });
      const appendErr = await rejection(mutable.appendMessage({ serial: json.serials[0], data: 'x' }));
      assert.equal(appendErr.code, 40013);
    });

    test('message-update-own allows only the own messages; no update capability is 40160', async () => {
      const name = `mutable:${uniqueName('caps')}`;
      const alice = await tokenClient(format, { [name]: ['publish', 'subscribe', 'history', 'message-update-own'] }, 'alice');
      const bob = await tokenClient(format, { [name]: ['publish', 'subscribe', 'history', 'message-update-own'] }, 'bob');
      const carol = await tokenClient(format, { [name]: ['publish', 'subscribe', 'history'] }, 'carol');
      await Promise.all([alice, bob, carol].map((c) => connectionState(c, 'connected')));
      const { serials } = await alice.channels.get(name).publish('m', 'alice says');
      const own = await alice.channels.get(name).appendMessage({ serial: serials[0], data: '!' });
      assert.ok(own.versionSerial);
      const bobErr = await rejection(bob.channels.get(name).appendMessage({ serial: serials[0], data: '?' }));
      assert.equal(bobErr.code, 40160);
      const carolErr = await rejection(carol.channels.get(name).updateMessage({ serial: serials[0], data: 'x' }));
      assert.equal(carolErr.code, 40160);
      const aliceDelete = await rejection(alice.channels.get(name).deleteMessage({ serial: serials[0] }));
      assert.equal(aliceDelete.code, 40160, 'update rights do not include delete');
    });

    test('a subscriber whose transport drops mid-stream resumes and gets every fragment once, in order', async () => {
      const name = `mutable:${uniqueName('resume')}`;
      const proxy = await clients.proxy(server.port);
      const sub = clients.realtime(proxy, format);
      const pub = clients.realtime(server, format, { clientId: 'ai-agent' });
      await connectionState(sub, 'connected');
      const connectionId = sub.connection.id;
      const rec = record(sub.channels.get(name));
      await within(rec.subscribed, 10000, 'subscriber attach');
      const pubChannel = pub.channels.get(name);
      const { serials } = await pubChannel.publish({ name: 'response', data: 'A:' });
      const serial = serials[0];
      const tokens = Array.from({ length: 300 }, (_, i) => `${i},`);
      const appends = [];
      for (let i = 0; i < tokens.length; i++) {
        appends.push(pubChannel.appendMessage({ serial, data: tokens[i] }));
        if (i === 100) {
          await waitFor(() => fragmentsOf(rec.messages, serial).map((m) => m.data).join('').length >= 150, 20000, '50 tokens before the cut');
          assert.ok(proxy.killAll() >= 1, 'proxy had a connection to kill');
        }
        await sleep(2);
      }
      await within(Promise.all(appends), 30000, 'appends');
      const text = () => fragmentsOf(rec.messages, serial).map((m) => m.data).join('');
      await waitFor(() => text().length >= tokens.join('').length, 30000, 'all fragments', () => `${text().length} chars`);

      // rewind=1 on a fresh attach returns the aggregate, not fragments.
      const rewinder = clients.realtime(server, format);
      const rewound = record(rewinder.channels.get(name, { params: { rewind: '1' } }));
      await within(rewound.subscribed, 10000, 'rewind attach');
      await waitFor(() => rewound.messages.length >= 1, 10000, 'rewound message');
      // One sentinel, published once the rewinder is attached (so that rewind=1 still finds the response), is the
      // barrier for both: a duplicate fragment or a second rewound message would arrive before it.
      await barrier(pubChannel, [rec.messages, rewound.messages], { label: 'after the appends and the rewind' });

      const fragments = fragmentsOf(rec.messages, serial);
      assert.equal(sub.connection.id, connectionId, 'resumed, same connection');
      assert.equal(text(), tokens.join(''), 'each token once, in order (fragments queued up during the resume are folded)');
      const versions = fragments.map((m) => m.version.serial);
      assert.deepEqual([...versions].sort(), versions);
      assert.equal(rewound.messages.length, 1);
      assert.equal(rewound.messages[0].data, 'A:' + tokens.join(''));
      assert.equal(rewound.messages[0].action, 'message.update');
    });
  });
}
