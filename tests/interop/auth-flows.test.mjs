// Token flows of the real ably SDK beyond auth.test.mjs: authUrl (TokenRequest, TokenDetails, JWT) served by a test
// endpoint, capability downgrade through in-band reauth, a subscribe-only token that publishes, clientId mismatches.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startServer } from './server.mjs';
import { FORMATS, Clients, connectionState, record, uniqueName, waitFor, within, errText } from './helpers.mjs';

let server;
let authServer;
const clients = new Clients('auth-flows');

/**
 * A tiny token endpoint like an app's own backend: GET /token?kind=request|details|jwt&clientId=…&ttl=…&cap=…
 * answers with a TokenRequest (JSON), a TokenDetails (JSON) or an Ably JWT (application/jwt), all made with the
 * dev root key. Records every request so tests can see the SDK calling it (and calling it again to renew).
 */
async function startAuthServer(keyRest) {
  const calls = [];
  const srv = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const kind = url.searchParams.get('kind');
    const clientId = url.searchParams.get('clientId') ?? undefined;
    const ttl = url.searchParams.has('ttl') ? Number(url.searchParams.get('ttl')) : undefined;
    const capability = url.searchParams.get('cap') ?? undefined;
    calls.push({ kind, query: Object.fromEntries(url.searchParams) });
    try {
      if (kind === 'request') {
        const tokenRequest = await keyRest.auth.createTokenRequest({ clientId, ttl, capability });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tokenRequest));
      } else if (kind === 'details') {
        const details = await keyRest.auth.requestToken({ clientId, ttl, capability });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(details));
      } else if (kind === 'jwt') {
        const claims = { 'x-ably-capability': capability ?? '{"*":["*"]}' };
        if (clientId) claims['x-ably-clientId'] = clientId;
        res.writeHead(200, { 'content-type': 'application/jwt' }).end(jwt(claims, ttl ? Math.ceil(ttl / 1000) : 3600));
      } else {
        res.writeHead(400).end('unknown kind');
      }
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    calls,
    url: (params) => `http://127.0.0.1:${srv.address().port}/token?${new URLSearchParams(params)}`,
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  };
}

/** An Ably JWT (HS256, kid = key name) signed with the dev root key's secret. */
function jwt(claims, ttlSeconds = 3600) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = b64({ typ: 'JWT', alg: 'HS256', kid: 'dev.root' });
  const payload = b64({ iat: now, exp: now + ttlSeconds, ...claims });
  const signature = crypto.createHmac('sha256', 'dev-root-secret').update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

before(async () => {
  server = await startServer({ logName: 'auth-flows' });
  authServer = await startAuthServer(clients.rest(server, FORMATS[1]));
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (authServer) await authServer.close();
  if (server) await server.stop();
});

/** Publishes one message on a fresh channel and waits for it to come back: the connection really works. */
async function roundTrip(client, prefix) {
  const channel = client.channels.get(uniqueName(prefix));
  const rec = record(channel);
  await within(rec.subscribed, 10000, `${prefix}: attach`);
  await within(channel.publish('m', 'hello'), 10000, `${prefix}: publish`);
  await waitFor(() => rec.messages.length === 1, 10000, `${prefix}: own message back`);
  return rec.messages[0];
}

for (const format of FORMATS) {
  describe(`authUrl [${format.name}]`, () => {
    test('authUrl answering a signed TokenRequest: the SDK exchanges it, connects, and renews through authUrl on expiry', async () => {
      const clientId = uniqueName('url-req');
      const callsBefore = authServer.calls.length;
      // Each token lives 5 s: long enough for a renewed one to reach the server before it expires too, on a loaded box.
      const client = clients.realtime(server, format, { key: undefined, authUrl: authServer.url({ kind: 'request', clientId, ttl: 5000 }) });
      await connectionState(client, 'connected');
      const expiry = client.connection.once('disconnected'); // listening from the start: the round trip may outlast the token
      assert.equal(client.auth.clientId, clientId);
      const id = client.connection.id;
      const message = await roundTrip(client, 'authurl-request');
      assert.equal(message.clientId, clientId, 'stamped with the token clientId');

      // The server disconnects with 40142 when the token expires, the SDK calls authUrl again and resumes.
      const expired = await within(expiry, 20000, 'DISCONNECTED on token expiry');
      assert.equal(expired.reason?.code, 40142, `reason ${errText(expired.reason)}`);
      await connectionState(client, 'connected');
      assert.equal(client.connection.id, id, 'resumed with the renewed token');
      const calls = authServer.calls.slice(callsBefore).filter((c) => c.query.clientId === clientId);
      assert.ok(calls.length >= 2, `authUrl called ${calls.length} times`);
      await roundTrip(client, 'authurl-request-renewed');
    });

    test('authUrl answering TokenDetails JSON: the SDK uses the token as is', async () => {
      const clientId = uniqueName('url-details');
      const client = clients.realtime(server, format, { key: undefined, authUrl: authServer.url({ kind: 'details', clientId }) });
      await connectionState(client, 'connected');
      assert.equal(client.auth.clientId, clientId);
      assert.match(client.auth.tokenDetails?.token ?? '', /^tw1\./, 'a TokenWire token');
      await roundTrip(client, 'authurl-details');
    });

    test('authUrl answering a JWT as application/jwt: accepted on realtime with its clientId and capability', async () => {
      const clientId = uniqueName('url-jwt');
      const client = clients.realtime(server, format, {
        key: undefined,
        authUrl: authServer.url({ kind: 'jwt', clientId, cap: '{"jwt:*":["publish","subscribe"]}' }),
      });
      await connectionState(client, 'connected');
      assert.equal(client.auth.clientId, clientId);
      assert.equal(client.auth.tokenDetails?.token.split('.').length, 3, 'the SDK holds the JWT');
      await roundTrip(client, 'jwt:authurl');
      await assert.rejects(within(client.channels.get(uniqueName('not-jwt')).attach(), 10000, 'attach outside the JWT capability'), (err) => err.code === 40160);
    });
  });

  describe(`capabilities and identity [${format.name}]`, () => {
    test('in-band reauth with a narrower capability fails the channel it no longer covers with 40160; the others stay attached', async () => {
      const keyRest = clients.rest(server, format);
      const keep = 'keep:' + uniqueName('down');
      const lose = 'lose:' + uniqueName('down');
      let capability = { 'keep:*': ['publish', 'subscribe'], 'lose:*': ['publish', 'subscribe'] };
      const client = clients.realtime(server, format, {
        key: undefined,
        authCallback: async (_params, callback) => {
          try {
            callback(null, await keyRest.auth.createTokenRequest({ clientId: 'downgrader', capability }));
          } catch (err) {
            callback(err);
          }
        },
      });
      await connectionState(client, 'connected');
      const id = client.connection.id;
      const kept = client.channels.get(keep);
      const lost = client.channels.get(lose);
      const keptRec = record(kept);
      await within(keptRec.subscribed, 10000, 'attach keep');
      await within(lost.attach(), 10000, 'attach lose');

      capability = { 'keep:*': ['publish', 'subscribe'] };
      await within(client.auth.authorize(), 10000, 'authorize with the narrower capability');
      await waitFor(() => lost.state === 'failed', 10000, 'the channel outside the new capability fails', () => `state ${lost.state}`);
      assert.equal(lost.errorReason?.code, 40160, `reason ${errText(lost.errorReason)}`);
      assert.equal(lost.errorReason?.statusCode, 401);
      assert.equal(kept.state, 'attached');
      assert.equal(client.connection.state, 'connected');
      assert.equal(client.connection.id, id, 'same connection: reauth does not reconnect');

      await within(kept.publish('after', 'still allowed'), 10000, 'publish on the kept channel');
      await waitFor(() => keptRec.messages.some((m) => m.name === 'after'), 10000, 'kept channel still delivers');
      await assert.rejects(within(client.channels.get('lose:' + uniqueName('x')).attach(), 10000, 'attach a lost channel'), (err) => err.code === 40160);
    });

    test('a subscribe-only token may attach and receive but its publishes are refused with 40160 (realtime and REST)', async () => {
      const keyRest = clients.rest(server, format);
      const details = await within(keyRest.auth.requestToken({ capability: { '*': ['subscribe'] } }), 10000, 'requestToken');
      assert.equal(details.capability, '{"*":["subscribe"]}');
      const client = clients.realtime(server, format, { key: undefined, token: details.token });
      await connectionState(client, 'connected');
      const name = uniqueName('subonly');
      const channel = client.channels.get(name);
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach');
      assert.deepEqual([...channel.modes].sort(), ['presence_subscribe', 'subscribe']);

      await assert.rejects(within(channel.publish('nope', 'x'), 10000, 'realtime publish'), (err) => err.code === 40160 && err.statusCode === 401);
      const tokenRest = clients.rest(server, format, { key: undefined, token: details.token });
      await assert.rejects(within(tokenRest.channels.get(name).publish('nope', 'y'), 10000, 'REST publish'), (err) => err.code === 40160 && err.statusCode === 401);

      await within(keyRest.channels.get(name).publish('allowed', 'z'), 10000, 'publish with the key');
      await waitFor(() => rec.messages.length === 1, 10000, 'the subscriber receives');
      assert.deepEqual(rec.messages.map((m) => m.name), ['allowed'], 'the refused publishes were never delivered');
      assert.equal(client.connection.state, 'connected');
    });

    test('a token for clientId "a" with the clientId option "b" is refused with 40102 (realtime and REST)', async () => {
      const keyRest = clients.rest(server, format);
      const { token } = await within(keyRest.auth.requestToken({ clientId: 'a' }), 10000, 'requestToken');
      // The token string alone: the SDK cannot know its clientId, so the server is the one to refuse.
      const client = clients.realtime(server, format, { key: undefined, token, clientId: 'b' });
      await connectionState(client, 'failed');
      assert.equal(client.connection.errorReason?.code, 40102, `reason ${errText(client.connection.errorReason)}`);

      const response = await fetch(`${server.url}/channels/${uniqueName('mismatch')}/messages`, {
        headers: { authorization: `Bearer ${Buffer.from(token).toString('base64')}`, 'x-ably-clientid': Buffer.from('b').toString('base64') },
      });
      assert.equal(response.status, 401);
      assert.equal((await response.json()).error.code, 40102);

      const same = clients.realtime(server, format, { key: undefined, token, clientId: 'a' });
      await connectionState(same, 'connected');
      assert.equal(same.auth.clientId, 'a');
    });

    test('an identified client publishing a message with another clientId is refused with 40012 (realtime and REST)', async () => {
      const client = clients.realtime(server, format, { clientId: 'alice' });
      await connectionState(client, 'connected');
      const name = uniqueName('impersonate');
      const channel = client.channels.get(name);
      const rec = record(channel);
      await within(rec.subscribed, 10000, 'attach');
      await assert.rejects(
        within(channel.publish({ name: 'forged', data: 'x', clientId: 'mallory' }), 10000, 'realtime publish as mallory'),
        (err) => err.code === 40012 && err.statusCode === 400,
      );
      const rest = clients.rest(server, format, { clientId: 'alice' });
      await assert.rejects(
        within(rest.channels.get(name).publish({ name: 'forged', data: 'y', clientId: 'mallory' }), 10000, 'REST publish as mallory'),
        (err) => err.code === 40012 && err.statusCode === 400,
      );
      await within(channel.publish({ name: 'own', data: 'z', clientId: 'alice' }), 10000, 'publish as itself');
      await waitFor(() => rec.messages.length === 1, 10000, 'own message delivered');
      assert.deepEqual(rec.messages.map((m) => [m.name, m.clientId]), [['own', 'alice']]);
    });
  });
}
