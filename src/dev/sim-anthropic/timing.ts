/** Resolves the pacing knobs: explicit options win, then the environment, then a fallback. */
import type { Timing } from './http-io.js';

const TIMING_ENV = { firstTokenMs: 'SIM_LLM_FIRST_TOKEN_MS', tokenDelayMs: 'SIM_LLM_TOKEN_DELAY_MS' } as const;

const NO_DELAY: Timing = { firstTokenMs: 0, tokenDelayMs: 0 };

function fromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  // A typo here would silently change the demo's pace, so refuse it instead.
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number of milliseconds, got "${raw}"`);
  return value;
}

export function resolveTiming(options: Partial<Timing>, env: NodeJS.ProcessEnv, fallback: Timing = NO_DELAY): Timing {
  return {
    firstTokenMs: options.firstTokenMs ?? fromEnv(env, TIMING_ENV.firstTokenMs) ?? fallback.firstTokenMs,
    tokenDelayMs: options.tokenDelayMs ?? fromEnv(env, TIMING_ENV.tokenDelayMs) ?? fallback.tokenDelayMs,
  };
}
