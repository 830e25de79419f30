/**
 * Turns every failure — ours, Fastify's (bad JSON, schema violations, 413, 415, unknown routes) —
 * into the one error shape `{error:{code,message,requestId,retryable,details?}}` with a catalogued code.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, toGatewayError, type ErrorCode } from '../errors.js';
import { isStoreUnavailable } from '../store/errors.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/** Fastify's own error codes → ours. Anything unlisted with a 4xx status is a generic invalid request. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'REQ_4001',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REQ_4001',
  FST_ERR_CTP_BODY_TOO_LARGE: 'REQ_4013',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REQ_4015',
  FST_ERR_VALIDATION: 'REQ_4000',
  FST_ERR_NOT_FOUND: 'REQ_4004',
};

function classify(error: FastifyError): GatewayError {
  if (error instanceof GatewayError) return error;
  const mapped = error.code === undefined ? undefined : FASTIFY_CODES[error.code];
  if (mapped === 'REQ_4000' && error.validation !== undefined) {
    const details = error.validation.map((issue) => ({
      path: `${error.validationContext ?? 'body'}${issue.instancePath}`,
      message: issue.message ?? 'is invalid',
    }));
    return new GatewayError('REQ_4000', { details, cause: error });
  }
  if (mapped !== undefined) return new GatewayError(mapped, { cause: error });
  // secure-json-parse raises a plain SyntaxError with statusCode 400 for malformed JSON.
  if (error instanceof SyntaxError && error.statusCode === 400) return new GatewayError('REQ_4001', { cause: error });
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    // Fastify's messages may quote the request (a URL, a header); only its code goes back.
    return new GatewayError('REQ_4000', { details: error.code === undefined ? undefined : { reason: error.code }, cause: error });
  }
  return toGatewayError(error);
}

/** A store outage is logged once per transition by the store; each request it fails is only noted. */
function isOutage(error: GatewayError): boolean {
  return isStoreUnavailable(error.cause);
}

export function sendError(reply: FastifyReply, error: GatewayError): FastifyReply {
  return reply
    .status(error.status)
    // Set here too: router failures are answered before the onRequest hook that sets it.
    .header(REQUEST_ID_HEADER, reply.request.id)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .send({ error: error.toObject(reply.request.id) });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const gatewayError = classify(error);
    if (isOutage(gatewayError)) request.log.info({ code: gatewayError.code }, 'request refused: store unavailable');
    else if (gatewayError.status >= 500) request.log.error({ err: error, code: gatewayError.code }, 'request failed');
    else request.log.info({ code: gatewayError.code, reason: error.message }, 'request refused');
    // A reply whose headers already left (an SSE stream) cannot carry a JSON error any more.
    if (reply.sent || reply.raw.headersSent) return;
    return sendError(reply, gatewayError);
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, new GatewayError('REQ_4004')));
}

/** Fastify's router errors → ours; the URL they concern is logged, never echoed. */
const ROUTER_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_BAD_URL: 'REQ_4000',
  FST_ERR_MAX_PARAM_LENGTH: 'REQ_4014',
};

/** Fastify's `frameworkErrors`: failures before routing (bad percent-encoding, over-long path parameters). */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const gatewayError = new GatewayError(ROUTER_CODES[error.code] ?? 'REQ_4000', { details: { reason: error.code } });
  request.log.info({ code: gatewayError.code, reason: error.code }, 'unroutable request refused');
  void sendError(reply, gatewayError);
}

/** Node's own HTTP parser errors (oversized headers, garbled requests, timeouts) → the codes Fastify never sees. */
const CONNECTION_CODES: Readonly<Record<string, ErrorCode>> = {
  HPE_HEADER_OVERFLOW: 'REQ_4031',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQ_4008',
};

/**
 * Fastify's `clientErrorHandler`: a request Node could not parse never reaches a route or the error
 * handler, so the one error shape is written to the socket here (with a fresh request id).
 */
export function clientErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  // A reset or closed connection has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const gatewayError = new GatewayError(CONNECTION_CODES[error.code] ?? 'REQ_4000');
  const requestId = randomUUID();
  this.log.info({ requestId, code: gatewayError.code, reason: error.code }, 'unparseable request refused');
  if (socket.writable) {
    const body = JSON.stringify({ error: gatewayError.toObject(requestId) });
    socket.write(
      `HTTP/1.1 ${gatewayError.status} ${STATUS_CODES[gatewayError.status] ?? ''}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `${REQUEST_ID_HEADER}: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
