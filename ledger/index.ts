/** The ledger's pure format: records, canonical encoding, Merkle tree, proofs, checkpoints. */
export * from './canonical.ts';
export * from './hash.ts';
export * from './merkle.ts';
export * from './proofs.ts';
export * from './records.ts';
export * from './checkpoint.ts';
export * from './keys.ts';
export * from './state.ts';
export * from './caps.ts';
