import * as Ably from 'ably';

/** In `npm run dev` the page comes from Vite while the TokenWire server listens on this port. */
const DEV_SERVER_PORT = 8080;

/** A random UUID; `crypto.randomUUID` only exists in secure contexts (https, localhost). */
export function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** One channel per page session, as in the seed. */
export const CHANNEL_NAME = `ai-transport-${uuid()}`;

/**
 * `?transport=xhr_polling` runs the page over HTTP long polling (ably-js's fallback where WebSockets are blocked);
 * anything else, the WebSocket.
 */
function transports(): Ably.Transport[] {
  return new URLSearchParams(window.location.search).get('transport') === 'xhr_polling' ? ['xhr_polling'] : ['web_socket'];
}

/**
 * The realtime client talks to the server the page came from: host, port and TLS from `window.location`.
 * It never sees a key: `/demo/token` returns a token limited to this page's channel.
 */
export function createClient(channel: string = CHANNEL_NAME): Ably.Realtime {
  const { hostname, port, protocol } = window.location;
  const tls = protocol === 'https:';
  const serverPort = import.meta.env.DEV ? DEV_SERVER_PORT : Number(port) || (tls ? 443 : 80);
  // ably-js takes `endpoint` verbatim only for localhost, IPs and dotted names; a bare word like `tokenwire`
  // would be expanded to `tokenwire.realtime.ably.net`, so single-label hosts go through `restHost` instead.
  const verbatim = hostname === 'localhost' || hostname.includes('.') || hostname.includes(':');
  return new Ably.Realtime({
    ...(verbatim ? { endpoint: hostname } : { restHost: hostname }),
    port: serverPort,
    tlsPort: serverPort,
    tls,
    authUrl: '/demo/token',
    authParams: { channel },
    transports: transports(),
    fallbackHosts: [],
    disableConnectivityCheck: true,
  });
}
