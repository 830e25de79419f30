import { describe, expect, it } from 'vitest';
import { confirmationToolView } from '../../src/runs/confirmation-view.js';
import type { CatalogueTool } from '../../src/upstream/catalogue.js';

const tool = (overrides: Partial<CatalogueTool>): CatalogueTool => ({
  server: 'hr',
  name: 'delete_employee',
  qualifiedName: 'hr__delete_employee',
  title: undefined,
  description: '',
  inputSchema: { type: 'object' },
  annotations: undefined,
  fingerprint: 'x',
  changed: false,
  ...overrides,
});

describe('what a confirmation card shows of its tool', () => {
  it('title, description, annotations in plain terms and argument labels from schema titles', () => {
    const view = confirmationToolView(
      tool({
        title: 'Delete employee',
        description: 'Permanently delete an employee record.',
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
        inputSchema: { type: 'object', properties: { employeeId: { type: 'string', title: 'Employee' }, note: { type: 'string' } } },
      }),
    );
    expect(view).toEqual({
      title: 'Delete employee',
      description: 'Permanently delete an employee record.',
      annotations: { readOnly: false, destructive: true, idempotent: true, openWorld: false },
      argumentLabels: { employeeId: 'Employee' },
    });
  });

  it('a tool without annotations gets the MCP defaults: may change data destructively; no empty fields', () => {
    expect(confirmationToolView(tool({}))).toEqual({ annotations: { readOnly: false, destructive: true, idempotent: false, openWorld: true } });
    expect(confirmationToolView(tool({ annotations: { title: 'From hints', readOnlyHint: true } }))).toMatchObject({ title: 'From hints', annotations: { readOnly: true, destructive: false } });
  });
});
