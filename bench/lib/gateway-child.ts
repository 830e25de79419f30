/** A gateway in a child process of its own (procs/gateway.ts): its CPU time and memory are its own. */
import type { GatewayConfigInput } from '../../src/config/schema.js';
import type { GatewayCpu, GatewayMemory, GatewayRequest } from '../procs/gateway.js';
import { Child } from './child.js';
import type { CpuProfile } from './profile-summary.js';
import { waitUntilReady } from './stack.js';

export class GatewayChild {
  private constructor(
    private readonly child: Child,
    readonly url: string,
  ) {}

  static async start(config: GatewayConfigInput): Promise<GatewayChild> {
    const child = Child.start(new URL('../procs/gateway.ts', import.meta.url));
    try {
      const url = await child.request<string>({ kind: 'start', config } satisfies GatewayRequest);
      await waitUntilReady(url);
      return new GatewayChild(child, url);
    } catch (error) {
      await child.stop();
      throw error;
    }
  }

  get pid(): number {
    return this.child.pid;
  }

  /** CPU time (user + system) the gateway process has used so far, in milliseconds. */
  async cpuMs(): Promise<number> {
    return (await this.child.request<GatewayCpu>({ kind: 'cpu' } satisfies GatewayRequest)).cpuUs / 1000;
  }

  /** Memory after GC. */
  memory(): Promise<GatewayMemory> {
    return this.child.request<GatewayMemory>({ kind: 'memory' } satisfies GatewayRequest, 60_000);
  }

  async profileStart(): Promise<void> {
    await this.child.request({ kind: 'profile-start' } satisfies GatewayRequest);
  }

  profileStop(): Promise<CpuProfile> {
    return this.child.request<CpuProfile>({ kind: 'profile-stop' } satisfies GatewayRequest, 60_000);
  }

  /** Ask the child for anything else it answers (see procs/gateway.ts). */
  request<T>(message: GatewayRequest, timeoutMs?: number): Promise<T> {
    return this.child.request<T>(message, timeoutMs);
  }

  async stop(): Promise<void> {
    await this.child.request({ kind: 'stop' } satisfies GatewayRequest, 30_000).catch(() => undefined);
    await this.child.stop();
  }
}
