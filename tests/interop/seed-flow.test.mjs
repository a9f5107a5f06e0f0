// The seed's message-per-token flow through the real ably SDK, in msgpack and JSON.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import {
  FORMATS,
  Clients,
  connectionState,
  record,
  streamResponse,
  settleAll,
  checkSeedSequence,
  uniqueName,
  waitFor,
  within,
  barrier,
  rawSocket,
} from './helpers.mjs';

let server;
const clients = new Clients('seed-flow');

before(async () => {
  server = await startServer({ logName: 'seed-flow' });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

for (const format of FORMATS) {
  describe(`seed flow [${format.name}]`, () => {
    test('agent publishes start, 500 tokens, stop without awaiting; subscriber gets exactly that sequence', async () => {
      const agent = clients.realtime(server, format, { clientId: 'ai-agent' });
      const viewer = clients.realtime(server, format);
      await connectionState(agent, 'connected');
      await connectionState(viewer, 'connected');
      const name = uniqueName('seed');

      const subChannel = viewer.channels.get(name);
      const rec = record(subChannel);
      await within(rec.subscribed, 10000, 'subscriber attach');
      assert.equal(subChannel.state, 'attached');

      // The agent never attaches: publishing on an unattached channel is what the seed does.
      const pubChannel = agent.channels.get(name);
      const stream = streamResponse(pubChannel, { count: 500 });
      await stream.issued;
      const results = await settleAll(stream.promises, 30000, 'agent publishes');

      await waitFor(
        () => rec.messages.some((m) => m.name === 'stop'),
        30000,
        'subscriber receives stop',
        () => `received ${rec.messages.length} messages`,
      );
      await barrier(agent.channels.get(name), [rec.messages], { label: 'after stop' }); // a stray duplicate is in by now

      checkSeedSequence(assert, rec.messages, stream, { clientId: 'ai-agent', connectionId: agent.connection.id });

      // Ids are connectionId:msgSerial:index for realtime publishes.
      const idPattern = new RegExp(`^${escapeRegExp(agent.connection.id)}:\\d+:\\d+$`);
      for (const m of rec.messages) assert.match(m.id, idPattern, `message id ${m.id}`);

      // ACK `res` serials resolve each publish and name the delivered message's serial.
      assert.equal(results.length, 502);
      for (let i = 0; i < results.length; i++) {
        assert.ok(results[i] && Array.isArray(results[i].serials), `publish #${i} resolved without serials: ${JSON.stringify(results[i])}`);
        assert.equal(results[i].serials.length, 1, `publish #${i} serials`);
        assert.equal(results[i].serials[0], rec.messages[i].serial, `ACK serial of publish #${i} vs delivered serial`);
      }
    });

    test('the agent reading its own flow (attached) also gets it with echo on', async () => {
      const agent = clients.realtime(server, format, { clientId: 'ai-agent' });
      await connectionState(agent, 'connected');
      const channel = agent.channels.get(uniqueName('seed-echo'));
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach');
      const stream = streamResponse(channel, { count: 50 });
      await stream.issued;
      await settleAll(stream.promises, 15000, 'publishes');
      await waitFor(() => rec.messages.some((m) => m.name === 'stop'), 15000, 'own stop echoed', () => `${rec.messages.length} received`);
      await barrier(channel, [rec.messages], { label: 'after stop' });
      checkSeedSequence(assert, rec.messages, stream, { clientId: 'ai-agent', connectionId: agent.connection.id });
    });

    test('CONNECTED carries full connectionDetails; connection.ping() is answered', async () => {
      const raw = await rawSocket(server.port, { format: format.name, params: { clientId: 'ai-agent' } });
      try {
        const connected = await raw.waitFrame((f) => f.action === 4, 10000, 'CONNECTED');
        assert.ok(connected, `closed before CONNECTED: ${JSON.stringify(raw.closeInfo)}`);
        assert.equal(typeof connected.connectionId, 'string');
        const d = connected.connectionDetails;
        assert.ok(d, 'connectionDetails');
        assert.equal(typeof d.connectionKey, 'string');
        assert.ok(d.connectionKey.length > 0);
        assert.equal(d.clientId, 'ai-agent');
        assert.equal(d.maxMessageSize, 65536);
        assert.equal(d.connectionStateTtl, 120000);
        assert.equal(d.maxIdleInterval, 15000);
      } finally {
        await raw.close();
      }
      const c = clients.realtime(server, format);
      await connectionState(c, 'connected');
      await within(c.connection.ping(), 10000, 'ping');
    });

    test('echoMessages:false — the publisher does not get its own messages, another client does', async () => {
      const publisher = clients.realtime(server, format, { clientId: 'ai-agent', echoMessages: false });
      const other = clients.realtime(server, format, { clientId: 'other' });
      await connectionState(publisher, 'connected');
      await connectionState(other, 'connected');
      const name = uniqueName('noecho');

      const pubChannel = publisher.channels.get(name);
      const pubRec = record(pubChannel);
      const otherChannel = other.channels.get(name);
      const otherRec = record(otherChannel);
      await within(Promise.all([pubRec.subscribed, otherRec.subscribed]), 10000, 'attach both');

      const stream = streamResponse(pubChannel, { count: 20 });
      await stream.issued;
      await settleAll(stream.promises, 15000, 'publishes');
      await waitFor(() => otherRec.messages.some((m) => m.name === 'stop'), 15000, 'other client gets stop');
      checkSeedSequence(assert, otherRec.messages, stream, { clientId: 'ai-agent' });

      // A message from the other client, published after the publisher's own were delivered:
      // per-channel order means any echo of the publisher's own messages would arrive before it.
      await within(otherChannel.publish('from-other', 'hello'), 10000, 'other publishes');
      await waitFor(() => pubRec.messages.some((m) => m.name === 'from-other'), 10000, 'publisher receives from-other');
      // ... and from-other itself is followed by a sentinel, so a second delivery of it would be seen as well.
      await barrier(otherChannel, [pubRec.messages], { label: 'after from-other' });
      assert.deepEqual(
        pubRec.messages.map((m) => `${m.name}:${m.clientId}`),
        ['from-other:other'],
        'echoMessages:false publisher must receive only the other client\'s message',
      );
    });
  });
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
