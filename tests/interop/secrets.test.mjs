// Keys and tokens never reach the server's log: a server logging at Trace sees key auth, token auth, JWTs, wrong
// secrets and failed token requests over realtime and REST, and its log file contains none of those credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startServer } from './server.mjs';
import { FORMATS, Clients, connectionState, uniqueName, within } from './helpers.mjs';

test('a connect and REST calls with keys, tokens and JWTs leave no secret and no token in the server log', async () => {
  const server = await startServer({
    logName: 'secrets',
    args: ['--sandbox', '--Logging:LogLevel:Default=Trace', '--Logging:LogLevel:Microsoft.AspNetCore=Trace', '--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Trace'],
  });
  const clients = new Clients('secrets');
  const secrets = [];
  try {
    const created = await fetch(`${server.url}/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keys: [{}, { revocableTokens: true }] }),
    });
    const app = await created.json();
    const [key, revocable] = app.keys;
    secrets.push(key.keySecret, revocable.keySecret, Buffer.from(key.keyStr).toString('base64'), encodeURIComponent(key.keyStr));

    for (const format of FORMATS) {
      // Basic auth on the WebSocket (?key=…) and over REST (Authorization: Basic …).
      const keyClient = clients.realtime(server, format, { key: key.keyStr, clientId: 'logged' });
      await connectionState(keyClient, 'connected');
      await within(keyClient.channels.get(uniqueName('secret')).publish('m', 'x'), 10000, 'publish with the key');
      const rest = clients.rest(server, format, { key: key.keyStr });
      await within(rest.channels.get(uniqueName('secret')).publish('m', 'y'), 10000, 'REST publish with the key');

      // Token auth: requestToken, ?access_token=… on the WebSocket, Bearer on REST, in-band AUTH.
      const tokenClient = clients.realtime(server, format, { key: key.keyStr, useTokenAuth: true, clientId: 'tokened' });
      await connectionState(tokenClient, 'connected');
      secrets.push(tokenClient.auth.tokenDetails.token);
      await within(tokenClient.auth.authorize(), 10000, 'in-band reauth');
      secrets.push(tokenClient.auth.tokenDetails.token, Buffer.from(tokenClient.auth.tokenDetails.token).toString('base64'));
      const tokenRest = clients.rest(server, format, { key: undefined, token: tokenClient.auth.tokenDetails.token });
      await within(tokenRest.channels.get(uniqueName('secret')).history(), 10000, 'REST history with a token');

      // A revoked token, refused on connect: the refusal is logged, the token is not.
      const revocableRest = clients.rest(server, format, { key: revocable.keyStr });
      const doomed = await within(revocableRest.auth.requestToken({ clientId: 'doomed' }), 10000, 'requestToken');
      secrets.push(doomed.token);
      await within(revocableRest.auth.revokeTokens([{ type: 'clientId', value: 'doomed' }]), 10000, 'revoke');
      const refused = clients.realtime(server, format, { key: undefined, token: doomed.token });
      await connectionState(refused, 'failed');
    }

    // An Ably JWT, a JWT with a bad signature, a wrong secret, and a TokenRequest with a bad mac.
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const header = b64({ typ: 'JWT', alg: 'HS256', kid: key.keyName });
    const now = Math.floor(Date.now() / 1000);
    const payload = b64({ iat: now, exp: now + 600, 'x-ably-capability': '{"*":["*"]}' });
    const goodJwt = `${header}.${payload}.${crypto.createHmac('sha256', key.keySecret).update(`${header}.${payload}`).digest('base64url')}`;
    const badJwt = `${header}.${payload}.${crypto.createHmac('sha256', 'not-the-secret').update(`${header}.${payload}`).digest('base64url')}`;
    secrets.push(goodJwt, badJwt, payload);
    const jwtClient = clients.realtime(server, FORMATS[0], { key: undefined, token: goodJwt });
    await connectionState(jwtClient, 'connected');
    const badJwtClient = clients.realtime(server, FORMATS[1], { key: undefined, token: badJwt });
    await connectionState(badJwtClient, 'failed');
    const wrongSecret = 'wrongSecretThatMustNotBeLogged';
    secrets.push(wrongSecret);
    const wrongClient = clients.realtime(server, FORMATS[0], { key: `${key.keyName}:${wrongSecret}` });
    await connectionState(wrongClient, 'failed');
    const forgedMac = 'bm90LWEtcmVhbC1tYWMtYnV0LXNlY3JldC1sb29raW5n';
    secrets.push(forgedMac);
    const badMac = await fetch(`${server.url}/keys/${key.keyName}/requestToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keyName: key.keyName, timestamp: Date.now(), nonce: 'n1', mac: forgedMac }),
    });
    assert.equal(badMac.status, 401);
    await clients.closeAll();
  } finally {
    await clients.closeAll();
    await server.stop();
  }

  const log = fs.readFileSync(server.logFile, 'utf8');
  assert.match(log, /Connection refused: 40101/, 'the log is live: refusals are logged (without credentials)');
  assert.match(log, /Connection refused: 40141/, 'the revoked token refusal is logged');
  const leaked = secrets.filter((s) => s && log.includes(s));
  assert.deepEqual(leaked.map((s) => s.slice(0, 12) + '…'), [], `credentials found in ${server.logFile}`);
});
