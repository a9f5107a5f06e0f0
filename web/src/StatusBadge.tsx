export type Status = 'Ready' | 'Streaming' | 'Paused' | 'Complete' | 'Disconnected';

/** The response's state as a pill with a coloured dot. */
export function StatusBadge({ status }: { status: Status }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`}>
      <span className="dot" aria-hidden="true" />
      <span data-testid="status">{status}</span>
    </span>
  );
}
