/**
 * Writes the credential blob into the one flash page or sector the product profile
 * reserves for it: refuse anything that could touch firmware, erase exactly that unit,
 * write, read back and compare, optionally lock with read-out protection.
 */
import type { BootloaderClient } from './bootloader-client.ts';
import {
  BootloaderError,
  CredentialAreaError,
  CredentialVerifyError,
  ReadoutProtectedError,
  hex32,
} from './errors.ts';
import { pageContaining, type FlashPage, type McuDevice } from './families.ts';

export interface CredentialTarget {
  /** The family table entry of the connected part (from identifyMcu). */
  family: McuDevice;
  /** The profile's reserved credential area: must start a page/sector and stay inside it. */
  area: { address: number; size: number };
  /** Where firmware lives, `end` exclusive; the credential page must not overlap it. */
  firmwareRegion: { start: number; end: number };
  /** Flash size the chip reported; bounds the layout when given. */
  flashKiB?: number;
}

export type CredentialWriteStep = 'erase' | 'write' | 'verify' | 'protect';

/** Progress in the station's common shape. */
export interface CredentialWriteProgress {
  step: CredentialWriteStep;
  stepPercent: number;
  totalPercent: number;
  message: string;
}

export interface WriteCredentialsOptions {
  readoutProtect: boolean;
  onProgress?: (p: CredentialWriteProgress) => void;
}

export interface CredentialWriteResult {
  /** The single page/sector that was erased and written. */
  page: FlashPage;
  bytesWritten: number;
  /** True when read-out protection was set and a read was confirmed refused. */
  readoutProtected: boolean;
}

/**
 * Checks a credential target against the family layout and returns the page/sector to
 * erase. Pure: usable when validating a profile before any board is connected.
 */
export function planCredentialWrite(target: CredentialTarget, blobLength: number): FlashPage {
  const { family, area, firmwareRegion } = target;
  const refuse = (reason: string) => new CredentialAreaError(area.address, reason);
  if (!Number.isInteger(area.address) || !Number.isInteger(area.size) || area.size <= 0)
    throw refuse('address and size must be positive integers');
  if (!(firmwareRegion.start < firmwareRegion.end))
    throw refuse('firmware region is empty or reversed');
  const page = pageContaining(family, area.address, target.flashKiB);
  if (!page) throw refuse(`not inside main flash of ${family.part}`);
  const unit = family.layout.kind === 'sectors' ? 'sector' : 'page';
  if (page.address !== area.address)
    throw refuse(`not aligned: ${unit} ${page.index} starts at ${hex32(page.address)}`);
  if (area.address + area.size > page.address + page.size)
    throw refuse(
      `${area.size} bytes reach past the end of ${unit} ${page.index} (${page.size} bytes); the area must lie in one ${unit}`,
    );
  const pageEnd = page.address + page.size;
  if (page.address < firmwareRegion.end && firmwareRegion.start < pageEnd)
    throw refuse(
      `${unit} ${page.index} (${hex32(page.address)}…${hex32(pageEnd - 1)}) overlaps the firmware region ${hex32(firmwareRegion.start)}…${hex32(firmwareRegion.end - 1)}`,
    );
  const padded = Math.ceil(blobLength / family.writeGranularity) * family.writeGranularity;
  if (blobLength <= 0 || padded > area.size)
    throw refuse(`blob of ${blobLength} bytes does not fit the ${area.size}-byte area`);
  return page;
}

const WEIGHTS: Record<CredentialWriteStep, number> = {
  erase: 15,
  write: 40,
  verify: 35,
  protect: 10,
};

/**
 * Erases the credential page, writes `blob`, reads it back and compares byte for byte,
 * then sets read-out protection when asked and confirms that reads are refused.
 *
 * `blob` holds the MCU private key: it is zeroized on every path, success or failure,
 * and so is the read-back copy. Callers keep no other copy.
 */
export async function writeCredentials(
  client: BootloaderClient,
  target: CredentialTarget,
  blob: Uint8Array,
  opts: WriteCredentialsOptions,
): Promise<CredentialWriteResult> {
  let readBack: Uint8Array | undefined;
  try {
    const page = planCredentialWrite(target, blob.length);
    const steps: CredentialWriteStep[] = opts.readoutProtect
      ? ['erase', 'write', 'verify', 'protect']
      : ['erase', 'write', 'verify'];
    const totalWeight = steps.reduce((s, k) => s + WEIGHTS[k], 0);
    const report = (step: CredentialWriteStep, fraction: number, message: string) => {
      const before = steps.slice(0, steps.indexOf(step)).reduce((s, k) => s + WEIGHTS[k], 0);
      opts.onProgress?.({
        step,
        stepPercent: Math.round(fraction * 100),
        totalPercent: Math.round(((before + WEIGHTS[step] * fraction) / totalWeight) * 100),
        message,
      });
    };
    const address = target.area.address;
    if (client.readoutProtected)
      throw new ReadoutProtectedError({
        port: client.port,
        step: 'write',
        address,
        detail: 'read-out protection is already set on this device',
        deviceAnswered: 'nothing',
      });

    const unit = target.family.layout.kind === 'sectors' ? 'sector' : 'page';
    report('erase', 0, `erasing ${unit} ${page.index} at ${hex32(page.address)}`);
    // One lock-step run from the erase to the last byte read back: no gap between steps.
    readBack = await client.eraseWriteReadBack(
      [page.index],
      address,
      blob,
      target.family.writeGranularity,
      (phase, done) => {
        if (phase === 'erase') report('erase', 1, `erased ${unit} ${page.index}`);
        else if (phase === 'write')
          report('write', done / blob.length, `wrote ${done} of ${blob.length} bytes`);
        else report('verify', done / blob.length, `read back ${done} of ${blob.length} bytes`);
      },
    );
    let first = -1;
    let count = 0;
    for (let i = 0; i < blob.length; i++) {
      if (readBack[i] !== blob[i]) {
        if (first < 0) first = i;
        count++;
      }
    }
    if (count > 0) throw new CredentialVerifyError(client.port, address, first, count);

    let protectedNow = false;
    if (opts.readoutProtect) {
      report('protect', 0, 'setting read-out protection (level 1)');
      await client.readoutProtect();
      if (!(await client.probeReadoutProtection(address)))
        throw new BootloaderError({
          port: client.port,
          step: 'readout-protect',
          address,
          detail: 'device still serves reads after Readout Protect',
          deviceAnswered: 'data',
        });
      protectedNow = true;
      report('protect', 1, 'read-out protection set; reads are refused');
    }
    return { page, bytesWritten: blob.length, readoutProtected: protectedNow };
  } finally {
    blob.fill(0);
    readBack?.fill(0);
  }
}
