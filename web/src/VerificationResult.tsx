import type { StopInfo, Verification } from './transcript';

const REASONS: Record<string, string> = {
  complete: 'Finished',
  cancelled: 'Cancelled',
  error: 'Agent error',
};

/**
 * The second view of the answer: after `stop`, whether the text on screen has the token count and SHA-256 the
 * agent announced.
 */
export function VerificationResult({ stop, verification }: { stop: StopInfo; verification: Verification | null }) {
  const result = verification?.result ?? 'checking';
  return (
    <div className={`verification verification-${result}`}>
      <span className={`reason reason-${stop.reason}`} data-testid="stop-reason" data-reason={stop.reason}>
        {REASONS[stop.reason] ?? stop.reason}
      </span>
      {stop.error && <span className="stop-error">{stop.error}</span>}
      <span data-testid="verified" data-result={result} title={verification?.detail}>
        {result === 'verified' && <>✓ verified</>}
        {result === 'mismatch' && <>⚠ Incomplete or altered answer</>}
        {result === 'unchecked' && <>Could not check the answer</>}
        {result === 'checking' && <>checking…</>}
      </span>
      {verification && <span className="detail">{verification.detail}</span>}
    </div>
  );
}
