// Test-app provisioning (--sandbox): POST /apps with the request the ably-js test harness sends (ably-common
// test-resources/test-app-setup.json, post_apps), clients using the returned keys, DELETE /apps/{appId}.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { FORMATS, Clients, connectionState, uniqueName, within, errText } from './helpers.mjs';

/** The post_apps body of ably-common's test-app-setup.json: capabilities are JSON strings, with spaces, as there. */
const POST_APPS = {
  limits: { presence: { maxMembers: 250 } },
  keys: [
    {},
    {
      capability:
        '{ "cansubscribe:*":["subscribe"], "canpublish:*":["publish"], "canpublish:andpresence":["presence","publish"], "pushenabled:*":["publish","subscribe","push-subscribe"], "pushenabled:admin:*":["publish","subscribe","push-admin"] }',
    },
    {
      capability:
        '{ "channel0":["publish"], "channel1":["publish"], "channel2":["publish", "subscribe"], "channel3":["subscribe"], "channel4":["presence", "publish", "subscribe"], "channel5":["presence"], "channel6":["*"] }',
    },
    { capability: '{ "*":["subscribe"] }' },
    { revocableTokens: true },
    { capability: '{ "[*]*":["*"] }' },
  ],
  namespaces: [
    { id: 'persisted', persisted: true },
    { id: 'pushenabled', pushEnabled: true },
    { id: 'mutable', mutableMessages: true },
  ],
  channels: [
    {
      name: 'persisted:presence_fixtures',
      presence: [
        { clientId: 'client_bool', data: 'true' },
        { clientId: 'client_int', data: '24' },
        { clientId: 'client_string', data: 'This is a string clientData payload' },
        { clientId: 'client_json', data: '{ "test": "This is a JSONObject clientData payload"}' },
        { clientId: 'client_decoded', data: '{"example":{"json":"Object"}}', encoding: 'json' },
        {
          clientId: 'client_encoded',
          data: 'HO4cYSP8LybPYBPZPHQOtuD53yrD3YV3NBoTEYBh4U0N1QXHbtkfsDfTspKeLQFt',
          encoding: 'json/utf-8/cipher+aes-128-cbc/base64',
        },
      ],
    },
  ],
};

/** POST /apps exactly as ably-js's testapp_manager does it: JSON both ways, no Authorization. */
async function createApp(server) {
  const response = await fetch(`${server.url}/apps`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify(POST_APPS),
  });
  return { status: response.status, body: await response.json() };
}

let server;
const clients = new Clients('sandbox');

before(async () => {
  server = await startServer({ logName: 'sandbox', args: ['--sandbox'] });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

describe('POST /apps', () => {
  test('answers the shape the ably-js harness reads: appId, accountId, 6 keys with keyName/keySecret/keyStr/capability, 3 namespaces', async () => {
    const { status, body } = await createApp(server);
    assert.ok(status >= 200 && status < 300, `status ${status}: ${JSON.stringify(body)}`);
    assert.equal(typeof body.appId, 'string');
    assert.equal(typeof body.accountId, 'string');
    assert.equal(body.keys.length, 6);
    for (const key of body.keys) {
      assert.ok(key.keyName.startsWith(body.appId + '.'), `keyName ${key.keyName}`);
      assert.equal(key.keyStr, `${key.keyName}:${key.keySecret}`);
      assert.match(key.keyStr, /^[^:\s]+:[^:.\s]+$/, 'the key passes ably-js validation');
      assert.equal(typeof key.capability, 'string');
      JSON.parse(key.capability);
    }

    assert.deepEqual(JSON.parse(body.keys[0].capability), { '*': ['*'] }, 'a key without capability gets everything');
    assert.deepEqual(JSON.parse(body.keys[3].capability), { '*': ['subscribe'] });
    assert.deepEqual(JSON.parse(body.keys[5].capability), { '[*]*': ['*'] });
    assert.deepEqual(JSON.parse(body.keys[2].capability).channel2, ['publish', 'subscribe']);
    assert.deepEqual(body.namespaces.map((n) => n.id), ['persisted', 'pushenabled', 'mutable']);

    const other = await createApp(server);
    assert.notEqual(other.body.appId, body.appId, 'every POST creates a new app');
    assert.notEqual(other.body.keys[0].keySecret, body.keys[0].keySecret, 'with fresh secrets');
  });

  for (const format of FORMATS) {
    test(`clients using the returned keys connect and get exactly their capabilities [${format.name}]`, async () => {
      const { body: app } = await createApp(server);
      const full = clients.realtime(server, format, { key: app.keys[0].keyStr });
      await connectionState(full, 'connected');
      await within(full.channels.get(uniqueName('any')).attach(), 10000, 'full key attaches anywhere');

      // key1: cansubscribe:* subscribe only, canpublish:* publish only.
      const key1 = clients.realtime(server, format, { key: app.keys[1].keyStr });
      await connectionState(key1, 'connected');
      const sub = key1.channels.get('cansubscribe:' + uniqueName('s'));
      await within(sub.attach(), 10000, 'attach cansubscribe:*');
      assert.deepEqual([...sub.modes].sort(), ['presence_subscribe', 'subscribe']);
      await assert.rejects(within(sub.publish('m', 'x'), 10000, 'publish on cansubscribe:*'), (err) => err.code === 40160);
      const pub = key1.channels.get('canpublish:' + uniqueName('p'));
      await within(pub.publish('m', 'x'), 10000, 'publish on canpublish:*');
      await assert.rejects(within(key1.channels.get(uniqueName('elsewhere')).attach(), 10000, 'attach elsewhere'), (err) => err.code === 40160);

      // key3: {"*":["subscribe"]} over REST.
      const key3 = clients.rest(server, format, { key: app.keys[3].keyStr });
      await assert.rejects(within(key3.channels.get(uniqueName('ro')).publish('m', 'x'), 10000, 'REST publish with key3'), (err) => err.code === 40160);

      // A token from key2 for channel2 only is the intersection of what it asks and what the key has.
      const key2 = clients.rest(server, format, { key: app.keys[2].keyStr });
      const details = await within(key2.auth.requestToken({ capability: { channel2: ['*'] } }), 10000, 'requestToken with key2');
      assert.deepEqual(JSON.parse(details.capability), { channel2: ['publish', 'subscribe'] });

      // The persisted namespace keeps history beyond the default retention; at least it is readable right away.
      const persisted = clients.rest(server, format, { key: app.keys[0].keyStr }).channels.get('persisted:' + uniqueName('h'));
      await within(persisted.publish('kept', 'v'), 10000, 'publish persisted');
      const page = await within(persisted.history(), 10000, 'history persisted');
      assert.deepEqual(page.items.map((m) => m.name), ['kept']);

      // Apps are isolated: the same channel name in another app is another channel.
      const { body: other } = await createApp(server);
      const otherRest = clients.rest(server, format, { key: other.keys[0].keyStr });
      const otherPage = await within(otherRest.channels.get(persisted.name).history(), 10000, 'history in the other app');
      assert.equal(otherPage.items.length, 0);
    });
  }

  test('the answer says where to connect (endpoint, port, tls) and echoes the channels', async () => {
    const { body } = await createApp(server);
    assert.equal(body.endpoint, '127.0.0.1');
    assert.equal(body.port, server.port);
    assert.equal(body.tls, false);
    assert.deepEqual(body.channels.map((c) => c.name), ['persisted:presence_fixtures']);
  });

  for (const format of FORMATS) {
    test(`presence fixtures are members from the start, payloads exactly as given, and in presence history [${format.name}]`, async () => {
      const { body: app } = await createApp(server);
      const rest = clients.rest(server, format, { key: app.keys[0].keyStr });
      const channel = rest.channels.get('persisted:presence_fixtures');
      const members = (await within(channel.presence.get(), 10000, 'presence.get() of fixtures')).items;
      const byClient = Object.fromEntries(members.map((m) => [m.clientId, m]));
      assert.deepEqual(Object.keys(byClient).sort(), ['client_bool', 'client_decoded', 'client_encoded', 'client_int', 'client_json', 'client_string']);
      assert.ok(members.every((m) => m.action === 'present'));
      assert.equal(byClient.client_bool.data, 'true', 'no encoding: the string stays a string');
      assert.equal(byClient.client_int.data, '24');
      assert.deepEqual(byClient.client_decoded.data, { example: { json: 'Object' } }, 'encoding json is decoded by the SDK');
      // Without the cipher the SDK cannot decrypt: it leaves the remaining transforms in place.
      assert.match(byClient.client_encoded.encoding, /cipher\+aes-128-cbc/);
      assert.equal(new Set(members.map((m) => m.connectionId)).size, 1, 'all on one fixture connection');

      const history = (await within(channel.presence.history(), 10000, 'presence history of fixtures')).items;
      assert.equal(history.length, 6);
      assert.ok(history.every((m) => m.action === 'enter'));

      // A realtime client attaching sees them through SYNC.
      const realtime = clients.realtime(server, format, { key: app.keys[0].keyStr });
      const got = await within(realtime.channels.get('persisted:presence_fixtures').presence.get(), 10000, 'realtime presence.get()');
      assert.equal(got.length, 6);
    });
  }

  test('limits.presence.maxMembers caps members per channel with 91003', async () => {
    const body = { ...POST_APPS, limits: { presence: { maxMembers: 3 } }, channels: [] };
    const response = await fetch(`${server.url}/apps`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const app = await response.json();
    const client = clients.realtime(server, FORMATS[0], { key: app.keys[0].keyStr });
    const channel = client.channels.get(uniqueName('capped'));
    for (const id of ['a', 'b', 'c']) await within(channel.presence.enterClient(id), 10000, `enter ${id}`);
    await assert.rejects(within(channel.presence.enterClient('d'), 10000, 'enter d'), (err) => {
      assert.equal(err.code, 91003, errText(err));
      return true;
    });
    await within(channel.presence.updateClient('a', 'still allowed'), 10000, 'update of an existing member');
  });

  test('DELETE /apps/{appId} with Basic auth of keys[0] removes the app: its keys then fail with 40101', async () => {
    const { body: app } = await createApp(server);
    const format = FORMATS[0];
    const live = clients.realtime(server, format, { key: app.keys[1].keyStr });
    await connectionState(live, 'connected');

    const { body: other } = await createApp(server);
    const wrong = await fetch(`${server.url}/apps/${app.appId}`, {
      method: 'DELETE',
      headers: { authorization: `Basic ${Buffer.from(other.keys[0].keyStr).toString('base64')}` },
    });
    assert.equal(wrong.status, 401, 'another app cannot delete it');
    assert.equal((await wrong.json()).error.code, 40160);

    const response = await fetch(`${server.url}/apps/${app.appId}`, {
      method: 'DELETE',
      headers: { authorization: `Basic ${Buffer.from(app.keys[0].keyStr).toString('base64')}` },
    });
    assert.ok(response.status >= 200 && response.status < 300, `DELETE answered ${response.status}`);

    // Its live connection ends, and nothing can connect or call REST with its keys any more.
    await connectionState(live, 'failed');
    assert.equal(live.connection.errorReason?.code, 40101, `reason ${errText(live.connection.errorReason)}`);
    const again = clients.realtime(server, format, { key: app.keys[0].keyStr });
    await connectionState(again, 'failed');
    assert.equal(again.connection.errorReason?.code, 40101, `reason ${errText(again.connection.errorReason)}`);
    const rest = clients.rest(server, format, { key: app.keys[1].keyStr });
    await assert.rejects(within(rest.channels.get('x').history(), 10000, 'REST with a deleted key'), (err) => err.code === 40101);
    const tokenRequest = await fetch(`${server.url}/keys/${app.keys[0].keyName}/requestToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(app.keys[0].keyStr).toString('base64')}` },
      body: '{}',
    });
    assert.equal(tokenRequest.status, 401);

    // The other app is untouched.
    const otherClient = clients.realtime(server, format, { key: other.keys[0].keyStr });
    await connectionState(otherClient, 'connected');
  });
});

test('without --sandbox, POST /apps is 404 with an Ably error body', async () => {
  const plain = await startServer({ logName: 'sandbox-off' });
  try {
    const response = await fetch(`${plain.url}/apps`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify(POST_APPS),
    });
    assert.equal(response.status, 404);
    assert.equal((await response.json()).error.code, 40400);
    assert.equal(response.headers.get('x-ably-errorcode'), '40400');
  } finally {
    await plain.stop();
  }
});
