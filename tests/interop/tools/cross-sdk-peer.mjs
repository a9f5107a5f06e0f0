// The ably JS side of the cross-SDK tests (tests/TokenWire.Client.Tests/CrossSdkTests.cs).
//   node cross-sdk-peer.mjs receive <port> <channel> <count> <msgpack|json>
//       attaches, prints READY, then prints each received message as one JSON line and exits after <count>.
//   node cross-sdk-peer.mjs publish <port> <channel> <msgpack|json>
//       publishes the fixture messages (string, JSON object, binary, each with extras) and exits.
//   node cross-sdk-peer.mjs presence <port> <channel> <clientId> <msgpack|json>
//       attaches, prints READY, waits for <clientId> to enter presence, prints that event and then the members from
//       presence.get(), each as one JSON line, and exits.
//   node cross-sdk-peer.mjs deltas <port> <channel> <count> <msgpack|json>
//       attaches with params { delta: 'vcdiff' } and @ably/vcdiff-decoder, prints READY, then each received message
//       (with delta: whether it came as one) as one JSON line, then { decoderCalls } after <count>, and exits; a
//       re-attach (a delta it could not apply) fails it.
//   node cross-sdk-peer.mjs annotations <port> <channel> <msgpack|json>
//       attaches with every annotation mode, prints READY; annotates the first message it receives with
//       reaction:distinct.v1 "js"; prints each raw annotation and each message.summary as one JSON line, and exits
//       once a summary counts two clients on reaction:distinct.v1 "both".
// Binary data is printed as {"$binary": "<base64>"} so the .NET side can compare bytes exactly.
import Ably from 'ably';
import * as vcdiff from '@ably/vcdiff-decoder';

const [mode, port, channelName, ...rest] = process.argv.slice(2);
const format = rest.at(-1);
let decoderCalls = 0;
const client = new Ably.Realtime({
  key: 'dev.root:dev-root-secret',
  endpoint: '127.0.0.1',
  port: Number(port),
  tls: false,
  useBinaryProtocol: format === 'msgpack',
  fallbackHosts: [],
  disableConnectivityCheck: true,
  clientId: 'js-peer',
  plugins: {
    vcdiff: {
      decode(delta, base) {
        decoderCalls += 1;
        return vcdiff.decode(delta, base);
      },
    },
  },
});
const channelOptions = {
  deltas: { params: { delta: 'vcdiff' } },
  annotations: { modes: ['publish', 'subscribe', 'annotation_publish', 'annotation_subscribe'] },
};
const channel = client.channels.get(channelName, channelOptions[mode] ?? {});
const finish = () => {
  clearTimeout(bail);
  client.close();
  process.exit(0);
};
const bail = setTimeout(() => {
  console.error('cross-sdk-peer: timed out');
  process.exit(3);
}, 20000);

const printable = (data) =>
  data instanceof Uint8Array || Buffer.isBuffer(data) ? { $binary: Buffer.from(data).toString('base64') } : data;

if (mode === 'receive') {
  const count = Number(rest[0]);
  let seen = 0;
  await channel.subscribe((m) => {
    console.log(JSON.stringify({ name: m.name, data: printable(m.data), extras: m.extras ?? null, clientId: m.clientId ?? null }));
    if (++seen === count) {
      clearTimeout(bail);
      client.close();
      process.exit(0);
    }
  });
  console.log('READY');
} else if (mode === 'publish') {
  await channel.publish([
    { name: 'text', data: 'héllo from js ✓', extras: { headers: { responseId: 'js-1', index: 0 } } },
    { name: 'json', data: { token: 'Hel', n: 3, nested: [1, 'two', null] }, extras: { headers: { responseId: 'js-1', index: 1 } } },
    { name: 'binary', data: new Uint8Array([0, 1, 2, 254, 255]), extras: { headers: { responseId: 'js-1', index: 2 } } },
  ]);
  clearTimeout(bail);
  client.close();
  process.exit(0);
} else if (mode === 'presence') {
  const clientId = rest[0];
  await channel.presence.subscribe('enter', async (m) => {
    if (m.clientId !== clientId) return;
    console.log(JSON.stringify({ action: m.action, clientId: m.clientId, connectionId: m.connectionId, data: printable(m.data) }));
    const members = await channel.presence.get();
    console.log(JSON.stringify(members.map((p) => ({ clientId: p.clientId, connectionId: p.connectionId, data: printable(p.data) }))));
    clearTimeout(bail);
    client.close();
    process.exit(0);
  });
  console.log('READY');
} else if (mode === 'deltas') {
  const count = Number(rest[0]);
  let seen = 0;
  await channel.subscribe((m) => {
    console.log(JSON.stringify({ name: m.name, data: printable(m.data), delta: Boolean(m.extras?.delta) }));
    if (++seen === count) {
      console.log(JSON.stringify({ decoderCalls }));
      finish();
    }
  });
  channel.on('attaching', (change) => {
    console.error(`cross-sdk-peer: re-attaching: ${change.reason?.code} ${change.reason?.message}`);
    process.exit(4);
  });
  console.log('READY');
} else if (mode === 'annotations') {
  await channel.annotations.subscribe((a) => {
    console.log(JSON.stringify({ kind: 'annotation', type: a.type, name: a.name, clientId: a.clientId, action: a.action, messageSerial: a.messageSerial }));
  });
  let annotated = false;
  await channel.subscribe(async (m) => {
    if (m.action === 'message.summary') {
      console.log(JSON.stringify({ kind: 'summary', serial: m.serial, summary: m.annotations.summary }));
      if (m.annotations.summary['reaction:distinct.v1']?.both?.total === 2) finish();
    } else if (!annotated) {
      annotated = true;
      await channel.annotations.publish(m, { type: 'reaction:distinct.v1', name: 'js' });
      await channel.annotations.publish(m.serial, { type: 'reaction:distinct.v1', name: 'both' });
    }
  });
  console.log('READY');
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
