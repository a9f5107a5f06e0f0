// Publishes on one connection are pipelined (appends issued without waiting); ACKs and NACKs must still come back in
// msgSerial order, each serial exactly once, with rejected publishes interleaved among accepted ones.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, rawSocket, uniqueName, waitFor } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer({ logName: 'pipelining' });
});
after(() => server?.stop());

for (const format of FORMATS) {
  describe(`pipelined publishes [${format.name}]`, () => {
    test('ACK/NACK arrive in msgSerial order with accepted and rejected publishes interleaved', async () => {
      const sock = await rawSocket(server.port, { format: format.name });
      await sock.waitFrame((f) => f.action === 4, 10000, 'CONNECTED');
      const channel = uniqueName('pipeline');
      const total = 300;
      const rejected = new Set();
      for (let serial = 0; serial < total; serial++) {
        // Every 7th publish is too large (NACK 40009), every 11th has an invalid channel name (NACK 40010).
        let target = channel;
        let data = `m${serial}`;
        if (serial % 7 === 3) {
          data = 'x'.repeat(70_000);
          rejected.add(serial);
        } else if (serial % 11 === 5) {
          target = ':invalid';
          rejected.add(serial);
        }
        sock.send({ action: 15, channel: target, msgSerial: serial, messages: [{ name: 'm', data }] });
      }

      const acks = () => sock.frames.filter((f) => f.action === 1 || f.action === 2);
      await waitFor(() => acks().reduce((n, f) => n + (f.count ?? 1), 0) >= total, 20000, 'all acknowledgements', () => `${acks().length}`);
      const seen = [];
      for (const f of acks()) {
        for (let i = 0; i < (f.count ?? 1); i++) {
          const serial = f.msgSerial + i;
          seen.push(serial);
          assert.equal(f.action === 2, rejected.has(serial), `serial ${serial}: ${f.action === 2 ? 'NACK ' + f.error?.code : 'ACK'}`);
          if (f.action === 2) assert.ok([40009, 40010].includes(f.error.code), `NACK code ${f.error.code}`);
        }
      }
      assert.deepEqual(seen, Array.from({ length: total }, (_, i) => i), 'each msgSerial acknowledged once, in order');
      sock.ws.close();
    });
  });
}
