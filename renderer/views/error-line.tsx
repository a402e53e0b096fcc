import type { Failure } from '../../contract/result.ts';

/** One-line error for a form: operator errors in amber, defects in red with their code. */
export function ErrorLine({ error, testId }: { error: Failure | null; testId?: string }) {
  if (!error) return null;
  return (
    <p
      className={error.kind === 'operator' ? 'form-error operator' : 'form-error defect'}
      role="alert"
      data-testid={testId}
    >
      {error.message}
      {error.kind === 'defect' && <span className="code"> [{error.code}]</span>}
    </p>
  );
}
