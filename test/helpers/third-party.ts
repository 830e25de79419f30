/**
 * Third-party MCP servers from the npm registry as real upstream processes: server-everything in its
 * Streamable HTTP and legacy SSE modes (bound to loopback by a preload, since it listens on every
 * interface by default) and the launch parameters of stdio servers.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const require = createRequire(import.meta.url);
const LOOPBACK_ONLY = join(dirname(fileURLToPath(import.meta.url)), 'loopback-only.js');

/** The entry script of an installed server package (its `bin`). */
export function serverScript(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'index.js');
}

export const EVERYTHING = serverScript('@modelcontextprotocol/server-everything');
export const MEMORY = serverScript('@modelcontextprotocol/server-memory');

export interface HttpServerProcess {
  readonly url: string;
  readonly port: number;
  /** Kills the process and starts it again on the same port (every session it knew is gone). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) }).then(
      () => true,
      () => false,
    );
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server on port ${port} did not come up`);
}

/** server-everything in `streamableHttp` or `sse` mode, on a free loopback port. */
export async function startEverything(mode: 'streamableHttp' | 'sse'): Promise<HttpServerProcess> {
  const port = await freePort();
  let child: ChildProcess;
  const start = async (): Promise<void> => {
    child = spawn(process.execPath, ['--import', LOOPBACK_ONLY, EVERYTHING, mode], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'ignore'] });
    await waitForPort(port, child);
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`,
    port,
    async restart() {
      await stop();
      await start();
    },
    stop,
  };
}

/** Child processes of this process whose command line contains `marker`: [pid, command line]. */
export function childProcesses(marker: string): Array<{ pid: number; args: string }> {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    // ps exits 1 when there are none.
  }
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line.includes(marker))
    .map((line) => {
      const space = line.indexOf(' ');
      return { pid: Number(line.slice(0, space)), args: line.slice(space + 1) };
    });
}
