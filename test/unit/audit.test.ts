import { describe, expect, it } from 'vitest';
import { redactArguments } from '../../src/ops/audit.js';

describe('audit argument redaction', () => {
  it('masks secret-looking keys at any depth and keeps the rest', () => {
    const redacted = redactArguments({ employeeId: 'E-1042', password: 'x', nested: { apiKey: 'k', items: [{ token: 't', note: 'ok' }] }, amount: 12 });
    expect(redacted).toEqual({ employeeId: 'E-1042', password: '[redacted]', nested: { apiKey: '[redacted]', items: [{ token: '[redacted]', note: 'ok' }] }, amount: 12 });
  });

  it('cuts long strings, long arrays and deep nesting so a record stays small', () => {
    const long = 'a'.repeat(1000);
    const redacted = redactArguments({ text: long, list: Array.from({ length: 80 }, (_, index) => index) }) as { text: string; list: number[] };
    expect(redacted.text.length).toBeLessThan(300);
    expect(redacted.list).toHaveLength(50);
    let deep: Record<string, unknown> = { leaf: 'bottom' };
    for (let level = 0; level < 10; level += 1) deep = { next: deep };
    expect(JSON.stringify(redactArguments(deep))).toContain('[truncated]');
  });
});
