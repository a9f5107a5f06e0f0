// Presence with the real ably SDK: enter/update/leave events, the SYNC a late attacher gets (including one
// spread over several pages), leaves on close, detach and a lasting disconnect, no leave when the connection
// resumes in time, capability and identity checks, and the REST presence endpoints.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import {
  FORMATS,
  Clients,
  SUB_KEY,
  connectionState,
  errText,
  rawSocket,
  startProxy,
  uniqueName,
  waitFor,
  within,
} from './helpers.mjs';

// Short, so a lasting disconnect is observable in a test, and long enough for a resume on a loaded box. No test waits
// for it to pass: a member's leave is awaited as an event.
const LEAVE_DELAY_MS = 5000;

let server;
const clients = new Clients('presence');

before(async () => {
  server = await startServer({
    logName: 'presence',
    env: { TokenWire__Presence__LeaveDelay: `00:00:0${LEAVE_DELAY_MS / 1000}` },
  });
});
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

/** Records presence events on a channel: [{ action, clientId, data, connectionId }]. */
async function recordPresence(channel) {
  const events = [];
  await channel.presence.subscribe((m) => events.push({ action: m.action, clientId: m.clientId, data: m.data, connectionId: m.connectionId, id: m.id }));
  return events;
}

const summary = (events) => events.map((e) => `${e.action}:${e.clientId}:${JSON.stringify(e.data)}`);

for (const format of FORMATS) {
  describe(`presence (${format.name})`, () => {
    test('enter, update and leave reach another client in order, stamped with the verified clientId', async () => {
      const name = uniqueName('presence-events');
      const watcher = clients.realtime(server, format);
      const watched = await recordPresence(watcher.channels.get(name));
      const alice = clients.realtime(server, format, { clientId: 'alice' });
      const channel = alice.channels.get(name);
      await channel.presence.enter({ mood: 'curious' });
      await channel.presence.update('typing');
      await channel.presence.leave();
      await waitFor(() => watched.length >= 3, 10000, 'three presence events', () => JSON.stringify(watched));
      assert.deepEqual(summary(watched), ['enter:alice:{"mood":"curious"}', 'update:alice:"typing"', 'leave:alice:"typing"']);
      assert.equal(watched[0].connectionId, alice.connection.id);
      assert.ok(watched[0].id.startsWith(`${alice.connection.id}:`), `server id is connectionId:msgSerial:index (${watched[0].id})`);
      assert.deepEqual(await channel.presence.get(), []);
    });

    test('a client attaching later gets the members through SYNC, and get() waits for it', async () => {
      const name = uniqueName('presence-sync');
      const members = ['bob', 'carol'];
      for (const clientId of members) {
        const c = clients.realtime(server, format, { clientId });
        await c.channels.get(name).presence.enter(`${clientId} data`);
      }
      const late = clients.realtime(server, format);
      const got = await within(late.channels.get(name).presence.get(), 10000, 'presence.get()');
      assert.deepEqual(got.map((m) => `${m.clientId}=${m.data}`).sort(), ['bob=bob data', 'carol=carol data']);
      assert.ok(got.every((m) => m.action === 'present'));
    });

    test('a member set larger than one SYNC page arrives whole', async () => {
      const name = uniqueName('presence-pages');
      const entering = clients.realtime(server, format); // key auth without clientId: may enter any clientId
      const channel = entering.channels.get(name);
      const count = 250;
      await Promise.all(Array.from({ length: count }, (_, i) => channel.presence.enterClient(`member-${i}`, { i })));
      const late = clients.realtime(server, format);
      const got = await within(late.channels.get(name).presence.get(), 15000, 'presence.get() of 250 members');
      assert.equal(got.length, count);
      assert.deepEqual(new Set(got.map((m) => m.clientId)).size, count);
      assert.equal(got.find((m) => m.clientId === 'member-42').data.i, 42);
    });

    test('closing the connection makes its members leave at once', async () => {
      const name = uniqueName('presence-close');
      const watcher = clients.realtime(server, format);
      const watched = await recordPresence(watcher.channels.get(name));
      const dave = clients.realtime(server, format, { clientId: 'dave' });
      await dave.channels.get(name).presence.enter('here');
      await clients.close(dave);
      // Sooner than the leave delay, which is what a member of a dropped connection waits (the test below).
      await waitFor(() => watched.some((e) => e.action === 'leave'), LEAVE_DELAY_MS - 500, 'leave sooner than the leave delay after close', () => JSON.stringify(watched));
      assert.deepEqual(summary(watched), ['enter:dave:"here"', 'leave:dave:"here"']);
    });

    test('detaching the channel makes the connection\'s members leave', async () => {
      const name = uniqueName('presence-detach');
      const watcher = clients.realtime(server, format);
      const watched = await recordPresence(watcher.channels.get(name));
      const erin = clients.realtime(server, format, { clientId: 'erin' });
      const channel = erin.channels.get(name);
      await channel.presence.enter();
      await channel.detach();
      await waitFor(() => watched.some((e) => e.action === 'leave'), 15000, 'leave after detach', () => JSON.stringify(watched));
      assert.deepEqual(await watcher.channels.get(name).presence.get(), []);
    });

    test('a connection that stays disconnected leaves after the leave delay; one that resumes in time stays', async () => {
      const name = uniqueName('presence-disconnect');
      const watcher = clients.realtime(server, format);
      const watched = await recordPresence(watcher.channels.get(name));

      const stayProxy = await startProxy(server.port);
      const goneProxy = await startProxy(server.port);
      const laterProxy = await startProxy(server.port);
      try {
        const stays = clients.realtime(stayProxy, format, { clientId: 'stays' });
        const goes = clients.realtime(goneProxy, format, { clientId: 'goes' });
        // Disconnected only once 'goes' has left: its leave comes a whole leave delay after any 'stays' could have had
        // (timers due close together may fire in either order).
        const later = clients.realtime(laterProxy, format, { clientId: 'later' });
        await stays.channels.get(name).presence.enter('s');
        await goes.channels.get(name).presence.enter('g');
        await later.channels.get(name).presence.enter('l');
        await waitFor(() => watched.length >= 3, 15000, 'three enters', () => JSON.stringify(watched));
        const connectionId = stays.connection.id;
        const states = [];
        stays.connection.on((change) => states.push(change.current));

        // Both lose their transport abruptly; only one can come back.
        goneProxy.block(true);
        goneProxy.killAll();
        stayProxy.killAll();
        await waitFor(() => states.includes('disconnected') || states.includes('connecting'), 10000, 'stays notices', () => states.join('>'));
        await connectionState(stays, 'connected', 10000);
        assert.equal(stays.connection.id, connectionId, 'resumed the same connection');

        const left = () => watched.filter((e) => e.action === 'leave').map((e) => e.clientId);
        await waitFor(() => left().includes('goes'), LEAVE_DELAY_MS + 15000, 'the leave of the member that did not return', () => JSON.stringify(watched));
        laterProxy.block(true);
        laterProxy.killAll();
        await waitFor(() => left().includes('later'), LEAVE_DELAY_MS + 15000, 'the leave of the member disconnected after it', () => JSON.stringify(watched));
        assert.deepEqual(left(), ['goes', 'later'], JSON.stringify(watched));
        const present = (await watcher.channels.get(name).presence.get()).map((m) => m.clientId);
        assert.deepEqual(present, ['stays']);
        await clients.close(goes);
        await clients.close(later);
      } finally {
        await stayProxy.close();
        await goneProxy.close();
        await laterProxy.close();
      }
    });

    test('entering without presence capability is refused with 40160', async () => {
      const name = uniqueName('presence-denied');
      const client = clients.realtime(server, format, { key: SUB_KEY, clientId: 'frank' });
      await assert.rejects(client.channels.get(name).presence.enter('x'), (err) => {
        assert.equal(err.code, 40160, errText(err));
        return true;
      });
    });

    test('a client attached without presence_subscribe gets no presence events but its own', async () => {
      const name = uniqueName('presence-modes');
      const quiet = clients.realtime(server, format, { clientId: 'quiet' });
      const channel = quiet.channels.get(name, { modes: ['publish', 'subscribe', 'presence'] });
      const heard = [];
      channel.presence.subscribe((m) => heard.push(`${m.action}:${m.clientId}`));
      await channel.attach();
      const other = clients.realtime(server, format, { clientId: 'loud' });
      const otherChannel = other.channels.get(name);
      await otherChannel.presence.enter();
      await channel.presence.enter();
      await waitFor(() => heard.includes('enter:quiet'), 15000, 'own enter event', () => heard.join(','));
      // The barrier: loud updates, then quiet does; the channel's presence events are ordered, so one of loud's let
      // through to quiet would arrive before quiet's own update.
      await within(otherChannel.presence.update('again'), 10000, 'loud updates');
      await within(channel.presence.update('again'), 10000, 'quiet updates');
      await waitFor(() => heard.includes('update:quiet'), 15000, 'own update event', () => heard.join(','));
      assert.deepEqual(heard, ['enter:quiet', 'update:quiet']);
    });

    test('REST presence get and presence history', async () => {
      const name = uniqueName('presence-rest');
      const grace = clients.realtime(server, format, { clientId: 'grace' });
      const channel = grace.channels.get(name);
      await channel.presence.enter('one');
      await channel.presence.update('two');
      const rest = clients.rest(server, format);
      const members = await rest.channels.get(name).presence.get();
      assert.deepEqual(members.items.map((m) => `${m.action}:${m.clientId}:${m.data}`), ['present:grace:two']);
      await channel.presence.leave();
      const history = await rest.channels.get(name).presence.history({ direction: 'forwards' });
      assert.deepEqual(history.items.map((m) => `${m.action}:${m.clientId}:${m.data}`), ['enter:grace:one', 'update:grace:two', 'leave:grace:two']);
      const status = await rest.channels.get(name).status();
      assert.equal(status.status.occupancy.metrics.presenceMembers, 0);
    });
  });
}

describe('presence identity (raw protocol)', () => {
  const attachAndEnter = async (params, presence) => {
    const sock = await rawSocket(server.port, { params });
    await sock.waitFrame((f) => f.action === 4, 15000, 'CONNECTED');
    const channel = uniqueName('presence-raw');
    sock.send({ action: 10, channel });
    await sock.waitFrame((f) => f.action === 11, 15000, 'ATTACHED');
    sock.send({ action: 14, channel, msgSerial: 0, presence: [presence] });
    const reply = await sock.waitFrame((f) => f.action === 1 || f.action === 2, 15000, 'ACK or NACK');
    await sock.close();
    return reply;
  };

  test('an anonymous connection entering without a clientId is refused with 91000', async () => {
    const reply = await attachAndEnter({}, { action: 2, data: 'x' });
    assert.equal(reply.action, 2);
    assert.equal(reply.error.code, 91000);
  });

  test('an identified connection entering as someone else is refused with 40012', async () => {
    const reply = await attachAndEnter({ clientId: 'alice' }, { action: 2, clientId: 'mallory' });
    assert.equal(reply.action, 2);
    assert.equal(reply.error.code, 40012);
  });

  test('an identified connection entering as itself is acknowledged', async () => {
    const reply = await attachAndEnter({ clientId: 'alice' }, { action: 2, clientId: 'alice' });
    assert.equal(reply.action, 1);
  });
});
