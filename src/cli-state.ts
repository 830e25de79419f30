/**
 * What the command line needs to know about this machine: whether a port is free before anything
 * starts, and where the embedded demo started last listens, so `dev-token` asks that gateway's
 * issuer rather than whatever answers on the default port.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The start cannot go ahead; the message is the whole story (no stack trace is printed). */
export class StartError extends Error {}

/** Resolves when `host:port` can be listened on (port 0 always can); else a StartError saying why. */
export function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is already in use' : error.code === 'EACCES' ? 'may not be used by this user' : `cannot be used (${error.message})`;
      reject(new StartError(`port ${port} on ${host} ${why}; stop what uses it, or start on another port with PORT=<port> or --port <port>`));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

interface RunningDemo {
  url: string;
  pid: number;
}

function stateFile(): string {
  return join(tmpdir(), 'mcp-gateway-demo.json');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function recordRunningDemo(url: string): Promise<void> {
  const state: RunningDemo = { url, pid: process.pid };
  await writeFile(stateFile(), `${JSON.stringify(state)}\n`, 'utf8').catch(() => undefined);
}

/** Removes the record if it is still this process's (a later demo may have replaced it). */
export async function forgetRunningDemo(): Promise<void> {
  const state = await readState();
  if (state?.pid === process.pid) await rm(stateFile(), { force: true });
}

async function readState(): Promise<RunningDemo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(stateFile(), 'utf8')) as Partial<RunningDemo>;
    return typeof parsed.url === 'string' && typeof parsed.pid === 'number' ? { url: parsed.url, pid: parsed.pid } : undefined;
  } catch {
    return undefined;
  }
}

/** The URL of the demo started last on this machine, if that process still runs. */
export async function runningDemoUrl(): Promise<string | undefined> {
  const state = await readState();
  return state !== undefined && isAlive(state.pid) ? state.url : undefined;
}
