/**
 * Generates docs/configuration.md (from the zod config schema) and docs/errors.md (from the error
 * catalogue), so the reference can never drift from the code. `npm run docs` writes them; a test
 * fails when the committed files differ from what this produces.
 */
import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.js';
import { ERROR_CATALOGUE } from '../src/errors.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  required?: string[];
}

interface Row {
  path: string;
  type: string;
  required: boolean;
  defaultValue: string;
  description: string;
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum !== undefined) return schema.enum.map((value) => JSON.stringify(value)).join(' \\| ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants !== undefined) return [...new Set(variants.map(typeOf))].join(' \\| ');
  if (schema.type === 'array') return `${schema.items === undefined ? 'unknown' : typeOf(schema.items)}[]`;
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ');
  return schema.type ?? 'any';
}

function walk(schema: JsonSchema, path: string, required: boolean, rows: Row[]): void {
  const variants = schema.anyOf ?? schema.oneOf;
  const objectVariants = variants?.filter((variant) => variant.properties !== undefined) ?? [];
  if (objectVariants.length > 0) {
    // A discriminated union (store): list every variant's keys under the same path.
    for (const variant of objectVariants) walk({ ...variant, description: variant.description ?? schema.description }, path, required, rows);
    return;
  }
  if (path !== '' && (schema.properties === undefined || schema.description !== undefined)) {
    const existing = rows.find((row) => row.path === path);
    if (existing !== undefined) {
      // The same key in two union variants (store.driver): one row naming both.
      existing.type = `${existing.type} \\| ${typeOf(schema)}`;
      existing.description = [existing.description, schema.description ?? ''].filter((text) => text !== '').join(' / ');
      return;
    }
    rows.push({
      path,
      type: schema.properties === undefined && typeof schema.additionalProperties === 'object' ? `map of ${typeOf(schema.additionalProperties)}` : typeOf(schema),
      required: required && schema.default === undefined,
      defaultValue: schema.default === undefined ? '' : `\`${JSON.stringify(schema.default)}\``,
      description: (schema.description ?? '').replace(/\n/g, ' '),
    });
  }
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    walk(child, path === '' ? key : `${path}.${key}`, schema.required?.includes(key) ?? false, rows);
  }
  if (typeof schema.additionalProperties === 'object' && schema.additionalProperties.properties !== undefined) {
    walk(schema.additionalProperties, `${path}.<name>`, true, rows);
  }
  if (schema.items?.properties !== undefined) walk({ ...schema.items, description: undefined }, `${path}[]`, true, rows);
}

export function configurationReference(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: Row[] = [];
  walk(schema, '', true, rows);
  const lines = [
    '# Configuration reference',
    '',
    'Generated from `src/config/schema.ts` by `npm run docs`; do not edit by hand.',
    'Strings may use `${VAR}` or `${VAR:-default}`, replaced from the environment after parsing.',
    '',
    '| Key | Type | Required | Default | Description |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| \`${row.path}\` | ${row.type} | ${row.required ? 'yes' : ''} | ${row.defaultValue} | ${row.description} |`),
    '',
  ];
  return lines.join('\n');
}

export function errorReference(): string {
  const lines = [
    '# Error codes',
    '',
    'Generated from `src/errors.ts` by `npm run docs`; do not edit by hand. Every error body is',
    '`{"error":{"code","message","requestId","retryable","details"?}}`, and the SSE `error` event carries the same object.',
    '',
    '| Code | HTTP status | Retryable | Default message |',
    '| --- | --- | --- | --- |',
    ...Object.entries(ERROR_CATALOGUE).map(([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.retryable ? 'yes' : 'no'} | ${spec.message} |`),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  await writeFile(new URL('../docs/configuration.md', import.meta.url), configurationReference());
  await writeFile(new URL('../docs/errors.md', import.meta.url), errorReference());
}
