interface Props {
  prompts: string[];
  disabled: boolean;
  onPick: (prompt: string) => void;
}

/** The prompts the agent can answer, as buttons. */
export function PromptList({ prompts, disabled, onPick }: Props) {
  return (
    <div className="prompts" data-testid="prompts">
      {prompts.map((prompt) => (
        <button key={prompt} type="button" className="prompt" disabled={disabled} onClick={() => onPick(prompt)}>
          {prompt}
        </button>
      ))}
    </div>
  );
}
