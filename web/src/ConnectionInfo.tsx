/** The realtime connection's state and this session's channel. */
export function ConnectionInfo({ state, id, channel }: { state: string; id?: string; channel: string }) {
  return (
    <dl className="connection">
      <div>
        <dt>Connection</dt>
        <dd>
          <span className={`conn conn-${state}`} data-testid="connection" data-connection-id={id} title={id && `connection ${id}`}>
            {state}
          </span>
        </dd>
      </div>
      <div>
        <dt>Channel</dt>
        <dd>
          <code data-testid="channel">{channel}</code>
        </dd>
      </div>
    </dl>
  );
}
