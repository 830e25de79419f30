/**
 * The HTTP edge: the Fastify instance with request ids, body limits, security headers, CORS,
 * the access log and the error shape. No business logic lives here.
 */
import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { securityHeaders } from './security-headers.js';
import type { GatewayConfig } from '../config/schema.js';
import { loggerOptions } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { traceRequests } from '../ops/tracing.js';
import { GatewayError } from '../errors.js';
import { clientErrorHandler, frameworkErrors, installErrorHandling } from './error-handler.js';
import { nestsDeeperThan } from './json-depth.js';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.js';

export async function createEdge(config: GatewayConfig, metrics: Metrics): Promise<FastifyInstance> {
  const { timeouts } = config.server;
  const app = Fastify({
    logger: loggerOptions(config.logging),
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    genReqId: requestIdFor,
    // One access-log line per request (below) instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    // Slow clients (slowloris headers, trickled bodies) are cut off with 408 REQ_4008 by Node's own
    // timers; responses are not bounded by them, and SSE streams opt out of the idle timeout.
    keepAliveTimeout: timeouts.keepAliveMs,
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.idleMs,
    http: {
      headersTimeout: timeouts.headersMs,
      // Node checks the two timeouts above on this interval (30 s by default, too coarse for them).
      connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(timeouts.headersMs / 4))),
    },
    return503OnClosing: true,
    clientErrorHandler,
    // Router failures (malformed percent-encoding, over-long path parameters) get the catalogue's shape too.
    frameworkErrors,
    // Bad input is refused, never silently repaired: no dropping unknown fields, no type coercion.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: true } },
  });

  installErrorHandling(app);
  // The API speaks JSON only; Fastify's built-in text/plain parser would let a plain-text body reach
  // JSON routes (and fail as a schema violation) instead of being refused as 415.
  app.removeContentTypeParser('text/plain');
  // JSON bodies are checked for nesting depth, without recursion, before Fastify's own parser
  // (secure-json-parse, refusing __proto__ and constructor poisoning) sees them.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (nestsDeeperThan(text, config.server.maxJsonDepth)) {
      done(new GatewayError('REQ_4002', { details: { maxDepth: config.server.maxJsonDepth } }), undefined);
      return;
    }
    // Callback style: the parser reports through `done`, its return value carries nothing.
    void parseJson(request, text, done);
  });
  const headers = securityHeaders(config);
  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(headers);
  });
  await app.register(cors, {
    origin: config.server.cors.origins.length === 0 ? false : config.server.cors.origins,
    credentials: false,
    exposedHeaders: [REQUEST_ID_HEADER, 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  traceRequests(app);
  const { accessLogSampleRate } = config.logging;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const durationMs = reply.elapsedTime;
    const status = reply.statusCode;
    metrics.httpRequests.inc({ method: request.method, route, status: String(status) });
    metrics.httpDuration.observe({ method: request.method, route }, durationMs / 1000);
    // Failures are always logged; successful requests only at the configured sampling rate (metrics count them all).
    if (!logsAccess(status, accessLogSampleRate)) return;
    request.log.info({ method: request.method, url: request.url, route, status, durationMs: Math.round(durationMs * 10) / 10 }, 'request');
  });
  return app;
}

/** Whether a response gets an access-log line: every failure (status ≥ 400), a `rate` share of the rest. */
export function logsAccess(status: number, rate: number, random: () => number = Math.random): boolean {
  return status >= 400 || rate >= 1 || random() < rate;
}
