/**
 * OpenTelemetry export by convention: with OTEL_EXPORTER_OTLP_ENDPOINT set, startTelemetry registers
 * the SDK and an OTLP/HTTP receiver started here gets connected traces — the caller's span → the
 * gateway's HTTP span → the tool call → the sample server's span, and for a run the model turns too.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRequested, startTelemetry, type TelemetryShutdown } from '../../src/ops/otel-sdk.js';
import { collectRun, openSse } from '../helpers/sse.js';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  scope: string;
  service: string;
}

const received: ReceivedSpan[] = [];
const contentTypes = new Set<string>();

/** A minimal OTLP/HTTP JSON receiver (the exporter sends hex ids in JSON mode). */
async function startReceiver(): Promise<Server> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      contentTypes.add(String(request.headers['content-type']));
      if (request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const resourceSpans of body.resourceSpans ?? []) {
          const attributes: { key: string; value: { stringValue?: string } }[] = resourceSpans.resource?.attributes ?? [];
          const service = attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              received.push({ traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? '', name: span.name, kind: span.kind, scope: scopeSpans.scope?.name ?? '', service });
            }
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

let receiver: Server;
let stopTelemetry: TelemetryShutdown | undefined;
let stack: TestStack;
let gateway: RunningGateway;

beforeAll(async () => {
  receiver = await startReceiver();
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'gateway-under-test',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  };
  // The SDK reads the standard variables from the process environment, as it does in production.
  Object.assign(process.env, env);
  stopTelemetry = await startTelemetry(process.env);
  stack = await startTestStack();
  gateway = await startGateway(testConfig(stack));
});

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
  await stopTelemetry?.();
  receiver?.close();
});

const spansOf = (traceId: string): ReceivedSpan[] => received.filter((span) => span.traceId === traceId);
const byName = (spans: ReceivedSpan[], name: string): ReceivedSpan[] => spans.filter((span) => span.name === name);

describe('OTLP export by convention', () => {
  it('turns on only when an OTLP endpoint is configured', () => {
    expect(exportRequested({})).toBe(false);
    expect(exportRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(exportRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(exportRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(stopTelemetry).toBeDefined();
  });

  it('a REST tool call: caller → HTTP span → tool call → sample server, one trace', async () => {
    const traceId = 'a3ce929d0e0e47364bf92f3577b34da6';
    const callerSpanId = '00f067aa0ba902b7';
    const token = await stack.issuer.tokenFor('alice.chen');
    const response = await api(`${gateway.url}/api/tools/hr/list_employees`, {
      token,
      body: { arguments: { limit: 1 } },
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    expect(response.status).toBe(200);
    await waitFor(() => byName(spansOf(traceId), 'hr POST /mcp').length > 0 && byName(spansOf(traceId), 'POST /api/tools/:server/:tool').length > 0, {
      timeoutMs: 15_000,
      what: 'the exported spans',
    });
    const spans = spansOf(traceId);
    const http = byName(spans, 'POST /api/tools/:server/:tool')[0]!;
    const call = byName(spans, 'mcp.tools/call hr/list_employees')[0]!;
    expect(http).toMatchObject({ parentSpanId: callerSpanId, kind: 2, service: 'gateway-under-test', scope: 'mcp-gateway' });
    expect(call.parentSpanId).toBe(http.spanId);
    // The upstream hop: every request the MCP client made for this call is a child of the tool call.
    const upstream = byName(spans, 'hr POST /mcp');
    expect(upstream.some((span) => span.parentSpanId === call.spanId && span.scope === 'mcp-sample-server')).toBe(true);
    expect(contentTypes).toContain('application/json');
  });

  it('an agent run: model turns and the tool call the model asked for join the query request’s trace', async () => {
    const traceId = '5b8efff798038103d269b633813fc60c';
    const callerSpanId = 'eee19b7ec3c1b174';
    const token = await stack.issuer.tokenFor('bob.martinez');
    const frames = await collectRun(
      await openSse(`${gateway.url}/api/query`, { token, body: { query: 'list the invoices' }, headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } }),
    );
    expect(frames.at(-1)?.data.status).toBe('completed');
    await waitFor(() => byName(spansOf(traceId), 'claude.messages.stream').length >= 2 && byName(spansOf(traceId), 'finance POST /mcp').length > 0, {
      timeoutMs: 15_000,
      what: 'the run’s exported spans',
    });
    const spans = spansOf(traceId);
    const http = byName(spans, 'POST /api/query')[0]!;
    expect(http.parentSpanId).toBe(callerSpanId);
    const turns = byName(spans, 'claude.messages.stream');
    expect(turns.every((turn) => turn.parentSpanId === http.spanId)).toBe(true);
    const call = byName(spans, 'mcp.tools/call finance/list_invoices')[0]!;
    expect(call.parentSpanId).toBe(http.spanId);
    expect(byName(spans, 'finance POST /mcp').some((span) => span.parentSpanId === call.spanId)).toBe(true);
  });
});
