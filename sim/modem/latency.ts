import type { ModemLatencyProfile } from './types.ts';

/**
 * Defaults, in milliseconds, loosely from logs: identity commands answer in 15–30 ms on an
 * MC60 at 115200 (protocols-reference A.2); flash writes take hundreds of ms (UNCONFIRMED
 * per KiB, chosen here as 25 ms per started KiB on top of 60 ms).
 */
export const defaultLatencyProfile: Readonly<ModemLatencyProfile> = {
  simpleMs: 20,
  queryMs: 30,
  deleteMs: 60,
  sslConfigSetMs: 40,
  uploadSetupMs: 30,
  uploadCommitBaseMs: 60,
  uploadCommitPerKiBMs: 25,
  fileHandleMs: 25,
  bootMs: 200,
};

/** What a flash commit of `bytes` costs under `profile`, before scaling. */
export function uploadCommitMs(profile: ModemLatencyProfile, bytes: number): number {
  return profile.uploadCommitBaseMs + Math.ceil(bytes / 1024) * profile.uploadCommitPerKiBMs;
}
