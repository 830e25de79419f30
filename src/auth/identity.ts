/** The authenticated caller, derived once from a verified access token and never mutated. */
import type { JWTPayload } from 'jose';

export interface Identity {
  readonly sub: string;
  readonly username: string;
  readonly email: string | undefined;
  /** Realm roles ∪ roles of the gateway's own client; other clients' roles never count. */
  readonly roles: readonly string[];
  readonly sid: string | undefined;
  readonly jti: string | undefined;
  /** Seconds since the epoch. */
  readonly exp: number;
  /** Seconds since the epoch; used by "revoke every token of this user issued before T". */
  readonly iat: number | undefined;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function objectField(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Keycloak puts realm roles in `realm_access.roles` and client roles in `resource_access[client].roles`. */
export function rolesFromClaims(payload: JWTPayload, clientId: string): string[] {
  const realmRoles = stringArray(objectField(payload.realm_access, 'roles'));
  const clientRoles = stringArray(objectField(objectField(payload.resource_access, clientId), 'roles'));
  return [...new Set([...realmRoles, ...clientRoles])].sort();
}

export function identityFromClaims(payload: JWTPayload & { sub: string; exp: number }, clientId: string): Identity {
  return Object.freeze({
    sub: payload.sub,
    username: optionalString(payload.preferred_username) ?? payload.sub,
    email: optionalString(payload.email),
    roles: Object.freeze(rolesFromClaims(payload, clientId)),
    sid: optionalString(payload.sid),
    jti: optionalString(payload.jti),
    exp: payload.exp,
    iat: typeof payload.iat === 'number' ? payload.iat : undefined,
  });
}
