import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { pemEncode } from '../certs/index.ts';
import { authorizeCertificate, type Decision } from './authorize.ts';
import type { DeviceEntry, DeviceStore } from './device-store.ts';
import { messageEndpoint, type MessageEndpointOptions } from './e2e/message-endpoint.ts';

/** A logged decision: the verdict plus who asked and when. */
export interface DecisionEvent extends Omit<Decision, 'device'> {
  time: string;
  remote: string;
  hardwareIds?: DeviceEntry['hardwareIds'];
  /** Audit findings the commit recorded (accepted devices). */
  findings?: DeviceEntry['findings'];
  modemKeyReadable?: DeviceEntry['modemKeyReadable'];
}

export interface DeviceServerOptions {
  store: DeviceStore;
  /**
   * CA certificates (DER) offered to clients as acceptable issuers. Default: every CA
   * chain in the store. Acceptance itself is decided per certificate against the store.
   */
  caChain?: Uint8Array[];
  tls: { cert: string; key: string };
  port: number;
  host?: string;
  onDecision?: (e: DecisionEvent) => void;
  /**
   * What to do with an accepted device's connection. Default: send one JSON line
   * `{"accepted":true,"deviceId":...}` and close. Later endpoints take the socket over.
   */
  onDevice?: (socket: TLSSocket, device: DeviceEntry) => void;
  /**
   * End-to-end messages (docs/field.md): accepted connections carry framed envelopes that
   * `messageEndpoint` judges against the same store; its verdicts go to its own
   * `onDecision`. Ignored when `onDevice` is given.
   */
  endToEnd?: Omit<MessageEndpointOptions, 'store'>;
  /** TLS handshake timeout (default 10 s). */
  handshakeTimeoutMs?: number;
  /**
   * Policy on the station's audit (issue 12): a device whose modem key the audit found
   * readable over AT is refused unless this server takes only MCU-sealed payloads from it
   * (the end-to-end endpoint). A stolen modem key then buys an attacker nothing.
   */
  refuseReadableModemKeyUnlessSealed?: boolean;
}

/**
 * The reference mutual-TLS endpoint: requires a client certificate, then accepts only the
 * modem certificate of a committed, unrevoked device in the store; everything else is
 * dropped after the handshake, and every decision is reported through `onDecision`.
 */
export class DeviceServer {
  private readonly sockets = new Set<TLSSocket>();

  private constructor(
    private readonly server: Server,
    private readonly opts: DeviceServerOptions,
  ) {}

  static async start(opts: DeviceServerOptions): Promise<DeviceServer> {
    const caDer = opts.caChain ?? opts.store.checkpoints().flatMap((c) => c.caChainDer);
    const server = createServer({
      cert: opts.tls.cert,
      key: opts.tls.key,
      ca: caDer.map((d) => pemEncode('CERTIFICATE', d)),
      requestCert: true,
      // The decision (and its log line) is ours, made after the handshake.
      rejectUnauthorized: false,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
      minVersion: 'TLSv1.2',
    });
    const ds = new DeviceServer(server, opts);
    server.on('secureConnection', (s) => ds.onConnection(s));
    server.on('tlsClientError', (err, s) => {
      ds.emit({
        accepted: false,
        reason: 'tls-handshake-failed',
        detail: err.message,
        time: new Date().toISOString(),
        remote: `${s.remoteAddress}:${s.remotePort}`,
      });
    });
    server.listen(opts.port, opts.host ?? '127.0.0.1');
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([e]) => {
        throw e;
      }),
    ]);
    return ds;
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : this.opts.port;
  }

  private emit(e: DecisionEvent): void {
    try {
      this.opts.onDecision?.(e);
    } catch {
      // A failing logger must not take the server down.
    }
  }

  /** Whether accepted connections of this server carry only MCU-sealed payloads. */
  private get takesOnlySealedPayloads(): boolean {
    return !this.opts.onDevice && this.opts.endToEnd !== undefined;
  }

  private applyPolicy(d: Decision): Decision {
    if (
      d.accepted &&
      this.opts.refuseReadableModemKeyUnlessSealed &&
      d.device?.modemKeyReadable === true &&
      !this.takesOnlySealedPayloads
    ) {
      return {
        ...d,
        accepted: false,
        reason: 'modem-key-readable',
        detail:
          'the station audit found this modem key readable over AT; this endpoint does not require MCU-sealed payloads',
      };
    }
    return d;
  }

  private onConnection(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(30_000, () => socket.destroy());
    const peer = socket.getPeerCertificate(false);
    const der = peer && 'raw' in peer && peer.raw ? new Uint8Array(peer.raw) : undefined;
    const d = this.applyPolicy(authorizeCertificate(this.opts.store, der));
    const { device, ...rest } = d;
    this.emit({
      ...rest,
      time: new Date().toISOString(),
      remote: `${socket.remoteAddress}:${socket.remotePort}`,
      hardwareIds: device?.hardwareIds,
      findings: device?.findings,
      modemKeyReadable: device?.modemKeyReadable,
    });
    if (!d.accepted || !device) {
      socket.destroy();
      return;
    }
    const onDevice =
      this.opts.onDevice ??
      (this.opts.endToEnd && messageEndpoint({ ...this.opts.endToEnd, store: this.opts.store }));
    if (onDevice) onDevice(socket, device);
    else
      socket.end(
        JSON.stringify({
          accepted: true,
          deviceId: device.deviceId,
          hardwareIds: device.hardwareIds,
          mcuPublicKeyHex: device.mcuPublicKeyHex,
        }) + '\n',
      );
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Starts the reference device server (see DeviceServer). */
export function createDeviceServer(opts: DeviceServerOptions): Promise<DeviceServer> {
  return DeviceServer.start(opts);
}
