// Ably's batch endpoints with the real SDK: rest.batchPublish (POST /messages) and rest.batchPresence
// (GET /presence): every channel succeeds or fails on its own, and what succeeded is really published.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, Clients, uniqueName, within } from './helpers.mjs';

let server;
const clients = new Clients('batch');

before(async () => {
  server = await startServer({ logName: 'batch' });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

/** A REST client whose token may publish and subscribe only on `allowed`. */
async function restrictedRest(format, allowed) {
  const root = clients.rest(server, format);
  const capability = Object.fromEntries(allowed.map((c) => [c, ['publish', 'subscribe', 'history']]));
  const tokenDetails = await within(root.auth.requestToken({ capability }), 10000, 'requestToken');
  return clients.rest(server, format, { key: undefined, tokenDetails });
}

for (const format of FORMATS) {
  describe(`batch [${format.name}]`, () => {
    test('batchPublish: one result per spec, per-channel errors, and the successes are in history with their payloads', async () => {
      const [a, b, c] = [uniqueName('batch-a'), uniqueName('batch-b'), uniqueName('batch-c')];
      const rest = await restrictedRest(format, [a, b]);
      // batchPublish sends messages as given (no payload encoding step in the SDK): binary goes as a Buffer over
      // msgpack, and as base64 with its encoding over JSON, which the server stores as bytes either way.
      const bytes = [0, 1, 2, 250];
      const binary = format.useBinaryProtocol ? { name: 'bin', data: Buffer.from(bytes) } : { name: 'bin', data: Buffer.from(bytes).toString('base64'), encoding: 'base64' };
      const results = await within(
        rest.batchPublish([
          { channels: [a, c], messages: [{ name: 'text', data: 'hello' }, binary] },
          { channels: [b], messages: { name: 'json', data: { n: 1 } } },
        ]),
        10000,
        'batchPublish',
      );
      assert.equal(results.length, 2);
      assert.equal(results[0].successCount, 1);
      assert.equal(results[0].failureCount, 1);
      assert.equal(results[0].results[0].channel, a);
      assert.ok(results[0].results[0].messageId);
      assert.equal(results[0].results[1].channel, c);
      assert.equal(results[0].results[1].error.code, 40160);
      assert.equal(results[1].successCount, 1);

      const root = clients.rest(server, format);
      const historyA = (await within(root.channels.get(a).history({ direction: 'forwards' }), 10000, 'history a')).items;
      assert.deepEqual(historyA.map((m) => m.name), ['text', 'bin']);
      assert.equal(historyA[0].data, 'hello');
      assert.deepEqual([...new Uint8Array(historyA[1].data)], bytes);
      const historyB = (await within(root.channels.get(b).history(), 10000, 'history b')).items;
      assert.deepEqual(historyB.map((m) => m.data), [{ n: 1 }]);
      const historyC = (await within(root.channels.get(c).history(), 10000, 'history c')).items;
      assert.equal(historyC.length, 0, 'nothing reaches a channel the token may not publish to');
    });

    test('batchPresence: members of each channel, an error for a channel without the right', async () => {
      const [a, b] = [uniqueName('bp-a'), uniqueName('bp-b')];
      const member = clients.realtime(server, format, { clientId: 'ann' });
      await within(member.channels.get(a).presence.enter('here'), 10000, 'enter');
      const rest = await restrictedRest(format, [a]);
      const result = await within(rest.batchPresence([a, b]), 10000, 'batchPresence');
      assert.equal(result.successCount, 1);
      assert.equal(result.failureCount, 1);
      const [ra, rb] = result.results;
      assert.equal(ra.channel, a);
      assert.deepEqual(ra.presence.map((p) => `${p.clientId}:${p.data}`), ['ann:here']);
      assert.equal(rb.channel, b);
      assert.equal(rb.error.code, 40160);
    });
  });
}
