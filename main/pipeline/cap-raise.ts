import { pemDecodeAll } from '../../certs/index.ts';
import { LedgerWriter, ledgerDirOf } from '../ledger/index.ts';
import { openStation, type OpenStationOptions } from '../station/index.ts';

/** Which cap an operator raises: one batch's, the station's hourly one, or a work order's. */
export type CapScope = 'batch' | 'hour' | 'work-order';

export interface RaiseCapRequest {
  scope: CapScope;
  /** The batch (scope 'batch') or work order (scope 'work-order'); unused for 'hour'. */
  target?: string;
  /** The new limit; must be above the one in force. */
  limit: number;
  operator: string;
  /** Why (kept in the ledger record). */
  reason: string;
}

export interface RaiseCapResult {
  index: number;
  scope: CapScope;
  target: string;
  previousLimit: number;
  limit: number;
  /** Tree size of the checkpoint signed right after the raise. */
  checkpointTreeSize: number;
}

/** A cap raise was refused (nothing was recorded). */
export class CapRaiseError extends Error {
  override name = 'CapRaiseError';
  constructor(
    readonly scope: CapScope,
    readonly target: string,
    message: string,
  ) {
    super(`cannot raise the ${scope} cap of ${target}: ${message}`);
  }
}

/**
 * Raises an issuance cap as an explicit, recorded operator action: unlocks the station
 * with `secret` (its passphrase or token PIN, checked now, under the same back-off and
 * lock as any unlock), appends a `cap` raise record naming the operator and reason, and
 * signs a checkpoint. The station's ledger must not be open elsewhere (a running line
 * holds its lock); the next batch opened picks the new cap up from the ledger.
 */
export async function raiseIssuanceCap(
  stationDir: string,
  secret: string,
  req: RaiseCapRequest,
  opts: OpenStationOptions = {},
): Promise<RaiseCapResult> {
  if (!Number.isSafeInteger(req.limit) || req.limit < 1)
    throw new CapRaiseError(
      req.scope,
      req.target ?? 'the station',
      'the limit must be a positive integer',
    );
  if (req.scope !== 'hour' && !req.target)
    throw new CapRaiseError(
      req.scope,
      '(none)',
      `name the ${req.scope === 'batch' ? 'batch' : 'work order'}`,
    );
  const station = await openStation(stationDir, secret, opts);
  try {
    const writer = await LedgerWriter.open(ledgerDirOf(stationDir), {
      signer: station.ledgerSigner,
      stationId: station.stationId,
      caChainDer: pemDecodeAll(station.issuer.chainPem).map((b) => b.der),
    });
    try {
      const target = req.scope === 'hour' ? station.stationId : (req.target as string);
      const previous =
        req.scope === 'batch'
          ? writer.caps.batch(target)?.perBatch
          : req.scope === 'hour'
            ? writer.caps.perHour
            : writer.caps.workOrderLimit(target);
      if (previous === undefined)
        throw new CapRaiseError(
          req.scope,
          target,
          req.scope === 'batch'
            ? 'the batch has not started (its caps come from the profile when it starts)'
            : req.scope === 'hour'
              ? 'no batch has started on this station yet'
              : 'no batch of this work order has started',
        );
      if (req.limit <= previous)
        throw new CapRaiseError(
          req.scope,
          target,
          `${req.limit} is not above the cap in force (${previous})`,
        );
      const { index } = await writer.append({
        type: 'cap',
        action: 'raise',
        scope: req.scope,
        target,
        limit: req.limit,
        previousLimit: previous,
        operator: req.operator,
        reason: req.reason,
      });
      const cp = await writer.checkpoint();
      return {
        index,
        scope: req.scope,
        target,
        previousLimit: previous,
        limit: req.limit,
        checkpointTreeSize: cp.checkpoint.treeSize,
      };
    } finally {
      await writer.close();
    }
  } finally {
    station.close();
  }
}
