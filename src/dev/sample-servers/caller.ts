/**
 * Who is calling, as stated by the gateway's verified identity assertion, and the role rules every
 * sample server applies on its own (defence in depth: the gateway's policy already filtered the call).
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import { z } from 'zod';

export const SAMPLE_SERVER_NAMES = ['hr', 'finance', 'sales', 'support'] as const;
export type SampleServerName = (typeof SAMPLE_SERVER_NAMES)[number];

/** The identity claims of an assertion; also what travels in `AuthInfo.extra`. */
export const callerClaims = z.object({
  sub: z.string().min(1),
  username: z.string().min(1),
  // Optional: the gateway's own service identity (tool listing) has no mailbox.
  email: z.string().min(1).optional(),
  roles: z.array(z.string()),
});
export type Caller = z.infer<typeof callerClaims>;

/** The caller of the current request; the bearer gate put it into `authInfo.extra`. */
export function callerOf(authInfo: AuthInfo | undefined): Caller {
  return callerClaims.parse(authInfo?.extra);
}

const EXECUTIVE = 'executive';
export const EMPLOYEE = 'employee';

export function hasRole(caller: Caller, role: string): boolean {
  return caller.roles.includes(role);
}

/** Department roles see all of their server's data; executives see everything. */
export function canReadAll(caller: Caller, server: SampleServerName): boolean {
  return hasRole(caller, EXECUTIVE) || hasRole(caller, `${server}-read`) || hasRole(caller, `${server}-write`);
}

export function canWrite(caller: Caller, server: SampleServerName): boolean {
  return hasRole(caller, EXECUTIVE) || hasRole(caller, `${server}-write`);
}
