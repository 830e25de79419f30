/**
 * Runs once for the Keycloak suite (after the root global setup's Redis): fetches the pinned Keycloak
 * through Maven when it is not cached, starts it with the realm of deploy/keycloak, and stops it by
 * its pid when the suite ends, whatever the outcome. The figures go to the log for docs/keycloak.md.
 * KEYCLOAK_URL set: use that Keycloak instead (started by `npm run demo:keycloak`, say), for quick reruns.
 */
import { freePort } from '../helpers/ports.js';
import { ensureKeycloak, KEYCLOAK_VERSION, startKeycloak } from '../../scripts/keycloak.js';

const log = (line: string): void => void process.stdout.write(`[keycloak] ${line}\n`);

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.KEYCLOAK_URL !== undefined) {
    // While working on the suite: a Keycloak already running with the realm imported (admin/admin).
    log(`using the Keycloak at ${process.env.KEYCLOAK_URL}`);
    return async () => undefined;
  }
  const distribution = await ensureKeycloak(log);
  log(distribution.downloadMs === 0 ? `Keycloak ${KEYCLOAK_VERSION} already unpacked` : `fetched and unpacked Keycloak ${KEYCLOAK_VERSION} in ${(distribution.downloadMs / 1000).toFixed(1)} s`);
  const keycloak = await startKeycloak(distribution, { port: await freePort(), log });
  log(`Keycloak answered after ${(keycloak.startMs / 1000).toFixed(1)} s (pid ${keycloak.pid})`);
  process.env.KEYCLOAK_URL = keycloak.url;
  return async () => {
    await keycloak.stop();
    log(`Keycloak (pid ${keycloak.pid}) stopped`);
  };
}
