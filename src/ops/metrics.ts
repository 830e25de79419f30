/**
 * Every Prometheus metric the gateway exports, declared once. Each gateway instance owns its own
 * registry so several gateways can run in one process (tests) without clashing.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'gateway_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP request duration (until the response head for streams)',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly authValidations = new Counter({
    name: 'gateway_auth_validations_total',
    help: 'Bearer token checks by result code (ok, or the error code)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly revocations = new Counter({
    name: 'gateway_revocations_total',
    help: 'Revocations recorded by this instance, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly revocationStaleness = new Gauge({
    name: 'gateway_revocation_mirror_staleness_seconds',
    help: 'Age of the local revocation mirror (time since the last successful sync)',
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests refused by a rate limit, by limit and tier',
    labelNames: ['limit', 'tier'] as const,
    registers: [this.registry],
  });
  readonly rateLimitLocalFallback = new Gauge({
    name: 'gateway_rate_limit_local_fallback',
    help: '1 while rate limits are enforced per instance because the shared store is down',
    registers: [this.registry],
  });
  readonly storeUp = new Gauge({
    name: 'gateway_store_up',
    help: '1 when the state store answers, 0 when local fallbacks are in use',
    registers: [this.registry],
  });
  readonly upstreamUp = new Gauge({
    name: 'gateway_upstream_up',
    help: '1 when an upstream MCP server is reachable',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly breakerOpen = new Gauge({
    name: 'gateway_upstream_breaker_open',
    help: '1 while the circuit breaker of an upstream server is open',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly toolCalls = new Counter({
    name: 'gateway_tool_calls_total',
    help: 'Tool calls by server, tool and outcome',
    labelNames: ['server', 'tool', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly toolCallDuration = new Histogram({
    name: 'gateway_tool_call_duration_seconds',
    help: 'Upstream tool call duration including retries',
    labelNames: ['server'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly upstreamRetries = new Counter({
    name: 'gateway_upstream_retries_total',
    help: 'Retried upstream requests by server',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly upstreamRestarts = new Counter({
    name: 'gateway_upstream_restarts_total',
    help: 'Restarts of stdio upstream servers (after an exit or a failed start) by server',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly upstreamReconnects = new Counter({
    name: 'gateway_upstream_reconnects_total',
    help: 'New upstream sessions after a stale or lost one (restarted server, closed connection) by server',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly sseActive = new Gauge({
    name: 'gateway_sse_streams_active',
    help: 'Open SSE streams',
    registers: [this.registry],
  });
  readonly sseAborted = new Counter({
    name: 'gateway_sse_streams_aborted_total',
    help: 'SSE streams closed by the client or cut off for falling behind',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly runsActive = new Gauge({
    name: 'gateway_runs_active',
    help: 'Agent runs executing on this instance',
    registers: [this.registry],
  });
  readonly runsEvicted = new Counter({
    name: 'gateway_runs_evicted_total',
    help: 'Finished runs deleted before their retention because the memory store held runs.maxFinishedRuns',
    registers: [this.registry],
  });
  readonly conversationsEvicted = new Counter({
    name: 'gateway_conversations_evicted_total',
    help: 'Conversations deleted before their retention because the memory store held runs.maxConversations',
    registers: [this.registry],
  });
  readonly runs = new Counter({
    name: 'gateway_runs_total',
    help: 'Finished agent runs by final status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly runLogBuffered = new Gauge({
    name: 'gateway_run_log_buffered_events',
    help: 'Run events delivered to readers on this instance and waiting to be written to the store (grows during a store outage)',
    registers: [this.registry],
  });
  readonly runLogFailures = new Counter({
    name: 'gateway_run_log_failures_total',
    help: 'Runs ended because their events could not reach the store (buffer_full, outage, conflict)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly llmTokens = new Counter({
    name: 'gateway_llm_tokens_total',
    help: 'Model tokens by kind (input, output, cache_read, cache_creation)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly confirmations = new Counter({
    name: 'gateway_confirmations_total',
    help: 'Confirmations by event (created, approved, rejected, expired)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly runUpstreamRequests = new Counter({
    name: 'gateway_run_upstream_requests_total',
    help: "Requests tool servers made during agent runs' tool calls, by kind (elicitation, sampling) and outcome (accept, decline, cancel, expired, withdrawn; served, refused)",
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Process-wide metrics (event loop, heap); only for the one gateway a process serves in production. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }
}
