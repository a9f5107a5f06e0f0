// Publish→deliver latency of one channel's messages to a WebSocket subscriber and to comet subscribers (streaming
// and long polling), in the same run, on the same messages: a WebSocket publisher sends COUNT messages at RATE per
// second, each carrying its send time; every subscriber records arrival minus send time (one process, one clock).
// Usage: node bench/comet-latency.mjs [count=400] [rate=50]   (the Release server build; the interop node_modules)
import { performance } from 'node:perf_hooks';
import { startServer } from '../tests/interop/server.mjs';
import { Clients, connectionState, uniqueName, waitFor, within } from '../tests/interop/helpers.mjs';

const COUNT = Number(process.argv[2] ?? 400);
const RATE = Number(process.argv[3] ?? 50);
const json = { useBinaryProtocol: false };
const subscribers = [
  { name: 'WebSocket (JSON)', opts: {} },
  { name: 'WebSocket (msgpack)', opts: {}, format: { useBinaryProtocol: true } },
  { name: 'comet streaming', opts: { transports: ['comet'] } },
  { name: 'comet long polling', opts: { transports: ['comet'], transportParams: { stream: false } } },
];

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const server = await startServer({ logName: 'comet-latency' });
const clients = new Clients('comet-latency');
try {
  const channelName = uniqueName('latency');
  const publisher = clients.realtime(server, json);
  await connectionState(publisher, 'connected');
  const pubChannel = publisher.channels.get(channelName);
  for (const s of subscribers) {
    s.client = clients.realtime(server, s.format ?? json, s.opts);
    await connectionState(s.client, 'connected');
    s.latencies = [];
    await within(s.client.channels.get(channelName).subscribe((m) => s.latencies.push(performance.now() - m.data.sentAt)), 10000, `${s.name} attach`);
  }

  // Warm-up, not measured.
  for (let i = 0; i < 20; i++) await pubChannel.publish('warmup', { sentAt: performance.now() });
  await waitFor(() => subscribers.every((s) => s.latencies.length >= 20), 20000, 'warm-up delivered');
  for (const s of subscribers) s.latencies.length = 0;

  const interval = 1000 / RATE;
  const start = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pubChannel.publish('m', { sentAt: performance.now(), i }).catch(() => {});
  }
  await waitFor(() => subscribers.every((s) => s.latencies.length >= COUNT), 60000, 'every message delivered',
    () => subscribers.map((s) => `${s.name} ${s.latencies.length}`).join(', '));

  console.log(`${COUNT} messages at ${RATE}/s, one channel, publisher on a WebSocket; latency publish→deliver in ms`);
  console.log('| Subscriber | p50 | p90 | p99 | max |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const s of subscribers) {
    const sorted = s.latencies.slice().sort((a, b) => a - b);
    const f = (v) => v.toFixed(1);
    console.log(`| ${s.name} | ${f(percentile(sorted, 50))} | ${f(percentile(sorted, 90))} | ${f(percentile(sorted, 99))} | ${f(sorted[sorted.length - 1])} |`);
  }
} finally {
  await clients.closeAll();
  await server.stop();
}
