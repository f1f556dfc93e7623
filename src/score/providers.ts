/**
 * Execution providers in configured order with fallback: each provider is tried by creating the
 * sessions on it alone; a failure is recorded and the next one is tried. onnxruntime-node adds
 * its CPU kernels behind any provider for ops that provider lacks, so "webgpu ok" means the
 * session runs with webgpu first, not that every node runs on the GPU.
 */

/** Order tried when no list is given: fastest first; cuda and webgpu fail in milliseconds where absent. */
export const DEFAULT_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;

/** One provider tried at start, as reported by ScorerInfo.providerAttempts. */
export interface ProviderAttempt {
  provider: string;
  ok: boolean;
  error?: string;
}

/** Parses a comma list such as "cuda,webgpu,cpu" (blank items dropped, lower-cased, deduplicated). */
export function parseProviders(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [...DEFAULT_PROVIDERS];
  const list = value.split(',').map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0);
  return [...new Set(list)];
}

/**
 * Calls `open(provider)` for each provider in order until one succeeds.
 * @returns the value opened, the provider that opened it, and every attempt (failures first).
 * @throws the last error with all attempts attached when none succeeds.
 */
export async function openWithFallback<T>(
  providers: string[],
  open: (provider: string) => Promise<T>,
): Promise<{ value: T; provider: string; attempts: ProviderAttempt[] }> {
  const attempts: ProviderAttempt[] = [];
  for (const provider of providers) {
    try {
      const value = await open(provider);
      attempts.push({ provider, ok: true });
      return { value, provider, attempts };
    } catch (e) {
      attempts.push({ provider, ok: false, error: firstLine(e) });
    }
  }
  throw Object.assign(new Error(`no execution provider could load the model: ${attempts.map((a) => `${a.provider}: ${a.error}`).join('; ')}`), { attempts });
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 300);
}
