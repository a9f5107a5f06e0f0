// APNs and FCM delivery through the real SDK, against local stand-ins for both providers (nativepush.mjs, HTTP/2 on
// 127.0.0.1) that verify the server's credentials — APNs's ES256 provider token with the .p8 key's public half, FCM's
// RS256 service-account assertion at the token endpoint and the access token it got — and record each request:
// push.admin.publish and channel messages with extras.push in both formats, Ably's payload mapped per provider,
// transient failures retried, permanent ones failing the device until it is registered again; and a server with
// unusable push credentials refusing to start.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './server.mjs';
import { FORMATS, Clients, uniqueName, within, sleep, record } from './helpers.mjs';
import { apnsKey, serviceAccount, startNativePush } from './nativepush.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwire-native-push-'));
const APNS = apnsKey();
const BUNDLE = 'com.example.tokenwire';
let providers;
let server;
let account;
const clients = new Clients('push-native');

/** Device tokens name their fate: "flaky" fails twice with 503, "gone"/"bad" are unknown to the provider. */
function answer(kind, token, count) {
  if (token.includes('flaky') && count <= 2) {
    return kind === 'apns'
      ? { status: 503, body: { reason: 'ServiceUnavailable' } }
      : { status: 503, body: { error: { code: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' } } };
  }
  if (token.includes('gone')) {
    return kind === 'apns'
      ? { status: 410, body: { reason: 'Unregistered', timestamp: Date.now() } }
      : { status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } } };
  }
  if (token.includes('bad')) {
    return kind === 'apns'
      ? { status: 400, body: { reason: 'BadDeviceToken' } }
      : { status: 400, body: { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'The registration token is not a valid FCM registration token', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' }] } } };
  }
  return undefined;
}

before(async () => {
  account = serviceAccount();
  providers = await startNativePush({ apnsPublicKey: APNS.publicKey, fcmPublicKey: account.publicKey, answer });
  account.json.token_uri = `${providers.url}/token`;
  const keyPath = path.join(dir, 'AuthKey_TESTKEY123.p8');
  fs.writeFileSync(keyPath, APNS.pem);
  const accountPath = path.join(dir, 'service-account.json');
  fs.writeFileSync(accountPath, JSON.stringify(account.json));
  server = await startServer({
    logName: 'push-native',
    args: [
      `--TokenWire:Push:Apns:KeyPath=${keyPath}`,
      '--TokenWire:Push:Apns:KeyId=TESTKEY123',
      '--TokenWire:Push:Apns:TeamId=TEAM456789',
      `--TokenWire:Push:Apns:BundleId=${BUNDLE}`,
      `--TokenWire:Push:Apns:BaseUrl=${providers.url}`,
      `--TokenWire:Push:Fcm:ServiceAccountPath=${accountPath}`,
      `--TokenWire:Push:Fcm:BaseUrl=${providers.url}`,
      '--TokenWire:Push:Retry:InitialBackoff=00:00:00.050',
      '--TokenWire:Push:Retry:MaxBackoff=00:00:00.200',
    ],
  });
});
afterEach(() => clients.closeAll());
after(async () => {
  await clients.closeAll();
  if (server) await server.stop();
  if (providers) await providers.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const iosDevice = (id, token, clientId) => ({ id, clientId, platform: 'ios', formFactor: 'phone', push: { recipient: { transportType: 'apns', deviceToken: token } } });
const androidDevice = (id, token, clientId, transportType = 'fcm') => ({ id, clientId, platform: 'android', formFactor: 'phone', push: { recipient: { transportType, registrationToken: token } } });

/** The next APNs request for `token`, its provider token checked (kid, iss, a fresh iat) and its fixed headers. */
async function apnsRequest(token) {
  const request = await within(providers.next(token), 10000, `an APNs request for ${token}`);
  assert.equal(request.kind, 'apns');
  assert.equal(request.auth.header.kid, 'TESTKEY123');
  assert.equal(request.auth.claims.iss, 'TEAM456789');
  assert.ok(Math.abs(request.auth.claims.iat - Date.now() / 1000) < 3700, 'iat within the hour');
  assert.equal(request.headers['apns-topic'], BUNDLE);
  return request;
}

async function fcmRequest(token) {
  const request = await within(providers.next(token), 10000, `an FCM request for ${token}`);
  assert.equal(request.kind, 'fcm');
  assert.equal(request.project, account.json.project_id);
  assert.match(request.auth, /^access-\d+$/);
  return request;
}

/** Polls the registration (every 50 ms) until its push.state is `state`. */
async function deviceState(rest, id, state) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const device = await rest.push.admin.deviceRegistrations.get(id);
    if (device.push.state === state) return device;
    if (Date.now() > deadline) assert.fail(`device ${id} is ${JSON.stringify(device.push)}, not ${state}`);
    await sleep(50);
  }
}

for (const format of FORMATS) {
  describe(`APNs and FCM delivery [${format.name}]`, () => {
    test('push.admin.publish: Ably\'s payload mapped for APNs (aps, headers, data at the root) and FCM v1 (notification, string data, android)', async () => {
      const rest = clients.rest(server, format);
      const [ios, android] = [uniqueName('ios'), uniqueName('android')];
      const [iosToken, fcmToken] = [uniqueName('apns-token'), uniqueName('fcm-token')];
      await rest.push.admin.deviceRegistrations.save(iosDevice(ios, iosToken));
      await rest.push.admin.deviceRegistrations.save(androidDevice(android, fcmToken));
      const payload = {
        notification: { title: 'Your answer is ready', body: 'Tap to read', icon: 'ic_done', sound: 'chime.caf', badge: 3, collapseKey: 'answers' },
        data: { responseId: 'resp-1', tokens: 42 },
      };

      await rest.push.admin.publish({ deviceId: ios }, payload);
      const apns = await apnsRequest(iosToken);
      assert.equal(apns.headers['apns-push-type'], 'alert');
      assert.equal(apns.headers['apns-priority'], '10');
      const expiry = Number(apns.headers['apns-expiration']) - Date.now() / 1000;
      assert.ok(expiry > 86000 && expiry < 86500, `expires in a day (${expiry} s)`);
      assert.deepEqual(apns.body, {
        responseId: 'resp-1',
        tokens: 42,
        aps: { alert: { title: 'Your answer is ready', body: 'Tap to read' }, sound: 'chime.caf', badge: 3, 'thread-id': 'answers' },
      });

      await rest.push.admin.publish({ deviceId: android }, payload);
      const fcm = await fcmRequest(fcmToken);
      assert.deepEqual(fcm.body, {
        message: {
          token: fcmToken,
          notification: { title: 'Your answer is ready', body: 'Tap to read' },
          data: { responseId: 'resp-1', tokens: '42' },
          android: { notification: { icon: 'ic_done', sound: 'chime.caf' }, collapse_key: 'answers' },
        },
      });

      // A direct transport recipient, and a silent (data-only) notification.
      await rest.push.admin.publish({ transportType: 'apns', deviceToken: iosToken }, { data: { silent: 'yes' } });
      const silent = await apnsRequest(iosToken);
      assert.equal(silent.headers['apns-push-type'], 'background');
      assert.equal(silent.headers['apns-priority'], '5');
      assert.deepEqual(silent.body, { silent: 'yes', aps: { 'content-available': 1 } });
      assert.equal((await rest.push.admin.deviceRegistrations.get(ios)).push.state, 'ACTIVE');
    });

    test('a channel message with extras.push reaches apns, fcm and gcm subscribers, each with its platform\'s overrides', async () => {
      const rest = clients.rest(server, format);
      const channelName = uniqueName('push-native');
      const client = uniqueName('client');
      const tokens = { apns: uniqueName('apns-token'), fcm: uniqueName('fcm-token'), gcm: uniqueName('gcm-token') };
      await rest.push.admin.deviceRegistrations.save(iosDevice(uniqueName('ios'), tokens.apns, client));
      await rest.push.admin.deviceRegistrations.save(androidDevice(uniqueName('android'), tokens.fcm, client));
      const gcm = uniqueName('legacy');
      await rest.push.admin.deviceRegistrations.save(androidDevice(gcm, tokens.gcm, undefined, 'gcm'));
      await rest.push.admin.channelSubscriptions.save({ channel: channelName, clientId: client });
      await rest.push.admin.channelSubscriptions.save({ channel: channelName, deviceId: gcm });

      const realtime = clients.realtime(server, format);
      const push = {
        notification: { title: 'Agent done', body: 'Open the app' },
        data: { channel: channelName },
        apns: { aps: { 'mutable-content': 1, alert: { subtitle: 'from TokenWire' } }, 'apns-headers': { 'apns-priority': '5', 'apns-collapse-id': 'agent' } },
        fcm: { android: { priority: 'high', notification: { color: '#00ff00' } }, notification: { title: 'FCM title' } },
      };
      await realtime.channels.get(channelName).publish({ name: 'done', data: 'answer', extras: { push } });

      const apns = await apnsRequest(tokens.apns);
      assert.equal(apns.headers['apns-priority'], '5');
      assert.equal(apns.headers['apns-collapse-id'], 'agent');
      assert.equal(apns.headers['apns-push-type'], 'alert');
      assert.deepEqual(apns.body, { channel: channelName, aps: { alert: { title: 'Agent done', body: 'Open the app', subtitle: 'from TokenWire' }, 'mutable-content': 1 } });
      for (const token of [tokens.fcm, tokens.gcm]) {
        const fcm = await fcmRequest(token);
        assert.deepEqual(fcm.body.message, {
          token,
          notification: { title: 'FCM title', body: 'Open the app' },
          data: { channel: channelName },
          android: { priority: 'high', notification: { color: '#00ff00' } },
        });
      }
      assert.ok(providers.exchanges >= 1 && providers.exchanges <= 2, `the FCM access token is reused (${providers.exchanges} exchanges)`);
    });
  });
}

describe('delivery failures', () => {
  test('503 from APNs and FCM is retried with backoff until delivered; the device stays ACTIVE', async () => {
    const rest = clients.rest(server, FORMATS[0]);
    const [ios, android] = [uniqueName('ios'), uniqueName('android')];
    const [iosToken, fcmToken] = [uniqueName('flaky-apns'), uniqueName('flaky-fcm')];
    await rest.push.admin.deviceRegistrations.save(iosDevice(ios, iosToken));
    await rest.push.admin.deviceRegistrations.save(androidDevice(android, fcmToken));
    await rest.push.admin.publish({ deviceId: ios }, { notification: { title: 'retry me' } });
    await rest.push.admin.publish({ deviceId: android }, { notification: { title: 'retry me' } });
    for (const token of [iosToken, fcmToken]) {
      const attempts = [];
      for (let i = 0; i < 3; i += 1) attempts.push((await within(providers.next(token), 10000, `attempt ${i + 1} for ${token}`)).status);
      assert.deepEqual(attempts, [503, 503, 200]);
    }
    assert.equal((await rest.push.admin.deviceRegistrations.get(ios)).push.state, 'ACTIVE');
    assert.equal((await rest.push.admin.deviceRegistrations.get(android)).push.state, 'ACTIVE');
  });

  test('Unregistered / BadDeviceToken / UNREGISTERED / INVALID_ARGUMENT fail the device (103005); it is not sent to again until registered again', async () => {
    const rest = clients.rest(server, FORMATS[1]);
    const client = uniqueName('client');
    const good = uniqueName('good-apns');
    await rest.push.admin.deviceRegistrations.save(iosDevice(uniqueName('ios'), good, client));
    const failing = [
      iosDevice(uniqueName('ios'), uniqueName('gone-apns'), client),
      iosDevice(uniqueName('ios'), uniqueName('bad-apns'), client),
      androidDevice(uniqueName('android'), uniqueName('gone-fcm'), client),
      androidDevice(uniqueName('android'), uniqueName('bad-fcm'), client),
    ];
    for (const device of failing) await rest.push.admin.deviceRegistrations.save(device);

    await rest.push.admin.publish({ clientId: client }, { notification: { title: 'first' } });
    await apnsRequest(good);
    for (const device of failing) {
      const failed = await deviceState(rest, device.id, 'FAILED');
      assert.equal(failed.push.error.code, 103005);
      assert.equal(failed.push.error.statusCode, 400);
    }
    const tokenOf = (d) => d.push.recipient.deviceToken ?? d.push.recipient.registrationToken;
    assert.deepEqual(failing.map((d) => providers.count(tokenOf(d))), [1, 1, 1, 1], 'each failed once, not retried');
    failing.forEach((d) => providers.next(tokenOf(d)));

    await rest.push.admin.publish({ clientId: client }, { notification: { title: 'second' } });
    await apnsRequest(good);
    // The good device's notification went through after the failed ones would have been dispatched.
    await rest.push.admin.publish({ deviceId: failing[0].id }, { notification: { title: 'direct' } });
    await rest.push.admin.publish({ clientId: client }, { notification: { title: 'third' } });
    await apnsRequest(good);
    assert.deepEqual(failing.map((d) => providers.count(tokenOf(d))), [1, 1, 1, 1], 'a FAILED device is not sent to');

    // Registering again (a new token) makes it ACTIVE and reachable.
    const fresh = uniqueName('fresh-apns');
    const saved = await rest.push.admin.deviceRegistrations.save(iosDevice(failing[0].id, fresh, client));
    assert.equal(saved.push.state, 'ACTIVE');
    await rest.push.admin.publish({ deviceId: failing[0].id }, { notification: { title: 'back' } });
    assert.deepEqual((await apnsRequest(fresh)).body.aps.alert, { title: 'back' });
  });
});

describe('the pushEnabled channel rule (a configured app: push on for the notify namespace only)', () => {
  const KEY = 'pushapp.root:pushapp-secret';
  let ruled;
  before(async () => {
    ruled = await startServer({
      logName: 'push-rule',
      args: [
        '--TokenWire:Apps:0:Id=pushapp',
        '--TokenWire:Apps:0:Keys:0:Id=root',
        '--TokenWire:Apps:0:Keys:0:Secret=pushapp-secret',
        '--TokenWire:Apps:0:Keys:0:Capability={"*":["*"]}',
        '--TokenWire:Apps:0:Namespaces:0:Name=notify',
        '--TokenWire:Apps:0:Namespaces:0:PushEnabled=true',
        '--TokenWire:Apps:0:Namespaces:1:Name=persisted',
        '--TokenWire:Apps:0:Namespaces:1:Persisted=true',
        `--TokenWire:Push:Apns:Key=${APNS.pem}`,
        '--TokenWire:Push:Apns:KeyId=TESTKEY123',
        '--TokenWire:Push:Apns:TeamId=TEAM456789',
        `--TokenWire:Push:Apns:BundleId=${BUNDLE}`,
        `--TokenWire:Push:Apns:BaseUrl=${providers.url}`,
      ],
    });
  });
  after(async () => {
    if (ruled) await ruled.stop();
  });

  for (const format of FORMATS) {
    test(`push subscriptions are refused (40000) on channels without the rule; extras.push there is published without notifications [${format.name}]`, async () => {
      const rest = clients.rest(ruled, format, { key: KEY });
      const client = uniqueName('client');
      const refusedChannels = [uniqueName('plain'), `persisted:${uniqueName('p')}`];
      for (const channel of refusedChannels) {
        const err = await rest.push.admin.channelSubscriptions.save({ channel, clientId: client }).then(() => assert.fail(`subscribed on ${channel}`), (e) => e);
        assert.equal(err.code, 40000);
        assert.equal(err.statusCode, 400);
        assert.match(err.message, /pushEnabled/);
      }
      const listed = (await rest.push.admin.channelSubscriptions.listChannels({})).items;
      assert.ok(refusedChannels.every((c) => !listed.includes(c)), `nothing stored: ${listed}`);

      // On a channel without the rule the message itself is published and delivered as usual.
      const plain = uniqueName('plain');
      const realtime = clients.realtime(ruled, format, { key: KEY });
      const channel = realtime.channels.get(plain);
      const received = record(channel);
      await received.subscribed;
      await channel.publish({ name: 'n', data: 'd', extras: { push: { notification: { title: 'ignored' } } } });
      await within((async () => { while (received.messages.length === 0) await sleep(10); })(), 10000, 'the message to arrive');
      assert.deepEqual(received.messages[0].extras.push, { notification: { title: 'ignored' } });

      // On a push-enabled channel the same publish notifies the channel's subscribers.
      const token = uniqueName('rule-apns');
      const id = uniqueName('ios');
      await rest.push.admin.deviceRegistrations.save(iosDevice(id, token, client));
      const notify = `notify:${uniqueName('n')}`;
      await rest.push.admin.channelSubscriptions.save({ channel: notify, clientId: client });
      await realtime.channels.get(notify).publish({ name: 'n', extras: { push: { notification: { title: 'delivered' } } } });
      assert.deepEqual((await apnsRequest(token)).body.aps.alert, { title: 'delivered' });
    });
  }
});

describe('startup validation of push credentials', () => {
  const refused = async (args, pattern) => {
    const err = await startServer({ logName: 'push-refused', args }).then(
      async (s) => {
        await s.stop();
        assert.fail('the server started with unusable push credentials');
      },
      (e) => e,
    );
    assert.match(err.message, /exited before answering/);
    assert.match(err.message, pattern);
  };

  test('a VAPID private key of the wrong length, a key pair that does not match, an incomplete APNs or a bad FCM account refuse to start', async () => {
    const vapid = ['--TokenWire:Push:Vapid:Subject=mailto:ops@example.com'];
    await refused([...vapid, '--TokenWire:Push:Vapid:PublicKey=BCdJ4x4qOV8iPA1eavwkWcaybypDmFYNTxxSYOLNV2DRoXSCk_U3huFpX3BSAtCXoeEWYMJ2WgkpjCEWzInpn_Q', '--TokenWire:Push:Vapid:PrivateKey=AAAA'], /Vapid:PrivateKey must be a P-256 private key/);
    await refused([...vapid, '--TokenWire:Push:Vapid:PublicKey=BCdJ4x4qOV8iPA1eavwkWcaybypDmFYNTxxSYOLNV2DRoXSCk_U3huFpX3BSAtCXoeEWYMJ2WgkpjCEWzInpn_Q', `--TokenWire:Push:Vapid:PrivateKey=${Buffer.alloc(32, 7).toString('base64url')}`], /Vapid keys are not a valid P-256 key pair|does not belong to PublicKey/);
    await refused(['--TokenWire:Push:Apns:KeyId=ABC'], /Push:Apns is incomplete: set KeyPath \(or Key\), TeamId, BundleId/);
    await refused([`--TokenWire:Push:Fcm:ServiceAccountPath=${path.join(dir, 'missing.json')}`], /Fcm:ServiceAccountPath: cannot read/);
  });
});
