/**
 * Sales tools. Row-level rule: sales-read / sales-write / executive see the whole pipeline; anyone
 * else sees only the accounts and deals they own.
 */
import { z } from 'zod';
import { canReadAll, type Caller } from '../caller.js';
import { nextCursorOutput, pageInput, paginate } from '../pagination.js';
import { ToolFailure } from '../tool-failure.js';
import { readTool, writeTool, type SampleTool } from '../tools.js';
import { CLOSED_STAGES, customerSchema, DEAL_STAGES, dealSchema, type Customer, type Deal, type SalesStore } from './data.js';

function visibleCustomers(store: SalesStore, caller: Caller): Customer[] {
  const all = [...store.customers.values()];
  return canReadAll(caller, 'sales') ? all : all.filter((customer) => customer.accountOwner === caller.email);
}

function visibleDeals(store: SalesStore, caller: Caller): Deal[] {
  const all = [...store.deals.values()];
  return canReadAll(caller, 'sales') ? all : all.filter((deal) => deal.owner === caller.email);
}

export function salesTools(store: SalesStore): SampleTool[] {
  return [
    readTool(
      'list_customers',
      {
        title: 'List customers',
        description: 'List customer accounts (id, name, industry, region, account owner), ordered by id. Paginated.',
        inputSchema: z.object({ ...pageInput }),
        outputSchema: z.object({ customers: z.array(customerSchema), nextCursor: nextCursorOutput }),
      },
      ({ cursor, limit }, caller) => {
        const { items: customers, nextCursor } = paginate(visibleCustomers(store, caller), cursor, limit);
        return { summary: `${customers.length} customer(s)${nextCursor === undefined ? '' : '; more available with nextCursor'}.`, data: { customers, nextCursor } };
      },
    ),
    readTool(
      'list_deals',
      {
        title: 'List deals',
        description:
          'List deals in the sales pipeline with customer, stage, amount (USD), owner and expected close date, ordered by id. ' +
          'Open stages: prospecting, qualification, proposal, negotiation; closed: won, lost. Paginated.',
        inputSchema: z.object({
          stage: z.enum(DEAL_STAGES).optional().describe('Only deals in this stage.'),
          ...pageInput,
        }),
        outputSchema: z.object({ deals: z.array(dealSchema), nextCursor: nextCursorOutput }),
      },
      ({ stage, cursor, limit }, caller) => {
        const rows = visibleDeals(store, caller).filter((deal) => stage === undefined || deal.stage === stage);
        const { items: deals, nextCursor } = paginate(rows, cursor, limit);
        return { summary: `${deals.length} deal(s)${nextCursor === undefined ? '' : '; more available with nextCursor'}.`, data: { deals, nextCursor } };
      },
    ),
    writeTool(
      'close_deal',
      {
        title: 'Close deal',
        description: 'Close an open deal as won or lost. A closed deal cannot be reopened. Requires sales-write.',
        inputSchema: z.object({
          dealId: z.string().regex(/^D-\d{4}$/, 'a deal id looks like D-5001').describe('Deal id, e.g. "D-5001" (see list_deals).'),
          outcome: z.enum(['won', 'lost']).describe('"won" if the customer signed, "lost" otherwise.'),
        }),
        outputSchema: dealSchema,
      },
      ({ dealId, outcome }, caller) => {
        const deal = visibleDeals(store, caller).find((candidate) => candidate.id === dealId);
        if (deal === undefined) throw new ToolFailure(`Deal ${dealId} not found (or not visible to you).`);
        if (CLOSED_STAGES.has(deal.stage)) throw new ToolFailure(`Deal ${dealId} is already closed as ${deal.stage}.`);
        const closed = { ...deal, stage: outcome };
        store.deals.set(dealId, closed);
        return { summary: `Deal ${dealId} (${deal.title}) closed as ${outcome}.`, data: closed };
      },
    ),
  ];
}
