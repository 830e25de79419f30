/**
 * Support tickets T-3001…T-3040 reported by employees and worked by the Support team. Every demo
 * user has reported at least one, so "my tickets" is never empty in the demo.
 */
import { z } from 'zod';
import { DEMO_USERS } from '../../demo-users.js';
import { seedEmployees } from '../hr/data.js';
import { cycle, isoDate } from '../seed.js';

export const TICKET_STATUSES = ['open', 'pending', 'resolved', 'closed'] as const;
export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

export const ticketSchema = z.object({
  id: z.string(),
  subject: z.string(),
  status: z.enum(TICKET_STATUSES),
  priority: z.enum(TICKET_PRIORITIES),
  reporterEmail: z.string(),
  assignee: z.string().nullable().describe('Email of the support engineer working the ticket; null while unassigned.'),
  createdAt: z.string().describe('ISO date (YYYY-MM-DD).'),
  resolution: z.string().nullable().describe('How the ticket was resolved; null while unresolved.'),
});
export type Ticket = z.infer<typeof ticketSchema>;

export interface SupportStore {
  readonly tickets: Map<string, Ticket>;
}

export interface SupportView {
  readonly tickets: ReadonlyMap<string, Readonly<Ticket>>;
}

const SUBJECTS = [
  'Cannot log in to the expense portal',
  'VPN disconnects every few minutes',
  'Laptop battery drains overnight',
  'Request access to the analytics dashboard',
  'Printer on floor 3 jams on duplex jobs',
  'Calendar invites arrive twice',
  'Password reset email never arrives',
  'Monitor flickers when docked',
  'Shared drive quota exceeded',
  'Video calls drop audio after ten minutes',
  'New hire needs a badge and laptop',
  'CRM export times out for large reports',
];
const STATUS_MIX: readonly Ticket['status'][] = ['open', 'pending', 'open', 'resolved', 'closed', 'open', 'pending'];
const PRIORITY_MIX: readonly Ticket['priority'][] = ['normal', 'high', 'low', 'urgent', 'normal'];

function seedTickets(): Ticket[] {
  const employees = seedEmployees();
  const supportTeam = employees.filter((employee) => employee.department === 'Support').map((employee) => employee.email);
  return Array.from({ length: 40 }, (_, i) => {
    const status = cycle(STATUS_MIX, i);
    const done = status === 'resolved' || status === 'closed';
    return {
      id: `T-${3001 + i}`,
      subject: cycle(SUBJECTS, i * 5),
      status,
      priority: cycle(PRIORITY_MIX, i),
      reporterEmail: i < DEMO_USERS.length ? cycle(DEMO_USERS, i).email : cycle(employees, i * 7).email,
      // Fresh tickets wait in the queue; everything else has an owner.
      assignee: status === 'open' && i % 2 === 0 ? null : cycle(supportTeam, i),
      createdAt: isoDate(2026, 1 + (i % 6), 1 + ((i * 3) % 28)),
      resolution: done ? 'Fixed and confirmed with the reporter.' : null,
    };
  });
}

export function createSupportStore(): SupportStore {
  return { tickets: new Map(seedTickets().map((ticket) => [ticket.id, ticket])) };
}
