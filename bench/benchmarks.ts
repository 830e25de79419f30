/** Every benchmark, in the order `npm run bench` runs them. */
import { abortHeap } from './abort-heap.js';
import { apiMe } from './api-me.js';
import { authOverhead } from './auth-overhead.js';
import { coldStart } from './cold-start.js';
import type { Benchmark } from './lib/report.js';
import { runs } from './runs.js';
import { runsSoak } from './runs-soak.js';
import { sseFirstEvent } from './sse-first-event.js';
import { sseStreams } from './sse-streams.js';
import { toolCall } from './tool-call.js';

export const BENCHMARKS: readonly Benchmark[] = [toolCall, apiMe, runs, runsSoak, sseStreams, authOverhead, sseFirstEvent, abortHeap, coldStart];
