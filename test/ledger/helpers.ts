import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Signer } from '../../certs/signer.ts';
import { deriveDeviceId, luhnCheckDigit, type HardwareIds } from '../../certs/hardware-ids.ts';
import type { NewLedgerRecord } from '../../ledger/records.ts';

/** In-memory Ed25519 signer for tests (the station's file signer comes from certs/). */
export function testEd25519Signer(seed = 1): Signer {
  const secret = new Uint8Array(32).fill(seed);
  const pub = ed25519.getPublicKey(secret);
  const spki = new Uint8Array([...Buffer.from('302a300506032b6570032100', 'hex'), ...pub]);
  return {
    algorithm: 'ed25519',
    location: 'memory:test',
    publicKeySpki: () => spki,
    sign: async (data) => ed25519.sign(data, secret),
    dispose: () => secret.fill(0),
  };
}

/** In-memory P-256 signer (DER signatures), for the `ecdsa-p256-sha256` checkpoint path. */
export function testP256Signer(seed = 2): Signer {
  const secret = new Uint8Array(32).fill(seed);
  const pub = p256.getPublicKey(secret, false);
  const spki = new Uint8Array([
    ...Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
    ...pub,
  ]);
  return {
    algorithm: 'ecdsa-p256-sha256',
    location: 'memory:test-p256',
    publicKeySpki: () => spki,
    sign: async (data) => p256.sign(data, secret, { format: 'der' }),
    dispose: () => secret.fill(0),
  };
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `keyline-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Deterministic valid hardware IDs for board number n. */
export function boardIds(n: number): HardwareIds {
  const body = `35${String(n).padStart(12, '0')}`;
  return {
    imei: body + luhnCheckDigit(body),
    iccid: `8949${String(n).padStart(15, '0')}`,
    mcuUid: (0x100000 + n).toString(16).padStart(24, 'a'),
  };
}

const hex64 = (n: number, salt: string) =>
  Buffer.from(`${salt}${n}`.padEnd(32, '.')).toString('hex').slice(0, 64);

export function intentFor(n: number, batch = 'B1'): NewLedgerRecord {
  const hardwareIds = boardIds(n);
  return {
    type: 'intent',
    deviceId: deriveDeviceId(hardwareIds),
    hardwareIds,
    batch,
    slot: `s${n % 8}`,
    profile: 'demo',
    operator: 'op',
    certificates: {
      modem: { serialHex: (0x1000 + n * 2).toString(16), tbsSha256Hex: hex64(n, 'm') },
      mcu: { serialHex: (0x1001 + n * 2).toString(16), tbsSha256Hex: hex64(n, 'u') },
    },
  };
}

export function commitFor(
  n: number,
  intentIndex: number,
  certs?: {
    modemDer: Uint8Array;
    mcuDer: Uint8Array;
    modemSerialHex: string;
    mcuSerialHex: string;
  },
  batch = 'B1',
): NewLedgerRecord {
  const hardwareIds = boardIds(n);
  const modemDer = certs?.modemDer ?? Buffer.from(`modem-cert-${n}`);
  const mcuDer = certs?.mcuDer ?? Buffer.from(`mcu-cert-${n}`);
  const sha = (b: Uint8Array) => hashSync(b).toString('hex');
  return {
    type: 'commit',
    intentIndex,
    deviceId: deriveDeviceId(hardwareIds),
    hardwareIds,
    modem: { model: 'EC25', firmware: 'EC25EFAR06A06M4G' },
    certificates: {
      modem: {
        serialHex: certs?.modemSerialHex ?? (0x1000 + n * 2).toString(16),
        derB64: Buffer.from(modemDer).toString('base64'),
        sha256Hex: sha(modemDer),
      },
      mcu: {
        serialHex: certs?.mcuSerialHex ?? (0x1001 + n * 2).toString(16),
        derB64: Buffer.from(mcuDer).toString('base64'),
        sha256Hex: sha(mcuDer),
      },
    },
    batch,
    slot: `s${n % 8}`,
    profile: 'demo',
    operator: 'op',
  };
}

function hashSync(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}
