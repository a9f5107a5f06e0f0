import { useEffect, useMemo, useState } from 'react';
import { AblyProvider } from 'ably/react';
import { useChat } from '@ai-sdk/react';
import { ChatTransportProvider, useChatTransport, useMessageSync, useView } from '@ably/ai-transport/vercel/react';
import type { UIMessage } from 'ai';
import { createClient, uuid } from './ably';

/** Session channels live in the dev app's `mutable` namespace: the AI Transport SDK appends to its messages. */
const CHAT_PREFIX = 'mutable:ai-chat-';

/** The session's channel comes from the URL (`#/chat/<id>`), so a page reload rejoins the same conversation. */
function chatChannel(): string {
  const match = /^#\/chat\/([A-Za-z0-9-]+)$/.exec(window.location.hash);
  if (match) return CHAT_PREFIX + match[1];
  const id = uuid();
  window.history.replaceState(null, '', `#/chat/${id}`);
  return CHAT_PREFIX + id;
}

/**
 * The second demo page: Vercel `useChat` over `@ably/ai-transport` 0.8 (`createChatTransport` through its
 * ChatTransportProvider) against the server's C# agent at POST /agent/chat. Refresh closes the client session and
 * builds a new one on the same channel, which reloads the conversation from history; Stop cancels the active run.
 */
export function ChatPage() {
  const channel = useMemo(chatChannel, []);
  const client = useMemo(() => createClient(channel), [channel]);
  const [generation, setGeneration] = useState(0);
  return (
    <AblyProvider client={client}>
      <ChatTransportProvider key={generation} channelName={channel} api="/agent/chat">
        <Chat channel={channel} generation={generation} onRefresh={() => setGeneration((g) => g + 1)} />
      </ChatTransportProvider>
    </AblyProvider>
  );
}

function Chat({ channel, generation, onRefresh }: { channel: string; generation: number; onRefresh: () => void }) {
  const [input, setInput] = useState('');
  const { session, chatTransport } = useChatTransport();
  const { messages, setMessages, sendMessage, status, error } = useChat({ id: `${channel}#${generation}`, transport: chatTransport });
  useMessageSync({ setMessages });

  // The conversation so far: the first page loads on mount, then the rest, page by page.
  const view = useView({ limit: 100 });
  const { hasOlder, loadOlder } = view;
  useEffect(() => {
    if (hasOlder) void loadOlder().catch(() => undefined);
  }, [hasOlder, loadOlder]);

  const runs = session?.view.runs() ?? [];
  const active = runs.find((run) => run.status === 'active');
  const runStatus = runs.at(-1)?.status ?? 'none';
  // The old session is closed (its channel detached) before the new one attaches; overlapping, the old session's
  // detach would land on the new session's attachment.
  const refresh = async () => {
    await session?.close().catch(() => undefined);
    onRefresh();
  };
  const stop = () => {
    if (active && session) void session.cancel(active.runId);
  };

  return (
    <div className="chat">
      <div className="chat-bar">
        <code data-testid="chat-channel">{channel}</code>
        <span data-testid="run-status" data-status={runStatus}>
          run: {runStatus}
        </span>
        <span data-testid="chat-status">{status}</span>
        <button type="button" data-testid="chat-refresh" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      <ol className="chat-messages" data-testid="chat-messages">
        {messages.map((message) => (
          <li key={message.id} data-testid="chat-message" data-role={message.role} className={`chat-${message.role}`}>
            <strong>{message.role === 'user' ? 'You' : 'Agent'}: </strong>
            <MessageParts message={message} />
          </li>
        ))}
      </ol>
      {error ? <p className="error">{error.message}</p> : null}
      <form
        className="chat-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (!input.trim()) return;
          void sendMessage({ text: input });
          setInput('');
        }}
      >
        <input
          data-testid="chat-input"
          value={input}
          placeholder="Ask something — try “What is the weather in Paris?”"
          onChange={(event) => setInput(event.target.value)}
        />
        <button type="submit" data-testid="chat-send">
          Send
        </button>
        <button type="button" data-testid="chat-stop" onClick={stop} disabled={!active}>
          Stop
        </button>
      </form>
    </div>
  );
}

/** Plain rendering: text and reasoning as text, a tool call as its name, input and output. */
function MessageParts({ message }: { message: UIMessage }) {
  return (
    <>
      {message.parts.map((part, i) => {
        if (part.type === 'text') return <span key={i} data-testid="chat-text">{part.text}</span>;
        if (part.type === 'reasoning') return <em key={i}>{part.text}</em>;
        if (part.type.startsWith('tool-') && 'toolCallId' in part) {
          const tool = part as { type: string; state: string; input?: unknown; output?: unknown };
          return (
            <code key={i} className="chat-tool" data-testid="chat-tool" data-state={tool.state}>
              {tool.type.slice(5)}({JSON.stringify(tool.input)}) → {tool.state === 'output-available' ? JSON.stringify(tool.output) : tool.state}
            </code>
          );
        }
        return null;
      })}
    </>
  );
}
