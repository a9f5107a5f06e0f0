// Local stand-ins for APNs and FCM for the push tests: one HTTP/2 cleartext server on 127.0.0.1 (node's
// http2.createServer() speaks h2c with prior knowledge, as the server's senders do for an http:// base URL) that
// answers APNs's POST /3/device/{token}, FCM's POST /v1/projects/{id}/messages:send and the OAuth2 token endpoint,
// checking each bearer credential against the matching public key, and records every notification.
import http2 from 'node:http2';
import crypto from 'node:crypto';

/** An APNs .p8-style key (PKCS#8 P-256, PEM) and its public half. */
export function apnsKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }), publicKey };
}

/** A Google service account key file's JSON (its token_uri for the caller to set), and the public half of its RSA key. */
export function serviceAccount(projectId = 'tokenwire-test') {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const json = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: 'key-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: `push@${projectId}.iam.gserviceaccount.com`,
    token_uri: undefined,
  };
  return { json, publicKey };
}

/** Verifies a compact JWS with `key` (ES256 as IEEE P1363, or RS256) and answers its header and claims. */
export function verifyJwt(jwt, key) {
  const [h, c, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(c, 'base64url'));
  const ok = header.alg === 'ES256'
    ? crypto.verify('sha256', Buffer.from(`${h}.${c}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
    : header.alg === 'RS256' && crypto.verify('sha256', Buffer.from(`${h}.${c}`), key, Buffer.from(s, 'base64url'));
  if (!ok) throw new Error(`JWT signature does not verify (alg ${header.alg})`);
  return { header, claims };
}

/**
 * Starts the fake providers. `answer(kind, token, count)` picks the reply to the count-th (1-based) notification
 * for a device token: `{ status, body }`, or undefined for success. `next(token)` resolves with the next recorded
 * notification for that token: `{ kind: 'apns'|'fcm', path, headers, body, auth }`.
 */
export async function startNativePush({ apnsPublicKey, fcmPublicKey, answer = () => undefined }) {
  const queues = new Map();
  const waiters = new Map();
  const counts = new Map();
  const issued = new Set();
  let exchanges = 0;
  const record = (token, notification) => {
    const waiting = waiters.get(token);
    if (waiting?.length) waiting.shift()(notification);
    else queues.set(token, [...(queues.get(token) ?? []), notification]);
  };
  const server = http2.createServer();
  const sessions = new Set();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const path = headers[':path'];
      const body = Buffer.concat(chunks).toString('utf8');
      const reply = (status, json) => {
        stream.respond({ ':status': status, 'content-type': 'application/json' });
        stream.end(json === undefined ? '' : JSON.stringify(json));
      };
      try {
        if (path === '/token') {
          const form = new URLSearchParams(body);
          const { claims } = verifyJwt(form.get('assertion'), fcmPublicKey);
          exchanges += 1;
          const token = `access-${exchanges}`;
          issued.add(token);
          reply(200, { access_token: token, expires_in: 3599, token_type: 'Bearer', grant: form.get('grant_type'), claims });
          return;
        }
        const apns = path.match(/^\/3\/device\/(.+)$/);
        const fcm = path.match(/^\/v1\/projects\/([^/]+)\/messages:send$/);
        if (!apns && !fcm) return reply(404, { reason: 'BadPath' });
        const auth = headers.authorization ?? '';
        let credential;
        if (apns) {
          credential = verifyJwt(auth.replace(/^bearer /i, ''), apnsPublicKey);
        } else {
          credential = auth.replace(/^Bearer /, '');
          if (!issued.has(credential)) return reply(401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'unknown access token' } });
        }
        const parsed = JSON.parse(body);
        const token = apns ? decodeURIComponent(apns[1]) : parsed.message.token;
        const count = (counts.get(token) ?? 0) + 1;
        counts.set(token, count);
        const notification = { kind: apns ? 'apns' : 'fcm', path, project: fcm?.[1], headers, body: parsed, auth: credential, count };
        const custom = answer(apns ? 'apns' : 'fcm', token, count);
        if (custom) reply(custom.status, custom.body);
        else reply(200, apns ? undefined : { name: `projects/${fcm[1]}/messages/${count}` });
        record(token, { ...notification, status: custom?.status ?? 200 });
      } catch (err) {
        reply(403, { reason: 'TestRejected', message: err.message });
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    next(token) {
      const queued = queues.get(token);
      if (queued?.length) return Promise.resolve(queued.shift());
      return new Promise((resolve) => waiters.set(token, [...(waiters.get(token) ?? []), resolve]));
    },
    pending: (token) => queues.get(token)?.length ?? 0,
    count: (token) => counts.get(token) ?? 0,
    get exchanges() {
      return exchanges;
    },
    close: () => new Promise((resolve) => {
      server.close(resolve);
      for (const session of sessions) session.destroy();
    }),
  };
}
