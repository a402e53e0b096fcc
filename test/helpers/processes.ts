import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of live processes named `comm` whose parent is `ppid`, read from /proc. */
export function childrenOf(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (m && m[1] === comm && Number(m[2]) === ppid) out.push(Number(name));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/** Whether a process with this PID exists (signal 0 probes without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
