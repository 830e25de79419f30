/**
 * Client child for the tool-call benchmark: calls hr/list_employees directly on the sample server
 * with the official MCP client (carrying the gateway's own identity assertion) and through
 * POST /api/tools/hr/list_employees, in alternating blocks so machine noise hits both alike.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { serveRequests } from '../lib/child.js';
import { latencyHistogram, summarize, timed, type LatencySummary } from '../lib/stats.js';

export interface ToolCallsRequest {
  directUrl: string;
  /** The identity assertion the gateway sends upstream for the same user. */
  assertion: string;
  gatewayUrl: string;
  token: string;
  warmupCalls: number;
  blocks: number;
  blockSize: number;
}

export interface ToolCallsResult {
  direct: LatencySummary;
  gateway: LatencySummary;
  /** Employees listed by each path on the last call: the same assertion must see the same rows. */
  rows: { direct: number; gateway: number };
}

interface ListResult {
  isError?: boolean;
  structuredContent?: { employees?: unknown[] };
}

function rowsOf(result: ListResult, path: string): number {
  if (result.isError === true) throw new Error(`${path}: list_employees reported an error`);
  const employees = result.structuredContent?.employees;
  if (!Array.isArray(employees)) throw new Error(`${path}: no employees in the result`);
  return employees.length;
}

async function measure(input: ToolCallsRequest): Promise<ToolCallsResult> {
  const client = new Client({ name: 'bench-direct', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(input.directUrl), { requestInit: { headers: { authorization: `Bearer ${input.assertion}` } } }));
  const target = new URL('/api/tools/hr/list_employees', input.gatewayUrl);
  const viaGateway = async (): Promise<number> => {
    const response = await fetch(target, {
      method: 'POST',
      headers: { authorization: `Bearer ${input.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: {} }),
    });
    if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);
    return rowsOf(((await response.json()) as { result: ListResult }).result, 'gateway');
  };
  const direct = async (): Promise<number> => rowsOf((await client.callTool({ name: 'list_employees', arguments: {} })) as ListResult, 'direct');

  try {
    for (let i = 0; i < input.warmupCalls; i++) {
      await direct();
      await viaGateway();
    }
    const histograms = { direct: latencyHistogram(), gateway: latencyHistogram() };
    const rows = { direct: 0, gateway: 0 };
    for (let block = 0; block < input.blocks; block++) {
      for (let i = 0; i < input.blockSize; i++) rows.direct = await timed(histograms.direct, direct);
      for (let i = 0; i < input.blockSize; i++) rows.gateway = await timed(histograms.gateway, viaGateway);
    }
    return { direct: summarize(histograms.direct), gateway: summarize(histograms.gateway), rows };
  } finally {
    await client.close();
  }
}

serveRequests((body) => measure(body as ToolCallsRequest));
