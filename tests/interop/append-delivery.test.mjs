// How appends to a message-per-response are delivered live, with the real SDK (issue 11): an attachment's first
// contact with a message already streaming is the whole message so far (message.update), later appends are fragments;
// `appendMode: 'full'` delivers every append whole. A viewer that folds live deliveries the way @ably/ai-transport's
// decoder does (an update replaces only when its version is newer; an append needs the message first) and adds
// history(untilAttach) must end with the whole response exactly once, wherever it attached.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, Clients, allPages, connectionState, errText, record, uniqueName, waitFor, within } from './helpers.mjs';

let server;
const clients = new Clients('append-delivery');

before(async () => {
  server = await startServer({ logName: 'append-delivery' });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

/** Folds deliveries per serial like the AI Transport decoder; records any append that arrived before its message. */
function fold() {
  const bySerial = new Map();
  const orphans = [];
  return {
    bySerial,
    orphans,
    apply(m) {
      const held = bySerial.get(m.serial);
      const version = m.version?.serial ?? m.serial;
      if (m.action === 'message.create') {
        if (!held) bySerial.set(m.serial, { data: m.data ?? '', version });
      } else if (m.action === 'message.update' || m.action === 'message.delete') {
        if (!held || version > held.version) bySerial.set(m.serial, { data: m.data ?? '', version });
      } else if (m.action === 'message.append') {
        if (!held) orphans.push(m);
        else if (version > held.version) bySerial.set(m.serial, { data: held.data + m.data, version });
      }
    },
  };
}

async function streamResponse(channel, tokens, { paceMs = 2, onToken = () => {} } = {}) {
  const { serials } = await within(channel.publish({ name: 'response', data: '' }), 10000, 'create');
  const serial = serials[0];
  const acks = [];
  for (let i = 0; i < tokens.length; i += 1) {
    acks.push(channel.appendMessage({ serial, data: tokens[i] }));
    await onToken(i);
    if (paceMs) await new Promise((r) => setTimeout(r, paceMs));
  }
  await within(Promise.all(acks), 30000, 'every append acknowledged');
  return serial;
}

for (const format of FORMATS) {
  describe(`append delivery [${format.name}]`, () => {
    test('a viewer attaching mid-stream gets the whole message first, then fragments; with history it holds the whole response once', async () => {
      const name = `mutable:${uniqueName('first-contact')}`;
      const agent = clients.realtime(server, format, { clientId: 'ai-agent' });
      const agentChannel = agent.channels.get(name);
      await within(agentChannel.attach(), 10000, 'agent attach');
      const tokens = Array.from({ length: 120 }, (_, i) => `t${i} `);

      const viewer = clients.realtime(server, format);
      const viewerChannel = viewer.channels.get(name);
      const folded = fold();
      const live = [];
      const streaming = streamResponse(agentChannel, tokens, {
        onToken: async (i) => {
          if (i === 40) {
            // Attach mid-stream, as a reloaded page does (the stream waits for it, so it is mid-stream even on a busy
            // box); history is read only after the stream ended, as a late history answer would be.
            const rec = record(viewerChannel, (m) => {
              live.push(m);
              folded.apply(m);
              return true;
            });
            await within(rec.subscribed, 10000, 'viewer attach');
          }
        },
      });
      const serial = await streaming;
      await waitFor(() => folded.bySerial.get(serial)?.data === tokens.join(''), 20000, 'live deliveries reach the whole text', () =>
        JSON.stringify({ live: live.length, held: folded.bySerial.get(serial)?.data.length, orphans: folded.orphans.length }));

      const { items } = await allPages(viewerChannel.history({ untilAttach: true }));
      for (const m of [...items].reverse()) folded.apply(m);
      assert.equal(folded.orphans.length, 0, 'no append arrived before its message');
      assert.equal(folded.bySerial.get(serial).data, tokens.join(''), 'the whole response, exactly once');
      const mine = live.filter((m) => m.serial === serial);
      assert.equal(mine[0].action, 'message.update', 'first contact is a whole message.update');
      assert.ok(mine[0].data.length > 0 && tokens.join('').startsWith(mine[0].data), `it carries the text so far (${mine[0].data.length} chars)`);
      assert.ok(mine.slice(1).every((m) => m.action === 'message.append'), 'then fragments');
      assert.ok(mine[0].version.serial > items[0].version.serial, 'the history version is older, so a decoder keeps the live one');
    });

    test("appendMode 'full' delivers every append as the whole message, and ATTACHED echoes the param", async () => {
      const name = `mutable:${uniqueName('append-full')}`;
      // Rollup off, so each append reaches the channel on its own.
      const agent = clients.realtime(server, format, { clientId: 'ai-agent', transportParams: { appendRollupWindow: 0 } });
      const agentChannel = agent.channels.get(name);
      await within(agentChannel.attach(), 10000, 'agent attach');
      const viewer = clients.realtime(server, format);
      const viewerChannel = viewer.channels.get(name, { params: { appendMode: 'full' } });
      const rec = record(viewerChannel);
      await within(rec.subscribed, 10000, 'viewer attach');
      assert.equal(viewerChannel.params.appendMode, 'full');

      const tokens = ['a', 'b', 'c', 'd'];
      const serial = await streamResponse(agentChannel, tokens, { paceMs: 0 });
      await waitFor(() => rec.messages.filter((m) => m.serial === serial).length >= 5, 10000, 'create and four updates');
      const mine = rec.messages.filter((m) => m.serial === serial);
      assert.deepEqual(mine.map((m) => m.data), ['', 'a', 'ab', 'abc', 'abcd']);
      assert.deepEqual(mine.slice(1).map((m) => m.action), Array(4).fill('message.update'));
    });

    test("setOptions switches appendMode on a live attachment", async () => {
      const name = `mutable:${uniqueName('append-switch')}`;
      const agent = clients.realtime(server, format, { clientId: 'ai-agent', transportParams: { appendRollupWindow: 0 } });
      const agentChannel = agent.channels.get(name);
      const viewer = clients.realtime(server, format);
      const viewerChannel = viewer.channels.get(name);
      const rec = record(viewerChannel);
      await within(rec.subscribed, 10000, 'viewer attach');
      const { serials } = await within(agentChannel.publish({ name: 'response', data: 'a' }), 10000, 'create');
      const serial = serials[0];
      await within(agentChannel.appendMessage({ serial, data: 'b' }), 10000, 'append b');
      await waitFor(() => rec.messages.length >= 2, 10000, 'create and fragment');
      await within(viewerChannel.setOptions({ params: { appendMode: 'full' } }), 10000, 'setOptions');
      assert.equal(viewerChannel.params.appendMode, 'full');
      await within(agentChannel.appendMessage({ serial, data: 'c' }), 10000, 'append c');
      await waitFor(() => rec.messages.length >= 3, 10000, 'the whole message');
      assert.deepEqual(rec.messages.map((m) => [m.action, m.data]), [['message.create', 'a'], ['message.append', 'b'], ['message.update', 'abc']]);
    });

    test('an unknown appendMode is refused with 40003', async () => {
      const viewer = clients.realtime(server, format);
      const channel = viewer.channels.get(`mutable:${uniqueName('append-bad')}`, { params: { appendMode: 'sideways' } });
      const err = await channel.attach().then(() => null, (e) => e);
      assert.ok(err, 'attach refused');
      assert.equal(err.code, 40003, errText(err));
    });

    test('an append that would make the whole message exceed maxMessageSize is refused with 40009 and not folded', async () => {
      const name = `mutable:${uniqueName('whole-size')}`;
      const agent = clients.realtime(server, format, { clientId: 'ai-agent' });
      const channel = agent.channels.get(name);
      const max = 65536; // the default maxMessageSize
      const { serials } = await within(channel.publish({ name: 'response', data: 'a'.repeat(max - 10) }), 10000, 'create');
      const serial = serials[0];
      await within(channel.appendMessage({ serial, data: 'b'.repeat(10) }), 10000, 'an append that just fits');
      const err = await channel.appendMessage({ serial, data: 'c' }).then(() => null, (e) => e);
      assert.ok(err, 'the append past the maximum is refused');
      assert.equal(err.code, 40009, errText(err));
      const got = await within(channel.getMessage(serial), 10000, 'getMessage');
      assert.equal(got.data.length, max, 'the refused append was not folded');
      assert.ok(got.data.endsWith('b'));
    });

    test('appendRollupWindow: appends within the window go out as one roll-up; every append is acknowledged and kept as a version', async () => {
      const name = `mutable:${uniqueName('rollup')}`;
      const WINDOW = 500;
      const agent = clients.realtime(server, format, { clientId: 'ai-agent', transportParams: { appendRollupWindow: WINDOW } });
      const agentChannel = agent.channels.get(name);
      await within(agentChannel.attach(), 10000, 'agent attach');
      const viewer = clients.realtime(server, format);
      const rec = record(viewer.channels.get(name));
      await within(rec.subscribed, 10000, 'viewer attach');

      const tokens = Array.from({ length: 40 }, (_, i) => `r${i} `);
      const started = Date.now();
      const serial = await streamResponse(agentChannel, tokens, { paceMs: 5 });
      const elapsed = Date.now() - started;
      const appends = () => rec.messages.filter((m) => m.serial === serial && m.action === 'message.append');
      await waitFor(() => appends().map((m) => m.data).join('') === tokens.join(''), 10000, 'the whole text, rolled up');

      // The first append goes out at once, then at most one roll-up per window (plus the one the last window ends with).
      const bound = Math.ceil(elapsed / WINDOW) + 2;
      assert.ok(appends().length <= bound, `${appends().length} deliveries for ${tokens.length} appends in ${elapsed} ms (at most ${bound})`);
      assert.equal(appends()[0].data, tokens[0], 'the first append is not held');
      const versions = [];
      let page = await within(agentChannel.getMessageVersions(serial), 10000, 'versions');
      for (;;) {
        versions.push(...page.items);
        if (!page.hasNext()) break;
        page = await within(page.next(), 10000, 'versions page');
      }
      assert.equal(versions.filter((v) => v.action === 'message.append').length, tokens.length, 'every append is a version of its own');
    });

    test('an appendRollupWindow Ably does not offer is refused with 40003', async () => {
      const client = clients.realtime(server, format, { transportParams: { appendRollupWindow: 33 } });
      await connectionState(client, 'failed');
      assert.equal(client.connection.errorReason?.code, 40003, errText(client.connection.errorReason));
    });

    test('attaching again after a detach is a new first contact', async () => {
      const name = `mutable:${uniqueName('reattach')}`;
      const agent = clients.realtime(server, format, { clientId: 'ai-agent' });
      const agentChannel = agent.channels.get(name);
      const { serials } = await within(agentChannel.publish({ name: 'response', data: 'x' }), 10000, 'create');
      const serial = serials[0];
      const viewer = clients.realtime(server, format);
      const viewerChannel = viewer.channels.get(name);
      const rec = record(viewerChannel);
      await within(rec.subscribed, 10000, 'viewer attach');
      await within(agentChannel.appendMessage({ serial, data: 'y' }), 10000, 'append y');
      await waitFor(() => rec.messages.length >= 1, 10000, 'first contact');
      await within(viewerChannel.detach(), 10000, 'detach');
      await within(agentChannel.appendMessage({ serial, data: 'z' }), 10000, 'append z');
      await within(viewerChannel.attach(), 10000, 're-attach');
      await within(agentChannel.appendMessage({ serial, data: '!' }), 10000, 'append !');
      await waitFor(() => rec.messages.length >= 2, 10000, 'second first contact');
      assert.deepEqual(rec.messages.map((m) => [m.action, m.data]), [['message.update', 'xy'], ['message.update', 'xyz!']]);
    });
  });
}
