import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { copySpec, execForm, healthcheckCommand, parseDockerfile } from '../../scripts/image-recipe.js';

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');

describe('the Dockerfile as the recipe check reads it', () => {
  const recipe = parseDockerfile(dockerfile);
  const runtime = recipe.stages.at(-1)!;
  const ops = (op: string): string[] => runtime.instructions.filter((i) => i.op === op).map((i) => i.args);

  it('builds in one stage and runs on Node 22 in a slim one', () => {
    expect(recipe.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(runtime.image).toMatch(/^node:22(\.|-).*slim$/);
    expect(recipe.stages[0]!.instructions.some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
  });

  it('installs production dependencies only, without lifecycle scripts, and copies the compiled code', () => {
    expect(ops('RUN').join('\n')).toMatch(/npm ci --omit=dev .*--ignore-scripts/);
    expect(ops('COPY').map(copySpec)).toContainEqual({ from: 'build', sources: ['/app/dist'], dest: './dist' });
  });

  it('runs as a non-root user, node as PID 1 in exec form, with a health check on /health/live', () => {
    expect(ops('USER')).toEqual(['node']);
    expect(execForm(ops('ENTRYPOINT')[0]!)).toEqual(['node', 'bin/mcp-gateway.js']);
    expect(healthcheckCommand(ops('HEALTHCHECK')[0]!).join(' ')).toContain('/health/live');
  });

  it('refuses what the check could not perform', () => {
    expect(() => parseDockerfile('FROM node:22 AS a\nADD x /y\n')).toThrow(/cannot perform/);
    expect(() => execForm('node main.js')).toThrow();
    expect(() => copySpec('--chown=node x y')).toThrow(/COPY flag/);
  });
});
