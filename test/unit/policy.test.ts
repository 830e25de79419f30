/**
 * The access decision, exhaustively over the demo organisation: every demo user × every sample
 * server × every tool, against an expected table written by hand from the rules (not
 * derived from decide()); then config overrides and rate tiers.
 */
import { describe, expect, it } from 'vitest';
import { rolesFromClaims } from '../../src/auth/identity.js';
import { demoConfig } from '../../src/config/demo-profile.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfig, GatewayConfigInput } from '../../src/config/schema.js';
import { DEMO_USERS } from '../../src/dev/demo-users.js';
import { DEV_CLIENT_ID, keycloakClaims } from '../../src/dev/dev-issuer.js';
import { decide, isVisible, policyTable, type Effect, type ToolFacts } from '../../src/policy/decide.js';
import { tierFor } from '../../src/policy/rate-tier.js';

const ENDPOINTS = {
  issuerUrl: 'http://127.0.0.1:1',
  jwksUri: 'http://127.0.0.1:1/jwks',
  clientId: DEV_CLIENT_ID,
  servers: { hr: 'http://127.0.0.1:2/mcp', finance: 'http://127.0.0.1:3/mcp', sales: 'http://127.0.0.1:4/mcp', support: 'http://127.0.0.1:5/mcp' },
  simulatedModelUrl: 'http://127.0.0.1:6',
};

function demo(edit: (input: GatewayConfigInput) => void = () => undefined): GatewayConfig {
  const input = demoConfig(ENDPOINTS, {});
  edit(input);
  return parseConfig(input, {});
}

const READ: ToolFacts['annotations'] = { readOnlyHint: true };
const WRITE: ToolFacts['annotations'] = { readOnlyHint: false, destructiveHint: true };

/** The sample servers' tools and their annotations, as they advertise them. */
const TOOLS: Record<string, ToolFacts[]> = {
  hr: [
    { name: 'list_employees', annotations: READ },
    { name: 'get_employee', annotations: READ },
    { name: 'delete_employee', annotations: WRITE },
    { name: 'update_salary', annotations: WRITE },
  ],
  finance: [
    { name: 'list_invoices', annotations: READ },
    { name: 'list_budgets', annotations: READ },
    { name: 'delete_invoice', annotations: WRITE },
    { name: 'approve_budget', annotations: WRITE },
  ],
  sales: [
    { name: 'list_customers', annotations: READ },
    { name: 'list_deals', annotations: READ },
    { name: 'close_deal', annotations: WRITE },
  ],
  support: [
    { name: 'list_tickets', annotations: READ },
    { name: 'close_ticket', annotations: WRITE },
  ],
};

const A: Effect = 'allow';
const C: Effect = 'confirm';
const D: Effect = 'deny';

/**
 * Expected effect per user, server and tool, in the order of TOOLS. From the rules:
 * hr is granted to employee, hr-read, hr-write and executive; finance to finance-read/-write and
 * executive; sales to sales-read/-write and executive; support to employee, support-read/-write and
 * executive. Each write tool needs that server's write role or executive. Read tools are allowed;
 * write tools need confirmation.
 */
const EXPECTED: Record<string, Record<string, Effect[]>> = {
  'alice.chen': { hr: [A, A, C, C], finance: [D, D, D, D], sales: [D, D, D], support: [A, D] },
  'bob.martinez': { hr: [A, A, D, D], finance: [A, A, C, C], sales: [D, D, D], support: [A, D] },
  'carol.nguyen': { hr: [A, A, D, D], finance: [D, D, D, D], sales: [A, A, C], support: [A, D] },
  'dan.okafor': { hr: [A, A, D, D], finance: [D, D, D, D], sales: [D, D, D], support: [A, C] },
  'eve.thompson': { hr: [A, A, C, C], finance: [A, A, C, C], sales: [A, A, C], support: [A, C] },
  'frank.lee': { hr: [A, A, D, D], finance: [D, D, D, D], sales: [D, D, D], support: [A, D] },
  'ops.admin': { hr: [D, D, D, D], finance: [D, D, D, D], sales: [D, D, D], support: [D, D] },
};

/** A demo user's roles exactly as the gateway derives them from a Keycloak-shaped token. */
function rolesOf(username: string): string[] {
  const user = DEMO_USERS.find((candidate) => candidate.username === username);
  if (user === undefined) throw new Error(`no demo user ${username}`);
  return rolesFromClaims(keycloakClaims(user, DEV_CLIENT_ID, 'sid'), DEV_CLIENT_ID);
}

const cases = Object.entries(EXPECTED).flatMap(([username, servers]) =>
  Object.entries(servers).flatMap(([server, effects]) =>
    (TOOLS[server] ?? []).map((tool, index) => ({ username, server, tool, expected: effects[index] })),
  ),
);

describe('decide() over the demo config', () => {
  const table = policyTable(demo());

  it('the expected table covers every demo user, every configured server and every tool', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(DEMO_USERS.map((user) => user.username).sort());
    expect(Object.keys(TOOLS).sort()).toEqual(Object.keys(table.servers).sort());
    for (const servers of Object.values(EXPECTED)) {
      expect(Object.keys(servers).sort()).toEqual(Object.keys(TOOLS).sort());
      for (const [server, effects] of Object.entries(servers)) expect(effects).toHaveLength(TOOLS[server]?.length ?? -1);
    }
    expect(cases).toHaveLength(7 * 13);
  });

  it.each(cases)('$username on $server.$tool.name → $expected', ({ username, server, tool, expected }) => {
    const decision = decide(rolesOf(username), server, tool, table);
    expect(decision.effect).toBe(expected);
    expect(decision.reason).not.toBe('');
    expect(isVisible(decision)).toBe(expected === 'allow' || expected === 'confirm');
  });

  it("alice's hr-write is a client role, and it is what grants her hr's write tools", () => {
    const alice = DEMO_USERS.find((user) => user.username === 'alice.chen');
    expect(alice?.realmRoles).not.toContain('hr-write');
    const realmOnly = alice?.realmRoles ?? [];
    expect(decide(realmOnly, 'hr', { name: 'delete_employee', annotations: WRITE }, table).effect).toBe('deny');
    expect(decide(rolesOf('alice.chen'), 'hr', { name: 'delete_employee', annotations: WRITE }, table).effect).toBe('confirm');
  });

  it('an unknown server is hidden', () => {
    expect(decide(rolesOf('eve.thompson'), 'payroll', { name: 'list', annotations: READ }, table).effect).toBe('hidden');
  });

  it('the reasons say why', () => {
    expect(decide(rolesOf('frank.lee'), 'finance', { name: 'list_invoices', annotations: READ }, table).reason).toContain('finance');
    expect(decide(rolesOf('frank.lee'), 'hr', { name: 'delete_employee', annotations: WRITE }, table).reason).toContain('hr-write');
    expect(decide(rolesOf('eve.thompson'), 'hr', { name: 'delete_employee', annotations: WRITE }, table).reason).toMatch(/destructive/);
  });
});

describe('the confirmation rule', () => {
  const table = policyTable(demo());
  const eve = rolesOf('eve.thompson');

  it.each<[string, ToolFacts['annotations'], Effect]>([
    ['read-only', { readOnlyHint: true }, 'allow'],
    ['destructive', { destructiveHint: true }, 'confirm'],
    ['read-only but also destructive', { readOnlyHint: true, destructiveHint: true }, 'confirm'],
    ['not read-only, not destructive', { readOnlyHint: false, destructiveHint: false }, 'confirm'],
    ['without annotations', undefined, 'confirm'],
    ['with empty annotations', {}, 'confirm'],
  ])('a %s tool → %s', (_label, annotations, expected) => {
    expect(decide(eve, 'hr', { name: 'some_tool', annotations }, table).effect).toBe(expected);
  });
});

describe('config overrides', () => {
  it('confirm: false waives confirmation of a destructive tool; confirm: true requires it for a read tool', () => {
    const table = policyTable(
      demo((input) => {
        const hr = input.servers.hr;
        if (hr === undefined) throw new Error('demo config has no hr');
        hr.tools = { ...hr.tools, update_salary: { roles: ['hr-write', 'executive'], confirm: false }, list_employees: { confirm: true } };
      }),
    );
    const alice = rolesOf('alice.chen');
    expect(decide(alice, 'hr', { name: 'update_salary', annotations: WRITE }, table).effect).toBe('allow');
    expect(decide(alice, 'hr', { name: 'list_employees', annotations: READ }, table).effect).toBe('confirm');
    // confirm: false does not widen access.
    expect(decide(rolesOf('frank.lee'), 'hr', { name: 'update_salary', annotations: WRITE }, table).effect).toBe('deny');
  });

  it('hidden hides a tool from everyone, even those who could otherwise use it', () => {
    const table = policyTable(
      demo((input) => {
        const sales = input.servers.sales;
        if (sales === undefined) throw new Error('demo config has no sales');
        sales.tools = { ...sales.tools, list_deals: { hidden: true } };
      }),
    );
    for (const username of ['eve.thompson', 'carol.nguyen', 'frank.lee']) {
      expect(decide(rolesOf(username), 'sales', { name: 'list_deals', annotations: READ }, table).effect).toBe('hidden');
    }
    expect(decide(rolesOf('carol.nguyen'), 'sales', { name: 'list_customers', annotations: READ }, table).effect).toBe('allow');
  });

  it('per-tool roles narrow a server grant but never widen it', () => {
    const table = policyTable(
      demo((input) => {
        const support = input.servers.support;
        if (support === undefined) throw new Error('demo config has no support');
        // gateway-admin is not granted the server, so naming it on a tool must not let ops.admin in.
        support.tools = { ...support.tools, list_tickets: { roles: ['support-read', 'gateway-admin'] } };
      }),
    );
    const read = { name: 'list_tickets', annotations: READ };
    expect(decide(rolesOf('dan.okafor'), 'support', read, table).effect).toBe('allow');
    expect(decide(rolesOf('frank.lee'), 'support', read, table).effect).toBe('deny');
    expect(decide(rolesOf('ops.admin'), 'support', read, table).effect).toBe('deny');
  });

  it.each<['always' | 'never', Effect, Effect]>([
    ['always', 'confirm', 'confirm'],
    ['never', 'allow', 'allow'],
  ])('defaultRule %s: read → %s, write → %s; a per-tool rule still wins', (defaultRule, read, write) => {
    const table = policyTable(
      demo((input) => {
        input.confirmations = { defaultRule };
        const finance = input.servers.finance;
        if (finance === undefined) throw new Error('demo config has no finance');
        finance.tools = { ...finance.tools, list_budgets: { confirm: defaultRule === 'never' } };
      }),
    );
    const bob = rolesOf('bob.martinez');
    expect(decide(bob, 'finance', { name: 'list_invoices', annotations: READ }, table).effect).toBe(read);
    expect(decide(bob, 'finance', { name: 'delete_invoice', annotations: WRITE }, table).effect).toBe(write);
    expect(decide(bob, 'finance', { name: 'list_budgets', annotations: READ }, table).effect).toBe(defaultRule === 'never' ? 'confirm' : 'allow');
  });
});

describe('resources and prompts', () => {
  const table = policyTable(
    demo((input) => {
      const hr = input.servers.hr;
      if (hr === undefined) throw new Error('demo config has no hr');
      hr.resources = { 'hr://policies': { hidden: true }, 'hr://salaries/{id}': { roles: ['hr-write', 'gateway-admin'] } };
      hr.prompts = { onboarding: { roles: ['hr-write'] }, secret: { hidden: true } };
    }),
  );

  it('are allowed (never confirmed) wherever the server is granted and no rule narrows them', () => {
    expect(decide(rolesOf('alice.chen'), 'hr', { kind: 'resource', uri: 'hr://handbook' }, table)).toEqual({ effect: 'allow', reason: 'server hr is granted' });
    expect(decide(rolesOf('alice.chen'), 'hr', { kind: 'prompt', name: 'summary' }, table).effect).toBe('allow');
    expect(decide(['sales-read'], 'hr', { kind: 'resource', uri: 'hr://handbook' }, table).effect).toBe('deny');
    expect(decide(rolesOf('alice.chen'), 'nowhere', { kind: 'prompt', name: 'summary' }, table).effect).toBe('hidden');
  });

  it('hidden hides from everyone; roles narrow, by URI or by the template a URI was read through, never widen', () => {
    expect(decide(rolesOf('alice.chen'), 'hr', { kind: 'resource', uri: 'hr://policies' }, table).effect).toBe('hidden');
    expect(decide(rolesOf('alice.chen'), 'hr', { kind: 'prompt', name: 'secret' }, table).effect).toBe('hidden');
    expect(decide(rolesOf('alice.chen'), 'hr', { kind: 'prompt', name: 'onboarding' }, table).effect).toBe('allow');
    const salary = { kind: 'resource', uri: 'hr://salaries/7', template: 'hr://salaries/{id}' } as const;
    expect(decide(rolesOf('alice.chen'), 'hr', salary, table).effect).toBe('allow');
    expect(decide(['hr-read', 'employee'], 'hr', salary, table).effect).toBe('deny');
    // gateway-admin is named on the rule but not granted the server.
    expect(decide(rolesOf('ops.admin'), 'hr', salary, table).effect).toBe('deny');
  });
});

describe('tierFor', () => {
  const tiers = demo().limits.tiers;

  it.each([
    ['eve.thompson', 'executive'],
    // alice holds hr-write (client role) and hr-read: the first matching tier, the more generous one, wins.
    ['alice.chen', 'hr-write'],
    ['bob.martinez', 'default'],
    ['frank.lee', 'default'],
    ['ops.admin', 'default'],
  ])('%s → %s', (username, tier) => {
    expect(tierFor(rolesOf(username), tiers).name).toBe(tier);
  });

  it('hr-read alone → hr-read; no roles → default', () => {
    expect(tierFor(['hr-read', 'employee'], tiers).name).toBe('hr-read');
    expect(tierFor([], tiers).name).toBe('default');
  });

  it('the default tiers carry the review’s AI query limits', () => {
    expect(Object.fromEntries(tiers.map((tier) => [tier.name, tier.queriesPerHour]))).toEqual({
      executive: 1000,
      'hr-write': 500,
      'hr-read': 200,
      default: 100,
    });
  });

  it('tier order decides between several matching tiers', () => {
    const custom = [
      { name: 'low', roles: ['a'], queriesPerHour: 1, requestsPerMinute: 1, tokensPerDay: 1 },
      { name: 'high', roles: ['b'], queriesPerHour: 9, requestsPerMinute: 9, tokensPerDay: 9 },
      { name: 'default', roles: [], queriesPerHour: 5, requestsPerMinute: 5, tokensPerDay: 5 },
    ];
    expect(tierFor(['b', 'a'], custom).name).toBe('low');
    expect(tierFor(['b'], custom).name).toBe('high');
  });

  it('without a default tier, a user matching none is an error (the schema forbids such a config)', () => {
    expect(() => tierFor(['x'], [{ name: 'only', roles: ['y'], queriesPerHour: 1, requestsPerMinute: 1, tokensPerDay: 1 }])).toThrow(/default/);
  });
});
