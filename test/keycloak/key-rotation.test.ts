/**
 * Key rotation the Keycloak way, through the admin API, in a realm of its own: a new RSA key provider
 * with a higher priority, then the old provider disabled, then deleted. Tokens signed with the new key
 * are accepted without restarting the gateway; tokens of the deleted key stop being accepted within
 * the bound the gateway documents for a withdrawn key.
 */
import { readFile } from 'node:fs/promises';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REALM_FILE } from '../../scripts/keycloak.js';
import { api, startGateway, startTestStack, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { admin, keycloakGatewayConfig, passwordGrant } from './keycloak.js';

const ROTATION_REALM = 'acme-rotation';
/** How often the gateway re-reads the key set in the background here (default 60 s; short, so the test is). */
const KEY_REFRESH_MS = 2_000;
/** The documented bound for a withdrawn key: the refresh interval plus one fetch's timeout (auth.jwksTimeoutMs). */
const WITHDRAWN_KEY_BOUND_MS = KEY_REFRESH_MS + 5_000;
/**
 * auth.jwksCooldownMs: the least time between two fetches before an unknown kid may cause one. Shorter
 * than the refresh interval, as with the defaults (60 s and 5 s): a background refresh also starts the
 * cooldown, so a refresh more frequent than the cooldown would answer unknown kids 503 forever.
 */
const UNKNOWN_KID_COOLDOWN_MS = 1_000;

interface Component {
  id: string;
  name: string;
  providerId: string;
  parentId: string;
  providerType: string;
  config: Record<string, string[]>;
}

let stack: TestStack;
let gw: RunningGateway;

beforeAll(async () => {
  // The shipped realm under another name, with one user (user ids are unique across realms, so none is given).
  const realm = JSON.parse(await readFile(REALM_FILE, 'utf8')) as { realm: string; users: Array<Record<string, unknown>> } & Record<string, unknown>;
  const alice = realm.users.find((user) => user.username === 'alice.chen');
  await admin('POST', '', { ...realm, realm: ROTATION_REALM, users: [{ ...alice, id: undefined }] });
  stack = await startTestStack();
  gw = await startGateway(keycloakGatewayConfig(stack, { auth: { jwksRefreshIntervalMs: KEY_REFRESH_MS, jwksCooldownMs: UNKNOWN_KID_COOLDOWN_MS, jwksTimeoutMs: 5_000 } }, ROTATION_REALM));
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
  await admin('DELETE', `/${ROTATION_REALM}`).catch(() => undefined);
});

const me = (token: string) => api(`${gw.url}/api/me`, { token });
const signingKeyProviders = async (): Promise<Component[]> =>
  (await admin<Component[]>('GET', `/${ROTATION_REALM}/components?type=org.keycloak.keys.KeyProvider`)).body.filter((component) => component.providerId === 'rsa-generated');

describe('signing key rotation in Keycloak', () => {
  it('new keys are accepted without restart; tokens of a deleted key are refused within the bound', async () => {
    const [original] = await signingKeyProviders();
    expect(original).toBeDefined();
    const before = (await passwordGrant('alice.chen', { realm: ROTATION_REALM })).access_token;
    expect((await me(before)).status).toBe(200);

    // 1. A new RSA key provider with a higher priority: Keycloak signs with it from now on.
    const { body: realmRepresentation } = await admin<{ id: string }>('GET', `/${ROTATION_REALM}`);
    await admin('POST', `/${ROTATION_REALM}/components`, {
      name: 'rsa-rotated',
      providerId: 'rsa-generated',
      providerType: 'org.keycloak.keys.KeyProvider',
      parentId: realmRepresentation.id,
      config: { priority: ['200'], keySize: ['2048'], algorithm: ['RS256'], active: ['true'], enabled: ['true'] },
    });
    const after = (await passwordGrant('alice.chen', { realm: ROTATION_REALM })).access_token;
    expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
    // An unknown kid makes the gateway refetch the key set (a retryable 503 while a refetch cools down).
    await waitFor(async () => (await me(after)).status === 200, { timeoutMs: 15_000, intervalMs: 200, what: 'the new key to be accepted' });
    expect((await me(before)).status).toBe(200);

    // 2. The old provider disabled, 3. then deleted.
    await admin('PUT', `/${ROTATION_REALM}/components/${original!.id}`, { ...original, config: { ...original!.config, enabled: ['false'], active: ['false'] } });
    await admin('DELETE', `/${ROTATION_REALM}/components/${original!.id}`);
    const deletedAt = Date.now();

    // Within the bound the token stops passing: a retryable 503 AUTH_1008 while a refetch for its unknown
    // kid cools down, then 401 AUTH_1002 "unknown signing key" once the refetched set lacks it.
    await waitFor(async () => (await me(before)).status !== 200, { timeoutMs: WITHDRAWN_KEY_BOUND_MS, intervalMs: 200, what: 'the token of the deleted key to stop passing' });
    process.stdout.write(`[keycloak] token of the deleted key no longer accepted ${Date.now() - deletedAt} ms after the deletion\n`);
    let refused: Awaited<ReturnType<typeof me>> | undefined;
    await waitFor(
      async () => {
        const response = await me(before);
        expect([401, 503]).toContain(response.status);
        if (response.status === 401) refused = response;
        return refused !== undefined;
      },
      { timeoutMs: WITHDRAWN_KEY_BOUND_MS + UNKNOWN_KID_COOLDOWN_MS, intervalMs: 1_000, what: 'a 401 for the token of the deleted key' },
    );
    expect(refused?.body.error).toMatchObject({ code: 'AUTH_1002', details: { reason: 'unknown signing key' } });
    expect((await me(after)).status).toBe(200);
  }, 2 * WITHDRAWN_KEY_BOUND_MS + UNKNOWN_KID_COOLDOWN_MS + 60_000);
});
