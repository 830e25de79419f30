/**
 * CI check of the container image recipe without a container engine: performs the Dockerfile's steps
 * (read from the Dockerfile itself, see image-recipe.ts) in a clean temporary folder — one folder per
 * stage standing in for its filesystem root — then starts the runtime stage's ENTRYPOINT + CMD with a
 * minimal production config, probes the health routes and the HEALTHCHECK command, sends SIGTERM and
 * expects exit code 0. The host's Node runs it (the image pins Node 22; CI may run another LTS).
 *
 *   node --import tsx scripts/check-image-recipe.ts [--keep]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import { freePort } from '../test/helpers/ports.js';
import { copySpec, envPairs, execForm, healthcheckCommand, parseDockerfile, substitute } from './image-recipe.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const log = (line: string): void => void process.stdout.write(`[image-recipe] ${line}\n`);

function fail(message: string): never {
  throw new Error(message);
}

/** Every source the Dockerfile copies from the build context must be re-included by .dockerignore. */
function checkDockerignore(sources: string[]): void {
  const allowed = readFileSync(join(repo, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).replace(/\/\*\*$/, ''));
  for (const source of sources) {
    if (!allowed.includes(source.replace(/\/$/, ''))) fail(`.dockerignore keeps ${source} out of the build context, but the Dockerfile copies it`);
  }
}

interface StageState {
  root: string;
  cwd: string;
  env: Record<string, string>;
  user?: string;
  healthcheck?: string[];
  entrypoint: string[];
  cmd: string[];
}

/** A container path inside a stage's stand-in root. */
const inRoot = (root: string, path: string): string => join(root, path);

function performStages(work: string): Map<string, StageState> {
  const recipe = parseDockerfile(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
  const states = new Map<string, StageState>();
  const contextSources: string[] = [];
  for (const stage of recipe.stages) {
    log(`stage ${stage.name} (image ${stage.image})`);
    const root = join(work, stage.name);
    mkdirSync(root, { recursive: true });
    const state: StageState = { root, cwd: root, env: {}, entrypoint: [], cmd: [] };
    states.set(stage.name, state);
    const vars = (): Record<string, string> => ({ ...recipe.args, ...state.env });
    for (const { op, args: raw } of stage.instructions) {
      const args = op === 'RUN' || op === 'HEALTHCHECK' || op === 'CMD' || op === 'ENTRYPOINT' ? raw : substitute(raw, vars());
      switch (op) {
        case 'ARG':
        case 'EXPOSE':
          break;
        case 'ENV':
          Object.assign(state.env, envPairs(args));
          break;
        case 'WORKDIR':
          state.cwd = inRoot(root, args);
          mkdirSync(state.cwd, { recursive: true });
          break;
        case 'USER':
          state.user = args;
          break;
        case 'COPY': {
          const spec = copySpec(args);
          const fromRoot = spec.from === undefined ? repo : (states.get(spec.from)?.root ?? fail(`COPY --from=${spec.from}: no such stage before this one`));
          const dest = spec.dest.startsWith('/') ? inRoot(root, spec.dest) : join(state.cwd, spec.dest);
          for (const source of spec.sources) {
            if (spec.from === undefined) contextSources.push(source);
            const from = spec.from === undefined ? join(repo, source) : inRoot(fromRoot, source);
            if (!existsSync(from)) fail(`COPY source missing: ${source}${spec.from === undefined ? '' : ` (stage ${spec.from})`}`);
            const target = spec.dest.endsWith('/') ? join(dest, source.split('/').at(-1) ?? source) : dest;
            mkdirSync(dirname(target), { recursive: true });
            cpSync(from, target, { recursive: true });
          }
          log(`  COPY ${args}`);
          break;
        }
        case 'RUN': {
          log(`  RUN ${args}`);
          const started = Date.now();
          execFileSync('sh', ['-c', args], { cwd: state.cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...state.env } });
          log(`    (${((Date.now() - started) / 1000).toFixed(1)} s)`);
          break;
        }
        case 'HEALTHCHECK':
          state.healthcheck = healthcheckCommand(args);
          break;
        case 'ENTRYPOINT':
          state.entrypoint = execForm(args);
          break;
        case 'CMD':
          state.cmd = execForm(args);
          break;
        default:
          fail(`unhandled instruction ${op}`);
      }
    }
  }
  checkDockerignore(contextSources);
  return states;
}

/** An issuer stand-in: the JWKS the gateway fetches at start and for readiness (no tokens are issued). */
async function startJwksStub(): Promise<{ server: Server; url: string }> {
  const { publicKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'recipe-check', alg: 'ES256', use: 'sig' }] });
  const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function productionConfig(issuerUrl: string, port: number, deadPort: number): string {
  // The smallest production-shaped config: a real (stub) issuer, one upstream that is not running
  // (readiness reports it, soft), the in-memory store (the Redis driver is covered by the test suites).
  return [
    `server: { host: 127.0.0.1, port: ${port}, publicUrl: "http://127.0.0.1:${port}" }`,
    'logging: { level: error }',
    `auth: { issuers: ["${issuerUrl}"], jwksUri: "${issuerUrl}/jwks", clientId: mcp-gateway }`,
    'store: { driver: memory }',
    'servers:',
    `  hr: { url: "http://127.0.0.1:${deadPort}/mcp", roles: [employee] }`,
    'shutdown: { graceMs: 2000 }',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'mcp-gateway-image-'));
  let gateway: ChildProcess | undefined;
  let issuer: Server | undefined;
  try {
    const states = performStages(work);
    const runtime = [...states.values()].at(-1) ?? fail('the Dockerfile has no stage');
    if (runtime.user === undefined || ['root', '0'].includes(runtime.user)) fail('the runtime stage must switch to a non-root USER');
    if (runtime.healthcheck === undefined) fail('the runtime stage has no HEALTHCHECK');
    if (runtime.entrypoint[0] !== 'node') fail('ENTRYPOINT must start node itself (exec form), so SIGTERM reaches it');
    for (const devOnly of ['typescript', 'vitest', 'tsx', 'eslint']) {
      if (existsSync(join(runtime.cwd, 'node_modules', devOnly))) fail(`the runtime holds the devDependency ${devOnly}`);
    }

    const stub = await startJwksStub();
    issuer = stub.server;
    const port = await freePort();
    // Container paths in the command (the mounted config file) live under the stage's stand-in root.
    const command = [...runtime.entrypoint, ...runtime.cmd].map((part) => (part.startsWith('/') ? inRoot(runtime.root, part) : part));
    const configPath = command.find((part) => part.endsWith('.yaml')) ?? fail('CMD names no config file');
    mkdirSync(dirname(configPath), { recursive: true });
    writeFileSync(configPath, productionConfig(stub.url, port, await freePort()));
    const env = { ...process.env, ...runtime.env, PORT: String(port) };
    log(`start: ${command.join(' ')} (PORT=${port})`);
    const [program = 'node', ...programArgs] = command;
    gateway = spawn(program === 'node' ? process.execPath : program, programArgs, { cwd: runtime.cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = once(gateway, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const base = `http://127.0.0.1:${port}`;

    await waitFor('/health/live', async () => ((await fetch(`${base}/health/live`)).ok ? true : undefined), 60_000);
    log('/health/live answers 200');
    const [hcProgram = 'node', ...hcArgs] = runtime.healthcheck;
    execFileSync(hcProgram === 'node' ? process.execPath : hcProgram, hcArgs, { cwd: runtime.cwd, env, stdio: 'inherit' });
    log('HEALTHCHECK command exits 0');
    const ready = await waitFor(
      'a readiness matrix with the store and the issuer up',
      async () => {
        const response = await fetch(`${base}/health/ready`);
        const body = (await response.json()) as { status?: string; checks?: Record<string, { ok: boolean }> };
        return response.status === 200 && body.checks?.store?.ok === true && body.checks.issuer?.ok === true ? body : undefined;
      },
      30_000,
    );
    log(`/health/ready: ${JSON.stringify(ready)}`);
    // The one configured upstream is not running: readiness stays 200 but says so.
    if (ready.status !== 'degraded' || ready.checks?.['upstream:hr']?.ok !== false) fail(`readiness should be degraded with upstream:hr down, got ${JSON.stringify(ready)}`);

    gateway.kill('SIGTERM');
    const [code, signal] = await Promise.race([exited, sleep(30_000).then(() => fail('no exit within 30 s of SIGTERM'))]);
    gateway = undefined;
    if (code !== 0) fail(`exit after SIGTERM: code ${String(code)} signal ${String(signal)}`);
    log('SIGTERM → exit 0');

    // The embedded demo (no config file) must work from the production-only install too: its issuer,
    // sample servers and simulated model are production dependencies on purpose.
    const demoPort = await freePort();
    const demoArgs = [...runtime.entrypoint.slice(1), runtime.cmd[0] ?? 'start'];
    log(`demo profile: node ${demoArgs.join(' ')} (PORT=${demoPort})`);
    gateway = spawn(process.execPath, demoArgs, { cwd: runtime.cwd, env: { ...env, PORT: String(demoPort) }, stdio: 'ignore' });
    const demoExited = once(gateway, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    await waitFor('the demo profile to be ready', async () => ((await fetch(`http://127.0.0.1:${demoPort}/health/ready`)).status === 200 ? true : undefined), 90_000);
    log('demo profile ready');
    gateway.kill('SIGTERM');
    const [demoCode] = await Promise.race([demoExited, sleep(30_000).then(() => fail('the demo did not exit within 30 s of SIGTERM'))]);
    gateway = undefined;
    if (demoCode !== 0) fail(`demo exit after SIGTERM: code ${String(demoCode)}`);
    log('image recipe OK');
  } finally {
    gateway?.kill('SIGKILL');
    issuer?.close();
    if (keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[image-recipe] FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
