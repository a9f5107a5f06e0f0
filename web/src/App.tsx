import { useEffect, useState } from 'react';
import { AblyProvider, ChannelProvider } from 'ably/react';
import { CHANNEL_NAME, createClient } from './ably';
import { AITransportDemo } from './AITransportDemo';
import { ChatPage } from './ChatPage';

const isChat = () => window.location.hash.startsWith('#/chat');

/** Two pages: the seed's message-per-token demo at `/`, and `useChat` over AI Transport at `#/chat`. */
export function App() {
  const [chat, setChat] = useState(isChat);
  useEffect(() => {
    const onHash = () => setChat(isChat());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return (
    <>
      <nav className="pages">
        <a href="#/" className={chat ? '' : 'current'}>
          Message per token
        </a>
        <a href="#/chat" className={chat ? 'current' : ''} data-testid="nav-chat">
          useChat + AI Transport (C# agent)
        </a>
      </nav>
      {chat ? <ChatPage /> : <TokenDemo />}
    </>
  );
}

let tokenClient: ReturnType<typeof createClient> | undefined;

/** One client and one channel per page session, provided to the hooks as in the seed. */
function TokenDemo() {
  tokenClient ??= createClient();
  return (
    <AblyProvider client={tokenClient}>
      <ChannelProvider channelName={CHANNEL_NAME}>
        <AITransportDemo />
      </ChannelProvider>
    </AblyProvider>
  );
}
