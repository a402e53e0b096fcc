/**
 * The one object the renderer talks to: `window.keyline`, exposed by the preload under
 * Electron, or the WebSocket bridge client in a browser. Both implement this interface.
 */
import type { EventChannel, EventOf, RequestChannel, RequestOf, ResponseOf } from './channels.ts';
import type { Result } from './result.ts';

/** An operator's view can change the station; a watch view (supervisor) only reads. */
export type Access = 'operate' | 'watch';

export interface KeylineApi {
  /** Which transport carries the calls; shown to the operator. */
  readonly transport: 'electron' | 'bridge';
  /** What this view may do (see `watchChannels`); may change when the bridge connects. */
  readonly access: Access;
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
