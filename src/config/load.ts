/** Reads a YAML config file, interpolates `${ENV_VAR}` references and validates it against the schema. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type GatewayConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed document. Interpolating after
 * parsing (not in the raw text) means a secret containing YAML syntax cannot change the document's shape.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = [], missing: Map<string, string[]> = new Map()): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_match, name: string, fallback: string | undefined) => {
      const resolved = env[name] ?? fallback;
      if (resolved === undefined) {
        const where = pathOf(path);
        missing.set(where, [...(missing.get(where) ?? []), name]);
        return '';
      }
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateEnv(item, env, [...path, String(index)], missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, interpolateEnv(item, env, [...path, key], missing)]),
    );
  }
  return value;
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.') || '(root)';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    // Name each unknown key in its own path rather than one "(root): Unrecognized keys" line.
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${pathOf([...issue.path, key])}: unknown key`);
    // A bad record key (e.g. a server name): zod's own message hides the rule it broke.
    if (issue.code === 'invalid_key') return [`${pathOf(issue.path)}: ${issue.issues.map((inner) => inner.message).join('; ')}`];
    return [`${pathOf(issue.path)}: ${issue.message}`];
  });
}

/** Validates an already-parsed config object; throws ConfigError listing every problem with its path. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const missing = new Map<string, string[]>();
  const interpolated = interpolateEnv(raw, env, [], missing);
  const result = configSchema.safeParse(interpolated);
  const missingProblems = [...missing].flatMap(([path, names]) => names.map((name) => `${path}: environment variable ${name} is not set`));
  // A value whose variable is missing is meaningless; the schema's complaint about it would only add noise.
  const schemaProblems = result.success ? [] : formatIssues(result.error.issues.filter((issue) => !missing.has(pathOf(issue.path))));
  const problems = [...missingProblems, ...schemaProblems];
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new ConfigError([`${file}: not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}`]);
  }
  const config = parseConfig(raw ?? {}, env);
  // A deployment has a public address, and it is not whatever Host header a client sends; only the
  // embedded demo (no file) derives it from its listen address.
  if (config.server.publicUrl === undefined) {
    throw new ConfigError(['server.publicUrl: required in a configuration file (the URL clients reach this gateway at, e.g. https://mcp-gateway.example.com)']);
  }
  return config;
}
