// A local Web Push service for the push tests: an HTTP endpoint on 127.0.0.1 that records each push request, and
// what a browser does with one — check the VAPID Authorization (RFC 8292: an ES256 JWT for the endpoint's origin,
// signed with the server's key) and decrypt the aes128gcm payload (RFC 8291) with the subscription's private key and
// auth secret, using only node's crypto.
import http from 'node:http';
import crypto from 'node:crypto';

/** A fresh P-256 key pair as VAPID configuration wants it (base64url, uncompressed public key). */
export function vapidKeys() {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey drops leading zero bytes (1 key in 256); a VAPID private key is always 32 bytes.
  const privateKey = Buffer.alloc(32);
  const scalar = ecdh.getPrivateKey();
  scalar.copy(privateKey, 32 - scalar.length);
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: privateKey.toString('base64url') };
}

/**
 * Starts the push service. `status(path)` chooses the answer per subscription path (201 by default). `next(path)`
 * resolves with the next request to that path (already received or yet to come).
 */
export async function startPushService({ status = () => 201 } = {}) {
  const queues = new Map();
  const waiters = new Map();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const request = { path: req.url, method: req.method, headers: req.headers, body: Buffer.concat(chunks) };
      res.writeHead(status(req.url));
      res.end();
      const waiting = waiters.get(req.url);
      if (waiting?.length) waiting.shift()(request);
      else queues.set(req.url, [...(queues.get(req.url) ?? []), request]);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    next(path) {
      const queued = queues.get(path);
      if (queued?.length) return Promise.resolve(queued.shift());
      return new Promise((resolve) => waiters.set(path, [...(waiters.get(path) ?? []), resolve]));
    },
    pending(path) {
      return queues.get(path)?.length ?? 0;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * A browser's push subscription at `service`: its own P-256 key pair and auth secret, and the recipient ably-js's
 * web push activation registers for it (targetUrl = btoa(endpoint), keys in standard base64).
 */
export function subscription(service, name, publicVapidKey) {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = crypto.randomBytes(16);
  const path = `/push/${name}`;
  const endpoint = `${service.url}${path}`;
  return {
    path,
    endpoint,
    ecdh,
    auth,
    recipient: {
      transportType: 'web',
      targetUrl: Buffer.from(endpoint).toString('base64'),
      publicVapidKey,
      encryptionKey: { p256dh: ecdh.getPublicKey().toString('base64'), auth: auth.toString('base64') },
    },
  };
}

/** Checks the request's VAPID credentials; returns the JWT's claims. Throws with the reason when they are wrong. */
export function verifyVapid(request, publicKey, endpoint) {
  const header = request.headers.authorization ?? '';
  const match = /^vapid t=([^,\s]+),\s*k=([^,\s]+)$/.exec(header);
  if (!match) throw new Error(`not a VAPID Authorization header: ${header}`);
  const [, jwt, k] = match;
  if (k !== publicKey) throw new Error(`k= is ${k}, not the server's VAPID public key`);
  const [head, body, signature] = jwt.split('.');
  const { alg, typ } = JSON.parse(Buffer.from(head, 'base64url'));
  if (alg !== 'ES256' || typ !== 'JWT') throw new Error(`JWT header ${alg}/${typ}`);
  const raw = Buffer.from(publicKey, 'base64url');
  const key = crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') },
    format: 'jwk',
  });
  const valid = crypto.verify('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!valid) throw new Error('the VAPID JWT signature does not verify with the server public key');
  const claims = JSON.parse(Buffer.from(body, 'base64url'));
  const origin = new URL(endpoint).origin;
  if (claims.aud !== origin) throw new Error(`aud ${claims.aud}, expected ${origin}`);
  const now = Date.now() / 1000;
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) throw new Error(`exp ${claims.exp} is not within 24 h from now`);
  return claims;
}

/** Decrypts an aes128gcm Web Push body (RFC 8291, one record) for `sub`; returns the plaintext as a string. */
export function decrypt(request, sub) {
  if (request.headers['content-encoding'] !== 'aes128gcm') throw new Error(`content-encoding ${request.headers['content-encoding']}`);
  const body = request.body;
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20];
  const serverPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  if (ciphertext.length > recordSize) throw new Error('more than one record');
  const ecdhSecret = sub.ecdh.computeSecret(serverPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), sub.ecdh.getPublicKey(), serverPublic]);
  const ikm = Buffer.from(crypto.hkdfSync('sha256', ecdhSecret, sub.auth, keyInfo, 32));
  const cek = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (padded[end] !== 2) throw new Error('no last-record padding delimiter');
  return padded.subarray(0, end).toString('utf8');
}
