/**
 * Load generator child: runs autocannon against one URL. Latency comes from autocannon's per-response
 * timings recorded in a nanosecond histogram, because its own summary has 1 ms resolution.
 */
import autocannon from 'autocannon';
import { serveRequests } from '../lib/child.js';
import { latencyHistogram, recordMs, summarize, type LatencySummary } from '../lib/stats.js';

export interface LoadRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationSec: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  errors: number;
  non2xx: number;
  latency: LatencySummary;
}

function load(request: LoadRequest): Promise<LoadResult> {
  const histogram = latencyHistogram();
  let non2xx = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        method: request.method ?? 'GET',
        headers: request.headers,
        body: request.body,
        connections: request.connections,
        duration: request.durationSec,
        timeout: 10,
      },
      (error, result) => {
        if (error !== null) return reject(error);
        resolve({ requests: result.requests.total, rps: Math.round(result.requests.average), errors: result.errors, non2xx, latency: summarize(histogram) });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300) recordMs(histogram, responseTimeMs);
      else non2xx += 1;
    });
  });
}

serveRequests((body) => load(body as LoadRequest));
