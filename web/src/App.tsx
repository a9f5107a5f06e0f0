import { AblyProvider, ChannelProvider } from 'ably/react';
import { CHANNEL_NAME, createClient } from './ably';
import { AITransportDemo } from './AITransportDemo';

const client = createClient();

/** One client and one channel per page session, provided to the hooks as in the seed. */
export function App() {
  return (
    <AblyProvider client={client}>
      <ChannelProvider channelName={CHANNEL_NAME}>
        <AITransportDemo />
      </ChannelProvider>
    </AblyProvider>
  );
}
