/**
 * How many scoring worker threads `SCORER_WORKERS=auto` starts: the cores this process may use,
 * less one for the main thread (ingest decode, window, store, publish, GraphQL: the capacity
 * bench saturates it before the worker), at least 1 and at most MAX_AUTO_WORKERS.
 *
 * Usable cores = os.availableParallelism() (the CPU affinity mask: what `taskset` or a cpuset
 * allows), lowered to the cgroup CPU quota when one is set: a container limited to 2 CPUs on a
 * 64-core host reports 64 from availableParallelism (Node reads no cgroup), and 63 busy workers
 * would be throttled to 2 cores between them. A fractional quota rounds down (1.5 cores cannot
 * keep a second busy thread running).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Upper bound of `auto`. Every worker opens its own onnxruntime sessions (the fusion graph, the
 * text encoder and, with the speech path on, Whisper tiny.en: docs/operations.md "Scoring
 * workers" has the memory each adds), and past 8 the main thread's own work per segment, not
 * scoring, limits a node (docs/benchmarks.md, Capacity). An explicit SCORER_WORKERS may go higher.
 */
export const MAX_AUTO_WORKERS = 8;

/** Where the core count comes from; tests inject their own instead of patching os or fs. */
export interface CpuSources {
  /** os.availableParallelism(). */
  parallelism(): number;
  /** The cgroup CPU limit's text: cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>"), or
   *  v1's "<cfs_quota_us> <cfs_period_us>"; null when the process has none. */
  cgroupCpuMax(): string | null;
}

export interface WorkerChoice {
  workers: number;
  /** Cores usable, after the cgroup quota. */
  cores: number;
  parallelism: number;
  /** The cgroup quota in cores, or null: none. */
  cgroupCores: number | null;
}

/** Cores a cgroup quota allows, or null for none ("max", a negative v1 quota, or unreadable text). */
export function cgroupCores(cpuMax: string | null): number | null {
  if (cpuMax === null) return null;
  const [quota, period] = cpuMax.trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period ?? 100_000);
  if (quota === 'max' || !Number.isFinite(q) || q <= 0 || !Number.isFinite(p) || p <= 0) return null;
  return q / p;
}

/** The `auto` choice for these sources. */
export function autoWorkerCount(src: CpuSources = systemCpuSources()): WorkerChoice {
  const parallelism = Math.max(1, Math.floor(src.parallelism()));
  const quota = cgroupCores(src.cgroupCpuMax());
  const cores = quota === null ? parallelism : Math.max(1, Math.min(parallelism, Math.floor(quota)));
  return { workers: Math.min(MAX_AUTO_WORKERS, Math.max(1, cores - 1)), cores, parallelism, cgroupCores: quota };
}

/** This process's sources: availableParallelism and the cgroup v2 (else v1) CPU limit files. */
export function systemCpuSources(): CpuSources {
  return {
    parallelism: availableParallelism,
    cgroupCpuMax: () => {
      const v2 = readOrNull('/sys/fs/cgroup/cpu.max');
      if (v2 !== null) return v2;
      const quota = readOrNull('/sys/fs/cgroup/cpu/cpu.cfs_quota_us');
      const period = readOrNull('/sys/fs/cgroup/cpu/cpu.cfs_period_us');
      return quota !== null && period !== null ? `${quota.trim()} ${period.trim()}` : null;
    },
  };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
