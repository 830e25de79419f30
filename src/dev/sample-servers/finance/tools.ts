/** Finance tools. Row-level rule: finance-read / finance-write / executive see everything; anyone else sees nothing. */
import { z } from 'zod';
import { canReadAll, type Caller } from '../caller.js';
import { DEPARTMENTS } from '../hr/data.js';
import { nextCursorOutput, pageInput, paginate } from '../pagination.js';
import { ToolFailure } from '../tool-failure.js';
import { readTool, writeTool, type SampleTool } from '../tools.js';
import { budgetSchema, INVOICE_STATUSES, invoiceSchema, type FinanceStore } from './data.js';

function visible<T>(rows: Iterable<T>, caller: Caller): T[] {
  return canReadAll(caller, 'finance') ? [...rows] : [];
}

export function financeTools(store: FinanceStore): SampleTool[] {
  return [
    readTool(
      'list_invoices',
      {
        title: 'List invoices',
        description: 'List customer invoices with amount, currency, status (draft, sent, paid, overdue), issue and due dates, ordered by id. Paginated.',
        inputSchema: z.object({
          status: z.enum(INVOICE_STATUSES).optional().describe('Only invoices with this status.'),
          ...pageInput,
        }),
        outputSchema: z.object({ invoices: z.array(invoiceSchema), nextCursor: nextCursorOutput }),
      },
      ({ status, cursor, limit }, caller) => {
        const rows = visible(store.invoices.values(), caller).filter((invoice) => status === undefined || invoice.status === status);
        const { items: invoices, nextCursor } = paginate(rows, cursor, limit);
        return { summary: `${invoices.length} invoice(s)${nextCursor === undefined ? '' : '; more available with nextCursor'}.`, data: { invoices, nextCursor } };
      },
    ),
    readTool(
      'list_budgets',
      {
        title: 'List budgets',
        description: 'List 2026 department budgets per quarter (USD) with their status (draft or approved) and approver, ordered by id. Paginated.',
        inputSchema: z.object({
          department: z.enum(DEPARTMENTS).optional().describe('Only budgets of this department.'),
          ...pageInput,
        }),
        outputSchema: z.object({ budgets: z.array(budgetSchema), nextCursor: nextCursorOutput }),
      },
      ({ department, cursor, limit }, caller) => {
        const rows = visible(store.budgets.values(), caller).filter((budget) => department === undefined || budget.department === department);
        const { items: budgets, nextCursor } = paginate(rows, cursor, limit);
        return { summary: `${budgets.length} budget(s)${nextCursor === undefined ? '' : '; more available with nextCursor'}.`, data: { budgets, nextCursor } };
      },
    ),
    writeTool(
      'delete_invoice',
      {
        title: 'Delete invoice',
        description: 'Permanently delete an invoice. Irreversible. Requires finance-write.',
        inputSchema: z.object({
          invoiceId: z.string().regex(/^INV-\d{4}$/, 'an invoice id looks like INV-2001').describe('Invoice id, e.g. "INV-2001" (see list_invoices).'),
        }),
        outputSchema: z.object({ invoiceId: z.string(), deleted: z.literal(true) }),
      },
      ({ invoiceId }) => {
        const invoice = store.invoices.get(invoiceId);
        if (invoice === undefined) throw new ToolFailure(`Invoice ${invoiceId} not found.`);
        store.invoices.delete(invoiceId);
        return { summary: `Deleted invoice ${invoiceId} (${invoice.customer}, ${invoice.amount} ${invoice.currency}).`, data: { invoiceId, deleted: true } };
      },
    ),
    writeTool(
      'approve_budget',
      {
        title: 'Approve budget',
        description: 'Approve a draft department budget; you are recorded as the approver. Requires finance-write.',
        inputSchema: z.object({
          budgetId: z.string().regex(/^BUD-\d{4}Q[1-4]-[A-Z]+$/, 'a budget id looks like BUD-2026Q3-SALES').describe('Budget id, e.g. "BUD-2026Q3-SALES" (see list_budgets).'),
        }),
        outputSchema: budgetSchema,
      },
      ({ budgetId }, caller) => {
        const budget = store.budgets.get(budgetId);
        if (budget === undefined) throw new ToolFailure(`Budget ${budgetId} not found.`);
        if (budget.status === 'approved') throw new ToolFailure(`Budget ${budgetId} is already approved.`);
        const approved = { ...budget, status: 'approved' as const, approvedBy: caller.email ?? caller.username };
        store.budgets.set(budgetId, approved);
        return { summary: `Approved budget ${budgetId}: ${budget.department} ${budget.quarter}, ${budget.amount} USD.`, data: approved };
      },
    ),
  ];
}
