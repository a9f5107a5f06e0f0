import type * as Ably from 'ably';

/** Used when the server does not list prompts; the simulated model answers any prompt. */
export const FALLBACK_PROMPTS = ['What is Ably AI Transport?'];

/** The prompts the server's simulated model has written answers for. */
export async function fetchPrompts(): Promise<string[]> {
  const res = await fetch('/demo/prompts', { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET /demo/prompts answered ${res.status}`);
  const prompts: unknown = await res.json();
  return Array.isArray(prompts) && prompts.length ? prompts.filter((p) => typeof p === 'string') : FALLBACK_PROMPTS;
}

/** UTF-8 safe base64, as the Bearer header carries the token base64-encoded (like ably-js does). */
function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function post(token: string, body: object): Promise<Response> {
  return fetch('/agent/prompts', {
    method: 'POST',
    headers: { Authorization: `Bearer ${base64(token)}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Asks the agent to answer `prompt` on `channel`, authenticated with the page's own channel-scoped token. */
export async function sendPrompt(client: Ably.Realtime, channel: string, prompt: string, responseId: string): Promise<void> {
  const body = { channel, prompt, responseId };
  // `auth.tokenDetails` (the token the connection uses) exists at runtime but is not in ably.d.ts.
  const current = (client.auth as unknown as { tokenDetails?: Ably.TokenDetails }).tokenDetails;
  let token = current?.token ?? (await client.auth.authorize()).token;
  let res = await post(token, body);
  if (res.status === 401) {
    // The token may have expired since the connection last renewed it: get a fresh one and try once more.
    token = (await client.auth.authorize()).token;
    res = await post(token, body);
  }
  if (res.status !== 202) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const err = (await res.json()) as { error?: { message?: string } };
      if (err.error?.message) message = err.error.message;
    } catch {
      /* not JSON */
    }
    throw new Error(`The agent did not take the prompt: ${message}`);
  }
}
