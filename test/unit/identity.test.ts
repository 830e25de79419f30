/** Roles and identity from Keycloak-shaped claims: realm roles ∪ the gateway client's roles, nothing else. */
import { describe, expect, it } from 'vitest';
import { identityFromClaims, rolesFromClaims } from '../../src/auth/identity.js';

const CLIENT = 'mcp-gateway';

describe('rolesFromClaims', () => {
  it('merges realm roles with the configured client’s roles, sorted and without duplicates', () => {
    const claims = {
      realm_access: { roles: ['hr-read', 'employee', 'hr-read'] },
      resource_access: { [CLIENT]: { roles: ['hr-write', 'employee'] } },
    };
    expect(rolesFromClaims(claims, CLIENT)).toEqual(['employee', 'hr-read', 'hr-write']);
  });

  it('ignores the roles of every other client', () => {
    const claims = {
      realm_access: { roles: ['employee'] },
      resource_access: { account: { roles: ['manage-account', 'view-profile'] }, 'other-app': { roles: ['executive'] } },
    };
    expect(rolesFromClaims(claims, CLIENT)).toEqual(['employee']);
  });

  it('matches the client id exactly (case-sensitive)', () => {
    expect(rolesFromClaims({ resource_access: { 'MCP-Gateway': { roles: ['executive'] } } }, CLIENT)).toEqual([]);
  });

  it('client roles alone are enough', () => {
    expect(rolesFromClaims({ resource_access: { [CLIENT]: { roles: ['gateway-admin'] } } }, CLIENT)).toEqual(['gateway-admin']);
  });

  it.each<[string, Record<string, unknown>]>([
    ['no role claims at all', {}],
    ['realm_access null', { realm_access: null }],
    ['realm_access a string', { realm_access: 'executive' }],
    ['realm_access.roles a string', { realm_access: { roles: 'executive' } }],
    ['realm_access.roles an object', { realm_access: { roles: { 0: 'executive' } } }],
    ['resource_access an array', { resource_access: [{ roles: ['executive'] }] }],
    ['resource_access[client] null', { resource_access: { [CLIENT]: null } }],
    ['resource_access[client].roles a number', { resource_access: { [CLIENT]: { roles: 7 } } }],
    ['roles at the top level (not a Keycloak claim)', { roles: ['executive'] }],
  ])('%s → no roles', (_label, claims) => {
    expect(rolesFromClaims(claims, CLIENT)).toEqual([]);
  });

  it('drops role entries that are not strings', () => {
    const claims = { realm_access: { roles: ['employee', 42, null, { name: 'executive' }, ['executive']] } };
    expect(rolesFromClaims(claims, CLIENT)).toEqual(['employee']);
  });
});

describe('identityFromClaims', () => {
  const base = { sub: 'user-1', exp: 2_000_000_000 };

  it('builds the identity from the usual Keycloak claims', () => {
    const identity = identityFromClaims(
      {
        ...base,
        iat: 1_999_999_000,
        preferred_username: 'alice.chen',
        email: 'alice.chen@example.com',
        sid: 'session-1',
        jti: 'token-1',
        realm_access: { roles: ['employee'] },
        resource_access: { [CLIENT]: { roles: ['hr-write'] } },
      },
      CLIENT,
    );
    expect(identity).toEqual({
      sub: 'user-1',
      username: 'alice.chen',
      email: 'alice.chen@example.com',
      roles: ['employee', 'hr-write'],
      sid: 'session-1',
      jti: 'token-1',
      exp: 2_000_000_000,
      iat: 1_999_999_000,
    });
  });

  it('falls back to sub for the username and leaves missing or empty optional claims undefined', () => {
    const identity = identityFromClaims({ ...base, preferred_username: '', email: '', sid: 7, jti: '' }, CLIENT);
    expect(identity.username).toBe('user-1');
    expect(identity.email).toBeUndefined();
    expect(identity.sid).toBeUndefined();
    expect(identity.jti).toBeUndefined();
    expect(identity.iat).toBeUndefined();
    expect(identity.roles).toEqual([]);
  });

  it('ignores a non-numeric iat', () => {
    expect(identityFromClaims({ ...base, iat: '1999999000' as unknown as number }, CLIENT).iat).toBeUndefined();
  });

  it('is immutable, roles included', () => {
    const identity = identityFromClaims({ ...base, realm_access: { roles: ['employee'] } }, CLIENT);
    expect(Object.isFrozen(identity)).toBe(true);
    expect(Object.isFrozen(identity.roles)).toBe(true);
    expect(() => (identity.roles as string[]).push('executive')).toThrow(TypeError);
  });
});
