// The demo's second page (#/chat): Vercel useChat over @ably/ai-transport 0.8 (createChatTransport through its
// ChatTransportProvider) against the server's C# agent at POST /agent/chat, in Debian chromium.
//   prompt → streamed answer → run complete; a page reload mid-answer → the whole answer once; Refresh (a new client
//   session on the same channel) → the same conversation; Stop → run cancelled with the text so far.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, serverAndBrowserPerFile } from './harness.mjs';

const PROMPT = 'What is TokenWire?';
const ANSWER_START = 'TokenWire is a self-hosted realtime transport';

let server;
let browser;
serverAndBrowserPerFile('chat', (startedServer, startedBrowser) => {
  server = startedServer;
  browser = startedBrowser;
});

async function openChat(context, hash = '#/chat') {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${server.url}/${hash}`, { waitUntil: 'load' });
  await page.getByTestId('chat-input').waitFor({ state: 'visible' });
  return { page, errors };
}

/** What the page shows: its messages (role + text), tool parts and the last run's status. */
function readChat(page) {
  return page.evaluate(() => ({
    messages: [...document.querySelectorAll('[data-testid="chat-message"]')].map((li) => ({
      role: li.getAttribute('data-role'),
      text: [...li.querySelectorAll('[data-testid="chat-text"]')].map((s) => s.textContent).join(''),
    })),
    tools: [...document.querySelectorAll('[data-testid="chat-tool"]')].map((c) => c.textContent),
    run: document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') ?? null,
  }));
}

async function waitForChat(page, predicate, ms, label) {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await readChat(page);
    if (predicate(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label}; page: ${JSON.stringify(state).slice(0, 600)}`);
    await sleep(20);
  }
}

const answer = (s) => s.messages.filter((m) => m.role === 'assistant').map((m) => m.text);

async function ask(page, text) {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-send').click();
}

test('useChat page: prompt → streamed answer → complete; reload mid-answer and Refresh → the whole answer once', async () => {
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  try {
    const { page, errors } = await openChat(context);
    await ask(page, PROMPT);
    const mid = await waitForChat(page, (s) => s.run === 'active' && (answer(s)[0] ?? '').length >= 10, 20_000, 'streaming');
    assert.ok(answer(mid)[0].length < 250, 'caught mid-answer');
    const done = await waitForChat(page, (s) => s.run === 'complete', 30_000, 'complete');
    const full = answer(done)[0];
    assert.ok(full.startsWith(ANSWER_START), full.slice(0, 60));
    assert.deepEqual(done.messages.map((m) => m.role), ['user', 'assistant']);
    assert.equal(done.messages[0].text, PROMPT);

    // A second question; reload the page while it streams: the same channel (from the URL), history + live.
    await ask(page, 'Explain resumable streams');
    await waitForChat(page, (s) => s.run === 'active' && answer(s).length === 2 && answer(s)[1].length >= 5, 20_000, 'second answer streaming');
    await page.reload({ waitUntil: 'load' });
    await page.getByTestId('chat-input').waitFor({ state: 'visible' });
    const reloaded = await waitForChat(page, (s) => s.run === 'complete' && s.messages.length === 4, 30_000, 'reloaded conversation complete');
    assert.equal(answer(reloaded)[0], full, 'the first answer, whole, once');
    assert.ok(answer(reloaded)[1].startsWith('A resumable stream'), answer(reloaded)[1].slice(0, 40));

    // Refresh: a new client session on the same channel renders the same conversation from history.
    await page.getByTestId('chat-refresh').click();
    const refreshed = await waitForChat(page, (s) => s.messages.length === 4 && s.run === 'complete', 20_000, 'refreshed');
    assert.deepEqual(refreshed.messages, reloaded.messages);
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await context.close();
  }
});

test('useChat page: a tool call renders; Stop cancels the answer and keeps the text so far', async () => {
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  try {
    const { page, errors } = await openChat(context);
    await ask(page, 'What is the weather in Paris?');
    const tool = await waitForChat(page, (s) => s.run === 'complete' && (answer(s)[0] ?? '').length > 0, 20_000, 'tool answer');
    assert.equal(tool.tools.length, 1, JSON.stringify(tool));
    assert.match(tool.tools[0], /^get_weather\(\{"city":"Paris"\}\) → \{"city":"Paris"/);
    assert.match(answer(tool)[0], /^In Paris it is \w+ and \d+ °C right now\.$/);

    await ask(page, PROMPT);
    await waitForChat(page, (s) => s.run === 'active' && (answer(s)[1] ?? '').length >= 10, 20_000, 'streaming');
    await page.getByTestId('chat-stop').click();
    const stopped = await waitForChat(page, (s) => s.run === 'cancelled', 15_000, 'cancelled');
    const kept = answer(stopped)[1];
    assert.ok(ANSWER_START.startsWith(kept) || kept.startsWith(ANSWER_START), `a prefix of the answer: ${kept}`);
    await sleep(300);
    assert.equal(answer(await readChat(page))[1], kept, 'nothing follows the cancel');
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await context.close();
  }
});
