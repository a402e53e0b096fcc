import type { EventChannel, EventOf } from '../../contract/channels.ts';
import type { SecretRegistry } from './secret-guard.ts';

export type EventSink = <E extends EventChannel>(channel: E, payload: EventOf<E>) => void;

/**
 * Fan-out of main → renderer events to every connected view (the Electron window, bridge
 * clients). Payloads pass the same secret check as responses; one that fails is dropped
 * and reported to `onBlocked` instead of being sent.
 */
export class EventHub {
  private readonly sinks = new Set<EventSink>();

  constructor(
    private readonly secrets?: SecretRegistry,
    private readonly onBlocked: (channel: EventChannel) => void = () => {},
  ) {}

  /** Adds a sink; returns its removal function. */
  connect(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  emit<E extends EventChannel>(channel: E, payload: EventOf<E>): void {
    if (this.secrets && this.secrets.leaks(JSON.stringify(payload))) {
      this.onBlocked(channel);
      return;
    }
    for (const sink of this.sinks) {
      try {
        sink(channel, payload);
      } catch {
        // A broken view must not stop the others from being updated.
      }
    }
  }
}
