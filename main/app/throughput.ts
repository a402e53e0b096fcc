/**
 * Batch throughput figures for the chart: boards per hour, pass rate, failures by step
 * and a cumulative timeline. Pure, computed from the slots' finished results.
 */
import type { ThroughputStats } from '../../contract/types.ts';

export interface FinishedBoard {
  /** ms since the epoch. */
  finishedAt: number;
  passed: boolean;
  /** Step where it failed (failures only). */
  step: string | null;
}

/** Enough points for a small chart; a long batch would otherwise grow every event. */
export const maxTimelinePoints = 240;

/** Keeps at most `max` points, evenly spaced, always including the last. */
function downsample<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const step = points.length / max;
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(points[Math.floor(i * step)]);
  out.push(points[points.length - 1]);
  return out;
}

export function computeThroughput(
  startedAt: number | null,
  finished: readonly FinishedBoard[],
  now: number,
): ThroughputStats {
  const sorted = [...finished].sort((a, b) => a.finishedAt - b.finishedAt);
  const passed = sorted.filter((b) => b.passed).length;
  const failed = sorted.length - passed;
  const failuresByStep: Record<string, number> = {};
  for (const b of sorted)
    if (!b.passed && b.step) failuresByStep[b.step] = (failuresByStep[b.step] ?? 0) + 1;
  const t0 = startedAt ?? sorted[0]?.finishedAt ?? now;
  const elapsedH = Math.max(0, now - t0) / 3_600_000;
  let p = 0;
  let f = 0;
  const timeline = sorted.map((b) => {
    if (b.passed) p++;
    else f++;
    return { t: Math.max(0, (b.finishedAt - t0) / 1000), passed: p, failed: f };
  });
  return {
    passed,
    failed,
    timeline: downsample(timeline, maxTimelinePoints),
    boardsPerHour: sorted.length === 0 || elapsedH === 0 ? 0 : sorted.length / elapsedH,
    passRate: sorted.length === 0 ? null : passed / sorted.length,
    failuresByStep,
  };
}
