// The seed flow in the browser: a prompt streams in, Disconnect (channel.detach) mid-answer, Reconnect
// (attach + history untilAttach + buffered live tokens), and the page ends with exactly the answer REST history has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  openDemo,
  readPage,
  waitForPage,
  waitForStatus,
  clickPrompt,
  randomInt,
  sleep,
  serverAndBrowserPerFile,
  assertExactAnswer,
} from './harness.mjs';

const ITERATIONS = Number(process.env.E2E_RECONNECT_ITERATIONS ?? 10);

let server;
let browser;
let demo;
serverAndBrowserPerFile('reconnect', async (startedServer, startedBrowser) => {
  server = startedServer;
  browser = startedBrowser;
  demo = await openDemo(browser, server);
});

test('the page is served at / with the testable contract and no key in the browser', async (t) => {
  const { page, channel, sockets } = demo;
  assert.match(channel, /^ai-transport-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(await page.getByTestId('status').textContent(), 'Ready');
  assert.ok((await page.getByTestId('prompts').getByRole('button').count()) >= 1, 'prompt buttons');
  await page.getByRole('button', { name: 'Disconnect', exact: true }).waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Stop', exact: true }).waitFor({ state: 'visible' });
  assert.ok(sockets.length >= 1, 'the page opened a WebSocket');
  for (const url of sockets) {
    const params = new URL(url).searchParams;
    assert.equal(params.get('key'), null, `WebSocket authenticates with a key: ${url}`);
    assert.ok(params.get('access_token'), `WebSocket has no access_token: ${url}`);
    assert.equal(params.get('format'), 'json', 'the browser speaks JSON');
  }
});

test('a prompt streams in (the text grows) and completes verified, equal to REST history', async (t) => {
  const { page } = demo;
  await clickPrompt(page, 0);
  const first = await waitForPage(page, (s) => s.status === 'Streaming' && s.text.length > 0, 15_000, 'first tokens');
  const second = await waitForPage(page, (s) => s.text.length > first.text.length, 15_000, 'more text');
  assert.ok(second.text.startsWith(first.text), 'streamed text only grows at the end');
  await waitForPage(page, (s) => s.status !== 'Streaming' || s.text.length > second.text.length, 15_000, 'still more text');
  await waitForStatus(page, ['Complete'], 30_000);
  await assertExactAnswer(server, page, demo.channel, 'uninterrupted');
});

test(`Disconnect mid-stream, wait, Reconnect: the answer is whole and once (${ITERATIONS} random points)`, async (t) => {
  const { page, errors } = demo;
  const prompts = await page.getByTestId('prompts').getByRole('button').count();
  let midStream = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const label = `iteration ${i + 1}`;
    await waitForPage(page, (s) => s.status === 'Complete' || s.status === 'Ready', 10_000, `${label}: idle`);
    await clickPrompt(page, i % prompts);
    // Grows over time: two distinct lengths before the disconnect point.
    const a = await waitForPage(page, (s) => s.status === 'Streaming' && s.text.length > 0, 15_000, `${label}: streaming`);
    const cut = randomInt(a.text.length + 1, a.text.length + 150);
    const b = await waitForPage(page, (s) => s.text.length >= cut || s.status !== 'Streaming', 20_000, `${label}: ${cut} chars`);
    assert.ok(b.text.startsWith(a.text), `${label}: text grows at its end`);
    await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
    const paused = await readPage(page);
    if (b.status === 'Streaming') midStream += 1;
    assert.ok(['Paused', 'Complete'].includes(paused.status), `${label}: status after Disconnect is ${paused.status}`);
    const frozenAt = paused.text.length;

    await sleep(randomInt(200, 1500));
    const detached = await readPage(page);
    if (paused.status === 'Paused' && detached.status === 'Paused') {
      // Detached: tokens still being published do not reach the page (a few in flight before DETACHED may).
      assert.ok(detached.text.startsWith(paused.text), `${label}: text while detached`);
    }
    await page.getByRole('button', { name: 'Reconnect', exact: true }).click();
    await waitForStatus(page, ['Complete'], 30_000);
    const history = await assertExactAnswer(server, page, demo.channel, label);
    t.diagnostic(
      `# ${label}: disconnected at ${frozenAt}/${history.text.length} chars (${paused.status}), ` +
        `${history.tokens.length} tokens, detached ${detached.text.length - frozenAt} chars further`,
    );
  }
  assert.ok(midStream >= Math.ceil(ITERATIONS / 2), `only ${midStream} of ${ITERATIONS} disconnects were mid-stream`);
  assert.deepEqual(errors, [], 'page errors');
});
