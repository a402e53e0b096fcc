import { z } from 'zod';
import type { Signer } from '../certs/signer.ts';
import { canonicalEncode, canonicalDecode, NonCanonicalError } from './canonical.ts';
import { verifySignature } from './keys.ts';

/** Names the checkpoint format; signed with the rest, it also separates the signing domain. */
export const CHECKPOINT_FORMAT = 'keyline-checkpoint/1';

const checkpointSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  stationId: z.string().min(1).max(1024),
  treeSize: z.number().int().nonnegative(),
  rootHashHex: z.string().regex(/^[0-9a-f]{64}$/),
  time: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/),
  algorithm: z.enum(['ed25519', 'ecdsa-p256-sha256']),
});

const signedCheckpointSchema = z.strictObject({
  checkpoint: checkpointSchema,
  signatureB64: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
});

/** What the station vouches for: the ledger of `treeSize` records has root `rootHashHex`. */
export type Checkpoint = z.infer<typeof checkpointSchema>;
/** A checkpoint with the station's signature over its canonical bytes. */
export type SignedCheckpoint = z.infer<typeof signedCheckpointSchema>;

export class CheckpointFormatError extends Error {
  override name = 'CheckpointFormatError';
}

/** The bytes that are signed: the canonical JSON of the checkpoint. */
export function checkpointSigningBytes(cp: Checkpoint): Uint8Array {
  return canonicalEncode(cp);
}

/** Signs a checkpoint through the station's ledger signer. */
export async function signCheckpoint(
  fields: Omit<Checkpoint, 'format' | 'algorithm'>,
  signer: Signer,
): Promise<SignedCheckpoint> {
  const checkpoint = checkpointSchema.parse({
    ...fields,
    format: CHECKPOINT_FORMAT,
    algorithm: signer.algorithm,
  });
  const sig = await signer.sign(checkpointSigningBytes(checkpoint));
  return { checkpoint, signatureB64: Buffer.from(sig).toString('base64') };
}

/** True when `signed` carries a valid signature by the key `spki` (Ed25519 or P-256). */
export function verifyCheckpointSignature(signed: SignedCheckpoint, spki: Uint8Array): boolean {
  const sig = new Uint8Array(Buffer.from(signed.signatureB64, 'base64'));
  if (Buffer.from(sig).toString('base64') !== signed.signatureB64) return false;
  return verifySignature(
    signed.checkpoint.algorithm,
    spki,
    checkpointSigningBytes(signed.checkpoint),
    sig,
  );
}

export function parseSignedCheckpoint(value: unknown): SignedCheckpoint {
  const r = signedCheckpointSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CheckpointFormatError(`checkpoint ${i?.path.join('.')}: ${i?.message}`);
  }
  return r.data;
}

export function encodeSignedCheckpoint(signed: SignedCheckpoint): Uint8Array {
  return canonicalEncode(parseSignedCheckpoint(signed));
}

/** Decodes canonical bytes of a signed checkpoint (does not check the signature). */
export function decodeSignedCheckpoint(bytes: Uint8Array): SignedCheckpoint {
  try {
    return parseSignedCheckpoint(canonicalDecode(bytes));
  } catch (e) {
    if (e instanceof NonCanonicalError) throw new CheckpointFormatError(`checkpoint: ${e.message}`);
    throw e;
  }
}
