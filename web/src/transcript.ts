import type { Message } from 'ably';

/** What the agent's `stop` message says about the answer it sent. */
export interface StopInfo {
  reason: string;
  tokenCount?: number;
  textSha256?: string;
  error?: string;
  /** Set by the agent when some token publish failed: the whole answer in one message. */
  fullText?: string;
}

export interface Verification {
  result: 'verified' | 'mismatch' | 'unchecked';
  detail: string;
}

type Headers = Record<string, unknown>;

function headersOf(message: Message): Headers {
  const headers = (message.extras as { headers?: Headers } | undefined)?.headers;
  return headers && typeof headers === 'object' ? headers : {};
}

export function responseIdOf(message: Message): string | undefined {
  const id = headersOf(message).responseId;
  return typeof id === 'string' ? id : undefined;
}

function numberOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * One response, assembled from live messages and history in any order: each message counts once (by id, or
 * serial) and each token once (by its `index` header), so replays and overlaps between history and the live
 * stream can neither lose nor double text.
 */
export class Transcript {
  readonly responseId: string;
  stop: StopInfo | null = null;
  private readonly seen = new Set<string>();
  private readonly tokens = new Map<number, string>();
  private unindexed = 1_000_000_000;

  constructor(responseId: string) {
    this.responseId = responseId;
  }

  /** Adds a message of this response; returns whether anything changed. */
  add(message: Message): boolean {
    if (responseIdOf(message) !== this.responseId) return false;
    const key = message.id ?? message.serial;
    if (key) {
      if (this.seen.has(key)) return false;
      this.seen.add(key);
    }
    const headers = headersOf(message);
    const data = message.data as { token?: unknown; text?: unknown } | undefined;
    if (message.name === 'token') {
      const token = typeof data?.token === 'string' ? data.token : '';
      const index = numberOf(headers.index) ?? this.unindexed++;
      if (this.tokens.has(index)) return false;
      this.tokens.set(index, token);
      return true;
    }
    if (message.name === 'stop' && !this.stop) {
      this.stop = {
        reason: typeof headers.reason === 'string' ? headers.reason : 'complete',
        tokenCount: numberOf(headers.tokenCount),
        textSha256: typeof headers.textSha256 === 'string' ? headers.textSha256.toLowerCase() : undefined,
        error: typeof headers.error === 'string' ? headers.error : undefined,
        fullText: typeof data?.text === 'string' ? data.text : undefined,
      };
      return true;
    }
    return false;
  }

  get tokenCount(): number {
    return this.tokens.size;
  }

  /** The tokens in index order. */
  get text(): string {
    return [...this.tokens.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, token]) => token)
      .join('');
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Checks the text on screen against the `stop` message's token count and SHA-256. */
export async function verify(text: string, tokenCount: number, stop: StopInfo): Promise<Verification> {
  const recovered = stop.fullText !== undefined;
  const problems: string[] = [];
  if (!recovered && stop.tokenCount !== undefined && stop.tokenCount !== tokenCount) {
    problems.push(`received ${tokenCount} of ${stop.tokenCount} tokens`);
  }
  if (stop.textSha256 === undefined) {
    if (problems.length) return { result: 'mismatch', detail: problems.join('; ') };
    return { result: 'unchecked', detail: 'the agent sent no checksum' };
  }
  if (!crypto.subtle) {
    return { result: 'unchecked', detail: 'SHA-256 needs a secure context (https or localhost)' };
  }
  if ((await sha256Hex(text)) !== stop.textSha256) problems.push('SHA-256 of the text differs from the agent’s');
  if (problems.length) return { result: 'mismatch', detail: problems.join('; ') };
  const count = stop.tokenCount ?? tokenCount;
  return {
    result: 'verified',
    detail: recovered
      ? `text recovered from the stop message, SHA-256 ${stop.textSha256.slice(0, 12)}… matches`
      : `${count} tokens, SHA-256 ${stop.textSha256.slice(0, 12)}… matches`,
  };
}
