/**
 * Client child for the tool-call benchmark: calls hr/list_employees directly on the sample server
 * with the official MCP client (carrying the gateway's own identity assertion) and through
 * POST /api/tools/hr/list_employees. The parent drives it block by block (`sequential` for latency,
 * `concurrent` for calls/s), alternating the paths, so machine noise hits both alike and it can read
 * the gateway's CPU time around each block.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Agent, request as httpRequest } from 'node:http';
import { serveRequests } from '../lib/child.js';
import { latencyHistogram, summarize, timed, type LatencySummary } from '../lib/stats.js';

export type ToolPath = 'direct' | 'gateway';

export type ToolCallsRequest =
  | { kind: 'setup'; directUrl: string; assertion: string; gatewayUrl: string; token: string }
  | { kind: 'sequential'; path: ToolPath; calls: number }
  | { kind: 'concurrent'; path: ToolPath; concurrency: number; seconds: number }
  | { kind: 'close' };

export interface SequentialResult {
  latency: LatencySummary;
  /** Employees listed on the last call: the same assertion must see the same rows on both paths. */
  rows: number;
}

export interface ConcurrentResult {
  calls: number;
  seconds: number;
  callsPerSecond: number;
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

let calls: Record<ToolPath, () => Promise<number>> | undefined;
let close: (() => Promise<void>) | undefined;

async function setup(input: Extract<ToolCallsRequest, { kind: 'setup' }>): Promise<null> {
  const client = new Client({ name: 'bench-direct', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(input.directUrl), { requestInit: { headers: { authorization: `Bearer ${input.assertion}` } } }));
  // node:http with keep-alive on the gateway path: the client's own cost stays small and the same for every call.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL('/api/tools/hr/list_employees', input.gatewayUrl);
  const body = JSON.stringify({ arguments: {} });
  const headers = { authorization: `Bearer ${input.token}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  const viaGateway = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(target, { method: 'POST', agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`gateway answered ${res.statusCode}: ${text}`));
          try {
            resolve(rowsOf((JSON.parse(text) as { result: ListResult }).result, 'gateway'));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  const direct = async (): Promise<number> => rowsOf((await client.callTool({ name: 'list_employees', arguments: {} })) as ListResult, 'direct');
  calls = { direct, gateway: viaGateway };
  close = async () => {
    agent.destroy();
    await client.close();
  };
  return null;
}

function pathCall(path: ToolPath): () => Promise<number> {
  if (calls === undefined) throw new Error('setup first');
  return calls[path];
}

async function sequential(path: ToolPath, count: number): Promise<SequentialResult> {
  const call = pathCall(path);
  const histogram = latencyHistogram();
  let rows = 0;
  for (let i = 0; i < count; i++) rows = await timed(histogram, call);
  return { latency: summarize(histogram), rows };
}

async function concurrent(path: ToolPath, concurrency: number, seconds: number): Promise<ConcurrentResult> {
  const call = pathCall(path);
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await call();
        done += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { calls: done, seconds: elapsed, callsPerSecond: done / elapsed };
}

serveRequests(async (body) => {
  const message = body as ToolCallsRequest;
  switch (message.kind) {
    case 'setup':
      return setup(message);
    case 'sequential':
      return sequential(message.path, message.calls);
    case 'concurrent':
      return concurrent(message.path, message.concurrency, message.seconds);
    case 'close':
      await close?.();
      return null;
  }
});
