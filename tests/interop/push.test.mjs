// Push notifications through the real SDK: the push admin REST API (push.admin.deviceRegistrations,
// .channelSubscriptions, .publish) in both formats with Ably's validation, codes and capabilities; a device managing
// itself with its device identity token; and Web Push delivery to a push service this test runs on 127.0.0.1, which
// checks each request's VAPID signature and decrypts its aes128gcm payload as a browser would — for
// push.admin.publish (by deviceId and clientId) and for channel messages with extras.push (device and clientId
// subscriptions). Then APNs and a gone subscription failing on the device's registration, and two nodes on one
// redis-server sharing registrations and delivering each other's.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from './server.mjs';
import { startRedis } from './redis.mjs';
import { FORMATS, Clients, ROOT_KEY, SUB_KEY, uniqueName, within, sleep } from './helpers.mjs';
import { vapidKeys, startPushService, subscription, verifyVapid, decrypt } from './webpush.mjs';

const VAPID = vapidKeys();
const SUBJECT = 'mailto:push-test@tokenwire.invalid';
const vapidArgs = [
  `--TokenWire:Push:Vapid:Subject=${SUBJECT}`,
  `--TokenWire:Push:Vapid:PublicKey=${VAPID.publicKey}`,
  `--TokenWire:Push:Vapid:PrivateKey=${VAPID.privateKey}`,
];

let server;
let pushService;
const clients = new Clients('push');

before(async () => {
  pushService = await startPushService({ status: (p) => (p.includes('gone') ? 410 : 201) });
  server = await startServer({ logName: 'push', args: vapidArgs });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
  if (pushService) await pushService.close();
});

/** Polls `probe` until it returns truthy (every 50 ms), failing after `ms` with `label` and the last value. */
async function eventually(probe, ms, label) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label} (last: ${JSON.stringify(last)})`);
    await sleep(50);
  }
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

const gcmDevice = (id, clientId) => ({
  id,
  clientId,
  deviceSecret: `secret-${id}`,
  platform: 'android',
  formFactor: 'phone',
  push: { recipient: { transportType: 'gcm', registrationToken: `token-${id}` } },
});

/** The notification `sub` receives next: its VAPID credentials checked and its payload decrypted and parsed. */
async function notification(sub) {
  const request = await within(pushService.next(sub.path), 10000, `a push request to ${sub.path}`);
  assert.equal(request.method, 'POST');
  const claims = verifyVapid(request, VAPID.publicKey, sub.endpoint);
  assert.equal(claims.sub, SUBJECT);
  assert.ok(Number(request.headers.ttl) > 0, 'a TTL header');
  return JSON.parse(decrypt(request, sub));
}

for (const format of FORMATS) {
  describe(`push admin API [${format.name}]`, () => {
    test('device registrations: save, get, list filtered and paged, remove and removeWhere', async () => {
      const rest = clients.rest(server, format);
      const admin = rest.push.admin.deviceRegistrations;
      const client = uniqueName('client');
      const ids = [1, 2, 3].map((i) => `${uniqueName('dev')}-${i}`).sort();

      const saved = await admin.save(gcmDevice(ids[0], client));
      assert.equal(saved.id, ids[0]);
      assert.equal(saved.push.state, 'ACTIVE');
      assert.deepEqual(saved.push.recipient, { transportType: 'gcm', registrationToken: `token-${ids[0]}` });
      await admin.save(gcmDevice(ids[1], client));
      await admin.save(gcmDevice(ids[2], client));

      const got = await admin.get(ids[0]);
      assert.equal(got.clientId, client);
      assert.equal(got.platform, 'android');
      assert.equal(got.formFactor, 'phone');

      const first = await admin.list({ clientId: client, limit: 2 });
      assert.deepEqual(first.items.map((d) => d.id), ids.slice(0, 2));
      assert.ok(first.hasNext());
      const second = await first.next();
      assert.deepEqual(second.items.map((d) => d.id), ids.slice(2));
      assert.ok(!second.hasNext());
      assert.deepEqual((await admin.list({ deviceId: ids[1] })).items.map((d) => d.id), [ids[1]]);

      await admin.remove(ids[0]);
      const gone = await rejection(admin.get(ids[0]));
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.code, 40400);

      await admin.removeWhere({ clientId: client });
      assert.deepEqual((await admin.list({ clientId: client })).items, []);
    });

    test('an invalid registration is 40000; a device id that disagrees with the path is 40015', async () => {
      const admin = clients.rest(server, format).push.admin.deviceRegistrations;
      const platform = await rejection(admin.save({ ...gcmDevice(uniqueName('dev')), platform: 'not_a_real_platform' }));
      assert.equal(platform.code, 40000);
      assert.equal(platform.statusCode, 400);
      assert.match(platform.message, /platform/);
      const recipient = await rejection(admin.save({ ...gcmDevice(uniqueName('dev')), push: { recipient: { transportType: 'web', targetUrl: 'x' } } }));
      assert.equal(recipient.code, 40000);
      const subscriptionError = await rejection(clients.rest(server, format).push.admin.channelSubscriptions.save({ channel: 'push-c' }));
      assert.equal(subscriptionError.code, 40000);
    });

    test('channel subscriptions: save by deviceId and clientId, list by channel, listChannels, remove; a removed device takes its subscriptions', async () => {
      const rest = clients.rest(server, format);
      const { deviceRegistrations, channelSubscriptions } = rest.push.admin;
      const channel = uniqueName('push-channel');
      const device = uniqueName('dev');
      const client = uniqueName('client');
      await deviceRegistrations.save(gcmDevice(device));

      const saved = await channelSubscriptions.save({ channel, deviceId: device });
      assert.equal(saved.channel, channel);
      assert.equal(saved.deviceId, device);
      await channelSubscriptions.save({ channel, clientId: client });
      await channelSubscriptions.save({ channel: `${channel}-other`, clientId: client });

      const listed = await channelSubscriptions.list({ channel });
      assert.deepEqual(
        listed.items.map((s) => [s.channel, s.deviceId ?? null, s.clientId ?? null]).sort(),
        [[channel, device, null], [channel, null, client]].sort(),
      );
      const channels = [];
      for (let page = await channelSubscriptions.listChannels({ limit: 1 }); ; page = await page.next()) {
        channels.push(...page.items);
        if (!page.hasNext()) break;
      }
      assert.ok(channels.includes(channel) && channels.includes(`${channel}-other`), `listChannels: ${channels}`);

      await channelSubscriptions.remove({ channel, clientId: client });
      assert.deepEqual((await channelSubscriptions.list({ channel })).items.map((s) => s.deviceId), [device]);
      await deviceRegistrations.remove(device);
      assert.deepEqual((await channelSubscriptions.list({ channel })).items, []);
      await channelSubscriptions.removeWhere({ clientId: client });
      assert.ok(!(await channelSubscriptions.listChannels({})).items.includes(`${channel}-other`));
    });

    test('capabilities: push-admin for the admin API, push-subscribe only for the caller\'s own clientId', async () => {
      const subscribeOnly = clients.rest(server, format, { key: SUB_KEY });
      const denied = await rejection(subscribeOnly.push.admin.deviceRegistrations.list({}));
      assert.equal(denied.code, 40160);
      assert.equal(denied.statusCode, 401);

      const root = clients.rest(server, format);
      const tokenDetails = await root.auth.requestToken({ clientId: 'alice', capability: { 'push:*': ['push-subscribe'] } });
      const alice = clients.rest(server, format, { key: undefined, tokenDetails });
      const channel = `push:${uniqueName('caps')}`;
      await alice.push.admin.channelSubscriptions.save({ channel, clientId: 'alice' });
      assert.equal((await rejection(alice.push.admin.channelSubscriptions.save({ channel, clientId: 'bob' }))).code, 40160);
      assert.equal((await rejection(alice.push.admin.channelSubscriptions.save({ channel: uniqueName('elsewhere'), clientId: 'alice' }))).code, 40160);
      assert.equal((await rejection(alice.push.admin.publish({ clientId: 'alice' }, { notification: { title: 't' } }))).code, 40160);
      assert.equal((await rejection(alice.push.admin.deviceRegistrations.save(gcmDevice(uniqueName('dev'), 'alice')))).code, 40160);
      await alice.push.admin.channelSubscriptions.remove({ channel, clientId: 'alice' });
      assert.deepEqual((await root.push.admin.channelSubscriptions.list({ channel })).items, []);
    });

    test('push.admin.publish: a recipient and a payload are required (40000)', async () => {
      const admin = clients.rest(server, format).push.admin;
      assert.equal((await rejection(admin.publish({}, { notification: { title: 't' } }))).code, 40000);
      assert.equal((await rejection(admin.publish({ deviceId: 'x' }, {}))).code, 40000);
      assert.equal((await rejection(admin.publish({ transportType: 'web' }, { data: { a: 'b' } }))).code, 40000);
    });
  });
}

describe('a device managing itself (what the push activation sends)', () => {
  test('registration answers a deviceIdentityToken that works as X-Ably-DeviceToken and Bearer, and the secret as X-Ably-DeviceSecret', async () => {
    const root = clients.rest(server, FORMATS[1]);
    const token = await root.auth.requestToken({ clientId: 'carol', capability: { 'push:*': ['push-subscribe'] } });
    const bearer = (t) => `Bearer ${Buffer.from(t).toString('base64')}`;
    const id = uniqueName('self');
    const json = { 'content-type': 'application/json', accept: 'application/json' };
    const call = (method, url, headers, body) => fetch(`${server.url}${url}`, { method, headers: { ...json, ...headers }, body: body && JSON.stringify(body) });

    const registered = await call('POST', '/push/deviceRegistrations', { authorization: bearer(token.token) }, { ...gcmDevice(id), clientId: undefined, platform: 'browser', formFactor: 'desktop' });
    assert.equal(registered.status, 201);
    const device = await registered.json();
    assert.equal(device.clientId, 'carol', 'an identified caller\'s device takes its clientId');
    const deviceToken = device.deviceIdentityToken.token;
    assert.ok(deviceToken);

    const self = await call('GET', `/push/deviceRegistrations/${id}`, { authorization: bearer(deviceToken) });
    assert.equal(self.status, 200);
    const patched = await call('PATCH', `/push/deviceRegistrations/${id}`, { authorization: bearer(deviceToken) }, { push: { recipient: { transportType: 'fcm', registrationToken: 'new' } } });
    assert.equal(patched.status, 200);
    assert.equal((await patched.json()).push.recipient.registrationToken, 'new');
    const otherDevice = await call('GET', `/push/deviceRegistrations/${uniqueName('other')}`, { authorization: bearer(deviceToken) });
    assert.equal(otherDevice.status, 401);
    const forged = await call('GET', `/push/deviceRegistrations/${id}`, { authorization: bearer(`${deviceToken.slice(0, -2)}xx`) });
    assert.equal(forged.status, 401);
    assert.equal(forged.headers.get('x-ably-errorcode'), '40101');

    const channel = `push:${uniqueName('self')}`;
    const subscribed = await call('POST', '/push/channelSubscriptions', { authorization: bearer(token.token), 'X-Ably-DeviceToken': deviceToken }, { channel, deviceId: id });
    assert.equal(subscribed.status, 201);
    const notMine = await call('POST', '/push/channelSubscriptions', { authorization: bearer(token.token) }, { channel, deviceId: id });
    assert.equal(notMine.status, 401);
    const bySecret = await call('DELETE', `/push/channelSubscriptions?channel=${encodeURIComponent(channel)}&deviceId=${id}`, { authorization: bearer(token.token), 'X-Ably-DeviceSecret': `secret-${id}` });
    assert.equal(bySecret.status, 204);

    const preflight = await fetch(`${server.url}/push/channelSubscriptions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-ably-devicetoken' },
    });
    assert.match(preflight.headers.get('access-control-allow-headers'), /x-ably-devicetoken/, 'a browser may send the device token cross-origin');

    const deregistered = await call('DELETE', `/push/deviceRegistrations?deviceId=${id}`, { authorization: bearer(deviceToken) });
    assert.equal(deregistered.status, 204);
    assert.equal((await rejection(root.push.admin.deviceRegistrations.get(id))).code, 40400);
  });
});

describe('web push delivery', () => {
  test('GET /push/publicVapidKey answers the configured key, as web push activation asks for it', async () => {
    const response = await fetch(`${server.url}/push/publicVapidKey`, { headers: { authorization: `Basic ${Buffer.from(ROOT_KEY).toString('base64')}` } });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), VAPID.publicKey);
  });

  for (const format of FORMATS) {
    test(`push.admin.publish to a deviceId and to a clientId is delivered encrypted and VAPID-signed [${format.name}]`, async () => {
      const rest = clients.rest(server, format);
      const client = uniqueName('client');
      const subs = [uniqueName('a'), uniqueName('b')].map((n) => subscription(pushService, n, VAPID.publicKey));
      const ids = [];
      for (const sub of subs) {
        const id = uniqueName('web');
        ids.push(id);
        await rest.push.admin.deviceRegistrations.save({ id, clientId: client, platform: 'browser', formFactor: 'desktop', push: { recipient: sub.recipient } });
      }

      const payload = { notification: { title: 'Your answer is ready', body: 'émoji 😀 and "quotes"' }, data: { responseId: 'resp-1' } };
      await rest.push.admin.publish({ deviceId: ids[0] }, payload);
      assert.deepEqual(await notification(subs[0]), payload);

      await rest.push.admin.publish({ clientId: client }, { ...payload, web: { notification: { title: 'Web title' } } });
      for (const sub of subs) assert.deepEqual(await notification(sub), { notification: { title: 'Web title' }, data: payload.data });

      await rest.push.admin.publish({ ...subs[1].recipient }, { data: { direct: 'yes' } });
      assert.deepEqual(await notification(subs[1]), { data: { direct: 'yes' } });
      assert.equal((await rest.push.admin.deviceRegistrations.get(ids[0])).push.state, 'ACTIVE');
    });

    test(`a channel message with extras.push reaches the channel's device and clientId subscribers, once each [${format.name}]`, async () => {
      const rest = clients.rest(server, format);
      const channelName = uniqueName('push-notify');
      const client = uniqueName('client');
      const byDevice = subscription(pushService, uniqueName('dev-sub'), VAPID.publicKey);
      const byClient = subscription(pushService, uniqueName('client-sub'), VAPID.publicKey);
      const both = subscription(pushService, uniqueName('both-sub'), VAPID.publicKey);
      const save = (sub, clientId) => {
        const id = uniqueName('web');
        return rest.push.admin.deviceRegistrations.save({ id, clientId, platform: 'browser', formFactor: 'desktop', push: { recipient: sub.recipient } }).then(() => id);
      };
      const deviceId = await save(byDevice);
      await save(byClient, client);
      const bothId = await save(both, client);
      await rest.push.admin.channelSubscriptions.save({ channel: channelName, deviceId });
      await rest.push.admin.channelSubscriptions.save({ channel: channelName, clientId: client });
      await rest.push.admin.channelSubscriptions.save({ channel: channelName, deviceId: bothId });

      const realtime = clients.realtime(server, format);
      const channel = realtime.channels.get(channelName);
      // A message without extras.push first: had it made a notification, it would arrive before the real one.
      await channel.publish({ name: 'plain', data: 'no push', extras: { headers: { push: 'not this' } } });
      const push = { notification: { title: 'Agent done', body: 'Open the app' }, data: { channel: channelName } };
      await channel.publish({ name: 'done', data: 'answer', extras: { push } });
      await rest.channels.get(channelName).publish({ name: 'second', extras: { push: { data: { n: '2' } } } });

      for (const sub of [byDevice, byClient, both]) {
        assert.deepEqual(await notification(sub), push);
        assert.deepEqual(await notification(sub), { data: { n: '2' } });
        assert.equal(pushService.pending(sub.path), 0, 'each device is sent each notification once');
      }
    });
  }

  test('failures are recorded on the device: APNs without credentials is FAILING with 103006, a gone web subscription FAILED with 103005', async () => {
    const rest = clients.rest(server, FORMATS[0]);
    const apns = uniqueName('ios');
    await rest.push.admin.deviceRegistrations.save({ id: apns, platform: 'ios', formFactor: 'phone', push: { recipient: { transportType: 'apns', deviceToken: 'abc' } } });
    await rest.push.admin.publish({ deviceId: apns }, { notification: { title: 'x' } });
    const failing = await eventually(async () => {
      const d = await rest.push.admin.deviceRegistrations.get(apns);
      return d.push.state === 'FAILING' && d;
    }, 10000, 'the APNs device to be FAILING');
    assert.equal(failing.push.error.code, 103006);
    assert.match(failing.push.error.message, /APNs/);

    const gone = subscription(pushService, uniqueName('gone'), VAPID.publicKey);
    const web = uniqueName('web');
    await rest.push.admin.deviceRegistrations.save({ id: web, platform: 'browser', formFactor: 'desktop', push: { recipient: gone.recipient } });
    await rest.push.admin.publish({ deviceId: web }, { notification: { title: 'x' } });
    await within(pushService.next(gone.path), 10000, 'the push service to be asked');
    const failed = await eventually(async () => {
      const d = await rest.push.admin.deviceRegistrations.get(web);
      return d.push.state === 'FAILED' && d;
    }, 10000, 'the gone device to be FAILED');
    assert.equal(failed.push.error.code, 103005);
  });
});

describe('two nodes on one redis-server', () => {
  let redis;
  let redisDir;
  let nodes = [];
  before(async () => {
    redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-push-redis-'));
    redis = await startRedis({ port: await freePort(), dir: redisDir });
    const prefix = `${uniqueName('push')}:`;
    nodes = await Promise.all(['a', 'b'].map((n) => startServer({ logName: `push-cluster-${n}`, args: [...vapidArgs, '--redis', `127.0.0.1:${redis.port}`, `--TokenWire:RedisKeyPrefix=${prefix}`] })));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    if (redis) await redis.stop();
    if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
  });

  test('a registration and subscription made on one node are listed on the other, which delivers a channel message\'s notification', async () => {
    const [a, b] = nodes.map((node) => clients.rest(node, FORMATS[0]));
    const sub = subscription(pushService, uniqueName('cluster'), VAPID.publicKey);
    const id = uniqueName('web');
    const channel = uniqueName('push-cluster');
    await a.push.admin.deviceRegistrations.save({ id, clientId: 'dora', platform: 'browser', formFactor: 'desktop', push: { recipient: sub.recipient } });
    await a.push.admin.channelSubscriptions.save({ channel, clientId: 'dora' });

    assert.deepEqual((await b.push.admin.deviceRegistrations.list({ clientId: 'dora' })).items.map((d) => d.id), [id]);
    assert.deepEqual((await b.push.admin.channelSubscriptions.list({ channel })).items.map((s) => s.clientId), ['dora']);

    const push = { notification: { title: 'From node b' } };
    await b.channels.get(channel).publish({ name: 'n', extras: { push } });
    assert.deepEqual(await notification(sub), push);

    await b.push.admin.deviceRegistrations.remove(id);
    assert.equal((await rejection(a.push.admin.deviceRegistrations.get(id))).code, 40400);
  });

  test('a device one node found gone is FAILED on the other, which does not send to it until it is registered again', async () => {
    const [a, b] = nodes.map((node) => clients.rest(node, FORMATS[1]));
    const client = uniqueName('erin');
    const gone = subscription(pushService, uniqueName('cluster-gone'), VAPID.publicKey);
    const good = subscription(pushService, uniqueName('cluster-good'), VAPID.publicKey);
    const [goneId, goodId] = [uniqueName('web'), uniqueName('web')];
    await a.push.admin.deviceRegistrations.save({ id: goneId, clientId: client, platform: 'browser', formFactor: 'desktop', push: { recipient: gone.recipient } });
    await a.push.admin.deviceRegistrations.save({ id: goodId, clientId: client, platform: 'browser', formFactor: 'desktop', push: { recipient: good.recipient } });

    await a.push.admin.publish({ deviceId: goneId }, { data: { n: '1' } });
    await within(pushService.next(gone.path), 10000, 'the push service to be asked');
    const failed = await eventually(async () => {
      const d = await b.push.admin.deviceRegistrations.get(goneId);
      return d.push.state === 'FAILED' && d;
    }, 10000, 'node b to read the device FAILED');
    assert.equal(failed.push.error.code, 103005);

    await b.push.admin.publish({ clientId: client }, { data: { n: '2' } });
    assert.deepEqual(await notification(good), { data: { n: '2' } });
    await b.push.admin.publish({ deviceId: goneId }, { data: { n: '3' } });
    await b.push.admin.publish({ deviceId: goodId }, { data: { n: '4' } });
    assert.deepEqual(await notification(good), { data: { n: '4' } });
    assert.equal(pushService.pending(gone.path), 0, 'node b sent nothing to the FAILED device');

    const fresh = subscription(pushService, uniqueName('cluster-fresh'), VAPID.publicKey);
    assert.equal((await b.push.admin.deviceRegistrations.save({ id: goneId, clientId: client, platform: 'browser', formFactor: 'desktop', push: { recipient: fresh.recipient } })).push.state, 'ACTIVE');
    await a.push.admin.publish({ deviceId: goneId }, { data: { n: '5' } });
    assert.deepEqual(await notification(fresh), { data: { n: '5' } });
  });
});
