/**
 * Third-party MCP servers from PyPI as real upstream processes. Each pinned package gets its own
 * virtual environment in .cache/pypi (git-ignored), made on first use with the machine's python3 and
 * pip: mcp-server-time and mcp-proxy pin different majors of the Python MCP SDK, so they cannot share one.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);
const CACHE = join(process.cwd(), '.cache', 'pypi');

/** Package pins: the time server (stdio) and the proxy that serves it over Streamable HTTP and SSE. */
export const PYPI_PACKAGES = {
  'mcp-server-time': '2026.10.19',
  'mcp-proxy': '0.13.0',
} as const;

export type PypiPackage = keyof typeof PYPI_PACKAGES;

/** The path of a console script of a pinned package, installing the package on first use. */
export async function pypiScript(pkg: PypiPackage, script: string = pkg): Promise<string> {
  const version = PYPI_PACKAGES[pkg];
  const venv = join(CACHE, `${pkg}-${version}`);
  const bin = join(venv, 'bin', script);
  if (!existsSync(bin)) {
    await run('python3', ['-m', 'venv', '--clear', venv]);
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `${pkg}==${version}`], { timeout: 300_000 });
  }
  return bin;
}

export interface ProxiedServer {
  /** Streamable HTTP endpoint. */
  readonly url: string;
  /** Legacy HTTP+SSE endpoint. */
  readonly sseUrl: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** mcp-proxy on a free loopback port, serving one stdio server (command and args) over HTTP. */
export async function startMcpProxy(command: string, args: readonly string[] = []): Promise<ProxiedServer> {
  const proxy = await pypiScript('mcp-proxy');
  const port = await freePort();
  const child: ChildProcess = spawn(proxy, ['--host', '127.0.0.1', '--port', String(port), '--', command, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM lets the proxy stop the stdio server it started.
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mcp-proxy exited with ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mcp-proxy on port ${port} did not come up`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url: `http://127.0.0.1:${port}/mcp`, sseUrl: `http://127.0.0.1:${port}/sse`, pid: child.pid ?? -1, stop };
}
