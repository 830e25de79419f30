/**
 * Runs the `@modelcontextprotocol/conformance` server scenarios against a URL and reads back, per
 * scenario, whether it passed (no check with status FAILURE or WARNING) and what failed. The suite needs
 * Node ≥ 22 while the project runs on 20: it is run with a Node 22 binary installed from the npm
 * package `node@22` into a git-ignored folder (`.cache/node22`), once, on first use.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NODE22_PREFIX = path.join(ROOT, '.cache', 'node22');
const NODE22 = path.join(NODE22_PREFIX, 'node_modules', 'node', 'bin', 'node');
const CLI = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

export interface ScenarioResult {
  readonly scenario: string;
  readonly passed: boolean;
  /** `name: message` of each failed check. */
  readonly failures: string[];
  readonly warnings: number;
}

/** A Node ≥ 22 binary: this process's own when new enough, else the `node@22` package (installed once). */
export async function node22(): Promise<string> {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  if (!existsSync(NODE22)) {
    await promisify(execFile)('npm', ['install', '--prefix', NODE22_PREFIX, '--no-save', '--no-audit', '--no-fund', 'node@22'], { cwd: ROOT, timeout: 300_000 });
  }
  return NODE22;
}

/** The scenario names of a suite (`active` by default: every scenario not marked pending). */
export async function scenarioNames(suite: 'active' | 'all' = 'active'): Promise<string[]> {
  const node = await node22();
  const { stdout } = await promisify(execFile)(node, [CLI, 'list', '--server'], { cwd: ROOT });
  const all = [...stdout.matchAll(/^\s+- (\S+)/gm)].map((match) => match[1] ?? '');
  if (suite === 'all') return all;
  // The CLI lists every server scenario; the active suite is what a plain `server` run executes.
  return all.filter((name) => !PENDING.has(name));
}

/** Scenarios the suite itself marks pending (not part of its default, active run). */
export const PENDING: ReadonlySet<string> = new Set(['json-schema-2020-12', 'server-sse-polling']);

/** Runs the given scenarios (one CLI run each, in order) against `url`; resolves with every outcome. */
export async function runScenarios(url: string, scenarios: readonly string[], { timeoutMs = 60_000 } = {}): Promise<ScenarioResult[]> {
  const node = await node22();
  const outDir = await mkdtemp(path.join(tmpdir(), 'conformance-'));
  try {
    const results: ScenarioResult[] = [];
    for (const [index, scenario] of scenarios.entries()) {
      const dir = path.join(outDir, String(index));
      await runCli(node, ['server', '--url', url, '--scenario', scenario, '-o', dir], timeoutMs);
      results.push(await readResult(dir, scenario));
    }
    return results;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

function runCli(node: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    // Exit 1 means a failed check: the checks file says which. Only a run that wrote nothing is an error.
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => {
      if (signal !== null) reject(new Error(`conformance CLI killed (${signal}) for ${args.join(' ')}:\n${output}`));
    });
  });
}

async function readResult(outDir: string, scenario: string): Promise<ScenarioResult> {
  const dir = existsSync(outDir) ? (await readdir(outDir)).find((name) => name.startsWith(`server-${scenario}-`)) : undefined;
  if (dir === undefined) return { scenario, passed: false, failures: ['no checks written (the run crashed)'], warnings: 0 };
  const checks = JSON.parse(await readFile(path.join(outDir, dir, 'checks.json'), 'utf8')) as Array<{ name: string; status: string; errorMessage?: string }>;
  const failed = checks.filter((check) => check.status === 'FAILURE');
  const warnings = checks.filter((check) => check.status === 'WARNING').length;
  return {
    scenario,
    // The suite's own rule for its expected-failures baseline: a warning does not count as a pass.
    passed: failed.length === 0 && warnings === 0,
    failures: checks
      .filter((check) => check.status === 'FAILURE' || check.status === 'WARNING')
      .map((check) => `${check.name}${check.status === 'WARNING' ? ' (warning)' : ''}: ${check.errorMessage ?? 'failed'}`),
    warnings,
  };
}
