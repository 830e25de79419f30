/**
 * Tracing: spans through @opentelemetry/api (a no-op until the deployer registers an SDK) and W3C
 * trace context for upstream calls. The traceparent is derived here so a trace id reaches the
 * upstream servers and the audit log even when no OpenTelemetry SDK is installed.
 */
import { randomBytes } from 'node:crypto';
import { SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export const tracer = trace.getTracer('mcp-gateway');

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  readonly traceId: string;
  readonly traceparent: string;
}

/**
 * The parent context of the gateway's spans: the active span (the HTTP request's, see traceRequests)
 * when there is one, else the caller's traceparent. With an OpenTelemetry SDK registered its W3C
 * propagator reads the header; without one this is the active (empty) context.
 */
export function parentContext(traceparent: string | undefined): Context {
  const active = context.active();
  if (traceparent === undefined || trace.getSpan(active)?.isRecording() === true) return active;
  return propagation.extract(active, { traceparent });
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

const requestSpans = new WeakMap<FastifyRequest, Span>();

/**
 * One SERVER span per HTTP request, a child of the caller's traceparent, active while the route
 * handler runs so the tool calls, runs and model turns it starts join the same trace. Written here
 * rather than taken from @fastify/otel because that plugin loads @opentelemetry/instrumentation on
 * every start, and one span per request is all the gateway needs; with no SDK registered the spans
 * are no-ops.
 */
export function traceRequests(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.traceparent;
    const span = tracer.startSpan(
      `${request.method} ${request.routeOptions.url ?? 'unmatched'}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': request.url.split('?')[0] ?? '/', 'http.route': request.routeOptions.url ?? '' } },
      parentContext(typeof header === 'string' ? header : undefined),
    );
    requestSpans.set(request, span);
    // Streams (SSE) finish after the handler returns: the span ends when the response does.
    reply.raw.once('close', () => {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function tracedHandler(this: FastifyInstance, request, reply) {
      const span = requestSpans.get(request);
      return span === undefined ? handler.call(this, request, reply) : context.with(trace.setSpan(context.active(), span), () => handler.call(this, request, reply));
    };
  });
}
