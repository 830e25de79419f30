/** Argument validation before any upstream call: JSON Schema 2020-12 (and older drafts' shapes), pollution keys. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { ArgumentValidator } from '../../src/upstream/argument-validator.js';

const employeeSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { employeeId: { type: 'string', pattern: '^E-\\d{4}$' }, limit: { type: 'integer', minimum: 1, maximum: 100 } },
  required: ['employeeId'],
  additionalProperties: false,
};

function refusal(run: () => void): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected the arguments to be refused');
}

describe('ArgumentValidator', () => {
  const validator = new ArgumentValidator();

  it('accepts arguments that match the schema (whatever draft it declares)', () => {
    expect(() => validator.validate('v1', employeeSchema, { employeeId: 'E-1042', limit: 5 })).not.toThrow();
  });

  it('reports every schema error with its path and keyword', () => {
    const error = refusal(() => validator.validate('v1', employeeSchema, { limit: 0, extra: true }));
    expect(error.code).toBe('MCP_2006');
    expect(error.status).toBe(400);
    expect(error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/', keyword: 'required' }),
        expect.objectContaining({ path: '/', keyword: 'additionalProperties' }),
        expect.objectContaining({ path: '/limit', keyword: 'minimum' }),
      ]),
    );
  });

  it('refuses a wrong type without coercing it', () => {
    const error = refusal(() => validator.validate('v1', employeeSchema, { employeeId: 1042 }));
    expect(error.details).toEqual([expect.objectContaining({ path: '/employeeId', keyword: 'type' })]);
  });

  it.each([null, [], 'text', 42])('refuses arguments that are not an object: %j', (args) => {
    expect(refusal(() => validator.validate('v1', employeeSchema, args)).code).toBe('MCP_2006');
  });

  it.each([
    ['__proto__', JSON.parse('{"employeeId":"E-1042","__proto__":{"polluted":true}}') as unknown, '/__proto__'],
    ['constructor', { employeeId: 'E-1042', nested: [{ constructor: { prototype: {} } }] }, '/nested/0/constructor'],
    ['prototype', { employeeId: 'E-1042', deep: { prototype: 1 } }, '/deep/prototype'],
  ])('refuses a %s key anywhere in the arguments, even where the schema allows anything', (_key, args, path) => {
    const error = refusal(() => validator.validate('open', { type: 'object' }, args));
    expect(error.code).toBe('MCP_2006');
    expect(error.details).toEqual([{ path, message: 'this key is not allowed' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('uses 2020-12 keywords (prefixItems, dependentRequired)', () => {
    const schema = {
      type: 'object',
      properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false } },
      dependentRequired: { pair: ['label'] },
    };
    expect(() => validator.validate('2020', schema, { pair: ['a', 1], label: 'x' })).not.toThrow();
    const error = refusal(() => validator.validate('2020', schema, { pair: [1, 'a', true] }));
    const keywords = (error.details as { keyword: string }[]).map((detail) => detail.keyword);
    expect(keywords).toEqual(expect.arrayContaining(['type', 'dependentRequired']));
  });

  it('compiles a new validator when the fingerprint changes', () => {
    const loose = { type: 'object', properties: { employeeId: { type: 'string' } } };
    expect(() => validator.validate('fp-a', loose, { employeeId: 'anything' })).not.toThrow();
    expect(() => validator.validate('fp-b', employeeSchema, { employeeId: 'anything' })).toThrow(GatewayError);
  });

  it('refuses calls to a tool whose published schema cannot be compiled, instead of skipping validation', () => {
    const error = refusal(() => validator.validate('broken', { type: 'object', properties: { a: { type: 'no-such-type' } } }, { a: 1 }));
    expect(error.code).toBe('MCP_2006');
    expect(error.message).toMatch(/cannot use/);
  });
});
