// The demo's second page (#/chat): Vercel useChat over @ably/ai-transport 0.8 (createChatTransport through its
// ChatTransportProvider) against the server's C# agent at POST /agent/chat, in Debian chromium.
//   prompt → streamed answer → run complete; a page reload mid-answer → the whole answer once; Refresh (a new client
//   session on the same channel) → the same conversation; Stop → run cancelled with the text so far; a run suspended
//   on the client tool get_location (also across a reload) → Share location → the answer uses it; one suspended on
//   book_table's approval → Approve → booked, Deny → not booked, and a reload shows the same transcript.
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
    toolStates: [...document.querySelectorAll('[data-testid="chat-tool"]')].map((c) => c.getAttribute('data-state')),
    controls: [...document.querySelectorAll('[data-testid^="tool-"]')].map((b) => b.getAttribute('data-testid')),
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
/** The assistant's texts, leaving out replies that hold only a tool call. */
const said = (s) => answer(s).filter((text) => text.length > 0);

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
    // Barrier, not a sleep: the next answer comes on the same channel after everything the cancelled run published,
    // so once it is complete a late token of the cancelled answer would have been rendered.
    await ask(page, 'What is the weather in Paris?');
    const after = await waitForChat(page, (s) => s.run === 'complete' && (answer(s)[2] ?? '').length > 0, 20_000, 'the next answer');
    assert.equal(answer(after)[1], kept, 'nothing follows the cancel');
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await context.close();
  }
});

test('useChat page: a run suspended on the client tool get_location waits through a reload and goes on once the user shares a location', async () => {
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  try {
    const { page, errors } = await openChat(context);
    await ask(page, 'Where am I?');
    const suspended = await waitForChat(page, (s) => s.run === 'suspended' && s.controls.length > 0, 20_000, 'suspended on get_location');
    assert.deepEqual(suspended.toolStates, ['input-available']);
    assert.deepEqual(suspended.controls, ['tool-share-location'], 'only the client tool control');
    assert.match(suspended.tools[0], /^get_location\(\{\}\) → input-available$/);
    assert.deepEqual(answer(suspended), [''], 'no answer before the location');

    // The call still waits after a reload, loaded from history, and is answered from there.
    await page.reload({ waitUntil: 'load' });
    await page.getByTestId('chat-input').waitFor({ state: 'visible' });
    const reloaded = await waitForChat(page, (s) => s.run === 'suspended' && s.controls.length > 0, 20_000, 'suspended after the reload');
    assert.deepEqual(reloaded, suspended);

    await page.getByTestId('tool-share-location').click();
    const done = await waitForChat(page, (s) => s.run === 'complete' && said(s).at(-1) === 'You are in Lisbon.', 30_000, 'answered from the location');
    assert.deepEqual(said(done), ['You are in Lisbon.']);
    assert.deepEqual(done.tools, ['get_location({}) → {"city":"Lisbon"}']);
    assert.deepEqual(done.controls, [], 'the control is gone once answered');
    // The continuation's answer is a reply of its own after the one holding the call, as the SDK folds it.
    assert.deepEqual(done.messages.map((m) => m.role), ['user', 'assistant', 'assistant']);
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await context.close();
  }
});

test('useChat page: a run suspended on book_table\'s approval books on Approve and does not on Deny', async () => {
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  try {
    const { page, errors } = await openChat(context);
    const PARIS = 'Book a table in Paris';
    const pending = (n) => (s) => s.run === 'suspended' && s.toolStates.length === n && s.toolStates[n - 1] === 'approval-requested';

    await ask(page, PARIS);
    const asked = await waitForChat(page, pending(1), 20_000, 'suspended on the approval');
    assert.deepEqual(asked.controls, ['tool-approve', 'tool-deny']);
    assert.match(asked.tools[0], /^book_table\(\{"city":"Paris"\}\) → approval-requested$/);
    await page.getByTestId('tool-approve').click();
    const booked = await waitForChat(page, (s) => s.run === 'complete' && /^Booked .*\.$/.test(said(s).at(-1) ?? ''), 30_000, 'booked');
    const confirmation = /^book_table\(\{"city":"Paris"\}\) → \{"city":"Paris","confirmation":"(TW-\d{5})"\}$/.exec(booked.tools[0]);
    assert.ok(confirmation, booked.tools[0]);
    assert.deepEqual(said(booked), [`Booked a table for two in Paris tonight: confirmation ${confirmation[1]}.`]);
    assert.deepEqual(booked.controls, []);

    // The same request again in the same conversation, denied this time.
    await ask(page, PARIS);
    await waitForChat(page, pending(2), 20_000, 'suspended on the second approval');
    await page.getByTestId('tool-deny').click();
    const denied = await waitForChat(page, (s) => s.run === 'complete' && said(s).at(-1) === 'All right, I did not book a table.', 30_000, 'denied');
    assert.equal(denied.tools[1], 'book_table({"city":"Paris"}) → denied');
    assert.equal(denied.toolStates[1], 'output-denied');
    assert.equal(said(denied)[1], 'All right, I did not book a table.');
    assert.equal(denied.tools[0], booked.tools[0], 'the first booking stands');
    assert.deepEqual(denied.messages.map((m) => m.role), ['user', 'assistant', 'assistant', 'user', 'assistant', 'assistant']);
    assert.deepEqual(denied.controls, []);

    // A reload renders the same transcript from history, with nothing left to answer.
    await page.reload({ waitUntil: 'load' });
    await page.getByTestId('chat-input').waitFor({ state: 'visible' });
    const reloaded = await waitForChat(page, (s) => s.run === 'complete' && s.messages.length === 6 && said(s).length === 2, 30_000, 'reloaded');
    assert.deepEqual(reloaded, denied);
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await context.close();
  }
});
