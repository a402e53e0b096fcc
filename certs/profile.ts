import { ProfileError } from './errors.ts';
import type { SanMode } from './san.ts';

/** How device certificates are shaped; part of the product profile the pipeline loads. */
export interface DeviceProfile {
  /** Certificate lifetime in days from notBefore (1..36500). */
  validityDays: number;
  /** Plain hardware IDs in the SAN, or salted hashes of them (TLS 1.2 shows the cert). */
  sanMode: SanMode;
  /** Salt for sanMode 'hashed' (at least 16 characters); ignored for 'plain'. */
  sanSalt?: string;
  /** Subject O; defaults to the issuing CA's organisation. */
  organization?: string;
  /** notBefore is this many seconds before issuance, for device clock skew (0..86400). */
  backdateSeconds: number;
}

export const DEFAULT_DEVICE_PROFILE: DeviceProfile = {
  validityDays: 3650,
  sanMode: 'plain',
  backdateSeconds: 60,
};

/** Fills defaults and checks every field; throws ProfileError naming the field. */
export function resolveDeviceProfile(p: Partial<DeviceProfile> = {}): DeviceProfile {
  const out: DeviceProfile = { ...DEFAULT_DEVICE_PROFILE, ...stripUndefined(p) };
  if (!Number.isInteger(out.validityDays) || out.validityDays < 1 || out.validityDays > 36500)
    throw new ProfileError('validityDays', `must be an integer 1..36500, got ${out.validityDays}`);
  if (out.sanMode !== 'plain' && out.sanMode !== 'hashed')
    throw new ProfileError('sanMode', `must be "plain" or "hashed", got ${String(out.sanMode)}`);
  if (out.sanMode === 'hashed' && (out.sanSalt === undefined || out.sanSalt.length < 16))
    throw new ProfileError('sanSalt', 'hashed SAN mode needs a salt of at least 16 characters');
  if (
    !Number.isInteger(out.backdateSeconds) ||
    out.backdateSeconds < 0 ||
    out.backdateSeconds > 86400
  )
    throw new ProfileError(
      'backdateSeconds',
      `must be an integer 0..86400, got ${out.backdateSeconds}`,
    );
  if (
    out.organization !== undefined &&
    (out.organization.length === 0 || out.organization.length > 64)
  )
    throw new ProfileError('organization', 'must be 1..64 characters');
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
