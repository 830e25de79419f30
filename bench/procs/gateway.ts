/**
 * Gateway child: a gateway in a process of its own, so its memory and CPU time can be read without
 * the load generator's or the stack's. Answers `start`, `memory` (after GC), `cpu` (process.cpuUsage),
 * `profile-start` / `profile-stop` (a V8 CPU profile of the steady state, start-up excluded),
 * `assertion` (the identity assertion it sends upstream for a token) and `stop`.
 */
import { readFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createGateway, type Gateway } from '../../src/app.js';
import { TokenVerifier } from '../../src/auth/token-verifier.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { collectGarbage, serveRequests } from '../lib/child.js';
import type { CpuProfile } from '../lib/profile-summary.js';

export type GatewayRequest =
  | { kind: 'start'; config: GatewayConfigInput }
  | { kind: 'memory' }
  | { kind: 'cpu' }
  | { kind: 'profile-start' }
  | { kind: 'profile-stop' }
  | { kind: 'assertion'; token: string; server: string }
  | { kind: 'stop' };

export interface GatewayMemory {
  /** VmRSS from /proc: what the kernel charges the process. */
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  openStreams: number;
}

/** CPU time the gateway process has used so far (user + system), in microseconds. */
export interface GatewayCpu {
  cpuUs: number;
}

let gateway: Gateway | undefined;
let profiler: Session | undefined;

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
    case 'cpu': {
      const usage = process.cpuUsage();
      return { cpuUs: usage.user + usage.system } satisfies GatewayCpu;
    }
    case 'profile-start':
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
      return null;
    case 'profile-stop': {
      if (profiler === undefined) throw new Error('no profile running');
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      // The inspector's profile has the fields CpuProfile names (and more).
      const summary: CpuProfile = profile as CpuProfile;
      return summary;
    }
    case 'assertion': {
      // The very assertion the gateway sends upstream for this caller (it caches one per user and server).
      if (gateway === undefined) throw new Error('gateway not started');
      const identity = await new TokenVerifier(gateway.config.auth).verify(message.token);
      return gateway.signer.assertionFor(identity, message.server);
    }
    case 'stop':
      await gateway?.close();
      gateway = undefined;
      return null;
  }
});
