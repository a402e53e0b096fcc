import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { HardwareIds } from '../certs/hardware-ids.ts';
import type { Finding } from '../ledger/records.ts';

/** A committed device as the server knows it. */
export interface DeviceEntry {
  deviceId: string;
  stationId: string;
  commitIndex: number;
  hardwareIds: HardwareIds;
  modem: { model: string; firmware: string };
  modemCertSha256Hex: string;
  mcuCertSha256Hex: string;
  modemSerialHex: string;
  mcuSerialHex: string;
  /** Raw public key of the MCU's own key pair (uncompressed P-256), for end-to-end messages. */
  mcuPublicKeyHex: string;
  batch: string;
  committedAt: string;
  revoked: { index: number; at: string; reason: string } | null;
  findings: Finding[];
  modemKeyReadable: boolean | null;
}

/** What an import leaves behind per station: the newest checkpoint and its trust roots. */
export interface StoredCheckpoint {
  stationId: string;
  treeSize: number;
  rootHashHex: string;
  checkpointJson: string;
  stationSpkiB64: string;
  /** Issuing CA first, root last (DER). */
  caChainDer: Uint8Array[];
}

export interface RevokedSerialEntry {
  serialHex: string;
  stationId: string;
  index: number;
  at: string;
  kind: 'abort' | 'revoke';
}

/** Writes of one import; nothing is visible until `commit`. */
export interface DeviceStoreImport {
  addDevice(d: DeviceEntry): void;
  revokeSerial(e: RevokedSerialEntry): void;
  /** Marks the device committed at `commitIndex` revoked. */
  revokeDevice(
    stationId: string,
    commitIndex: number,
    revoked: NonNullable<DeviceEntry['revoked']>,
  ): void;
  commit(checkpoint: StoredCheckpoint): void;
  rollback(): void;
}

/**
 * Where the server keeps what it imported. SQLite (`SqliteDeviceStore`) by default; a fleet
 * can back this with PostgreSQL — imports are one transaction, lookups are by fingerprint.
 */
export interface DeviceStore {
  checkpoint(stationId: string): StoredCheckpoint | undefined;
  /** Every station imported so far. */
  checkpoints(): StoredCheckpoint[];
  beginImport(): DeviceStoreImport;
  deviceByCertificate(sha256Hex: string): DeviceEntry | undefined;
  devicesById(deviceId: string): DeviceEntry[];
  revokedSerial(serialHex: string): RevokedSerialEntry | undefined;
  /**
   * Devices whose MCU key has this envelope key ID (SHA-256(MCU public key)[0..8], hex);
   * normally one, more only on a key-ID collision or a re-committed MCU key.
   */
  devicesByEnvelopeKeyId(keyIdHex: string): DeviceEntry[];
  /** The persisted end-to-end replay window of one committed device, if it sent anything. */
  replayWindow(stationId: string, commitIndex: number): StoredReplayWindow | undefined;
  saveReplayWindow(stationId: string, commitIndex: number, w: StoredReplayWindow): void;
  close(): void;
}

/** A replay window as persisted: highest counter accepted and the bitmap below it. */
export interface StoredReplayWindow {
  highest: bigint;
  seenBits: bigint;
}

/** The envelope key ID of an uncompressed MCU public key given as hex (docs/envelope.md). */
export function envelopeKeyIdHex(mcuPublicKeyHex: string): string {
  return createHash('sha256')
    .update(Buffer.from(mcuPublicKeyHex, 'hex'))
    .digest()
    .subarray(0, 8)
    .toString('hex');
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  station_id TEXT NOT NULL,
  commit_index INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  imei TEXT NOT NULL, iccid TEXT NOT NULL, mcu_uid TEXT NOT NULL,
  modem_model TEXT NOT NULL, modem_firmware TEXT NOT NULL,
  modem_cert_sha256 TEXT NOT NULL, mcu_cert_sha256 TEXT NOT NULL,
  modem_serial TEXT NOT NULL, mcu_serial TEXT NOT NULL,
  mcu_public_key TEXT NOT NULL,
  batch TEXT NOT NULL, committed_at TEXT NOT NULL,
  revoked_index INTEGER, revoked_at TEXT, revoke_reason TEXT,
  findings TEXT NOT NULL, modem_key_readable INTEGER,
  PRIMARY KEY (station_id, commit_index)
);
CREATE INDEX IF NOT EXISTS devices_modem_cert ON devices (modem_cert_sha256);
CREATE INDEX IF NOT EXISTS devices_mcu_cert ON devices (mcu_cert_sha256);
CREATE INDEX IF NOT EXISTS devices_device_id ON devices (device_id);
CREATE TABLE IF NOT EXISTS revoked_serials (
  serial TEXT PRIMARY KEY, station_id TEXT NOT NULL, record_index INTEGER NOT NULL,
  at TEXT NOT NULL, kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS envelope_keys (
  key_id TEXT NOT NULL, station_id TEXT NOT NULL, commit_index INTEGER NOT NULL,
  PRIMARY KEY (station_id, commit_index)
);
CREATE INDEX IF NOT EXISTS envelope_keys_key_id ON envelope_keys (key_id);
CREATE TABLE IF NOT EXISTS replay_windows (
  station_id TEXT NOT NULL, commit_index INTEGER NOT NULL,
  highest TEXT NOT NULL, seen TEXT NOT NULL,
  PRIMARY KEY (station_id, commit_index)
);
CREATE TABLE IF NOT EXISTS checkpoints (
  station_id TEXT PRIMARY KEY, tree_size INTEGER NOT NULL, root_hash TEXT NOT NULL,
  checkpoint_json TEXT NOT NULL, station_spki TEXT NOT NULL, ca_chain TEXT NOT NULL
);
`;

interface DeviceRow {
  station_id: string;
  commit_index: number;
  device_id: string;
  imei: string;
  iccid: string;
  mcu_uid: string;
  modem_model: string;
  modem_firmware: string;
  modem_cert_sha256: string;
  mcu_cert_sha256: string;
  modem_serial: string;
  mcu_serial: string;
  mcu_public_key: string;
  batch: string;
  committed_at: string;
  revoked_index: number | null;
  revoked_at: string | null;
  revoke_reason: string | null;
  findings: string;
  modem_key_readable: number | null;
}

interface CheckpointRow {
  station_id: string;
  tree_size: number;
  root_hash: string;
  checkpoint_json: string;
  station_spki: string;
  ca_chain: string;
}

function toDevice(r: DeviceRow): DeviceEntry {
  return {
    deviceId: r.device_id,
    stationId: r.station_id,
    commitIndex: r.commit_index,
    hardwareIds: { imei: r.imei, iccid: r.iccid, mcuUid: r.mcu_uid },
    modem: { model: r.modem_model, firmware: r.modem_firmware },
    modemCertSha256Hex: r.modem_cert_sha256,
    mcuCertSha256Hex: r.mcu_cert_sha256,
    modemSerialHex: r.modem_serial,
    mcuSerialHex: r.mcu_serial,
    mcuPublicKeyHex: r.mcu_public_key,
    batch: r.batch,
    committedAt: r.committed_at,
    revoked:
      r.revoked_index === null
        ? null
        : { index: r.revoked_index, at: r.revoked_at ?? '', reason: r.revoke_reason ?? '' },
    findings: JSON.parse(r.findings) as Finding[],
    modemKeyReadable: r.modem_key_readable === null ? null : r.modem_key_readable === 1,
  };
}

function toCheckpoint(r: CheckpointRow): StoredCheckpoint {
  return {
    stationId: r.station_id,
    treeSize: r.tree_size,
    rootHashHex: r.root_hash,
    checkpointJson: r.checkpoint_json,
    stationSpkiB64: r.station_spki,
    caChainDer: (JSON.parse(r.ca_chain) as string[]).map(
      (b) => new Uint8Array(Buffer.from(b, 'base64')),
    ),
  };
}

/** The default DeviceStore: one SQLite file (or ':memory:'), WAL mode. */
export class SqliteDeviceStore implements DeviceStore {
  private readonly db: Database.Database;
  private importing = false;

  constructor(readonly path: string = ':memory:') {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.indexEnvelopeKeys();
  }

  /** Fills the key-ID index for devices stored before it existed (older store files). */
  private indexEnvelopeKeys(): void {
    const missing = this.db
      .prepare(
        `SELECT d.station_id, d.commit_index, d.mcu_public_key FROM devices d
         LEFT JOIN envelope_keys k ON k.station_id = d.station_id AND k.commit_index = d.commit_index
         WHERE k.key_id IS NULL`,
      )
      .all() as { station_id: string; commit_index: number; mcu_public_key: string }[];
    if (missing.length === 0) return;
    const insert = this.db.prepare('INSERT OR REPLACE INTO envelope_keys VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const m of missing)
        insert.run(envelopeKeyIdHex(m.mcu_public_key), m.station_id, m.commit_index);
    })();
  }

  checkpoint(stationId: string): StoredCheckpoint | undefined {
    const r = this.db.prepare('SELECT * FROM checkpoints WHERE station_id = ?').get(stationId) as
      CheckpointRow | undefined;
    return r && toCheckpoint(r);
  }

  checkpoints(): StoredCheckpoint[] {
    return (this.db.prepare('SELECT * FROM checkpoints').all() as CheckpointRow[]).map(
      toCheckpoint,
    );
  }

  beginImport(): DeviceStoreImport {
    if (this.importing) throw new Error('another import is in progress on this store');
    this.importing = true;
    const db = this.db;
    db.exec('BEGIN IMMEDIATE');
    const insertDevice = db.prepare(`INSERT OR REPLACE INTO devices VALUES (
      @station_id, @commit_index, @device_id, @imei, @iccid, @mcu_uid, @modem_model, @modem_firmware,
      @modem_cert_sha256, @mcu_cert_sha256, @modem_serial, @mcu_serial, @mcu_public_key, @batch,
      @committed_at, @revoked_index, @revoked_at, @revoke_reason, @findings, @modem_key_readable)`);
    const insertKeyId = db.prepare('INSERT OR REPLACE INTO envelope_keys VALUES (?, ?, ?)');
    const insertSerial = db.prepare(
      'INSERT OR REPLACE INTO revoked_serials VALUES (@serial, @station_id, @record_index, @at, @kind)',
    );
    const revokeDevice = db.prepare(
      'UPDATE devices SET revoked_index = ?, revoked_at = ?, revoke_reason = ? WHERE station_id = ? AND commit_index = ?',
    );
    const upsertCheckpoint = db.prepare(
      'INSERT OR REPLACE INTO checkpoints VALUES (@station_id, @tree_size, @root_hash, @checkpoint_json, @station_spki, @ca_chain)',
    );
    const end = () => {
      this.importing = false;
    };
    return {
      addDevice: (d) => {
        insertKeyId.run(envelopeKeyIdHex(d.mcuPublicKeyHex), d.stationId, d.commitIndex);
        insertDevice.run({
          station_id: d.stationId,
          commit_index: d.commitIndex,
          device_id: d.deviceId,
          imei: d.hardwareIds.imei,
          iccid: d.hardwareIds.iccid,
          mcu_uid: d.hardwareIds.mcuUid,
          modem_model: d.modem.model,
          modem_firmware: d.modem.firmware,
          modem_cert_sha256: d.modemCertSha256Hex,
          mcu_cert_sha256: d.mcuCertSha256Hex,
          modem_serial: d.modemSerialHex,
          mcu_serial: d.mcuSerialHex,
          mcu_public_key: d.mcuPublicKeyHex,
          batch: d.batch,
          committed_at: d.committedAt,
          revoked_index: d.revoked?.index ?? null,
          revoked_at: d.revoked?.at ?? null,
          revoke_reason: d.revoked?.reason ?? null,
          findings: JSON.stringify(d.findings),
          modem_key_readable: d.modemKeyReadable === null ? null : d.modemKeyReadable ? 1 : 0,
        });
      },
      revokeSerial: (e) =>
        insertSerial.run({
          serial: e.serialHex,
          station_id: e.stationId,
          record_index: e.index,
          at: e.at,
          kind: e.kind,
        }),
      revokeDevice: (stationId, commitIndex, r) =>
        revokeDevice.run(r.index, r.at, r.reason, stationId, commitIndex),
      commit: (c) => {
        upsertCheckpoint.run({
          station_id: c.stationId,
          tree_size: c.treeSize,
          root_hash: c.rootHashHex,
          checkpoint_json: c.checkpointJson,
          station_spki: c.stationSpkiB64,
          ca_chain: JSON.stringify(c.caChainDer.map((d) => Buffer.from(d).toString('base64'))),
        });
        db.exec('COMMIT');
        end();
      },
      rollback: () => {
        if (db.inTransaction) db.exec('ROLLBACK');
        end();
      },
    };
  }

  deviceByCertificate(sha256Hex: string): DeviceEntry | undefined {
    const r = this.db
      .prepare('SELECT * FROM devices WHERE modem_cert_sha256 = ? OR mcu_cert_sha256 = ? LIMIT 1')
      .get(sha256Hex, sha256Hex) as DeviceRow | undefined;
    return r && toDevice(r);
  }

  devicesById(deviceId: string): DeviceEntry[] {
    return (
      this.db
        .prepare('SELECT * FROM devices WHERE device_id = ? ORDER BY commit_index')
        .all(deviceId) as DeviceRow[]
    ).map(toDevice);
  }

  revokedSerial(serialHex: string): RevokedSerialEntry | undefined {
    const r = this.db.prepare('SELECT * FROM revoked_serials WHERE serial = ?').get(serialHex) as
      | {
          serial: string;
          station_id: string;
          record_index: number;
          at: string;
          kind: 'abort' | 'revoke';
        }
      | undefined;
    return (
      r && {
        serialHex: r.serial,
        stationId: r.station_id,
        index: r.record_index,
        at: r.at,
        kind: r.kind,
      }
    );
  }

  devicesByEnvelopeKeyId(keyIdHex: string): DeviceEntry[] {
    return (
      this.db
        .prepare(
          `SELECT d.* FROM envelope_keys k JOIN devices d
           ON d.station_id = k.station_id AND d.commit_index = k.commit_index
           WHERE k.key_id = ? ORDER BY d.station_id, d.commit_index`,
        )
        .all(keyIdHex.toLowerCase()) as DeviceRow[]
    ).map(toDevice);
  }

  replayWindow(stationId: string, commitIndex: number): StoredReplayWindow | undefined {
    const r = this.db
      .prepare('SELECT highest, seen FROM replay_windows WHERE station_id = ? AND commit_index = ?')
      .get(stationId, commitIndex) as { highest: string; seen: string } | undefined;
    return r && { highest: BigInt(r.highest), seenBits: BigInt(r.seen) };
  }

  saveReplayWindow(stationId: string, commitIndex: number, w: StoredReplayWindow): void {
    // Decimal text: SQLite integers are signed 64-bit and a counter may use all 64 bits.
    this.db
      .prepare('INSERT OR REPLACE INTO replay_windows VALUES (?, ?, ?, ?)')
      .run(stationId, commitIndex, w.highest.toString(), w.seenBits.toString());
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
