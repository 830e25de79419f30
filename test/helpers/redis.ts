/**
 * Real Redis for tests: the shared instance every integration test uses (found or spawned once by
 * global-setup.ts), private instances a test may stop and restart, and per-file key prefixes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

export interface RedisHandle {
  url: string;
  /** Stops the Redis this handle started; a no-op for one that was already running. */
  stop: () => Promise<void>;
}

export interface PrivateRedis extends RedisHandle {
  port: number;
  /** Starts the server again on the same port (stopping it first if it is running). */
  restart: () => Promise<void>;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const START_TIMEOUT_MS = 10_000;

/** The shared test Redis: TEST_REDIS_URL or REDIS_URL, else a local default, else one spawned for the run. */
export async function ensureRedis(): Promise<RedisHandle> {
  const candidates = [process.env.TEST_REDIS_URL, process.env.REDIS_URL, DEFAULT_URL].filter(
    (url): url is string => url !== undefined && url !== '',
  );
  for (const url of candidates) {
    if (await answersPing(url)) return { url, stop: () => Promise.resolve() };
  }
  const server = await startServer(await freePort());
  return { url: server.url, stop: () => server.stop() };
}

export interface PrivateRedisOptions {
  /** Keep the data across restarts in an append-only file (in a fresh temporary directory). */
  appendonly?: boolean;
  /** Extra redis-server arguments. */
  args?: string[];
}

/** A dedicated redis-server that only the calling test uses, so it may stop (or kill) it mid-run. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis & { kill: () => Promise<void> }> {
  const port = await freePort();
  const dir = options.appendonly === true ? await mkdtemp(join(tmpdir(), 'mcpgw-redis-')) : undefined;
  const args = [...(dir === undefined ? [] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]), ...(options.args ?? [])];
  let server = await startServer(port, args);
  return {
    url: server.url,
    port,
    stop: async () => {
      await server.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
    /** SIGKILL: no shutdown save, clients see connections drop mid-command. */
    kill: () => server.stop('SIGKILL'),
    restart: async () => {
      await server.stop();
      server = await startServer(port, args);
    },
  };
}

/** A key prefix no other test file (or run) shares, e.g. `test:store:1a2b3c4d:`. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${randomBytes(4).toString('hex')}:`;
}

/** Removes every key under a prefix, so tests leave a shared (developer's) Redis clean. */
export async function deletePrefixedKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  try {
    await client.connect();
    for await (const batch of client.scanStream({ match: `${prefix}*`, count: 500 })) {
      const keys = batch as string[];
      if (keys.length > 0) await client.unlink(...keys);
    }
  } finally {
    client.disconnect();
  }
}

async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined); // a refused connection is the answer, not a failure
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}


async function startServer(port: number, extraArgs: string[] = []): Promise<RedisHandle & { stop: (signal?: NodeJS.Signals) => Promise<void> }> {
  // Later arguments win: extraArgs may turn persistence back on.
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
    stdio: 'ignore',
  });
  let failure: Error | undefined;
  child.once('error', (error) => {
    failure = error;
  });
  // `once` also rejects on 'error' (e.g. redis-server not installed); that case is reported below.
  const exited = once(child, 'exit').catch(() => undefined);
  const url = `redis://127.0.0.1:${port}`;
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => stopProcess(child, exited, signal);

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answersPing(url))) {
    if (failure !== undefined || child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not start on port ${port}${failure ? `: ${failure.message}` : ''}`);
    }
    await delay(50);
  }
  return { url, stop };
}

/** Kills exactly the process this helper spawned and waits for it to exit. */
async function stopProcess(child: ChildProcess, exited: Promise<unknown>, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  await exited;
}
