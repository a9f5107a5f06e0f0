// The seed flow in the browser: a prompt streams in, Disconnect (channel.detach) mid-answer, Reconnect
// (attach + history untilAttach + buffered live tokens), and the page ends with exactly the answer REST history has.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  launchBrowser,
  openDemo,
  readPage,
  waitForPage,
  waitForStatus,
  clickPrompt,
  answerFromHistory,
  sha256Hex,
  randomInt,
  sleep,
} from './harness.mjs';

const ITERATIONS = Number(process.env.E2E_RECONNECT_ITERATIONS ?? 10);

let server;
let browser;
let demo;

before(async () => {
  server = await startServer({ logName: 'reconnect' });
  browser = await launchBrowser();
  demo = await openDemo(browser, server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The page's final answer must be the one REST history holds, whole, verified, each token once. */
async function assertExactAnswer(page, label) {
  const shown = await waitForPage(page, (s) => s.verified && s.verified !== 'checking', 10_000, `${label}: verification result`);
  const history = await answerFromHistory(server, demo.channel, shown.responseId);
  assert.ok(history.stop, `${label}: REST history has no stop for ${shown.responseId}`);
  assert.equal(history.stop.reason, 'complete', `${label}: stop reason in history`);
  assert.deepEqual(
    history.tokens.map((t) => t.index),
    history.tokens.map((_, i) => i),
    `${label}: history token indexes are 0..n-1 in order`,
  );
  assert.equal(Number(history.stop.tokenCount), history.tokens.length, `${label}: stop.tokenCount vs tokens in history`);
  assert.equal(history.stop.textSha256, sha256Hex(history.text), `${label}: stop.textSha256 vs history text`);
  assert.equal(shown.text, history.text, `${label}: page text vs REST history (page ${shown.text.length} chars, history ${history.text.length})`);
  assert.equal(shown.verified, 'verified', `${label}: page verification (${shown.verifiedText})`);
  assert.match(shown.verifiedText, /verified/);
  return history;
}

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
  await assertExactAnswer(page, 'uninterrupted');
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
    const history = await assertExactAnswer(page, label);
    t.diagnostic(
      `# ${label}: disconnected at ${frozenAt}/${history.text.length} chars (${paused.status}), ` +
        `${history.tokens.length} tokens, detached ${detached.text.length - frozenAt} chars further`,
    );
  }
  assert.ok(midStream >= Math.ceil(ITERATIONS / 2), `only ${midStream} of ${ITERATIONS} disconnects were mid-stream`);
  assert.deepEqual(errors, [], 'page errors');
});
