/**
 * Tracing: spans through @opentelemetry/api (a no-op until the deployer registers an SDK) and W3C
 * trace context for upstream calls. The traceparent is derived here so a trace id reaches the
 * upstream servers and the audit log even when no OpenTelemetry SDK is installed.
 */
import { randomBytes } from 'node:crypto';
import { context, propagation, trace, type Context, type Span } from '@opentelemetry/api';

export const tracer = trace.getTracer('mcp-gateway');

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  readonly traceId: string;
  readonly traceparent: string;
}

/**
 * The caller's trace as the parent context of the gateway's spans. With an OpenTelemetry SDK
 * registered its W3C propagator reads the header; without one this is the active (empty) context.
 */
export function parentContext(traceparent: string | undefined): Context {
  return traceparent === undefined ? context.active() : propagation.extract(context.active(), { traceparent });
}

/** A child of the caller's trace (same trace id, new span id), or a new trace when none came in. */
export function childTraceContext(incoming: string | undefined, span?: Span): TraceContext {
  const spanContext = span?.spanContext();
  if (spanContext !== undefined && trace.isSpanContextValid(spanContext)) {
    const flags = spanContext.traceFlags.toString(16).padStart(2, '0');
    return { traceId: spanContext.traceId, traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}` };
  }
  const match = incoming === undefined ? null : TRACEPARENT.exec(incoming);
  const traceId = match?.[1] ?? randomBytes(16).toString('hex');
  const flags = match?.[3] ?? '01';
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}` };
}
