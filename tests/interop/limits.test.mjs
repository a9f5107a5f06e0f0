// Limits with Ably error codes, each on a server started with a small configured value (--TokenWire:Limits:…):
// inbound message rate (NACK 42911/429, announced as maxInboundRate), outbound message rate (paced, then a slow
// consumer that resumes without loss), channels per connection (90010), connections per app (DISCONNECTED 40150).
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, Clients, connectionState, record, uniqueName, waitFor, within, errText, sleep } from './helpers.mjs';

const clients = new Clients('limits');
afterEach(() => clients.closeAll());
after(() => clients.closeAll());

/** Starts a server for one describe block and stops it afterwards; no in-process agent, whose connection would count. */
function serverWith(logName, args) {
  const holder = {};
  before(async () => {
    holder.server = await startServer({ logName, args: ['--TokenWire:Agent:Enabled=false', ...args] });
  });
  after(async () => {
    await clients.closeAll();
    if (holder.server) await holder.server.stop();
  });
  return holder;
}

describe('inbound message rate', () => {
  const RATE = 20;
  const BURST = 30;
  const s = serverWith('limits-rate', [`--TokenWire:Limits:MaxInboundRate=${RATE}`, `--TokenWire:Limits:InboundBurst=${BURST}`]);

  for (const format of FORMATS) {
    test(`publishes beyond the burst are NACKed with 42911/429, the connection stays up, the rest is delivered [${format.name}]`, async () => {
      const publisher = clients.realtime(s.server, format);
      const viewer = clients.realtime(s.server, format);
      await connectionState(publisher, 'connected');
      assert.equal(publisher.connection.connectionManager.connectionDetails.maxInboundRate, RATE, 'the announced rate is the enforced one');
      const name = uniqueName('rate');
      const rec = record(viewer.channels.get(name));
      await within(rec.subscribed, 10000, 'viewer attach');
      const channel = publisher.channels.get(name);
      await within(channel.attach(), 10000, 'publisher attach');

      // 100 publishes at once, not awaited: the bucket holds BURST; a few more may refill meanwhile.
      const results = await within(
        Promise.allSettled(Array.from({ length: 100 }, (_, i) => channel.publish('m', String(i)))),
        20000,
        'publishes settle',
      );
      const accepted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [String(i)] : []));
      const rejected = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
      assert.ok(accepted.length >= BURST, `at least the burst is accepted (${accepted.length})`);
      assert.ok(rejected.length > 0, 'the excess is rejected');
      for (const err of rejected) {
        assert.equal(err.code, 42911, errText(err));
        assert.equal(err.statusCode, 429, errText(err));
      }
      assert.equal(publisher.connection.state, 'connected', 'a rate NACK is not fatal');

      await waitFor(() => rec.messages.length >= accepted.length, 10000, 'accepted messages delivered', () => `${rec.messages.length}/${accepted.length}`);

      // The bucket refills at RATE/s: publishing succeeds again shortly after.
      const deadline = Date.now() + 15000;
      let lastError;
      for (;;) {
        try {
          await within(channel.publish('later', 'refilled'), 10000, 'publish after refill');
          break;
        } catch (err) {
          lastError = err;
          assert.equal(err.code, 42911, errText(err));
          if (Date.now() > deadline) throw new Error(`still rate limited after 15 s: ${errText(lastError)}`);
          await sleep(100);
        }
      }
      await waitFor(() => rec.messages.some((m) => m.name === 'later'), 10000, 'refilled publish delivered');
      // Exactly the accepted publishes are delivered, in order: the refilled publish, from the same connection on the
      // same channel, is the barrier after which a rejected one let through would have arrived.
      assert.deepEqual(rec.messages.map((m) => m.data), [...accepted, 'refilled']);
    });
  }
});

describe('channels per connection', () => {
  const s = serverWith('limits-channels', ['--TokenWire:Limits:MaxChannelsPerConnection=3']);

  for (const format of FORMATS) {
    test(`one ATTACH over the limit fails that channel with 90010; the others stay attached; a DETACH frees a slot [${format.name}]`, async () => {
      const client = clients.realtime(s.server, format);
      await connectionState(client, 'connected');
      const channels = Array.from({ length: 3 }, () => client.channels.get(uniqueName('slot')));
      for (const c of channels) await within(c.attach(), 10000, `attach ${c.name}`);
      const extra = client.channels.get(uniqueName('extra'));
      await assert.rejects(within(extra.attach(), 10000, 'attach a fourth channel'), (err) => err.code === 90010 && err.statusCode === 400);
      assert.equal(extra.state, 'failed');
      assert.deepEqual(channels.map((c) => c.state), ['attached', 'attached', 'attached']);
      assert.equal(client.connection.state, 'connected');

      await within(channels[0].detach(), 10000, 'detach one');
      await within(extra.attach(), 10000, 'attach again after a detach');
      assert.equal(extra.state, 'attached');

      // Re-attaching a channel that is already attached takes no new slot.
      await within(channels[1].attach(), 10000, 're-attach');
    });
  }
});

describe('outbound message rate', () => {
  const RATE = 100;
  const QUEUE = 4096; // bytes: a few dozen messages
  const s = serverWith('limits-outbound', [`--TokenWire:Limits:MaxOutboundRate=${RATE}`, `--TokenWire:Limits:OutboundQueueBytes=${QUEUE}`]);

  for (const format of FORMATS) {
    test(`a subscriber above maxOutboundRate is disconnected as a slow consumer, resumes, and gets every message once, in order [${format.name}]`, async () => {
      const COUNT = 400; // four seconds' worth at the rate, far more than the queue holds
      // Over REST (a realtime publisher's own queue of ACKs would overflow too), 200 messages a request: each request
      // alone holds more than the viewer's queue, so it overflows however slowly a busy box serves the requests.
      const BATCH = 200;
      const publisher = clients.rest(s.server, format);
      const viewer = clients.realtime(s.server, format);
      await connectionState(viewer, 'connected');
      assert.equal(viewer.connection.connectionManager.connectionDetails.maxOutboundRate, RATE, 'the announced rate is the enforced one');
      const viewerId = viewer.connection.id;
      const states = [];
      viewer.connection.on((change) => states.push(change.current));
      const name = uniqueName('outbound');
      const rec = record(viewer.channels.get(name));
      await within(rec.subscribed, 10000, 'viewer attach');

      const channel = publisher.channels.get(name);
      for (let i = 0; i < COUNT; i += BATCH) {
        const batch = Array.from({ length: BATCH }, (_, j) => ({ name: 'm', data: { i: i + j } }));
        await within(channel.publish(batch), 10000, `publish ${i}..${i + BATCH - 1} (the publisher is not held back)`);
      }

      await waitFor(() => rec.messages.length >= COUNT, 60000, `viewer receives ${COUNT}`, () => `${rec.messages.length}, states ${states.join(',')}`);
      assert.deepEqual(rec.messages.map((m) => m.data.i), Array.from({ length: COUNT }, (_, i) => i), 'every message once, in order');
      assert.ok(states.includes('disconnected'), `the viewer was disconnected at least once (states ${states.join(',')})`);
      await connectionState(viewer, 'connected');
      assert.equal(viewer.connection.id, viewerId, 'it resumed the same connection');
    });
  }
});

describe('connections per app', () => {
  const s = serverWith('limits-connections', ['--TokenWire:Limits:MaxConnectionsPerApp=2']);

  for (const format of FORMATS) {
    test(`a connection over the limit is refused with DISCONNECTED 40150 and connects once a slot frees [${format.name}]`, async () => {
      const first = clients.realtime(s.server, format);
      const second = clients.realtime(s.server, format);
      await connectionState(first, 'connected');
      await connectionState(second, 'connected');

      const third = clients.realtime(s.server, format, { disconnectedRetryTimeout: 500 });
      await connectionState(third, 'disconnected');
      assert.equal(third.connection.errorReason?.code, 40150, `reason ${errText(third.connection.errorReason)}`);
      assert.equal(third.connection.errorReason?.statusCode, 403);

      await clients.close(first);
      await connectionState(third, 'connected', 15000);
      assert.equal(second.connection.state, 'connected');
    });
  }
});

describe('message size per app', () => {
  const s = serverWith('limits-message-size', [
    '--TokenWire:Apps:0:Id=roomy',
    '--TokenWire:Apps:0:Keys:0:Id=k',
    '--TokenWire:Apps:0:Keys:0:Secret=roomy-secret',
    '--TokenWire:Apps:1:Id=tight',
    '--TokenWire:Apps:1:Keys:0:Id=k',
    '--TokenWire:Apps:1:Keys:0:Secret=tight-secret',
    '--TokenWire:Apps:1:MaxMessageSize=1024',
  ]);
  const payload = 'x'.repeat(2000);

  for (const format of FORMATS) {
    test(`an app's MaxMessageSize is announced and enforced; other apps keep the server default [${format.name}]`, async () => {
      const tight = clients.realtime(s.server, format, { key: 'tight.k:tight-secret' });
      const roomy = clients.realtime(s.server, format, { key: 'roomy.k:roomy-secret' });
      await connectionState(tight, 'connected');
      await connectionState(roomy, 'connected');
      assert.equal(tight.connection.connectionManager.connectionDetails.maxMessageSize, 1024);
      assert.equal(roomy.connection.connectionManager.connectionDetails.maxMessageSize, 65536);

      const name = uniqueName('size');
      await assert.rejects(within(tight.channels.get(name).publish('big', payload), 10000, 'SDK-side check'), (err) => err.code === 40009);
      await within(tight.channels.get(name).publish('small', 'x'.repeat(500)), 10000, 'a message under the app limit');
      await within(roomy.channels.get(name).publish('big', payload), 10000, 'the same message in the other app');

      // The server enforces it too, whatever the client believes (REST has no connectionDetails).
      const response = await fetch(`${s.server.url}/channels/${name}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('tight.k:tight-secret').toString('base64')}` },
        body: JSON.stringify({ name: 'big', data: payload }),
      });
      assert.equal(response.status, 400);
      assert.equal((await response.json()).error.code, 40009);
    });
  }
});
