/**
 * Target 5: cold start to ready < 1 s (process spawn → first `GET /health/ready` 200, polled every 10 ms).
 *
 * Spawns the built CLI (`node bin/mcp-gateway.js start --config FILE`) against the bench stack, five
 * times; also the embedded demo profile (no config: it starts its own issuer, servers and model),
 * and a bare `node -e ''` for the share that is Node's own start-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { progress, type BenchResult, type Benchmark } from './lib/report.js';
import { benchConfigInput, startBenchStack } from './lib/stack.js';
import { median, round } from './lib/stats.js';
import { freePort } from '../test/helpers/ports.js';

const STARTS = 5;
const TARGET_MS = 1_000;
const READY_TIMEOUT_MS = 15_000;
const POLL_MS = 10;
const STOP_GRACE_MS = 3_000;
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'mcp-gateway.js');


async function ensureBuilt(): Promise<void> {
  if (existsSync(join(root, 'dist', 'main.js'))) return;
  progress('dist/ is missing: npm run build');
  const build = spawn('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  await once(build, 'exit');
  if (!existsSync(join(root, 'dist', 'main.js'))) throw new Error('npm run build did not produce dist/main.js');
}

async function isReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** SIGTERM by pid; SIGKILL after STOP_GRACE_MS. Resolves true when SIGKILL was needed. */
async function stop(child: ChildProcess): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return false;
  const pid = child.pid;
  const exited = once(child, 'exit');
  process.kill(pid, 'SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    process.kill(pid, 'SIGKILL');
  }, STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
  return killed;
}

interface Start {
  readyMs: number;
  /** The process did not exit on SIGTERM within STOP_GRACE_MS. */
  killed: boolean;
}

/** Spawns, polls readiness every 10 ms, stops the process right away; spawn → ready in ms. */
async function timeToReady(args: string[], env: NodeJS.ProcessEnv, port: number): Promise<Start> {
  let stderr = '';
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let readyMs: number;
  try {
    while (!(await isReady(port))) {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${stderr.trim()}`);
      if (performance.now() - started > READY_TIMEOUT_MS) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    readyMs = performance.now() - started;
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { readyMs, killed: await stop(child) };
}

async function bareNodeMs(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return performance.now() - started;
}

async function run(): Promise<BenchResult> {
  await ensureBuilt();
  const stack = await startBenchStack();
  const dir = await mkdtemp(join(tmpdir(), 'mcp-gateway-bench-'));
  try {
    const configFile = join(dir, 'gateway.yaml');
    const withConfig: number[] = [];
    const demo: number[] = [];
    const node: number[] = [];
    let killed = 0;
    for (let i = 0; i < STARTS; i++) {
      const port = await freePort();
      await writeFile(configFile, stringify(benchConfigInput(stack.endpoints, { server: { port, publicUrl: `http://127.0.0.1:${port}` } })));
      const configStart = await timeToReady([cli, 'start', '--config', configFile], {}, port);
      const demoPort = await freePort();
      const demoStart = await timeToReady([cli, 'start'], { PORT: String(demoPort), ANTHROPIC_API_KEY: '' }, demoPort);
      withConfig.push(configStart.readyMs);
      demo.push(demoStart.readyMs);
      killed += Number(configStart.killed) + Number(demoStart.killed);
      node.push(await bareNodeMs());
      progress(`start ${i + 1}: config ${round(withConfig[i]!, 0)} ms, demo ${round(demo[i]!, 0)} ms, bare node ${round(node[i]!, 0)} ms`);
    }
    const medianMs = round(median(withConfig), 0);
    return {
      name: 'cold-start',
      target: `process spawn → /health/ready 200 < ${TARGET_MS} ms`,
      measured: `median ${medianMs} ms with a config file (demo profile ${round(median(demo), 0)} ms) over ${STARTS} starts`,
      met: medianMs < TARGET_MS,
      details: {
        method: `node bin/mcp-gateway.js start --config FILE (memory store, bench stack in this process) and the embedded demo profile; readiness polled every ${POLL_MS} ms; each process stopped with SIGTERM`,
        configFileMs: withConfig.map((ms) => round(ms, 0)),
        demoProfileMs: demo.map((ms) => round(ms, 0)),
        bareNodeMs: node.map((ms) => round(ms, 0)),
        medianConfigFileMs: medianMs,
        medianDemoProfileMs: round(median(demo), 0),
        medianBareNodeMs: round(median(node), 0),
        // SIGTERM right after readiness, while upstream clients may still be connecting.
        neededSigkillAfterSigterm: `${killed} of ${2 * STARTS} processes (grace ${STOP_GRACE_MS} ms)`,
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await stack.close();
  }
}

export const coldStart: Benchmark = { name: 'cold-start', description: 'spawn → ready of the built CLI', run };

runIfEntry(import.meta.url, () => runBenchmarks([coldStart]));
