/** The bench stack in a child process (see procs/stack.ts), driven over IPC. */
import { Child } from './child.js';
import type { BenchStackOptions, StackEndpoints } from './stack.js';
import type { StackRequest } from '../procs/stack.js';

export interface RemoteStack {
  readonly endpoints: StackEndpoints;
  readonly pid: number;
  tokenFor(username: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startRemoteStack(options: BenchStackOptions = {}): Promise<RemoteStack> {
  const child = Child.start(new URL('../procs/stack.ts', import.meta.url));
  const ask = <T>(message: StackRequest): Promise<T> => child.request<T>(message);
  let endpoints: StackEndpoints;
  try {
    endpoints = await ask<StackEndpoints>({ kind: 'start', options });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return {
    endpoints,
    pid: child.pid,
    tokenFor: (username) => ask<string>({ kind: 'token', username }),
    async stop() {
      await ask({ kind: 'stop' }).catch(() => undefined);
      await child.stop();
    },
  };
}
