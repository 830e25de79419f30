/**
 * A real Keycloak for the Keycloak suite and `npm run demo:keycloak`: the pinned server distribution
 * from Maven Central (through Maven, so it is cached in the local Maven repository), unpacked once into
 * the git-ignored `.cache/`, started in dev mode on a loopback port with the realms of deploy/keycloak
 * imported, and stopped by its pid.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { access, copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Pinned: the suite tests what this version sends (26.2+ has standard token exchange on by default). */
export const KEYCLOAK_VERSION = '26.7.3';
export const REPO_ROOT = resolve(import.meta.dirname, '..');
export const REALM_FILE = join(REPO_ROOT, 'deploy', 'keycloak', 'acme-realm.json');
const CACHE = join(REPO_ROOT, '.cache');
/** The bootstrap admin of the master realm (dev mode, loopback only). */
export const KEYCLOAK_ADMIN = { username: 'admin', password: 'admin' } as const;

export interface KeycloakDistribution {
  home: string;
  /** Time spent fetching and unpacking; 0 when the unpacked copy was already there. */
  downloadMs: number;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The unpacked distribution, fetched with `mvn dependency:copy` when missing. Unpacked with the JDK's
 * `jar` tool (Maven needs a JDK, so it is there wherever Maven is) into a temporary folder that is
 * renamed into place, so an interrupted run never leaves a half-unpacked copy behind.
 */
export async function ensureKeycloak(log: (line: string) => void = () => undefined): Promise<KeycloakDistribution> {
  const home = join(CACHE, `keycloak-${KEYCLOAK_VERSION}`);
  if (await exists(join(home, 'bin', 'kc.sh'))) return { home, downloadMs: 0 };
  const started = Date.now();
  const staging = join(CACHE, `staging-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    log(`fetching org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip through Maven`);
    await run('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip`, `-DoutputDirectory=${staging}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const zip = join(staging, `keycloak-quarkus-dist-${KEYCLOAK_VERSION}.zip`);
    await run('jar', ['xf', zip], { cwd: staging, maxBuffer: 16 * 1024 * 1024 });
    await rm(zip);
    // `jar` does not keep file modes; the launch scripts are started through `sh` (see startKeycloak).
    await rename(join(staging, basename(home)), home);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { home, downloadMs: Date.now() - started };
}

export interface RunningKeycloak {
  /** e.g. http://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number;
  /** From spawning the process until the imported realm answered. */
  readonly startMs: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  port: number;
  /** Realm export files to import at start (default: the realm of deploy/keycloak). */
  realmFiles?: string[];
  /** A realm whose discovery document marks readiness (default: acme). */
  realm?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

async function waitForRealm(url: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
      throw new Error(`Keycloak exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolvePoll) => setTimeout(resolvePoll, 500));
  }
  throw new Error(`Keycloak did not answer ${url} within ${timeoutMs} ms (log: ${logFile})`);
}

/**
 * Starts Keycloak in dev mode with a fresh database and the realm files imported. Dev mode keeps an
 * H2 database under `data/`; it is wiped first so every start imports the realm as shipped.
 */
export async function startKeycloak(distribution: KeycloakDistribution, options: StartOptions): Promise<RunningKeycloak> {
  const data = join(distribution.home, 'data');
  await rm(data, { recursive: true, force: true });
  await mkdir(join(data, 'import'), { recursive: true });
  for (const file of options.realmFiles ?? [REALM_FILE]) await copyFile(file, join(data, 'import', basename(file)));

  const logFile = join(CACHE, `keycloak-${options.port}.log`);
  const output = createWriteStream(logFile);
  await once(output, 'open');
  const url = `http://127.0.0.1:${options.port}`;
  const started = Date.now();
  options.log?.(`starting Keycloak ${KEYCLOAK_VERSION} on ${url} (log: ${logFile})`);
  const child = spawn('sh', [join(distribution.home, 'bin', 'kc.sh'), 'start-dev', '--http-host', '127.0.0.1', '--http-port', String(options.port), '--import-realm'], {
    cwd: distribution.home,
    env: {
      ...process.env,
      KC_BOOTSTRAP_ADMIN_USERNAME: KEYCLOAK_ADMIN.username,
      KC_BOOTSTRAP_ADMIN_PASSWORD: KEYCLOAK_ADMIN.password,
      // A modest heap: the machines running this are small and shared.
      JAVA_OPTS_APPEND: '-Xms64m -Xmx512m',
    },
    stdio: ['ignore', output, output],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('Keycloak did not start');
  const exited = once(child, 'exit');

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const killer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 20_000);
      await exited;
      clearTimeout(killer);
    }
    output.end();
  };

  try {
    await waitForRealm(`${url}/realms/${options.realm ?? 'acme'}/.well-known/openid-configuration`, child, options.timeoutMs ?? 300_000, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid, startMs: Date.now() - started, logFile, stop };
}
