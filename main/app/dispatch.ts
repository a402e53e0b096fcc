/**
 * The one validation path for every message from a renderer, whichever transport carried
 * it (Electron IPC or the loopback bridge): known channel, strict schema, handler, errors
 * turned into data, and a secret check on the way out.
 */
import type { ZodType } from 'zod';
import type { RequestChannel, RequestOf, ResponseOf } from '../../contract/channels.ts';
import { isRequestChannel } from '../../contract/channels.ts';
import type { Result } from '../../contract/result.ts';
import { requestSchemas } from '../../contract/schemas.ts';
import { failure, toFailure } from './errors.ts';
import type { SecretRegistry } from './secret-guard.ts';

/** What main implements: one function per request channel. */
export type Handlers = {
  [C in RequestChannel]: (request: RequestOf<C>) => Promise<ResponseOf<C>>;
};

function describeIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(request)'}: ${i.message}`)
    .join('; ');
}

/**
 * Validates `raw` against `schema` and runs `fn`; never throws. Used by
 * main/electron/ipc.ts `handle()` and by the bridge, so both refuse the same messages.
 */
export async function runValidated<T, R>(
  channel: string,
  schema: ZodType<T>,
  fn: (request: T) => Promise<R>,
  raw: unknown,
  secrets?: SecretRegistry,
): Promise<Result<R>> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return failure('invalid-request', `${channel}: ${describeIssues(parsed.error)}`, { channel });
  }
  let result: Result<R>;
  try {
    result = { ok: true, value: await fn(parsed.data) };
  } catch (e) {
    result = toFailure(e);
  }
  if (secrets && secrets.leaks(JSON.stringify(result))) {
    return failure(
      'secret-blocked',
      `${channel}: response withheld (it contained secret material)`,
      {
        channel,
      },
    );
  }
  return result;
}

/** Dispatches by channel name, refusing names outside the contract. */
export function createDispatcher(handlers: Handlers, secrets?: SecretRegistry) {
  return async function dispatch(channel: unknown, raw: unknown): Promise<Result<unknown>> {
    if (!isRequestChannel(channel)) {
      return failure(
        'invalid-request',
        `unknown channel ${JSON.stringify(String(channel)).slice(0, 80)}`,
      );
    }
    const schema = requestSchemas[channel] as ZodType<unknown>;
    const fn = handlers[channel] as (request: unknown) => Promise<unknown>;
    return runValidated(channel, schema, fn, raw, secrets);
  };
}

export type Dispatch = ReturnType<typeof createDispatcher>;
