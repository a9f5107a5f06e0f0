// Metrics end to end (issue 15): the real ably SDK streams tokens through a real server process, and its Prometheus
// endpoint (/metrics, on in Development) must have moved by exactly what was sent: tokenwire_messages_published_total
// by the tokens published, tokenwire_messages_delivered_total by tokens × subscribers, and the delivery lag
// histogram's count by the frames written (one per delivery when the stream goes in lock step). The server is this
// file's alone, and its tests run one after another, so every counter's change is theirs.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, repoRoot, startServer } from './server.mjs';
import { FORMATS, Clients, ROOT_KEY, connectionState, sleep, uniqueName, waitFor, within } from './helpers.mjs';

const SUBSCRIBERS = 3;
const TOKENS = 40;

const clients = new Clients('metrics');
let server;

before(async () => {
  server = await startServer({ logName: 'metrics' });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  await server?.stop();
});

/** GET /metrics, parsed: [{ name, labels, value }]. */
async function scrape() {
  const response = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10000) });
  assert.equal(response.status, 200, 'GET /metrics');
  const text = await response.text();
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of a metric's samples whose labels include `labels` (0 when it has none yet: a counter appears on first use). */
function read(samples, name, labels = {}) {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const PUBLISHED = ['tokenwire_messages_published_total', { tokenwire_message_kind: 'message' }];
const DELIVERED = ['tokenwire_messages_delivered_total'];
const LAG_COUNT = ['tokenwire_delivery_lag_milliseconds_count'];

/**
 * Polls /metrics until `done(deltas)` holds, where deltas are each watched metric's change since `before`; returns
 * the last deltas. The exporter caches a scrape for 300 ms and counts a frame just after its write returns, so a
 * client may see a message a moment before the counter moves.
 */
async function settle(before, watched, done, label) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const now = await scrape();
    const deltas = Object.fromEntries(Object.entries(watched).map(([key, [name, labels]]) => [key, read(now, name, labels) - read(before, name, labels)]));
    if (done(deltas)) return deltas;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}: ${JSON.stringify(deltas)}`);
    await sleep(100);
  }
}

async function subscribers(format, channelName, count) {
  const received = [];
  for (let i = 0; i < count; i++) {
    const client = clients.realtime(server, format);
    await connectionState(client, 'connected');
    const messages = [];
    await within(client.channels.get(channelName).subscribe((m) => messages.push(m)), 10000, `subscriber ${i} attach`);
    received.push(messages);
  }
  return received;
}

for (const format of FORMATS) {
  describe(`metrics (${format.name})`, () => {
    test('tokens streamed in lock step move published, delivered and the lag count by exactly what was sent', async () => {
      const channelName = uniqueName('metrics-lockstep');
      const received = await subscribers(format, channelName, SUBSCRIBERS);
      // echoMessages: false, so the publisher is sent nothing whether or not its publish attached it.
      const publisher = clients.realtime(server, format, { echoMessages: false });
      await connectionState(publisher, 'connected');
      const channel = publisher.channels.get(channelName);

      const before = await scrape();
      for (let i = 0; i < TOKENS; i++) {
        await within(channel.publish('token', { token: `t${i}` }), 10000, `publish ${i}`);
        // Every subscriber holds token i before i+1 is published: each delivery is a frame of its own.
        await waitFor(() => received.every((m) => m.length === i + 1), 10000, `token ${i} at every subscriber`, () =>
          received.map((m) => m.length).join(','),
        );
      }

      const deltas = await settle(
        before,
        { published: PUBLISHED, delivered: DELIVERED, lag: LAG_COUNT },
        (d) => d.published >= TOKENS && d.delivered >= TOKENS * SUBSCRIBERS && d.lag >= TOKENS * SUBSCRIBERS,
        'the counters to move',
      );
      assert.deepEqual(deltas, { published: TOKENS, delivered: TOKENS * SUBSCRIBERS, lag: TOKENS * SUBSCRIBERS });
      for (const messages of received) {
        assert.deepEqual(messages.map((m) => m.data.token), Array.from({ length: TOKENS }, (_, i) => `t${i}`));
      }
    });

    test('a pipelined burst counts every delivery once, and at least one lag per subscriber, at most one per delivery', async () => {
      const channelName = uniqueName('metrics-burst');
      const received = await subscribers(format, channelName, SUBSCRIBERS);
      const publisher = clients.realtime(server, format, { echoMessages: false });
      await connectionState(publisher, 'connected');
      const channel = publisher.channels.get(channelName);

      const before = await scrape();
      await within(Promise.all(Array.from({ length: TOKENS }, (_, i) => channel.publish('token', { token: `t${i}` }))), 15000, 'burst');
      await waitFor(() => received.every((m) => m.length === TOKENS), 15000, 'the burst at every subscriber');

      const deltas = await settle(
        before,
        { published: PUBLISHED, delivered: DELIVERED, lag: LAG_COUNT },
        (d) => d.published >= TOKENS && d.delivered >= TOKENS * SUBSCRIBERS && d.lag >= SUBSCRIBERS,
        'the counters to move',
      );
      assert.equal(deltas.published, TOKENS);
      assert.equal(deltas.delivered, TOKENS * SUBSCRIBERS);
      assert.ok(deltas.lag >= SUBSCRIBERS && deltas.lag <= TOKENS * SUBSCRIBERS, `lag count ${deltas.lag}`);
    });
  });
}

test('connections are counted while open, and an agent response records its tokens, first token and outcome', async () => {
  // The in-process agent attaches to its requests channel once the server is up: wait for it, as agent.test.mjs does.
  const authorization = `Basic ${Buffer.from(ROOT_KEY).toString('base64')}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    const status = await (await fetch(`${server.url}/channels/${encodeURIComponent('tokenwire-agent:requests')}`, { headers: { authorization } })).json();
    if (status.status?.occupancy?.metrics?.subscribers > 0) break;
    if (Date.now() > deadline) throw new Error('the in-process agent did not attach');
    await sleep(50);
  }

  // The earlier tests' clients are closed, and the server soon notices: then the agent's is the only connection.
  const zero = [];
  const onlyAgent = () => settle(zero, { connections: ['tokenwire_connections'] }, (d) => d.connections === 1, 'the agent alone connected');
  await onlyAgent();
  const format = FORMATS[0];
  const channelName = uniqueName('metrics-agent');
  const [messages] = await subscribers(format, channelName, 1);
  await settle(zero, { connections: ['tokenwire_connections'] }, (d) => d.connections === 2, 'the subscriber connected');

  const before = await scrape();
  const response = await fetch(`${server.url}/agent/prompts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ channel: channelName, prompt: 'What is TokenWire?' }),
  });
  assert.equal(response.status, 202);
  const stop = await waitFor(() => messages.find((m) => m.name === 'stop'), 60000, 'the agent stop message');
  const tokenCount = stop.extras.headers.tokenCount;
  assert.equal(stop.extras.headers.reason, 'complete');
  assert.ok(tokenCount > 0);

  const complete = { tokenwire_agent_outcome: 'complete' };
  const deltas = await settle(
    before,
    {
      responses: ['tokenwire_agent_responses_total', complete],
      tokens: ['tokenwire_agent_response_tokens_sum', complete],
      firstTokens: ['tokenwire_agent_time_to_first_token_milliseconds_count', complete],
      published: PUBLISHED,
    },
    (d) => d.responses >= 1,
    'the agent response to be recorded',
  );
  // The prompt (POST /agent/prompts publishes it on the requests channel), then start, one token per delta, stop.
  assert.deepEqual(deltas, { responses: 1, tokens: tokenCount, firstTokens: 1, published: 1 + tokenCount + 2 });

  await clients.closeAll();
  await onlyAgent();
});

test('every series our tags can produce is scraped after traffic of each kind, and none overflowed', async () => {
  // Each metric stream holds as many series as Telemetry/MetricCardinality allows, and a series past that limit goes
  // into one tagged otel_metric_overflow instead of its own: a limit lower than an instrument's tag set fails here.
  const format = FORMATS[0];
  const client = clients.realtime(server, format, { clientId: 'metrics-writer' });
  await connectionState(client, 'connected');
  const rest = clients.rest(server, format);

  // Published, by kind: message, update, delete, append (a mutable namespace), ephemeral.
  const mutable = client.channels.get(`mutable:${uniqueName('metrics-kinds')}`);
  await within(mutable.subscribe(() => {}), 10000, 'attach');
  const { serials } = await within(mutable.publish('m', 'one'), 10000, 'publish');
  await within(mutable.appendMessage({ serial: serials[0], data: ' two' }), 10000, 'append');
  await within(mutable.updateMessage({ serial: serials[0], data: 'updated' }), 10000, 'update');
  await within(mutable.deleteMessage({ serial: serials[0], data: '' }), 10000, 'delete');
  await within(mutable.publish({ name: 'progress', data: '50%', extras: { ephemeral: true } }), 10000, 'ephemeral publish');

  // NACKs by code: an append outside a mutable namespace (93002), an append to JSON data (40013).
  const plain = client.channels.get(uniqueName('metrics-plain'));
  const plainSerials = (await within(plain.publish('m', 'text'), 10000, 'plain publish')).serials;
  await assert.rejects(within(plain.appendMessage({ serial: plainSerials[0], data: 'more' }), 10000, 'refused append'), { code: 93002 });
  const json = (await within(mutable.publish('m', { a: 1 }), 10000, 'json publish')).serials;
  await assert.rejects(within(mutable.appendMessage({ serial: json[0], data: 'x' }), 10000, 'refused append'), { code: 40013 });

  // History reads, by kind: messages and presence.
  await within(rest.channels.get(mutable.name).history(), 10000, 'history');
  await within(rest.channels.get(mutable.name).presence.history(), 10000, 'presence history');

  // Resumes, by outcome: resumed (the transport dropped under the client) and new_connection (an unknown key).
  const proxy = await clients.proxy(server.port);
  const resuming = clients.realtime(proxy, format);
  await connectionState(resuming, 'connected');
  const id = resuming.connection.id;
  const states = [];
  resuming.connection.on((change) => states.push(change.current));
  assert.ok(proxy.killAll() >= 1, 'the proxy had no connection to kill');
  await waitFor(() => states.includes('disconnected'), 15000, 'the drop noticed', () => states.join('>'));
  await connectionState(resuming, 'connected');
  assert.equal(resuming.connection.id, id, 'the connection resumed');
  const forged = JSON.stringify({ connectionKey: 'bogus!key', msgSerial: 0, channelSerials: {} });
  const recovered = clients.realtime(server, format, { recover: forged });
  await connectionState(recovered, 'connected');

  const expected = [
    ...['message', 'append', 'update', 'delete', 'ephemeral'].map((kind) => ['tokenwire_messages_published_total', { tokenwire_message_kind: kind }]),
    ['tokenwire_nacks_total', { tokenwire_error_code: '93002' }],
    ['tokenwire_nacks_total', { tokenwire_error_code: '40013' }],
    ['tokenwire_history_duration_milliseconds_count', { tokenwire_history_kind: 'messages' }],
    ['tokenwire_history_duration_milliseconds_count', { tokenwire_history_kind: 'presence' }],
    ['tokenwire_resumes_total', { tokenwire_resume_outcome: 'resumed' }],
    ['tokenwire_resumes_total', { tokenwire_resume_outcome: 'new_connection' }],
    ['tokenwire_messages_delivered_total', {}],
    ['http_server_request_duration_seconds_count', { http_route: '/channels/{channel}/messages' }],
  ];
  const has = (samples, [name, labels]) =>
    samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  // The exporter caches a scrape for 300 ms, and a NACK or resume may be counted just after the client saw it.
  let samples = await scrape();
  const deadline = Date.now() + 15000;
  while (!expected.every((series) => has(samples, series)) && Date.now() < deadline) {
    await sleep(100);
    samples = await scrape();
  }
  assert.deepEqual(expected.filter((series) => !has(samples, series)), [], 'series missing from the scrape');
  const overflowed = samples.filter((s) => 'otel_metric_overflow' in s.labels).map((s) => s.name);
  assert.deepEqual(overflowed, [], 'series past a cardinality limit');
});

describe('the scrape endpoint outside Development', () => {
  const production = {
    env: { ASPNETCORE_ENVIRONMENT: 'Production', DOTNET_ENVIRONMENT: 'Production' },
    args: ['--TokenWire:Apps:0:Id=prod', '--TokenWire:Apps:0:Keys:0:Id=root', '--TokenWire:Apps:0:Keys:0:Secret=prod-secret', '--TokenWire:Agent:Enabled=false'],
  };

  test('is off unless the operator turns it on', async () => {
    const prod = await startServer({ ...production, logName: 'metrics-production' });
    try {
      const response = await fetch(`${prod.url}/metrics`);
      await response.arrayBuffer();
      assert.equal(response.status, 404);
    } finally {
      await prod.stop();
    }
  });

  test('with TokenWire:Metrics:PrometheusPort it answers on that port only', async () => {
    const metricsPort = await freePort();
    const prod = await startServer({
      ...production,
      args: [...production.args, '--TokenWire:Metrics:Prometheus=true', `--TokenWire:Metrics:PrometheusPort=${metricsPort}`],
      extraUrls: [`http://127.0.0.1:${metricsPort}`],
      logName: 'metrics-port',
    });
    try {
      const onMain = await fetch(`${prod.url}/metrics`);
      await onMain.arrayBuffer();
      assert.equal(onMain.status, 404, '/metrics on the public port');
      const onMetrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(onMetrics.status, 200);
      assert.match(await onMetrics.text(), /^tokenwire_connections\{/m);
    } finally {
      await prod.stop();
    }
  });
});

test('with OTEL_EXPORTER_OTLP_ENDPOINT set, metrics and traces (attach, history) are exported over OTLP', async () => {
  // A stand-in collector: OTLP/HTTP protobuf bodies, searched for the names they must carry.
  const received = { '/v1/metrics': [], '/v1/traces': [] };
  const collector = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (c) => chunks.push(c));
    request.on('end', () => {
      received[request.url]?.push(Buffer.concat(chunks));
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const otlp = await startServer({
    logName: 'metrics-otlp',
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.address().port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
  });
  try {
    const client = clients.realtime(otlp, FORMATS[0]);
    const channel = client.channels.get(uniqueName('metrics-otlp'));
    await within(channel.publish('token', 'x'), 10000, 'publish');
    await within(channel.attach(), 10000, 'attach');
    await within(channel.history(), 10000, 'history');
    const has = (path, name) => received[path].some((body) => body.includes(Buffer.from(name)));
    await waitFor(() => has('/v1/traces', 'tokenwire.attach') && has('/v1/traces', 'tokenwire.history'), 20000, 'attach and history spans');
    await waitFor(() => has('/v1/metrics', 'tokenwire.messages.published'), 20000, 'the published counter');
  } finally {
    await clients.closeAll();
    await otlp.stop();
    collector.close();
  }
});

// --- the names the docs and the dashboard use are the names the server defines ---------------------------------

/** Every instrument the sources create: { name, kind, unit }, and every attribute key they tag with. */
function definedInstruments() {
  const instruments = [];
  const attributes = new Set();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && !['bin', 'obj'].includes(entry.name)) walk(full);
      else if (entry.name.endsWith('.cs')) {
        const source = fs.readFileSync(full, 'utf8');
        for (const m of source.matchAll(/Create(Counter|Histogram|ObservableUpDownCounter|UpDownCounter|ObservableGauge)(?:<\w+>)?\(\s*"(tokenwire\.[a-z_.]+)",\s*(?:[^"]*?,\s*)?"([^"]*)"/g)) {
          instruments.push({ kind: m[1], name: m[2], unit: m[3] });
        }
        // Both agents' AnswerMetrics (src/Shared) make the same four instruments from a prefix and what one answer is called.
        for (const m of source.matchAll(/new AnswerInstruments\(\s*"(tokenwire\.[a-z_]+)",\s*"([a-z_]+)"/g)) {
          const [prefix, answer] = [m[1], m[2]];
          instruments.push(
            { kind: 'Histogram', name: `${prefix}.time_to_first_token`, unit: 'ms' },
            { kind: 'Histogram', name: `${prefix}.${answer}.tokens`, unit: '{token}' },
            { kind: 'Histogram', name: `${prefix}.${answer}.duration`, unit: 'ms' },
            { kind: 'Counter', name: `${prefix}.${answer}s`, unit: `{${answer}}` },
          );
          attributes.add(`${prefix}.outcome`);
        }
        for (const m of source.matchAll(/new(?: KeyValuePair<string, object\?>)?\("((?:tokenwire|error)\.[a-z_.]+)"/g)) attributes.add(m[1]);
        for (const m of source.matchAll(/Tag\w*\("(tokenwire\.[a-z_.]+)"/g)) attributes.add(m[1]);
      }
    }
  };
  walk(path.join(repoRoot, 'src'));
  return { instruments, attributes };
}

/** The series names the Prometheus exporter makes of an instrument. */
function prometheusNames({ kind, name, unit }) {
  let base = name.replaceAll('.', '_');
  const suffix = { ms: '_milliseconds', By: '_bytes', s: '_seconds' }[unit] ?? '';
  if (suffix && !base.endsWith(suffix)) base += suffix;
  if (kind === 'Counter') return [`${base}_total`];
  if (kind === 'Histogram') return [`${base}_bucket`, `${base}_sum`, `${base}_count`, base];
  return [base];
}

test('operations.md documents every metric the server defines, and it and the dashboard name no other', () => {
  const { instruments, attributes } = definedInstruments();
  assert.ok(instruments.length >= 22, `found ${instruments.length} instruments`);
  const known = new Set([...instruments.flatMap(prometheusNames), ...[...attributes].map((a) => a.replaceAll('.', '_'))]);
  const operations = fs.readFileSync(path.join(repoRoot, 'docs/operations.md'), 'utf8');
  const dashboard = fs.readFileSync(path.join(repoRoot, 'docs/grafana-dashboard.json'), 'utf8');
  JSON.parse(dashboard);

  for (const instrument of instruments) {
    assert.ok(operations.includes(`\`${instrument.name}\` (\`${prometheusNames(instrument).at(-1)}\`)`),
      `operations.md lists ${instrument.name} with its Prometheus name ${prometheusNames(instrument).at(-1)}`);
  }
  for (const [file, text] of [['operations.md', operations], ['grafana-dashboard.json', dashboard]]) {
    for (const [used] of text.matchAll(/\btokenwire_[a-z_]+/g)) {
      assert.ok(known.has(used), `${file} names ${used}, which the server does not define`);
    }
  }
  // The panels the issue asks for.
  for (const needed of ['tokenwire_connections', 'tokenwire_delivery_lag_milliseconds_bucket', 'tokenwire_resumes_total',
    'tokenwire_agent_time_to_first_token_milliseconds_bucket', 'tokenwire_nacks_total', 'tokenwire_engine_outage_active']) {
    assert.ok(dashboard.includes(needed), `the dashboard shows ${needed}`);
  }
});

test('every tokenwire series the server exports has a name derived as documented', async () => {
  const { instruments } = definedInstruments();
  const known = new Set(instruments.flatMap(prometheusNames));
  const exported = new Set((await scrape()).map((s) => s.name).filter((n) => n.startsWith('tokenwire_')));
  assert.ok(exported.size >= 10, [...exported].join(', '));
  for (const name of exported) assert.ok(known.has(name), `${name} is exported but not derived from a defined instrument`);
});
