import { createHash } from 'node:crypto';
import {
  parseCertificate,
  pemDecodeAll,
  pemEncode,
  verifyChain,
  verifyX509Signature,
  type CertificateDescription,
} from '../certs/index.ts';
import {
  decodeSignedCheckpoint,
  verifyCheckpointSignature,
  type SignedCheckpoint,
} from './checkpoint.ts';
import { parseCrl, type ParsedCrl } from './crl-reader.ts';
import {
  EXPORT_FILES,
  csvHeader,
  csvRow,
  decodeConsistency,
  decodeManifest,
  type ConsistencyFile,
  type ExportManifest,
} from './export-format.ts';
import { HASH_SIZE, bytesEqual, fromHex, leafHash, sha256, sha256Hex, toHex } from './hash.ts';
import { parseSpki, spkiToPem } from './keys.ts';
import { StreamingRoot } from './merkle.ts';
import { verifyConsistency } from './proofs.ts';
import { decodeRecord, type CommitRecord, type LedgerRecord } from './records.ts';
import { LedgerState } from './state.ts';

/** The first thing wrong with an export, naming the file and, for records, the index. */
export class ExportVerificationError extends Error {
  override name = 'ExportVerificationError';
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly recordIndex?: number,
  ) {
    super(`${file}${recordIndex === undefined ? '' : ` record ${recordIndex}`}: ${reason}`);
  }
}

/** The small files of an export, read whole; records.jsonl is fed line by line. */
export interface ExportHeaderFiles {
  manifest: Uint8Array;
  checkpoint: Uint8Array;
  /** leaves.bin: 32-byte leaf hashes of the exported records. */
  leaves: Uint8Array;
  consistency?: Uint8Array;
  stationKeyPem: Uint8Array;
  caChainPem: Uint8Array;
  crlPem: Uint8Array;
}

export interface ExportVerifyOptions {
  /**
   * Verify every device certificate's chain to the CA (default true). Off, the
   * certificates are still checked against their fingerprints; benchmarks measure the
   * two costs separately.
   */
  checkChains?: boolean;
  /**
   * A checkpoint the importer already holds: the export must reproduce its root at its
   * size (when the export covers that size), else it is a fork and is refused.
   */
  expectPrefix?: { treeSize: number; rootHashHex: string };
}

/** What a verified export vouches for. */
export interface VerifiedExport {
  manifest: ExportManifest;
  stationId: string;
  stationSpki: Uint8Array;
  checkpoint: SignedCheckpoint;
  consistency?: ConsistencyFile;
  /** Issuing CA first, root last. */
  caChainDer: Uint8Array[];
  crl: ParsedCrl & { der: Uint8Array };
  counts: Record<LedgerRecord['type'], number>;
  chainsChecked: boolean;
}

// A plain function, not a per-record closure: addRecord runs a million times per export.
function recordFailure(index: number, why: string): never {
  throw new ExportVerificationError(EXPORT_FILES.records, why, index);
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

function pemBlocks(file: string, bytes: Uint8Array, label: string): Uint8Array[] {
  let blocks;
  try {
    blocks = pemDecodeAll(text(bytes));
  } catch (e) {
    throw new ExportVerificationError(file, (e as Error).message);
  }
  if (blocks.length === 0 || blocks.some((b) => b.label !== label))
    throw new ExportVerificationError(file, `expected only "${label}" PEM blocks`);
  const ders = blocks.map((b) => b.der);
  // One spelling per content: any byte outside the DER (line breaks, labels) is checked too.
  if (ders.map((d) => pemEncode(label, d)).join('') !== text(bytes))
    throw new ExportVerificationError(file, 'not in canonical PEM form');
  return ders;
}

/**
 * Verifies a ledger export piece by piece: construct with the small files (checks the
 * checkpoint signature, the consistency proof and the compact range), feed every line of
 * records.jsonl to `addRecord`, then `finish` with devices.csv. Each step throws
 * ExportVerificationError on the first defect.
 */
export class ExportVerifier {
  readonly manifest: ExportManifest;
  readonly checkpoint: SignedCheckpoint;
  readonly consistency?: ConsistencyFile;
  readonly stationSpki: Uint8Array;
  readonly caChainDer: Uint8Array[];
  private readonly state: LedgerState;
  /** Index of the next record expected in records.jsonl. */
  private count: number;
  private readonly csv = createHash('sha256');
  private csvPending = '';
  private readonly counts: Record<LedgerRecord['type'], number> = {
    station: 0,
    ca: 0,
    intent: 0,
    commit: 0,
    abort: 0,
    revoke: 0,
    'batch-start': 0,
    cap: 0,
  };
  private chain: Uint8Array[] | undefined;
  private lastStationKeyB64: string | undefined;
  private readonly checkChains: boolean;
  private readonly expectPrefix?: { treeSize: number; rootHashHex: string };

  /** The signed tree at the imported size must have the imported root. */
  private checkPrefix(tree: StreamingRoot): void {
    const p = this.expectPrefix!;
    if (toHex(tree.root()) !== p.rootHashHex)
      throw new ExportVerificationError(
        EXPORT_FILES.records,
        `the ledger at size ${p.treeSize} differs from the checkpoint already imported (fork)`,
        p.treeSize - 1,
      );
  }

  constructor(
    private readonly files: ExportHeaderFiles,
    opts: ExportVerifyOptions = {},
  ) {
    this.checkChains = opts.checkChains ?? true;
    const F = EXPORT_FILES;
    try {
      this.manifest = decodeManifest(files.manifest);
    } catch (e) {
      throw new ExportVerificationError(F.manifest, (e as Error).message);
    }
    try {
      this.checkpoint = decodeSignedCheckpoint(files.checkpoint);
    } catch (e) {
      throw new ExportVerificationError(F.checkpoint, (e as Error).message);
    }
    [this.stationSpki] = pemBlocks(F.stationKey, files.stationKeyPem, 'PUBLIC KEY');
    if (spkiToPem(this.stationSpki) !== text(files.stationKeyPem))
      throw new ExportVerificationError(F.stationKey, 'not in canonical PEM form');
    try {
      parseSpki(this.stationSpki);
    } catch (e) {
      throw new ExportVerificationError(F.stationKey, (e as Error).message);
    }
    const cp = this.checkpoint.checkpoint;
    const m = this.manifest;
    if (!verifyCheckpointSignature(this.checkpoint, this.stationSpki))
      throw new ExportVerificationError(
        F.checkpoint,
        'signature does not verify under the station key',
      );
    if (cp.stationId !== m.stationId)
      throw new ExportVerificationError(
        F.checkpoint,
        `station ${cp.stationId} is not ${m.stationId}`,
      );
    if (cp.treeSize !== m.treeSize || m.firstIndex > m.treeSize)
      throw new ExportVerificationError(F.manifest, 'sizes disagree with the checkpoint');
    this.caChainDer = pemBlocks(F.caChain, files.caChainPem, 'CERTIFICATE');
    let tree: StreamingRoot;
    try {
      tree = StreamingRoot.fromCompactRange(
        m.firstIndex,
        m.compactRangeHex.map((h) => fromHex(h)!),
      );
    } catch (e) {
      throw new ExportVerificationError(F.manifest, (e as Error).message);
    }
    if (files.consistency) {
      let c: ConsistencyFile;
      try {
        c = decodeConsistency(files.consistency);
      } catch (e) {
        throw new ExportVerificationError(F.consistency, (e as Error).message);
      }
      const from = c.from.checkpoint;
      if (!verifyCheckpointSignature(c.from, this.stationSpki) || from.stationId !== m.stationId)
        throw new ExportVerificationError(
          F.consistency,
          'previous checkpoint is not signed by this station',
        );
      const ok = verifyConsistency(
        from.treeSize,
        cp.treeSize,
        fromHex(from.rootHashHex)!,
        fromHex(cp.rootHashHex)!,
        c.proofHex.map((h) => fromHex(h)!),
      );
      if (!ok)
        throw new ExportVerificationError(
          F.consistency,
          `checkpoint of size ${cp.treeSize} is not an extension of the one of size ${from.treeSize} (fork)`,
        );
      if (m.firstIndex > 0) {
        if (from.treeSize !== m.firstIndex)
          throw new ExportVerificationError(
            F.consistency,
            `previous size ${from.treeSize} is not firstIndex`,
          );
        if (toHex(tree.root()) !== from.rootHashHex)
          throw new ExportVerificationError(
            F.manifest,
            'compact range does not give the previous root',
          );
      }
      this.consistency = c;
    } else if (m.firstIndex > 0) {
      throw new ExportVerificationError(
        F.consistency,
        'an incremental export needs the consistency proof',
      );
    }
    // The leaf hashes are authenticated up front (they must give the signed root), so a
    // record that does not hash to its leaf can be named exactly.
    const n = m.treeSize - m.firstIndex;
    if (files.leaves.length !== n * HASH_SIZE)
      throw new ExportVerificationError(F.leaves, `should hold ${n} hashes of 32 bytes`);
    // One pass over the leaves continues the tree from the compact range; on the way it
    // checks the sizes other checkpoints vouch for (imported one, previous export).
    this.expectPrefix = opts.expectPrefix;
    const fromCp = this.consistency?.from.checkpoint;
    if (this.expectPrefix?.treeSize === m.firstIndex) this.checkPrefix(tree);
    for (let i = 0; i < n; i++) {
      tree.append(files.leaves.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      const size = m.firstIndex + i + 1;
      if (this.expectPrefix?.treeSize === size) this.checkPrefix(tree);
      if (
        fromCp &&
        m.firstIndex === 0 &&
        fromCp.treeSize === size &&
        toHex(tree.root()) !== fromCp.rootHashHex
      )
        throw new ExportVerificationError(
          F.records,
          'records do not reproduce the previous export checkpoint (fork)',
          size - 1,
        );
    }
    if (toHex(tree.root()) !== cp.rootHashHex)
      throw new ExportVerificationError(
        F.leaves,
        'leaf hashes do not produce the signed root hash',
      );
    if (m.firstIndex > 0) this.chain = this.caChainDer;
    this.state = new LedgerState(m.firstIndex, { indexes: false });
    this.count = m.firstIndex;
    this.csv.update(csvHeader());
  }

  /** The index the next record must have. */
  get nextIndex(): number {
    return this.count;
  }

  /** Verifies one line of records.jsonl (without its newline) and returns the record. */
  addRecord(line: Uint8Array): LedgerRecord {
    const index = this.count;
    if (index >= this.manifest.treeSize)
      recordFailure(index, `more records than the checkpoint's ${this.manifest.treeSize}`);
    let record: LedgerRecord;
    try {
      record = decodeRecord(line);
      this.state.apply(record);
    } catch (e) {
      return recordFailure(index, (e as Error).message);
    }
    const leaf = leafHash(line);
    const at = (index - this.manifest.firstIndex) * HASH_SIZE;
    if (!bytesEqual(leaf, this.files.leaves.subarray(at, at + HASH_SIZE)))
      recordFailure(
        index,
        'altered, reordered or misplaced: it is not the signed tree leaf at this index',
      );
    this.count++;
    this.counts[record.type]++;
    switch (record.type) {
      case 'station':
        if (record.stationId !== this.manifest.stationId)
          recordFailure(index, `station ID ${record.stationId} differs`);
        this.lastStationKeyB64 = record.publicKeySpkiB64;
        break;
      case 'ca':
        this.chain = record.chainDerB64.map((b) => new Uint8Array(Buffer.from(b, 'base64')));
        if (toHex(sha256(this.chain[0])) !== record.issuerSha256Hex)
          recordFailure(index, 'issuer hash does not match its certificate');
        break;
      case 'commit':
        this.checkCommit(record, index);
        break;
      default:
        break;
    }
    // Rows are hashed in batches: one hash update per row costs more than the row.
    this.csvPending += csvRow(index, record);
    if (this.csvPending.length > 1 << 16) {
      this.csv.update(this.csvPending);
      this.csvPending = '';
    }
    return record;
  }

  private checkCommit(r: CommitRecord, index: number): void {
    for (const role of ['modem', 'mcu'] as const) {
      const c = r.certificates[role];
      const decoded = Buffer.from(c.derB64, 'base64');
      if (sha256Hex(decoded) !== c.sha256Hex)
        recordFailure(index, `${role} certificate does not match its fingerprint`);
      if (!this.checkChains) continue;
      // Own copy: the decoded bytes may be a view into Buffer's shared pool.
      const der = new Uint8Array(decoded);
      const chain = this.chain;
      if (!chain) return recordFailure(index, 'commit before any ca record');
      let leaf: CertificateDescription;
      try {
        leaf = verifyChain(der, chain.slice(0, -1), chain[chain.length - 1], {
          at: new Date(r.time),
        }).path[0];
      } catch (e) {
        return recordFailure(index, `${role} certificate: ${(e as Error).message}`);
      }
      if (leaf.serialHex !== c.serialHex)
        recordFailure(index, `${role} certificate serial is not ${c.serialHex}`);
      for (const f of ['imei', 'iccid', 'mcuUid'] as const) {
        const v = leaf.hardwareIds[f];
        if (v !== undefined && v !== r.hardwareIds[f])
          recordFailure(index, `${role} certificate binds another ${f}`);
      }
    }
  }

  /** Final checks once every record is in: count, root, CSV, CA chain and CRL. */
  finish(csvBytesSha256Hex: string): VerifiedExport {
    const F = EXPORT_FILES;
    const m = this.manifest;
    const cp = this.checkpoint.checkpoint;
    // Each record matched its leaf and the leaves gave the signed root, so the count is
    // all that is left to check.
    if (this.count !== m.treeSize)
      throw new ExportVerificationError(
        F.records,
        `holds ${this.count - m.firstIndex} records, the checkpoint ${m.treeSize - m.firstIndex}`,
      );
    const keyB64 = Buffer.from(this.stationSpki).toString('base64');
    if (m.firstIndex === 0 || this.lastStationKeyB64 !== undefined)
      if (this.lastStationKeyB64 !== keyB64)
        throw new ExportVerificationError(
          F.stationKey,
          "is not the key of the ledger's newest station record",
        );
    if (
      this.chain &&
      this.chain.map((d) => toHex(d)).join() !== this.caChainDer.map((d) => toHex(d)).join()
    )
      throw new ExportVerificationError(
        F.caChain,
        "is not the chain of the ledger's newest ca record",
      );
    this.csv.update(this.csvPending);
    this.csvPending = '';
    if (this.csv.digest('hex') !== csvBytesSha256Hex)
      throw new ExportVerificationError(F.csv, 'does not match the records');
    // Checked last: ECDSA in pure TypeScript is the costliest step for a small export.
    const root = this.caChainDer[this.caChainDer.length - 1];
    try {
      verifyChain(this.caChainDer[0], this.caChainDer.slice(1, -1), root, {
        at: new Date(cp.time),
      });
    } catch (e) {
      throw new ExportVerificationError(F.caChain, (e as Error).message);
    }
    const [crlDer] = pemBlocks(F.crl, this.files.crlPem, 'X509 CRL');
    let crl: ParsedCrl;
    try {
      crl = parseCrl(crlDer);
    } catch (e) {
      throw new ExportVerificationError(F.crl, (e as Error).message);
    }
    const issuing = parseCertificate(this.caChainDer[0]);
    if (!bytesEqual(crl.issuerNameDer, issuing.subjectNameDer))
      throw new ExportVerificationError(F.crl, 'is not issued by the issuing CA');
    if (
      verifyX509Signature(
        crl.signatureAlgorithmOid,
        issuing.publicKey,
        crl.tbsDer,
        crl.signature,
      ) !== true
    )
      throw new ExportVerificationError(F.crl, 'signature does not verify under the issuing CA');
    const listed = new Set(crl.serialsHex);
    for (const s of this.state.revokedSerials.keys())
      if (!listed.has(s)) throw new ExportVerificationError(F.crl, `misses revoked serial ${s}`);
    if (m.firstIndex === 0 && listed.size !== this.state.revokedSerials.size)
      throw new ExportVerificationError(F.crl, 'lists serials the ledger never revoked');
    return {
      manifest: m,
      stationId: m.stationId,
      stationSpki: this.stationSpki,
      checkpoint: this.checkpoint,
      consistency: this.consistency,
      caChainDer: this.caChainDer,
      crl: { ...crl, der: crlDer },
      counts: { ...this.counts },
      chainsChecked: this.checkChains,
    };
  }
}
