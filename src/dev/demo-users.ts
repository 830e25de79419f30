/**
 * The demo organisation's people: the ONE table the dev OIDC issuer signs tokens from and the sample
 * MCP servers seed their records from (matched by `email` / `employeeId`).
 */

export interface DemoUser {
  readonly username: string;
  /** Stable subject id, as Keycloak would assign it. */
  readonly sub: string;
  readonly email: string;
  readonly name: string;
  /** Keycloak realm roles (`realm_access.roles`). */
  readonly realmRoles: readonly string[];
  /** Roles of the gateway's OAuth client (`resource_access[clientId].roles`). */
  readonly clientRoles: readonly string[];
  /** The user's record in the HR sample server. */
  readonly employeeId: string;
}

function demoUser(username: string, name: string, sub: string, employeeId: string, realmRoles: string[], clientRoles: string[] = []): DemoUser {
  return Object.freeze({
    username,
    sub,
    email: `${username}@example.com`,
    name,
    realmRoles: Object.freeze(realmRoles),
    clientRoles: Object.freeze(clientRoles),
    employeeId,
  });
}

export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  // hr-write arrives as a client role to exercise the realm ∪ client role merge.
  demoUser('alice.chen', 'Alice Chen', '3f6c2a9e-8b1d-4c57-9e2a-1d4b7f0c8a21', 'E-1002', ['hr-read', 'employee'], ['hr-write']),
  demoUser('bob.martinez', 'Bob Martinez', '9a1e4d27-5c3b-4f86-a0d9-6e2b8c7f1a34', 'E-1003', ['finance-read', 'finance-write', 'employee']),
  demoUser('carol.nguyen', 'Carol Nguyen', 'c47b9e13-2a6d-4e08-b5f1-8d3c0a9e6b45', 'E-1004', ['sales-read', 'sales-write', 'employee']),
  demoUser('dan.okafor', 'Dan Okafor', '5e8d1b6a-7f2c-4a93-8c4e-0b9a3d2f7e56', 'E-1005', ['support-read', 'support-write', 'employee']),
  demoUser('eve.thompson', 'Eve Thompson', 'e2a7c5f8-1d4b-4b6e-9f3a-7c0d5e8b2a67', 'E-1001', ['executive']),
  demoUser('frank.lee', 'Frank Lee', '7b3f0e9c-6a5d-4d21-b8e7-2f1c4a6d9b78', 'E-1006', ['employee']),
  demoUser('ops.admin', 'Ops Admin', 'a9d4f2b1-3e7c-4f5a-8d6b-5c2e9f0a3d89', 'E-1008', ['gateway-admin']),
]);

const BY_USERNAME: ReadonlyMap<string, DemoUser> = new Map(DEMO_USERS.map((user) => [user.username, user]));

export function findDemoUser(username: string): DemoUser | undefined {
  return BY_USERNAME.get(username);
}
