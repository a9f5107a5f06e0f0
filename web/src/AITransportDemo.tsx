import { useEffect, useRef, useState } from 'react';
import type { ChannelStateChange, ConnectionStateChange, InboundMessage, Message, PaginatedResult } from 'ably';
import { useAbly, useChannel, useChannelStateListener, useConnectionStateListener } from 'ably/react';
import { CHANNEL_NAME, uuid } from './ably';
import { FALLBACK_PROMPTS, fetchPrompts, sendPrompt } from './api';
import { Transcript, responseIdOf, verify, type StopInfo, type Verification } from './transcript';
import { ConnectionInfo } from './ConnectionInfo';
import { PromptList } from './PromptList';
import { ResponseBox } from './ResponseBox';
import { StatusBadge, type Status } from './StatusBadge';
import { VerificationResult } from './VerificationResult';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The seed's flow: pick a prompt, the agent streams `start`, `token`…, `stop` on this session's channel.
 * Disconnect detaches the channel; Reconnect attaches it again and fills the gap from
 * `history({ untilAttach: true })` while buffering live messages, so the answer ends up whole and once.
 */
export function AITransportDemo() {
  const ably = useAbly();
  const [prompts, setPrompts] = useState<string[]>([]);
  const [prompt, setPrompt] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [tokenCount, setTokenCount] = useState(0);
  const [stop, setStop] = useState<StopInfo | null>(null);
  const [verification, setVerification] = useState<Verification | null>(null);
  const [isProcessing, setIsProcessing] = useState(false);
  const [connectionState, setConnectionState] = useState<string>(ably.connection.state);
  const [isChannelDetached, setIsChannelDetached] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const transcript = useRef<Transcript | null>(null);
  const isHydrating = useRef(false);
  const pending = useRef<Message[]>([]);

  /** Folds messages into the current response and publishes the result to the view. */
  const apply = (messages: Message[]) => {
    const t = transcript.current;
    if (!t) return;
    let changed = false;
    for (const m of messages) changed = t.add(m) || changed;
    if (!changed) return;
    setText(t.text);
    setTokenCount(t.tokenCount);
    if (t.stop) {
      setStop(t.stop);
      setIsProcessing(false);
    }
  };

  const { channel } = useChannel(CHANNEL_NAME, (m: Message) => {
    if (!transcript.current || responseIdOf(m) !== transcript.current.responseId) return;
    if (isHydrating.current) pending.current.push(m);
    else apply([m]);
  });

  useConnectionStateListener((change: ConnectionStateChange) => {
    setConnectionState(change.current);
    // Failed is terminal (e.g. the token endpoint refused): say why instead of leaving a dead page.
    if (change.current === 'failed') setError(`Connection failed: ${change.reason?.message ?? 'unknown reason'}`);
  });

  useEffect(() => {
    fetchPrompts()
      .then(setPrompts)
      .catch((err) => {
        setPrompts(FALLBACK_PROMPTS);
        setError(message(err));
      });
  }, []);

  // The answer on screen is the stop message's full text when the agent had to send it that way.
  const shown = stop?.fullText ?? text;

  useEffect(() => {
    if (!stop) {
      setVerification(null);
      return;
    }
    let current = true;
    verify(shown, tokenCount, stop).then(
      (v) => current && setVerification(v),
      (err) => current && setVerification({ result: 'unchecked', detail: message(err) }),
    );
    return () => {
      current = false;
    };
  }, [shown, tokenCount, stop]);

  /** Attach (if needed) and merge everything published before the attach point with what arrives live. */
  const hydrate = async () => {
    isHydrating.current = true;
    pending.current = [];
    const fromHistory: InboundMessage[] = [];
    try {
      await channel.attach();
      const responseId = transcript.current?.responseId;
      if (responseId) {
        let page: PaginatedResult<InboundMessage> | null = await channel.history({ untilAttach: true });
        let reachedStart = false;
        while (page && !reachedStart) {
          for (const m of page.items) {
            if (responseIdOf(m) !== responseId) continue;
            fromHistory.push(m);
            reachedStart ||= m.name === 'start';
          }
          page = !reachedStart && page.hasNext() ? await page.next() : null;
        }
      }
    } catch (err) {
      setError(`Could not catch up from history: ${message(err)}`);
    }
    // History is newest-first: reverse it, then append what arrived live meanwhile (duplicates are dropped).
    const buffered = pending.current;
    pending.current = [];
    isHydrating.current = false;
    apply([...fromHistory.reverse(), ...buffered]);
  };

  // A re-attach that did not resume (e.g. the connection could not be resumed) may have skipped messages.
  useChannelStateListener(CHANNEL_NAME, (change: ChannelStateChange) => {
    // Also emitted as an `update` (attached → attached) when the server re-attaches without continuity.
    const discontinuity = change.current === 'attached' && !change.resumed;
    if (discontinuity && isProcessing && !isChannelDetached && !isHydrating.current) {
      void hydrate();
    }
  });

  const connected = connectionState === 'connected';

  const handlePromptClick = async (picked: string) => {
    if (isProcessing || !connected || isChannelDetached) return;
    const responseId = `request-${uuid()}`;
    transcript.current = new Transcript(responseId);
    setPrompt(picked);
    setText('');
    setTokenCount(0);
    setStop(null);
    setError(null);
    setIsProcessing(true);
    try {
      await sendPrompt(ably, CHANNEL_NAME, picked, responseId);
    } catch (err) {
      if (transcript.current?.responseId === responseId) {
        setError(message(err));
        setIsProcessing(false);
      }
    }
  };

  const handleStop = () => {
    const responseId = transcript.current?.responseId;
    if (!responseId) return;
    channel.publish({ name: 'cancel', extras: { headers: { responseId } } }).catch((err) => setError(message(err)));
  };

  const handleDisconnect = () => {
    setIsChannelDetached(true);
    channel.detach().catch((err) => setError(message(err)));
  };

  const handleReconnect = async () => {
    setIsChannelDetached(false);
    await hydrate();
  };

  const paused = isChannelDetached || !connected;
  const status: Status =
    isProcessing && paused
      ? 'Paused'
      : isProcessing
        ? 'Streaming'
        : stop || text
          ? 'Complete'
          : connected && !isChannelDetached
            ? 'Ready'
            : 'Disconnected';

  return (
    <main className="page">
      <header className="header">
        <div>
          <h1>
            Token<span>Wire</span>
          </h1>
          <p className="tagline">
            AI answers streamed token by token over the Ably protocol — disconnect any time, lose nothing.
          </p>
        </div>
        <ConnectionInfo state={connectionState} id={ably.connection.id} channel={CHANNEL_NAME} />
      </header>

      <section className="card">
        <div className="toolbar">
          <StatusBadge status={status} />
          <div className="actions">
            <button type="button" className="secondary" onClick={handleStop} disabled={!isProcessing}>
              Stop
            </button>
            <button type="button" onClick={isChannelDetached ? handleReconnect : handleDisconnect}>
              {isChannelDetached ? 'Reconnect' : 'Disconnect'}
            </button>
          </div>
        </div>
        <ResponseBox
          text={shown}
          prompt={prompt}
          responseId={transcript.current?.responseId ?? null}
          streaming={isProcessing}
        />
        {isChannelDetached && (
          <p className="note">
            The channel is detached; the agent keeps publishing. Reconnect to catch up from history.
          </p>
        )}
        {stop && <VerificationResult stop={stop} verification={verification} />}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </section>

      <section>
        <h2>Try a prompt</h2>
        <PromptList
          prompts={prompts}
          disabled={isProcessing || !connected || isChannelDetached}
          onPick={handlePromptClick}
        />
      </section>

      <footer className="footer">
        Served by TokenWire · the unmodified <code>ably</code> SDK and <code>ably/react</code> hooks · token auth via{' '}
        <code>/demo/token</code>, no key in the browser
      </footer>
    </main>
  );
}
