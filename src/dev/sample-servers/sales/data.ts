/** The sales pipeline: customers C-4001…C-4024 and deals D-5001…D-5040, owned by the Sales team. */
import { z } from 'zod';
import { seedEmployees } from '../hr/data.js';
import { cycle, isoDate } from '../seed.js';

export const DEAL_STAGES = ['prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost'] as const;
export const CLOSED_STAGES: ReadonlySet<DealStage> = new Set(['won', 'lost']);
export type DealStage = (typeof DEAL_STAGES)[number];

export const customerSchema = z.object({
  id: z.string(),
  name: z.string(),
  industry: z.string(),
  region: z.string(),
  accountOwner: z.string().describe('Email of the account executive who owns the account.'),
});
export type Customer = z.infer<typeof customerSchema>;

export const dealSchema = z.object({
  id: z.string(),
  customerId: z.string(),
  customerName: z.string(),
  title: z.string(),
  stage: z.enum(DEAL_STAGES),
  amount: z.number().describe('Deal value in USD.'),
  owner: z.string().describe('Email of the deal owner.'),
  expectedCloseDate: z.string().describe('ISO date (YYYY-MM-DD).'),
});
export type Deal = z.infer<typeof dealSchema>;

export interface SalesStore {
  readonly customers: Map<string, Customer>;
  readonly deals: Map<string, Deal>;
}

export interface SalesView {
  readonly customers: ReadonlyMap<string, Readonly<Customer>>;
  readonly deals: ReadonlyMap<string, Readonly<Deal>>;
}

const COMPANIES: readonly (readonly [name: string, industry: string, region: string])[] = [
  ['Acme Logistics', 'Transportation', 'North America'],
  ['Bluefin Analytics', 'Software', 'North America'],
  ['Cedar Health Partners', 'Healthcare', 'North America'],
  ['Dunmore Retail Group', 'Retail', 'EMEA'],
  ['Everglow Energy', 'Utilities', 'North America'],
  ['Fjord Maritime', 'Transportation', 'EMEA'],
  ['Granite Insurance', 'Financial Services', 'North America'],
  ['Helios Solar', 'Utilities', 'EMEA'],
  ['Ironbark Mining', 'Resources', 'APAC'],
  ['Juniper Foods', 'Consumer Goods', 'North America'],
  ['Kestrel Aerospace', 'Manufacturing', 'EMEA'],
  ['Lumen Media', 'Media', 'North America'],
  ['Meridian Bank', 'Financial Services', 'EMEA'],
  ['Northwind Traders', 'Wholesale', 'North America'],
  ['Orchid Pharmaceuticals', 'Healthcare', 'APAC'],
  ['Pinnacle Hotels', 'Hospitality', 'North America'],
  ['Quarry Lane Builders', 'Construction', 'EMEA'],
  ['Redwood Credit Union', 'Financial Services', 'North America'],
  ['Sable Security', 'Software', 'EMEA'],
  ['Tidewater Telecom', 'Telecommunications', 'APAC'],
  ['Umbra Games', 'Media', 'North America'],
  ['Vantage Motors', 'Manufacturing', 'APAC'],
  ['Willow Education', 'Education', 'North America'],
  ['Zephyr Airlines', 'Transportation', 'EMEA'],
];

const PRODUCTS = ['Platform licence', 'Premium support plan', 'Analytics add-on', 'Onboarding services', 'Enterprise renewal'];
const STAGE_MIX: readonly DealStage[] = ['prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'negotiation', 'lost', 'proposal'];

/** Account executives and managers own accounts; SDRs only prospect. */
function accountOwnerEmails(): string[] {
  return seedEmployees()
    .filter((employee) => employee.department === 'Sales' && employee.title !== 'Sales Development Representative')
    .map((employee) => employee.email);
}

/** A fresh copy of the seeded customers, sorted by id (finance invoices them). */
export function seedCustomers(): Customer[] {
  const owners = accountOwnerEmails();
  return COMPANIES.map(([name, industry, region], i) => ({ id: `C-${4001 + i}`, name, industry, region, accountOwner: cycle(owners, i * 3) }));
}

function seedDeals(customers: readonly Customer[]): Deal[] {
  return Array.from({ length: 40 }, (_, i) => {
    const customer = cycle(customers, i * 5);
    return {
      id: `D-${5001 + i}`,
      customerId: customer.id,
      customerName: customer.name,
      title: `${customer.name}: ${cycle(PRODUCTS, i)}`,
      stage: cycle(STAGE_MIX, i),
      amount: 12_000 + ((i * 37) % 90) * 1_500,
      owner: customer.accountOwner,
      expectedCloseDate: isoDate(2026, 1 + (i % 12), 1 + ((i * 3) % 28)),
    };
  });
}

export function createSalesStore(): SalesStore {
  const customers = seedCustomers();
  return {
    customers: new Map(customers.map((customer) => [customer.id, customer])),
    deals: new Map(seedDeals(customers).map((deal) => [deal.id, deal])),
  };
}
