/**
 * With an OpenTelemetry SDK registered (here an in-memory exporter), the gateway's spans join the
 * caller's W3C trace and describe tool calls and model turns; the same trace reaches the audit log.
 */
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun, openSse } from '../helpers/sse.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

let stack: TestStack;
let gateway: RunningGateway;

beforeAll(async () => {
  provider.register();
  stack = await startTestStack();
  gateway = await startGateway(testConfig(stack));
});

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
  await provider.shutdown();
});

describe('tracing', () => {
  it('a tool call is a client span in the caller’s trace, with its outcome', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpanId = '00f067aa0ba902b7';
    const token = await stack.issuer.tokenFor('alice.chen');
    const response = await api(`${gateway.url}/api/tools/hr/list_employees`, {
      token,
      body: { arguments: { limit: 1 } },
      headers: { traceparent: `00-${traceId}-${parentSpanId}-01` },
    });
    expect(response.status).toBe(200);
    const span = exporter.getFinishedSpans().find((candidate) => candidate.name === 'mcp.tools/call hr/list_employees');
    expect(span).toBeDefined();
    expect(span!.spanContext().traceId).toBe(traceId);
    // Its parent is the gateway's span for the HTTP request, itself a child of the caller's span.
    const request = exporter.getFinishedSpans().find((candidate) => candidate.spanContext().spanId === span!.parentSpanContext?.spanId);
    expect(request?.name).toBe('POST /api/tools/:server/:tool');
    expect(request!.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(span!.attributes).toMatchObject({ 'mcp.server': 'hr', 'mcp.tool': 'list_employees', 'mcp.outcome': 'ok' });
  });

  it('each model turn of a run is a span with the model, stop reason and token usage', async () => {
    exporter.reset();
    const token = await stack.issuer.tokenFor('bob.martinez');
    const frames = await collectRun(await openSse(`${gateway.url}/api/query`, { token, body: { query: 'list the invoices' } }));
    expect(frames.at(-1)?.data.status).toBe('completed');
    const turns = exporter.getFinishedSpans().filter((span) => span.name === 'claude.messages.stream');
    expect(turns.map((span) => span.attributes['gen_ai.response.finish_reason'])).toEqual(['tool_use', 'end_turn']);
    expect(turns[0]!.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    // The tool call the model asked for is traced as well.
    expect(exporter.getFinishedSpans().some((span) => span.name === 'mcp.tools/call finance/list_invoices')).toBe(true);
  });
});
