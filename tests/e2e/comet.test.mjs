// The demo page with WebSockets blocked: ably-js on HTTP long polling (xhr_polling, `?transport=xhr_polling`) streams
// an answer to the end, and resumes the same connection after the browser was offline mid-answer.
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

let server;
let browser;
serverAndBrowserPerFile('comet', (startedServer, startedBrowser) => {
  server = startedServer;
  browser = startedBrowser;
});

test('WebSockets blocked, xhr_polling: an answer streams in and completes verified; offline mid-answer and back resumes the same connection', async (t) => {
  const cometRequests = [];
  const { context, page, channel, errors } = await openDemo(browser, server, { query: '?transport=xhr_polling', blockWebSockets: true });
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/comet/')) cometRequests.push({ method: request.method(), url: new URL(request.url()) });
  });
  try {
    // Streams: the text grows over several polls, then completes.
    await clickPrompt(page, 0);
    const first = await waitForPage(page, (s) => s.status === 'Streaming' && s.text.length > 0, 20_000, 'first tokens');
    const more = await waitForPage(page, (s) => s.text.length > first.text.length, 15_000, 'more text');
    assert.ok(more.text.startsWith(first.text), 'text only grows at its end');
    await waitForStatus(page, ['Complete'], 30_000);
    await assertExactAnswer(server, page, channel, 'uninterrupted');

    // Offline mid-answer: the in-flight polls fail, the SDK resumes over xhr_polling once back.
    await clickPrompt(page, 1);
    const before = await readPage(page);
    const a = await waitForPage(page, (s) => s.status === 'Streaming' && s.text.length >= randomInt(5, 60), 20_000, 'streaming');
    await context.setOffline(true);
    await waitForPage(page, (s) => s.connection !== 'connected', 30_000, 'the page notices it is offline');
    await sleep(randomInt(300, 1000));
    await context.setOffline(false);
    const back = await waitForPage(page, (s) => s.connection === 'connected', 30_000, 'connection back');
    assert.equal(back.connectionId, before.connectionId, 'the connection was resumed (same id)');
    const done = await waitForStatus(page, ['Complete'], 30_000);
    assert.ok(done.text.startsWith(a.text), 'the text kept what it had');
    const history = await assertExactAnswer(server, page, channel, 'after offline');
    t.diagnostic(`offline at ${a.text.length}/${history.text.length} chars; ${cometRequests.length} comet requests`);

    // It really was comet: connect with stream=false and a token (never a key), then recv and send on the key.
    const connects = cometRequests.filter((r) => r.url.pathname === '/comet/connect');
    assert.ok(connects.length >= 2, `a connect and a resume: ${connects.length}`);
    for (const { url } of connects) {
      assert.equal(url.searchParams.get('stream'), 'false');
      assert.equal(url.searchParams.get('key'), null);
      assert.ok(url.searchParams.get('access_token'), 'token auth');
    }
    assert.ok(connects.some(({ url }) => url.searchParams.get('resume')), 'a resume after the offline spell');
    assert.ok(cometRequests.some((r) => r.url.pathname.endsWith('/recv')), 'recv polls');
    assert.ok(cometRequests.some((r) => r.method === 'POST' && r.url.pathname.endsWith('/send')), 'sends');
    assert.deepEqual(errors, [], 'page errors');
  } finally {
    await context.close();
  }
});
