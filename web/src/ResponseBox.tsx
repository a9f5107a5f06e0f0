import { useEffect, useRef } from 'react';

interface Props {
  text: string;
  prompt: string | null;
  responseId: string | null;
  streaming: boolean;
}

/** The answer as it streams in, with a blinking cursor while more is coming; follows the end of the text. */
export function ResponseBox({ text, prompt, responseId, streaming }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el && streaming) el.scrollTop = el.scrollHeight;
  }, [text, streaming]);

  return (
    <div className="response-box" ref={box} aria-live="polite" aria-busy={streaming}>
      {prompt && <p className="asked">{prompt}</p>}
      <span data-testid="response" data-response-id={responseId ?? undefined}>
        {text}
      </span>
      {!text && (
        <span className="placeholder">{streaming ? 'Thinking…' : 'Select a prompt below to get started'}</span>
      )}
      {streaming && <span className="cursor" aria-hidden="true" />}
    </div>
  );
}
