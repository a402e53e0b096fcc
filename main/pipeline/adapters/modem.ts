import { openQuectelModem, type ModemWriteReport } from '../../modem/index.ts';
import type { ProductProfile } from '../../profile/schema.ts';
import { SerialTransport } from '../../transport/serial-transport.ts';
import type { BoardModem, OpenOptions } from '../ports.ts';

/**
 * Opens the slot's modem port (8N1), sets up the AT session and reads the identity. The
 * driver owns the transport from here and closes it on failure and on close().
 */
export async function openModem(
  port: string,
  modem: ProductProfile['modem'],
  opts: OpenOptions,
): Promise<BoardModem> {
  const transport = await SerialTransport.open({
    path: port,
    baudRate: modem.baudRate,
    parity: modem.parity,
  });
  const m = await openQuectelModem(transport, {
    slot: opts.slot,
    signal: opts.signal,
  });
  const names = modem.files
    ? {
        cacert: modem.files.caCert,
        clientcert: modem.files.clientCert,
        clientkey: modem.files.clientKey,
      }
    : undefined;
  let lastWrite: ModemWriteReport | undefined;
  return {
    driver: { engine: m.engine, lastWrite: () => lastWrite },
    identity: {
      family: m.identity.family,
      model: m.identity.model,
      firmware: m.identity.firmware,
      imei: m.identity.imei,
      iccid: m.identity.iccid,
    },
    async writeTlsCredentials(creds, { onProgress, signal }) {
      lastWrite = await m.writeTlsCredentials(
        { ...creds, ctx: modem.tlsContext, ...(names ? { names } : {}) },
        {
          signal,
          log: opts.log,
          onProgress: (step, sent, total) =>
            onProgress({
              fraction: total > 0 ? sent / total : 0,
              bytes: sent,
              bytesTotal: total,
              message: step,
            }),
        },
      );
    },
    close: () => m.close(),
  };
}
