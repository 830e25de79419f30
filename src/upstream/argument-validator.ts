/**
 * Validates tool arguments against the tool's own inputSchema (JSON Schema 2020-12, ajv) before any
 * upstream call, and refuses prototype-pollution keys wherever they appear.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { GatewayError } from '../errors.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_CACHED = 2_000;

function findForbiddenKey(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findForbiddenKey(item, `${path}/${index}`);
      if (found !== undefined) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return `${path}/${key}`;
      const found = findForbiddenKey((value as Record<string, unknown>)[key], `${path}/${key}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

export class ArgumentValidator {
  // strict: false — upstream schemas may carry annotations ajv does not know; those must not block a tool.
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  private readonly compiled = new Map<string, ValidateFunction | Error>();

  /** `fingerprint` identifies the schema version, so a changed tool gets a fresh validator. */
  validate(fingerprint: string, schema: object, args: unknown): asserts args is Record<string, unknown> {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      throw new GatewayError('MCP_2006', { details: [{ path: '/', message: 'arguments must be an object' }] });
    }
    const forbidden = findForbiddenKey(args, '');
    if (forbidden !== undefined) throw new GatewayError('MCP_2006', { details: [{ path: forbidden, message: 'this key is not allowed' }] });
    const validator = this.validatorFor(fingerprint, schema);
    if (validator instanceof Error) {
      throw new GatewayError('MCP_2006', { message: 'The tool publishes an input schema the gateway cannot use', details: [{ path: '/', message: validator.message }] });
    }
    if (!validator(args)) {
      const details = (validator.errors ?? []).map((error) => ({ path: error.instancePath || '/', message: error.message ?? 'is invalid', keyword: error.keyword }));
      throw new GatewayError('MCP_2006', { details });
    }
  }

  private validatorFor(fingerprint: string, schema: object): ValidateFunction | Error {
    let validator = this.compiled.get(fingerprint);
    if (validator === undefined) {
      try {
        // Servers declare various drafts; the 2020-12 vocabulary validates all the shapes tools use.
        const { $schema: _declaredDraft, ...body } = schema as Record<string, unknown>;
        validator = this.ajv.compile(body);
      } catch (error) {
        validator = error instanceof Error ? error : new Error(String(error));
      }
      if (this.compiled.size >= MAX_CACHED) this.compiled.clear();
      this.compiled.set(fingerprint, validator);
    }
    return validator;
  }
}
