// The ably JS side of the cross-SDK tests (tests/TokenWire.Client.Tests/CrossSdkTests.cs).
//   node cross-sdk-peer.mjs receive <port> <channel> <count> <msgpack|json>
//       attaches, prints READY, then prints each received message as one JSON line and exits after <count>.
//   node cross-sdk-peer.mjs publish <port> <channel> <msgpack|json>
//       publishes the fixture messages (string, JSON object, binary, each with extras) and exits.
//   node cross-sdk-peer.mjs presence <port> <channel> <clientId> <msgpack|json>
//       attaches, prints READY, waits for <clientId> to enter presence, prints that event and then the members from
//       presence.get(), each as one JSON line, and exits.
// Binary data is printed as {"$binary": "<base64>"} so the .NET side can compare bytes exactly.
import Ably from 'ably';

const [mode, port, channelName, ...rest] = process.argv.slice(2);
const format = rest.at(-1);
const client = new Ably.Realtime({
  key: 'dev.root:dev-root-secret',
  endpoint: '127.0.0.1',
  port: Number(port),
  tls: false,
  useBinaryProtocol: format === 'msgpack',
  fallbackHosts: [],
  disableConnectivityCheck: true,
  clientId: 'js-peer',
});
const channel = client.channels.get(channelName);
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
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
