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
/** How soon the gateway re-reads the key set in this test (short, so the test is). */
const KEY_REFRESH_MS = 2_000;
/** A verified token is answered from a cache for at most this long (src/auth/token-verifier.ts). */
const VERIFIED_CACHE_MS = 60_000;

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
  gw = await startGateway(keycloakGatewayConfig(stack, { auth: { jwksCacheMaxAgeMs: KEY_REFRESH_MS, jwksCooldownMs: 1_000 } }, ROTATION_REALM));
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
    expect((await me(after)).status).toBe(200);
    expect((await me(before)).status).toBe(200);

    // 2. The old provider disabled, 3. then deleted.
    await admin('PUT', `/${ROTATION_REALM}/components/${original!.id}`, { ...original, config: { ...original!.config, enabled: ['false'], active: ['false'] } });
    await admin('DELETE', `/${ROTATION_REALM}/components/${original!.id}`);
    const deletedAt = Date.now();

    await waitFor(async () => (await me(before)).status === 401, {
      timeoutMs: KEY_REFRESH_MS + VERIFIED_CACHE_MS + 10_000,
      intervalMs: 500,
      what: 'the token of the deleted key to be refused',
    });
    process.stdout.write(`[keycloak] token of the deleted key refused ${Date.now() - deletedAt} ms after the deletion\n`);
    const refused = await me(before);
    expect(refused.body.error).toMatchObject({ code: 'AUTH_1002', details: { reason: 'unknown signing key' } });
    expect((await me(after)).status).toBe(200);
  }, KEY_REFRESH_MS + VERIFIED_CACHE_MS + 60_000);
});
