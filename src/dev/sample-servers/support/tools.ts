/**
 * Support tools. Row-level rule: support-read / support-write / executive see every ticket; an
 * `employee` without a support role sees only the tickets they reported.
 */
import { z } from 'zod';
import { canReadAll, EMPLOYEE, hasRole, type Caller } from '../caller.js';
import { nextCursorOutput, pageInput, paginate } from '../pagination.js';
import { ToolFailure } from '../tool-failure.js';
import { readTool, writeTool, type SampleTool } from '../tools.js';
import { TICKET_STATUSES, ticketSchema, type SupportStore, type Ticket } from './data.js';

function visibleTickets(store: SupportStore, caller: Caller): Ticket[] {
  const all = [...store.tickets.values()];
  if (canReadAll(caller, 'support')) return all;
  return hasRole(caller, EMPLOYEE) ? all.filter((ticket) => ticket.reporterEmail === caller.email) : [];
}

export function supportTools(store: SupportStore): SampleTool[] {
  return [
    readTool(
      'list_tickets',
      {
        title: 'List support tickets',
        description:
          'List support tickets with subject, status, priority, reporter and assignee, ordered by id. ' +
          'Support staff and executives see every ticket; other employees see the tickets they reported. Paginated.',
        inputSchema: z.object({
          status: z.enum(TICKET_STATUSES).optional().describe('Only tickets with this status.'),
          ...pageInput,
        }),
        outputSchema: z.object({ tickets: z.array(ticketSchema), nextCursor: nextCursorOutput }),
      },
      ({ status, cursor, limit }, caller) => {
        const rows = visibleTickets(store, caller).filter((ticket) => status === undefined || ticket.status === status);
        const { items: tickets, nextCursor } = paginate(rows, cursor, limit);
        return { summary: `${tickets.length} ticket(s)${nextCursor === undefined ? '' : '; more available with nextCursor'}.`, data: { tickets, nextCursor } };
      },
    ),
    writeTool(
      'close_ticket',
      {
        title: 'Close ticket',
        description: 'Close a support ticket with a resolution note that the reporter will see. Requires support-write.',
        inputSchema: z.object({
          ticketId: z.string().regex(/^T-\d{4}$/, 'a ticket id looks like T-3001').describe('Ticket id, e.g. "T-3001" (see list_tickets).'),
          resolution: z.string().trim().min(1).max(2_000).describe('What was done to resolve the issue, in one or two sentences.'),
        }),
        outputSchema: ticketSchema,
      },
      ({ ticketId, resolution }) => {
        const ticket = store.tickets.get(ticketId);
        if (ticket === undefined) throw new ToolFailure(`Ticket ${ticketId} not found.`);
        if (ticket.status === 'closed') throw new ToolFailure(`Ticket ${ticketId} is already closed.`);
        const closed = { ...ticket, status: 'closed' as const, resolution };
        store.tickets.set(ticketId, closed);
        return { summary: `Closed ticket ${ticketId} (${ticket.subject}).`, data: closed };
      },
    ),
  ];
}
