import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';

/** Another live process holds the ledger. */
export class LedgerLockedError extends Error {
  override name = 'LedgerLockedError';
  constructor(
    readonly lockPath: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      `ledger is locked by ${holderPid ? `process ${holderPid}` : 'another process'} (${lockPath}); ` +
        'only one station process may write a ledger',
    );
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else — still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A held lock file; `release()` removes it. */
export interface LedgerLock {
  path: string;
  /** Set when a lock left by a dead process was taken over. */
  staleHolderPid?: number;
  release(): void;
}

/**
 * Takes the lock file with O_CREAT|O_EXCL, writing our pid. A lock whose pid is no longer
 * running is stale (a crashed station): it is removed and taken, and reported. The pid
 * check cannot see across machines, so a ledger on shared storage needs one host.
 */
export function acquireLock(path: string): LedgerLock {
  let stale: number | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid: number | undefined;
      try {
        pid = Number.parseInt(readFileSync(path, 'utf8').split('\n')[0], 10);
      } catch {
        pid = undefined;
      }
      if (
        pid === undefined ||
        !Number.isInteger(pid) ||
        pid <= 0 ||
        processAlive(pid) ||
        attempt > 0
      )
        throw new LedgerLockedError(path, Number.isInteger(pid) ? pid : undefined);
      stale = pid;
      try {
        unlinkSync(path);
      } catch (u) {
        if ((u as NodeJS.ErrnoException).code !== 'ENOENT') throw u;
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n${hostname()}\n${new Date().toISOString()}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      path,
      staleHolderPid: stale,
      release() {
        if (released) return;
        released = true;
        try {
          unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      },
    };
  }
  throw new LedgerLockedError(path, stale);
}
