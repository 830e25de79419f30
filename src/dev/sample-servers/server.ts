/** Starts one sample MCP server on loopback, with in-process test controls. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import type { JWTVerifyGetKey } from 'jose';
import type { SampleServerName } from './caller.js';
import { SAMPLE_DOMAINS, type SampleDataViews } from './domains.js';
import { FaultPlan, type Fault, type FaultStatus } from './faults.js';
import { createMcpEndpoint } from './mcp-endpoint.js';
import type { ToolPatch } from './tools.js';

export const MCP_PATH = '/mcp';

const sampleTracer = trace.getTracer('mcp-sample-server');

export interface SampleServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** The gateway: the `iss` its identity assertions carry. */
  issuer: string;
  /** The gateway's signing keys, e.g. `createRemoteJWKSet(<gateway>/.well-known/jwks.json)`. */
  keys: JWTVerifyGetKey;
  /** Errors the MCP handler could not answer in-band (defaults to none: they still get a 500). */
  onError?: (error: Error) => void;
}

/** Test controls: in-process only, never reachable over HTTP. */
export interface SampleServerControls<N extends SampleServerName = SampleServerName> {
  /** The next `count` HTTP requests answer `status` (with `Retry-After` when given). */
  failNext(count: number, status: FaultStatus, retryAfterSec?: number): void;
  /** The next `count` HTTP requests never answer, until the client gives up or the server closes. */
  hangNext(count: number): void;
  /** The next `count` `tools/call` requests never answer; other requests are served meanwhile. */
  hangNextToolCalls(count: number): void;
  /** HTTP requests received, including failed and hung ones. */
  requestCount(): number;
  /** `tools/call` executions that reached the tool's handler. */
  toolCallCount(tool: string): number;
  /** Changes a tool's definition and notifies `tools/list_changed` to listening (2026-07-28) clients. */
  redefineTool(tool: string, patch: ToolPatch): void;
  /** The live records, read-only: observe what write tools did. */
  readonly data: SampleDataViews[N];
}

export interface SampleServerHandle<N extends SampleServerName = SampleServerName> {
  readonly name: N;
  /** `http://HOST:PORT/mcp` */
  readonly url: string;
  readonly controls: SampleServerControls<N>;
  /** Stops the server and drops every connection, keep-alive and hung ones included. */
  close(): Promise<void>;
}

function answerFault(res: ServerResponse, fault: Extract<Fault, { kind: 'fail' }>): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (fault.retryAfterSec !== undefined) headers['retry-after'] = String(fault.retryAfterSec);
  res.writeHead(fault.status, headers).end(JSON.stringify({ error: 'injected_fault', status: fault.status }));
}

/** The JSON-RPC method of a request body read ahead (only when a fault aims at one method). */
async function readMethod(req: IncomingMessage): Promise<{ body: unknown; method: string | undefined }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const method = typeof body === 'object' && body !== null && 'method' in body && typeof body.method === 'string' ? body.method : undefined;
    return { body, method };
  } catch {
    return { body: undefined, method: undefined };
  }
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error === undefined ? resolve() : reject(error)));
    server.closeAllConnections();
  });
}

export async function startSampleServer<N extends SampleServerName>(name: N, options: SampleServerOptions): Promise<SampleServerHandle<N>> {
  const domain = SAMPLE_DOMAINS[name];
  const store = domain.createStore();
  const tools = domain.tools(store);
  const patches = new Map<string, ToolPatch>();
  const calls = new Map<string, number>();
  const faults = new FaultPlan();
  let requests = 0;

  const endpoint = createMcpEndpoint({
    serverName: name,
    title: domain.title,
    tools,
    trust: { issuer: options.issuer, audience: name, keys: options.keys },
    patchOf: (tool) => patches.get(tool),
    onCall: (tool) => calls.set(tool, (calls.get(tool) ?? 0) + 1),
    onError: options.onError,
  });

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const read = faults.needsMethod() && req.method === 'POST' ? await readMethod(req) : undefined;
    const fault = faults.take(read?.method);
    if (fault?.kind === 'hang') return; // no answer at all; close() drops the socket
    if (fault?.kind === 'fail') return answerFault(res, fault);
    if (req.url?.split('?')[0] !== MCP_PATH) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found' }));
      return;
    }
    // The upstream hop of a trace: a SERVER span under the gateway's traceparent (a no-op without an SDK).
    const parent = propagation.extract(context.active(), req.headers);
    sampleTracer.startActiveSpan(`${name} ${req.method ?? 'GET'} ${MCP_PATH}`, { kind: SpanKind.SERVER, attributes: { 'mcp.server': name } }, parent, (span) => {
      res.once('close', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        span.end();
      });
      void endpoint.handle(req, res, read?.body);
    });
  };
  const server = createServer((req, res) => {
    requests += 1;
    void serve(req, res);
  });
  const address = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    name,
    url: `http://${host}:${address.port}${MCP_PATH}`,
    controls: {
      failNext: (count, status, retryAfterSec) => faults.failNext(count, status, retryAfterSec),
      hangNext: (count) => faults.hangNext(count),
      hangNextToolCalls: (count) => faults.hangNextToolCalls(count),
      requestCount: () => requests,
      toolCallCount: (tool) => calls.get(tool) ?? 0,
      redefineTool(tool, patch) {
        if (!tools.some((candidate) => candidate.name === tool)) throw new Error(`${name} has no tool named ${tool}`);
        patches.set(tool, { ...patches.get(tool), ...patch });
        endpoint.toolsChanged();
      },
      data: domain.view(store),
    },
    close() {
      closing ??= endpoint.close().then(() => closeServer(server));
      return closing;
    },
  };
}
