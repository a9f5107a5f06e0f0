import { useEffect, useMemo, useState } from 'react';
import { AblyProvider } from 'ably/react';
import { useChat } from '@ai-sdk/react';
import { ChatTransportProvider, useChatTransport, useMessageSync, useView } from '@ably/ai-transport/vercel/react';
import { lastAssistantMessageIsCompleteWithApprovalResponses, lastAssistantMessageIsCompleteWithToolCalls, type UIMessage } from 'ai';
import { createClient, uuid } from './ably';

/** Session channels live in the dev app's `mutable` namespace: the AI Transport SDK appends to its messages. */
const CHAT_PREFIX = 'mutable:ai-chat-';

/** What "Share location" answers the client tool `get_location` with: a fixed place, the demo reads no real location. */
const DEMO_LOCATION = { city: 'Lisbon' };

/**
 * A suspended run goes on once every pending call in the reply is answered: useChat resubmits then, and the transport
 * turns that into a tool result (a new run) or an approval response (the suspended run resumes).
 */
const answeredAllCalls = (options: { messages: UIMessage[] }) =>
  lastAssistantMessageIsCompleteWithToolCalls(options) || lastAssistantMessageIsCompleteWithApprovalResponses(options);

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
 * A run suspended on the client tool `get_location` or on a call that needs approval waits for the buttons under it.
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
  const { messages, setMessages, sendMessage, addToolOutput, addToolApprovalResponse, status, error } = useChat({
    id: `${channel}#${generation}`,
    transport: chatTransport,
    sendAutomaticallyWhen: answeredAllCalls,
  });
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
            <MessageParts
              message={message}
              onShareLocation={(toolCallId) => void addToolOutput({ tool: 'get_location', toolCallId, output: DEMO_LOCATION })}
              onApproval={(id, approved) => void addToolApprovalResponse({ id, approved })}
            />
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
          placeholder="Ask something — try “What is the weather in Paris?”, “Where am I?” or “Book a table in Paris”"
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

/** A tool part as `MessageParts` reads it; the AI SDK types it per tool, the page knows its tools only by name. */
type ToolPart = {
  type: string;
  toolCallId: string;
  state: string;
  input?: unknown;
  output?: unknown;
  errorText?: string;
  approval?: { id: string };
};

/**
 * Plain rendering: text and reasoning as text, a tool call as its name, input and outcome. A call waiting for the user
 * gets its controls below it: "Share location" for `get_location` (the client tool), Approve / Deny for a call that
 * needs approval.
 */
function MessageParts({
  message,
  onShareLocation,
  onApproval,
}: {
  message: UIMessage;
  onShareLocation: (toolCallId: string) => void;
  onApproval: (approvalId: string, approved: boolean) => void;
}) {
  return (
    <>
      {message.parts.map((part, i) => {
        if (part.type === 'text') return <span key={i} data-testid="chat-text">{part.text}</span>;
        if (part.type === 'reasoning') return <em key={i}>{part.text}</em>;
        if (part.type.startsWith('tool-') && 'toolCallId' in part) {
          const tool = part as ToolPart;
          const name = tool.type.slice(5);
          const approval = tool.state === 'approval-requested' ? tool.approval : undefined;
          return (
            <span key={i}>
              <code className="chat-tool" data-testid="chat-tool" data-state={tool.state}>
                {name}({JSON.stringify(tool.input)}) → {toolOutcome(tool)}
              </code>
              {name === 'get_location' && tool.state === 'input-available' ? (
                <span className="chat-tool-actions">
                  <button type="button" data-testid="tool-share-location" onClick={() => onShareLocation(tool.toolCallId)}>
                    Share location
                  </button>
                </span>
              ) : null}
              {approval ? (
                <span className="chat-tool-actions">
                  <button type="button" data-testid="tool-approve" onClick={() => onApproval(approval.id, true)}>
                    Approve
                  </button>
                  <button type="button" className="secondary" data-testid="tool-deny" onClick={() => onApproval(approval.id, false)}>
                    Deny
                  </button>
                </span>
              ) : null}
            </span>
          );
        }
        return null;
      })}
    </>
  );
}

function toolOutcome(tool: ToolPart): string {
  switch (tool.state) {
    case 'output-available':
      return JSON.stringify(tool.output);
    case 'output-denied':
      return 'denied';
    case 'output-error':
      return `error: ${tool.errorText ?? ''}`;
    default:
      return tool.state;
  }
}
