import type { AtEngine } from './at-engine.ts';
import { ModemTimeoutError } from './errors.ts';

/**
 * `ATE0` (echo off, before anything else) and `AT+CMEE=1`. Also run again by the credential
 * writer when the module echoed since, i.e. it reset and came back with echo on.
 */
export async function setUpSession(
  engine: AtEngine,
  co: { step: string; signal?: AbortSignal },
): Promise<void> {
  try {
    await engine.command('ATE0', co);
  } catch (e) {
    // A module mid-boot or left in an odd state: the engine has resynced; one more try.
    if (!(e instanceof ModemTimeoutError)) throw e;
    await engine.command('ATE0', co);
  }
  engine.echoSeen = false;
  await engine.command('AT+CMEE=1', co);
}
