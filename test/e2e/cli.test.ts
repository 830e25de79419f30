/**
 * The command line as a newcomer uses it: `start` with no config runs the embedded demo, `dev-token`
 * prints a usable token, `revoke` goes through the admin API, `check-config` lists every problem.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { api, waitFor } from '../helpers/stack.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** Each CLI run compiles through tsx: seconds apiece on a busy machine; tests that run several get room. */
const SEVERAL_RUNS = { timeout: 90_000 };

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}


describe('check-config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpgw-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every problem with its path and exits non-zero', SEVERAL_RUNS, async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(
      file,
      ['auth:', '  issuers: []', '  jwksUri: not-a-url', 'servers:', '  hr:', '    url: ftp://hr.internal/mcp', '    roles: [employee]', 'colour: blue', ''].join('\n'),
    );
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('servers.hr.url: must be an http(s) URL');
    expect(result.stderr).toContain('auth.issuers: must list at least one issuer');
    expect(result.stderr).toContain('auth.jwksUri: must be an http(s) URL');
    expect(result.stderr).toMatch(/auth: .*clientId|auth\.clientId/);
    expect(result.stderr).toMatch(/colour/);
  });

  it('accepts a valid file, interpolating ${ENV} secrets', SEVERAL_RUNS, async () => {
    const file = join(dir, 'valid.yaml');
    await writeFile(
      file,
      [
        'server: { publicUrl: https://mcp-gateway.example.com }',
        'auth:',
        '  issuers: [https://keycloak.example.com/realms/acme]',
        '  jwksUri: https://keycloak.example.com/realms/acme/protocol/openid-connect/certs',
        '  clientId: mcp-gateway',
        'store: { driver: redis, url: "${MCPGW_TEST_REDIS_URL}" }',
        'servers:',
        '  hr: { url: "https://hr.internal/mcp", roles: [employee] }',
        '',
      ].join('\n'),
    );
    expect((await runCli(['check-config', file], { MCPGW_TEST_REDIS_URL: 'redis://127.0.0.1:6379' })).code).toBe(0);
    const missing = await runCli(['check-config', file]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('store.url: environment variable MCPGW_TEST_REDIS_URL is not set');
  });
});

describe('the embedded demo (npm start)', () => {
  let child: ChildProcess;
  let url: string;
  let hrPort: number;
  let output = '';
  /** The demo records where it listens in the temp dir; a private one keeps parallel runs apart. */
  let tmp: string;

  beforeAll(async () => {
    const port = await freePort();
    hrPort = await freePort();
    tmp = await mkdtemp(join(tmpdir(), 'mcpgw-cli-'));
    url = `http://127.0.0.1:${port}`;
    // --port wins over PORT: the hints must follow the port actually listened on.
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '1', TMPDIR: tmp, DEMO_HR_PORT: String(hrPort), SIM_LLM_FIRST_TOKEN_MS: '0', SIM_LLM_TOKEN_DELAY_MS: '0' };
    delete env.ANTHROPIC_API_KEY;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--port', String(port)], { cwd: ROOT, env });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(async () => (await fetch(`${url}/health/live`).catch(() => undefined))?.status === 200, { timeoutMs: 20_000, what: 'the demo to answer' });
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(tmp, { recursive: true, force: true });
  });

  it('says it runs the demo profile and the simulated model, first', () => {
    expect(output.split('\n')[0]).toContain('embedded demo profile');
    expect(output).toContain('SIMULATED model');
  });

  it('prints hints with the port it listens on and the demo ports it was given', () => {
    expect(output).toContain(`Gateway:          ${url}\n`);
    expect(output).toContain(`MCP server hr      http://127.0.0.1:${hrPort}/mcp`);
    expect(output).toContain(`Try:              TOKEN=$(npx mcp-gateway dev-token alice.chen --gateway ${url}) && curl -H "Authorization: Bearer $TOKEN" ${url}/api/me`);
  });

  it('says when the upstreams are connected, and readiness is healthy from then on', async () => {
    await waitFor(() => output.includes('Upstreams:'), { timeoutMs: 30_000, what: 'the upstreams line' });
    expect(output).toContain('Upstreams:        hr, finance, sales, support connected');
    const ready = await api(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('healthy');
  });

  it('dev-token finds the demo started last when no gateway is named, and says which it asked', SEVERAL_RUNS, async () => {
    const result = await runCli(['dev-token', 'bob.martinez'], { TMPDIR: tmp, PORT: '', MCP_GATEWAY_URL: '' });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`asking the demo gateway at ${url}`);
    const me = await api(`${url}/api/me`, { token: result.stdout.trim() });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('bob.martinez');
  });

  it('prints a token with dev-token that the gateway accepts, and answers unknown routes in the error shape', SEVERAL_RUNS, async () => {
    const result = await runCli(['dev-token', 'alice.chen', '--gateway', url]);
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const me = await api(`${url}/api/me`, { token });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('alice.chen');
    expect(me.body.roles).toContain('hr-write');
    const missing = await api(`${url}/no/such/route`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'REQ_4004', retryable: false });
    expect(missing.body.error.requestId).toBe(missing.headers.get('x-request-id'));
  });

  it('refuses an unknown demo user', SEVERAL_RUNS, async () => {
    const result = await runCli(['dev-token', 'mallory', '--gateway', url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown demo user');
  });

  it('revokes a session through the admin API with the revoke command', SEVERAL_RUNS, async () => {
    const admin = (await runCli(['dev-token', 'ops.admin', '--gateway', url])).stdout.trim();
    const victim = (await runCli(['dev-token', 'frank.lee', '--gateway', url])).stdout.trim();
    const payload = JSON.parse(Buffer.from(victim.split('.')[1]!, 'base64url').toString()) as { sid: string };
    expect((await api(`${url}/api/me`, { token: victim })).status).toBe(200);
    const revoked = await runCli(['revoke', '--sid', payload.sid, '--gateway', url], { MCP_GATEWAY_TOKEN: admin });
    expect(revoked.code).toBe(0);
    const after = await api(`${url}/api/me`, { token: victim });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('AUTH_1003');
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('a start that cannot listen', () => {
  async function withBusyPort(use: (port: number) => Promise<void>): Promise<void> {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      await use(port);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }

  it('says why in one line and exits non-zero, starting nothing (the gateway port is taken)', SEVERAL_RUNS, async () => {
    await withBusyPort(async (port) => {
      const result = await runCli(['start'], { PORT: String(port) });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        `mcp-gateway: port ${port} on 127.0.0.1 is already in use; stop what uses it, or start on another port with PORT=<port> or --port <port>`,
      ]);
      expect(result.stdout).toBe('');
    });
  });

  it('names the variable to change when a demo service port is taken', SEVERAL_RUNS, async () => {
    await withBusyPort(async (busy) => {
      const result = await runCli(['start', '--port', String(await freePort())], { DEMO_FINANCE_PORT: String(busy) });
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^mcp-gateway: the demo finance server cannot listen on port ${busy} .*; set DEMO_FINANCE_PORT to another port$`));
      expect(result.stdout).not.toMatch(/^\s+at /m);
    });
  });

  it('refuses a port that is not one', SEVERAL_RUNS, async () => {
    const result = await runCli(['start', '--port', 'eighty']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('mcp-gateway: --port must be a port number (0-65535), got "eighty"');
  });
});
