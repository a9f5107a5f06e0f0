// The browser loses its network mid-answer (the connection resumes), and Stop cancels an answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  openDemo,
  readPage,
  waitForPage,
  waitForStatus,
  clickPrompt,
  answerFromHistory,
  sha256Hex,
  randomInt,
  sleep,
  serverAndBrowserPerFile,
} from './harness.mjs';

let server;
let browser;
serverAndBrowserPerFile('network', (startedServer, startedBrowser) => {
  server = startedServer;
  browser = startedBrowser;
});

test('offline mid-stream and back: the connection resumes and the answer is exact', async (t) => {
  const { context, page, channel, errors } = await openDemo(browser, server);
  try {
    for (let round = 1; round <= 2; round++) {
      const label = `round ${round}`;
      await clickPrompt(page, round % 3);
      const before = await readPage(page);
      const cut = randomInt(5, 120);
      const a = await waitForPage(page, (s) => s.status === 'Streaming' && s.text.length >= cut, 15_000, `${label}: streaming`);
      await context.setOffline(true);
      const offline = await waitForPage(page, (s) => s.connection !== 'connected', 15_000, `${label}: the page notices it is offline`);
      assert.equal(offline.status, 'Paused', `${label}: status while offline`);
      await sleep(randomInt(500, 2000));
      await context.setOffline(false);
      const back = await waitForPage(page, (s) => s.connection === 'connected', 20_000, `${label}: connection back`);
      assert.ok(before.connectionId, 'the page shows its connection id');
      assert.equal(back.connectionId, before.connectionId, `${label}: the connection was resumed (same id)`);
      const done = await waitForStatus(page, ['Complete'], 30_000);
      assert.ok(done.text.startsWith(a.text), `${label}: text kept what it had`);
      const shown = await waitForPage(page, (s) => s.verified && s.verified !== 'checking', 10_000, `${label}: verification`);
      const history = await answerFromHistory(server, channel, shown.responseId);
      assert.equal(history.stop?.reason, 'complete', `${label}: stop reason`);
      assert.equal(history.stop.textSha256, sha256Hex(history.text), `${label}: history is internally consistent`);
      assert.equal(shown.text, history.text, `${label}: page text vs REST history`);
      assert.equal(shown.verified, 'verified', `${label}: ${shown.verifiedText}`);
      t.diagnostic(`${label}: offline at ${a.text.length}/${history.text.length} chars, ${history.tokens.length} tokens`);
    }
    assert.deepEqual(errors, [], 'page errors');
  } finally {
    await context.close();
  }
});

test('Stop cancels: the status leaves Streaming, the reason is cancelled, the text is a prefix of the full answer', async (t) => {
  const { context, page, channel, errors } = await openDemo(browser, server);
  try {
    const stop = page.getByRole('button', { name: 'Stop', exact: true });
    assert.equal(await stop.isDisabled(), true, 'Stop is disabled while nothing streams');

    // The full answer to this prompt (the simulated model is deterministic per prompt).
    const prompt = await clickPrompt(page, 1);
    await waitForStatus(page, ['Complete'], 30_000);
    const full = await waitForPage(page, (s) => s.verified === 'verified', 10_000, 'first answer verified');

    await clickPrompt(page, prompt);
    const cut = randomInt(10, 120);
    const a = await waitForPage(page, (s) => s.status === 'Streaming' && s.text.length >= cut, 15_000, 'streaming');
    await stop.click();
    const stopped = await waitForPage(page, (s) => s.status !== 'Streaming' && s.reason !== null, 15_000, 'stopped');
    assert.equal(stopped.status, 'Complete');
    assert.equal(stopped.reason, 'cancelled');
    assert.ok(full.text.startsWith(stopped.text), `cancelled text must be a prefix of the full answer: ${JSON.stringify(stopped.text)}`);
    assert.ok(stopped.text.length < full.text.length, 'cancelled before the end');
    assert.ok(stopped.text.length >= a.text.length, 'nothing taken back');

    const shown = await waitForPage(page, (s) => s.verified && s.verified !== 'checking', 10_000, 'verification');
    const history = await answerFromHistory(server, channel, shown.responseId);
    assert.equal(history.stop?.reason, 'cancelled', 'stop reason in history');
    assert.equal(shown.text, history.text, 'page text vs REST history of the cancelled answer');
    assert.equal(shown.verified, 'verified', shown.verifiedText);
    assert.equal(await stop.isDisabled(), true, 'Stop is disabled again');
    t.diagnostic(`cancelled at ${history.text.length}/${full.text.length} chars`);
    assert.deepEqual(errors, [], 'page errors');
  } finally {
    await context.close();
  }
});
