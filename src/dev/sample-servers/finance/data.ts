/** Finance records: invoices INV-2001…INV-2036 to the sales customers, and 2026 budgets per department and quarter. */
import { z } from 'zod';
import { DEPARTMENTS } from '../hr/data.js';
import { seedCustomers } from '../sales/data.js';
import { cycle, isoDate } from '../seed.js';

export const INVOICE_STATUSES = ['draft', 'sent', 'paid', 'overdue'] as const;
export const BUDGET_STATUSES = ['draft', 'approved'] as const;
export const CURRENCIES = ['USD', 'EUR', 'GBP'] as const;

export const invoiceSchema = z.object({
  id: z.string(),
  customerId: z.string(),
  customer: z.string(),
  amount: z.number().describe('Invoice total in `currency`.'),
  currency: z.enum(CURRENCIES),
  status: z.enum(INVOICE_STATUSES),
  issueDate: z.string().describe('ISO date (YYYY-MM-DD).'),
  dueDate: z.string().describe('ISO date (YYYY-MM-DD).'),
});
export type Invoice = z.infer<typeof invoiceSchema>;

export const budgetSchema = z.object({
  id: z.string(),
  department: z.enum(DEPARTMENTS),
  quarter: z.string().describe('Fiscal quarter, e.g. "2026-Q3".'),
  amount: z.number().describe('Budget in USD.'),
  status: z.enum(BUDGET_STATUSES),
  approvedBy: z.string().nullable().describe('Email of the approver; null while draft.'),
});
export type Budget = z.infer<typeof budgetSchema>;

export interface FinanceStore {
  readonly invoices: Map<string, Invoice>;
  readonly budgets: Map<string, Budget>;
}

export interface FinanceView {
  readonly invoices: ReadonlyMap<string, Readonly<Invoice>>;
  readonly budgets: ReadonlyMap<string, Readonly<Budget>>;
}

const STATUS_MIX: readonly Invoice['status'][] = ['paid', 'sent', 'overdue', 'draft', 'paid', 'sent'];
const CURRENCY_MIX: readonly Invoice['currency'][] = ['USD', 'USD', 'EUR', 'USD', 'GBP'];
const QUARTERS = ['2026-Q1', '2026-Q2', '2026-Q3', '2026-Q4'] as const;
const BUDGET_BASE: Readonly<Record<Budget['department'], number>> = {
  HR: 420_000,
  Finance: 510_000,
  Sales: 1_350_000,
  Support: 780_000,
  Engineering: 2_400_000,
  Executive: 300_000,
};
const CONTROLLER = 'bob.martinez@example.com';

function seedInvoices(): Invoice[] {
  const customers = seedCustomers();
  return Array.from({ length: 36 }, (_, i) => {
    const customer = cycle(customers, i * 7);
    const month = 1 + (i % 6);
    const day = 1 + ((i * 3) % 28);
    return {
      id: `INV-${2001 + i}`,
      customerId: customer.id,
      customer: customer.name,
      amount: 2_500 + ((i * 6151) % 120) * 250,
      currency: cycle(CURRENCY_MIX, i),
      status: cycle(STATUS_MIX, i),
      issueDate: isoDate(2026, month, day),
      dueDate: isoDate(2026, month, day + 30),
    };
  });
}

/** Q1 and Q2 are approved; Q3 is half approved; Q4 is still being drafted. */
function seedBudgets(): Budget[] {
  const budgets = QUARTERS.flatMap((quarter, q) =>
    DEPARTMENTS.map((department, d) => {
      const approved = q < 2 || (q === 2 && d % 2 === 0);
      return {
        id: `BUD-${quarter.replace('-', '')}-${department.toUpperCase()}`,
        department,
        quarter,
        amount: BUDGET_BASE[department] + q * 15_000,
        status: approved ? ('approved' as const) : ('draft' as const),
        approvedBy: approved ? CONTROLLER : null,
      };
    }),
  );
  return budgets.sort((a, b) => (a.id < b.id ? -1 : 1));
}

export function createFinanceStore(): FinanceStore {
  return {
    invoices: new Map(seedInvoices().map((invoice) => [invoice.id, invoice])),
    budgets: new Map(seedBudgets().map((budget) => [budget.id, budget])),
  };
}
