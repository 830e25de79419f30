/** Every benchmark, in the order `npm run bench` runs them. */
import { abortHeap } from './abort-heap.js';
import { authOverhead } from './auth-overhead.js';
import { coldStart } from './cold-start.js';
import type { Benchmark } from './lib/report.js';
import { sseFirstEvent } from './sse-first-event.js';
import { sseStreams } from './sse-streams.js';
import { toolCall } from './tool-call.js';

export const BENCHMARKS: readonly Benchmark[] = [authOverhead, sseFirstEvent, sseStreams, abortHeap, coldStart, toolCall];
