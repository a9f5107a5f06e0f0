// Token auth through the real ably SDK: requestToken, authCallback with a TokenRequest, JWT, expiry + renewal.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer } from './server.mjs';
import { FORMATS, Clients, ROOT_KEY, connectionState, record, uniqueName, waitFor, within, sleep } from './helpers.mjs';

let server;
const clients = new Clients('auth');

before(async () => {
  server = await startServer({ logName: 'auth' });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
});

/** An Ably JWT (HS256, kid = key name) signed with the dev root key's secret. */
function jwt(claims, { secret = 'dev-root-secret', kid = 'dev.root', alg = 'HS256' } = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = b64({ typ: 'JWT', alg, kid });
  const payload = b64({ iat: now, exp: now + 3600, ...claims });
  const signature = crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

for (const format of FORMATS) {
  describe(`token auth [${format.name}]`, () => {
    test('useTokenAuth with a key: the SDK requests a token and connects with the token clientId', async () => {
      const client = clients.realtime(server, format, { useTokenAuth: true, clientId: 'bob' });
      await connectionState(client, 'connected');
      assert.equal(client.auth.clientId, 'bob');
      assert.ok(client.auth.tokenDetails?.token, 'the SDK holds a token');
      const channel = client.channels.get(uniqueName('tok'));
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach');
      await within(channel.publish('m', 'hello'), 10000, 'publish');
      await waitFor(() => rec.messages.length === 1, 10000, 'own message');
      assert.equal(rec.messages[0].clientId, 'bob', 'stamped with the token clientId');
    });

    test('authCallback with a signed TokenRequest: capability is the intersection, other channels fail 40160', async () => {
      const keyRest = clients.rest(server, format);
      const client = clients.realtime(server, format, {
        key: undefined,
        authCallback: async (_params, callback) => {
          try {
            callback(null, await keyRest.auth.createTokenRequest({ clientId: 'carol', capability: { 'chat:*': ['subscribe', 'publish'] } }));
          } catch (err) {
            callback(err);
          }
        },
      });
      await connectionState(client, 'connected');
      assert.equal(client.auth.clientId, 'carol');
      const allowed = client.channels.get('chat:' + uniqueName('room'));
      await within(allowed.attach(), 10000, 'attach allowed');
      assert.deepEqual([...allowed.modes].sort(), ['presence_subscribe', 'publish', 'subscribe']);
      await assert.rejects(within(client.channels.get(uniqueName('other')).attach(), 10000, 'attach other'), (err) => err.code === 40160);
      await assert.rejects(within(client.channels.get('chat:' + uniqueName('x')).history(), 10000, 'history'), (err) => err.code === 40160);
    });

    test('a replayed TokenRequest nonce is refused (40105) and a bad mac fails (40101)', async () => {
      const keyRest = clients.rest(server, format);
      const request = await keyRest.auth.createTokenRequest({ clientId: 'dave' });
      const tokenRest = clients.rest(server, format, { key: undefined, authCallback: (_p, cb) => cb(null, request) });
      const first = await within(tokenRest.auth.requestToken(request), 10000, 'first requestToken');
      assert.ok(first.token);
      await assert.rejects(within(tokenRest.auth.requestToken(request), 10000, 'replayed'), (err) => err.code === 40105);
      const forged = { ...(await keyRest.auth.createTokenRequest({ clientId: 'dave' })), mac: 'AAAA' + request.mac.slice(4) };
      const response = await fetch(`http://127.0.0.1:${server.port}/keys/dev.root/requestToken`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(forged),
      });
      assert.equal(response.status, 401);
      assert.equal((await response.json()).error.code, 40101);
    });

    test('an Ably JWT works on realtime and REST; a bad signature is refused with 40144', async () => {
      const token = jwt({ 'x-ably-capability': '{"*":["*"]}', 'x-ably-clientId': 'jwt-user' });
      const client = clients.realtime(server, format, { key: undefined, token });
      await connectionState(client, 'connected');
      assert.equal(client.auth.clientId, 'jwt-user');
      const rest = clients.rest(server, format, { key: undefined, token });
      const page = await within(rest.channels.get(uniqueName('jwt')).history(), 10000, 'history with JWT');
      assert.equal(page.items.length, 0);

      // The SDK cannot renew a token literal, so it reports 40171; the server's own answer is 40144.
      const bad = jwt({ 'x-ably-capability': '{"*":["*"]}' }, { secret: 'not-the-secret' });
      const badClient = clients.realtime(server, format, { key: undefined, token: bad });
      await connectionState(badClient, 'failed');
      assert.equal(badClient.connection.errorReason?.code, 40171);
      for (const [token, code] of [
        [bad, 40144],
        [jwt({}, { alg: 'none' }), 40144],
        [jwt({ exp: Math.floor(Date.now() / 1000) - 10 }), 40142],
      ]) {
        const response = await fetch(`http://127.0.0.1:${server.port}/channels/x/messages`, {
          headers: { authorization: `Bearer ${Buffer.from(token).toString('base64')}` },
        });
        assert.equal(response.status, 401);
        assert.equal((await response.json()).error.code, code);
      }
    });

    test('token expiry mid-stream: DISCONNECTED 40142, the SDK renews, resumes the same connection and loses nothing', async () => {
      // Long enough for a renewed token to reach the server before it expires too, on a loaded box. The stream runs
      // until the expiry has happened and the connection is back, whenever that is.
      const TOKEN_TTL_MS = 5000;
      const keyRest = clients.rest(server, format);
      let renewals = 0;
      const client = clients.realtime(server, format, {
        key: undefined,
        authCallback: async (_params, callback) => {
          renewals++;
          try {
            callback(null, await keyRest.auth.requestToken({ ttl: TOKEN_TTL_MS, clientId: 'expirer' }));
          } catch (err) {
            callback(err);
          }
        },
      });
      await connectionState(client, 'connected');
      const id = client.connection.id;
      const states = [];
      client.connection.on((change) => states.push(`${change.current}${change.reason ? `:${change.reason.code}` : ''}`));
      const name = uniqueName('expiry');
      const rec = record(client.channels.get(name));
      await within(rec.subscribed, 10000, 'attach');
      const publisher = keyRest.channels.get(name);
      const resumedAfterExpiry = () => {
        const expired = states.indexOf('disconnected:40142');
        return expired >= 0 && states.slice(expired).includes('connected');
      };
      const expected = [];
      const deadline = Date.now() + TOKEN_TTL_MS + 30000;
      for (let after = 10; !resumedAfterExpiry() || after-- > 0; ) {
        if (Date.now() > deadline) throw new Error(`no expiry and resume: ${states.join(' > ')}`);
        expected.push(`t${expected.length}`);
        await within(publisher.publish('token', expected.at(-1)), 10000, 'publish');
        await sleep(100);
      }
      await waitFor(() => rec.messages.length >= expected.length, 15000, 'all tokens', () => `${rec.messages.length}`);
      assert.ok(renewals >= 2, `the token was renewed (${renewals} tokens issued)`);
      assert.equal(client.connection.id, id, 'resumed, not a new connection');
      assert.deepEqual(rec.messages.map((m) => m.data), expected);
    });
  });
}
