/**
 * The README's "First requests", run as written against `npm start` on a port that is not 8080,
 * then the simulated model's behaviour through real runs of the demo (the questions the README and
 * issue 12 name). The CLI runs from source (`npx mcp-gateway` and `npm start` run the built copy of
 * the same code).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { collectRun, type SseFrame } from '../helpers/sse.js';
import { api, waitFor } from '../helpers/stack.js';
import { startRun } from '../integration/runs-support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = 'node --import tsx src/cli.ts';

/** The shell commands of the README block under `heading`: comments dropped, continuations joined. */
async function readmeCommands(heading: string): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error(`no bash block under ${heading}`);
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    .map((line) => line.replace(/^npx mcp-gateway /, `${CLI} `).replaceAll('$(npx mcp-gateway ', `$(${CLI} `));
}

function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function answerOf(frames: readonly SseFrame[]): string {
  return frames
    .filter((frame) => frame.event === 'text')
    .map((frame) => String(frame.data.delta))
    .join('');
}

let child: ChildProcess;
let url: string;
let port: number;
let tmp: string;
let output = '';
const env: NodeJS.ProcessEnv = { ...process.env };

beforeAll(async () => {
  port = await freePort();
  tmp = await mkdtemp(join(tmpdir(), 'mcpgw-readme-'));
  url = `http://127.0.0.1:${port}`;
  Object.assign(env, { PORT: String(port), TMPDIR: tmp, SIM_LLM_FIRST_TOKEN_MS: '0', SIM_LLM_TOKEN_DELAY_MS: '0' });
  delete env.ANTHROPIC_API_KEY;
  delete env.MCP_GATEWAY_URL;
  child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], { cwd: ROOT, env });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => output.includes('Upstreams:'), { timeoutMs: 60_000, what: 'the demo to connect its upstreams' });
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(tmp, { recursive: true, force: true });
});

describe("the README's first requests, verbatim, on PORT", () => {
  it('gets a token, reads /api/me, calls a tool, asks to delete E-1042, approves, and the employee is deleted', { timeout: 90_000 }, async () => {
    const commands = await readmeCommands('### First requests');
    const query = commands.findIndex((command) => command.includes('/api/query'));
    const approve = commands.findIndex((command) => command.includes('<confirmationId>'));
    expect(query).toBeGreaterThan(0);
    expect(approve).toBeGreaterThan(query);
    expect(commands.join('\n')).not.toContain('127.0.0.1:8080/');
    const stream = join(tmp, 'stream.txt');
    const script = [
      ...commands.slice(0, query).map((command) => `${command}; echo`),
      `${commands[query]!} > ${stream} &`,
      `until grep -q confirmationId ${stream}; do sleep 0.2; done`,
      `CONFIRMATION_ID=$(grep -o '"confirmationId":"[^"]*"' ${stream} | head -1 | cut -d'"' -f4)`,
      commands[approve]!.replace('<confirmationId>', '$CONFIRMATION_ID'),
      'wait',
    ].join('\n');
    const result = await bash(script, env);
    expect(result.stderr).toContain(`asking the demo gateway at ${url}`);
    expect(result.code).toBe(0);
    const [me, tool, decision] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(me).toMatchObject({ username: 'alice.chen' });
    expect((tool?.result as { structuredContent: { employees: unknown[] } }).structuredContent.employees).toHaveLength(3);
    expect(decision).toMatchObject({ status: 'approved' });

    const events = (await readFile(stream, 'utf8')).split('\n').filter((line) => line.startsWith('event: ')).map((line) => line.slice(7));
    expect(events.slice(0, 1)).toEqual(['run']);
    expect(events).toContain('confirmation_required');
    expect(events.at(-1)).toBe('done');
    const text = (await readFile(stream, 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('data: {"delta"'))
      .map((line) => (JSON.parse(line.slice(6)) as { delta: string }).delta)
      .join('');
    expect(text).toMatch(/^I'll delete employee E-1042\. You will be asked to confirm first\.Done: deleted employee \*\*[A-Z][a-z]+ [A-Z][a-z]+\*\* \(E-1042\)\.$/);
  });
});

it('documents the demo-only /dev routes in the demo, and only there', async () => {
  const { body } = await api(`${url}/openapi.json`);
  expect(body.paths['/dev/info'].get).toMatchObject({ operationId: 'getDemoInfo', tags: ['demo'], security: [] });
  expect(body.paths['/dev/token'].post.operationId).toBe('getDemoToken');
});

describe('the simulated model through real runs of the demo', () => {
  const tokens = new Map<string, string>();
  async function tokenFor(username: string): Promise<string> {
    const known = tokens.get(username);
    if (known !== undefined) return known;
    const info = (await api(`${url}/dev/info`)).body as { tokenEndpoint: string; clientId: string };
    const response = await fetch(info.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username, password: 'demo', client_id: info.clientId }),
    });
    const token = ((await response.json()) as { access_token: string }).access_token;
    tokens.set(username, token);
    return token;
  }

  async function ask(username: string, query: string): Promise<SseFrame[]> {
    return collectRun(await startRun(url, await tokenFor(username), { query }));
  }

  it('bob asking to delete an employee gets a refusal, not a finance tool', async () => {
    const frames = await ask('bob.martinez', 'delete employee E-1047');
    expect(frames.some((frame) => frame.event === 'tool_call' || frame.event === 'confirmation_required')).toBe(false);
    expect(answerOf(frames)).toMatch(/^I can't delete employee E-1047 for you: none of the tools you have access to can do that/);
    expect(frames.at(-1)?.data).toMatchObject({ status: 'completed' });
  });

  it('frank, who may not delete, is told so instead of being shown a list', async () => {
    const frames = await ask('frank.lee', 'delete employee E-1047');
    expect(frames.some((frame) => frame.event === 'tool_call')).toBe(false);
    const answer = answerOf(frames);
    expect(answer).toContain("I can't delete employee E-1047 for you");
    expect(answer).toContain('- list employees');
    expect(answer).not.toMatch(/\w__\w/);
  });

  it('"what is E-1005\'s salary?" reads the record with get_employee and answers with the salary', async () => {
    const frames = await ask('alice.chen', "what is E-1005's salary?");
    expect(frames.filter((frame) => frame.event === 'tool_call').map((frame): unknown => frame.data)).toEqual([
      expect.objectContaining({ server: 'hr', tool: 'get_employee', arguments: { employeeId: 'E-1005' } }),
    ]);
    expect(answerOf(frames)).toContain('The salary of **Dan Okafor** (E-1005) is **158,000**.');
  });

  it('"list all employees" follows every page and answers with one table', async () => {
    const frames = await ask('eve.thompson', 'list all employees');
    const calls = frames.filter((frame) => frame.event === 'tool_call');
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.slice(1).every((frame) => typeof frame.data.arguments.cursor === 'string')).toBe(true);
    const answer = answerOf(frames);
    expect(answer).toMatch(/^Let me look that up\.(There is more; fetching the next page\.)+Here are all \d+ employees:\n\n\| Id \| Name \|/);
    expect(answer).toContain('| E-1060 |');
    expect(answer).not.toContain('tool_output');
  });

  it('a plain list says that more exist', async () => {
    const answer = answerOf(await ask('eve.thompson', 'list employees'));
    expect(answer).toContain('Here are the first 20 employees:');
    expect(answer).toContain('There are more employees than shown here');
  });
});
