/**
 * Gateway child: a gateway in a process of its own, so its memory can be read without the load
 * generator's or the stack's. Answers `start`, `memory` (after GC) and `stop`.
 */
import { readFile } from 'node:fs/promises';
import { createGateway, type Gateway } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { collectGarbage, serveRequests } from '../lib/child.js';

export type GatewayRequest = { kind: 'start'; config: GatewayConfigInput } | { kind: 'memory' } | { kind: 'stop' };

export interface GatewayMemory {
  /** VmRSS from /proc: what the kernel charges the process. */
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  openStreams: number;
}

let gateway: Gateway | undefined;

async function rssBytes(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? process.memoryUsage().rss : Number(kb) * 1024;
}

serveRequests(async (body) => {
  const message = body as GatewayRequest;
  switch (message.kind) {
    case 'start':
      gateway = await createGateway(parseConfig(message.config, {}));
      return gateway.listen();
    case 'memory': {
      await collectGarbage();
      const usage = process.memoryUsage();
      return { rssBytes: await rssBytes(), heapUsedBytes: usage.heapUsed, externalBytes: usage.external, openStreams: gateway?.sse.size ?? 0 } satisfies GatewayMemory;
    }
    case 'stop':
      await gateway?.close();
      gateway = undefined;
      return null;
  }
});
