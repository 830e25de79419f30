/**
 * Stack child: the dev issuer, sample MCP servers and simulated model in a process of their own, for
 * benchmarks that measure the memory of a gateway (the simulated model keeps every request body it
 * received, which would otherwise count against the gateway).
 */
import { serveRequests } from '../lib/child.js';
import { startBenchStack, type BenchStack, type BenchStackOptions } from '../lib/stack.js';

export type StackRequest = { kind: 'start'; options: BenchStackOptions } | { kind: 'token'; username: string } | { kind: 'stop' };

let stack: BenchStack | undefined;

function started(): BenchStack {
  if (stack === undefined) throw new Error('stack not started');
  return stack;
}

serveRequests(async (body) => {
  const message = body as StackRequest;
  switch (message.kind) {
    case 'start':
      stack = await startBenchStack(message.options);
      return stack.endpoints;
    case 'token':
      return started().issuer.tokenFor(message.username);
    case 'stop':
      await stack?.close();
      stack = undefined;
      return null;
  }
});
