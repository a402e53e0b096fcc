import type { TLSSocket } from 'node:tls';
import {
  EnvelopeError,
  HEADER_LENGTH,
  MAX_PLAINTEXT,
  TAG_LENGTH,
  openFromDevice,
  parseEnvelopeHeader,
  type EnvelopeHeader,
} from '../envelope/envelope.ts';
import { ReplayWindow } from '../envelope/replay-window.ts';
import type { DeviceEntry, DeviceStore } from '../device-store.ts';

/** Why the server refused one envelope (docs/envelope.md, "What the server checks"). */
export type MessageRejectReason =
  | 'malformed'
  | 'unsupported'
  | 'too-large'
  | 'unknown-key'
  | 'device-mismatch'
  | 'revoked'
  | 'bad-tag'
  | 'replay'
  /** The server could not decide (its store failed); the connection is closed. */
  | 'server-error';

/** One verdict on one framed envelope; logged as one JSON line. */
export interface MessageDecision {
  event: 'message';
  time: string;
  remote: string;
  accepted: boolean;
  reason: 'accepted' | MessageRejectReason;
  /** The device whose TLS client certificate carried the connection. */
  tlsDeviceId: string;
  /** The device the envelope's key ID names, when one does. */
  keyDeviceId?: string;
  keyIdHex?: string;
  /** Decimal, as the envelope header carries it. */
  counter?: string;
  envelopeBytes: number;
  detail: string;
}

/** The server's end-to-end key pair (P-256; the public half is in every blob). */
export interface EndToEndServerKey {
  privateKey: Uint8Array;
  /** Uncompressed, 65 bytes. */
  publicKey: Uint8Array;
}

/** An envelope that passed every check, with its plaintext. */
export interface AcceptedMessage {
  device: DeviceEntry;
  counter: bigint;
  plaintext: Uint8Array;
}

/** Smallest and largest frame body: header + tag, and header + MAX_PLAINTEXT + tag. */
export const MIN_FRAME = HEADER_LENGTH + TAG_LENGTH;
export const MAX_FRAME = HEADER_LENGTH + MAX_PLAINTEXT + TAG_LENGTH;

export type Verdict =
  | { ok: true; message: AcceptedMessage; header: EnvelopeHeader; keyDevice: DeviceEntry }
  | {
      ok: false;
      reason: MessageRejectReason;
      detail: string;
      header?: EnvelopeHeader;
      keyDevice?: DeviceEntry;
    };

const sameRecord = (a: DeviceEntry, b: DeviceEntry) =>
  a.stationId === b.stationId && a.commitIndex === b.commitIndex;

/**
 * Decides on one envelope that arrived over `tlsDevice`'s authenticated connection, in the
 * order docs/envelope.md gives, and records its counter in the device's persisted replay
 * window when it is accepted. Pure apart from the store.
 */
export function judgeEnvelope(
  store: DeviceStore,
  key: EndToEndServerKey,
  tlsDevice: DeviceEntry,
  envelope: Uint8Array,
): Verdict {
  let header: EnvelopeHeader;
  try {
    header = parseEnvelopeHeader(envelope);
  } catch (e) {
    if (e instanceof EnvelopeError && e.reason !== 'bad-key')
      return { ok: false, reason: e.reason, detail: e.message };
    throw e;
  }
  const candidates = store.devicesByEnvelopeKeyId(header.keyIdHex);
  if (candidates.length === 0)
    return {
      ok: false,
      reason: 'unknown-key',
      detail: 'no committed device has this key ID',
      header,
    };
  const keyDevice = candidates.find((d) => sameRecord(d, tlsDevice));
  if (!keyDevice)
    return {
      ok: false,
      reason: 'device-mismatch',
      detail: `key ID belongs to ${candidates[0].deviceId}, the TLS session to ${tlsDevice.deviceId}`,
      header,
      keyDevice: candidates[0],
    };
  if (keyDevice.revoked)
    return {
      ok: false,
      reason: 'revoked',
      detail: `revoked at ledger index ${keyDevice.revoked.index}: ${keyDevice.revoked.reason}`,
      header,
      keyDevice,
    };
  const mcuPublicKey = new Uint8Array(Buffer.from(keyDevice.mcuPublicKeyHex, 'hex'));
  let opened: ReturnType<typeof openFromDevice>;
  try {
    opened = openFromDevice(envelope, key.privateKey, key.publicKey, mcuPublicKey);
  } catch (e) {
    // A committed MCU key that is not a valid point cannot produce a valid tag either.
    if (e instanceof EnvelopeError)
      return { ok: false, reason: 'bad-tag', detail: e.message, header, keyDevice };
    throw e;
  }
  if (!opened.ok)
    return { ok: false, reason: 'bad-tag', detail: 'GCM tag does not verify', header, keyDevice };
  const stored = store.replayWindow(keyDevice.stationId, keyDevice.commitIndex);
  const window = stored
    ? ReplayWindow.restore(stored.highest, stored.seenBits)
    : new ReplayWindow();
  const fresh = window.check(header.counter);
  if (fresh !== 'fresh') {
    opened.plaintext.fill(0);
    return {
      ok: false,
      reason: 'replay',
      detail: `counter ${header.counter} ${fresh === 'too-old' ? 'is below the window' : 'already accepted'} (highest ${window.highestAccepted})`,
      header,
      keyDevice,
    };
  }
  window.accept(header.counter);
  store.saveReplayWindow(keyDevice.stationId, keyDevice.commitIndex, {
    highest: window.highestAccepted,
    seenBits: window.seenBits,
  });
  return {
    ok: true,
    header,
    keyDevice,
    message: { device: keyDevice, counter: header.counter, plaintext: opened.plaintext },
  };
}

export interface MessageEndpointOptions {
  store: DeviceStore;
  key: EndToEndServerKey;
  /** Every verdict, accepted or not (the caller prints it as a JSON line). */
  onDecision?: (d: MessageDecision) => void;
  onMessage?: (m: AcceptedMessage) => void;
  /** A connection that sends no complete frame for this long is closed. Default 60 s. */
  idleTimeoutMs?: number;
}

/** The answer line for one frame (docs/field.md). */
export function answerLine(v: Verdict): string {
  return v.ok ? `ok ${v.header.counter}\n` : `rejected ${v.reason}\n`;
}

/**
 * The device server's `onDevice` hook for end-to-end messages: reads frames of a 2-byte
 * big-endian length and that many envelope bytes from an authenticated connection, answers
 * each with one line (`ok <counter>` or `rejected <reason>`), and reports every verdict.
 * A length outside MIN_FRAME..MAX_FRAME is answered, then the connection is closed, since
 * the stream can no longer be trusted to be in step.
 */
export function messageEndpoint(
  opts: MessageEndpointOptions,
): (socket: TLSSocket, device: DeviceEntry) => void {
  const emit = (d: MessageDecision) => {
    try {
      opts.onDecision?.(d);
    } catch {
      // A failing logger must not take the connection down.
    }
  };
  return (socket, tlsDevice) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    let pending: Buffer = Buffer.alloc(0);
    socket.setTimeout(opts.idleTimeoutMs ?? 60_000, () => socket.destroy());
    const decide = (v: Verdict, bytes: number) => {
      emit({
        event: 'message',
        time: new Date().toISOString(),
        remote,
        accepted: v.ok,
        reason: v.ok ? 'accepted' : v.reason,
        tlsDeviceId: tlsDevice.deviceId,
        keyDeviceId: v.keyDevice?.deviceId,
        keyIdHex: v.header?.keyIdHex,
        counter: v.header?.counter.toString(),
        envelopeBytes: bytes,
        detail: v.ok ? 'envelope accepted' : v.detail,
      });
      if (v.ok) {
        try {
          opts.onMessage?.(v.message);
        } catch {
          // The application's handler failing is not the device's fault.
        }
      }
      socket.write(answerLine(v));
    };
    let hungUp = false;
    const hangUp = () => {
      hungUp = true;
      pending = Buffer.alloc(0);
      socket.end();
    };
    socket.on('data', (chunk: Buffer) => {
      if (hungUp) return;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (length < MIN_FRAME || length > MAX_FRAME) {
          const reason = length > MAX_FRAME ? 'too-large' : 'malformed';
          decide({ ok: false, reason, detail: `frame length ${length}` }, length);
          hangUp();
          return;
        }
        if (pending.length < 2 + length) break;
        const envelope = new Uint8Array(pending.subarray(2, 2 + length));
        pending = pending.subarray(2 + length);
        let verdict: Verdict;
        try {
          verdict = judgeEnvelope(opts.store, opts.key, tlsDevice, envelope);
        } catch (e) {
          // Never an uncaught exception in a socket handler: refuse, say why, hang up.
          decide({ ok: false, reason: 'server-error', detail: (e as Error).message }, length);
          hangUp();
          return;
        }
        decide(verdict, length);
      }
    });
  };
}
