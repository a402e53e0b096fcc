/**
 * The one object the renderer talks to: `window.keyline`, exposed by the preload under
 * Electron, or the WebSocket bridge client in a browser. Both implement this interface.
 */
import type { EventChannel, EventOf, RequestChannel, RequestOf, ResponseOf } from './channels.ts';
import type { Result } from './result.ts';

export interface KeylineApi {
  /** Which transport carries the calls; shown to the operator. */
  readonly transport: 'electron' | 'bridge';
  call<C extends RequestChannel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>>;
  /** Returns a function that removes the listener. */
  subscribe<E extends EventChannel>(
    channel: E,
    listener: (payload: EventOf<E>) => void,
  ): () => void;
}

declare global {
  interface Window {
    keyline?: KeylineApi;
  }
}
