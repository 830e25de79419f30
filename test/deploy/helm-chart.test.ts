/**
 * The Helm chart renders the gateway's config: the default is the README's production set-up, every
 * CI values file passes the gateway's own check-config, and the pod budget outlasts the drain.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { run } from '../../src/main.js';

const exec = promisify(execFile);
const repo = new URL('../../', import.meta.url).pathname;
const chart = join(repo, 'deploy/helm/mcp-gateway');
const helm = join(repo, '.cache/go-bin/helm');
const secrets = { REDIS_URL: 'redis://redis.internal:6379', REDIS_PASSWORD: 'p', FINANCE_MCP_KEY: 'k', ANTHROPIC_API_KEY: 'a' };

type Manifest = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: any };

async function render(...args: string[]): Promise<Manifest[]> {
  const { stdout } = await exec(helm, ['template', 'gw', chart, '--kube-version', '1.33.0', ...args]);
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as Manifest).filter((m) => m !== null);
}

function gatewayYaml(manifests: Manifest[]): string {
  const text = manifests.find((m) => m.kind === 'ConfigMap')?.data?.['gateway.yaml'];
  expect(text).toBeDefined();
  return text!;
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'helm-config-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function checkConfig(yamlText: string, name: string): Promise<number> {
  const file = join(scratch, `${name}.yaml`);
  await writeFile(file, yamlText);
  return run(['check-config', file], { ...secrets });
}

describe('the Helm chart', () => {
  it("installs the README's production configuration by default", async () => {
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const example = /## Production set-up[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    expect(parseYaml(gatewayYaml(await render()))).toEqual(parseYaml(example!));
  });

  it("renders a config the gateway's check-config accepts for every CI values file", async () => {
    const files = (await readdir(join(chart, 'ci'))).filter((f) => f.endsWith('-values.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const yamlText = gatewayYaml(await render('-f', join(chart, 'ci', file)));
      expect(await checkConfig(yamlText, file), file).toBe(0);
    }
  });

  it('builds the store from the redis values: URL, Sentinel or Cluster', async () => {
    const store = async (values: string) => (parseYaml(gatewayYaml(await render('-f', join(chart, 'ci', values)))) as { store: unknown }).store;
    expect(await store('default-values.yaml')).toEqual({ driver: 'redis', url: '${REDIS_URL}' });
    expect(await store('sentinel-values.yaml')).toMatchObject({ driver: 'redis', password: '${REDIS_PASSWORD}', sentinel: { name: 'mymaster' } });
    expect(await store('cluster-values.yaml')).toMatchObject({ driver: 'redis', cluster: { nodes: [{ port: 6379 }, { port: 6379 }, { port: 6379 }] } });
  });

  it('gives pods longer to stop than the preStop pause plus shutdown.graceMs, and refuses a shorter budget', async () => {
    const defaultGraceMs = configSchema.parse({ auth: { issuers: ['http://i'], jwksUri: 'http://i/j', clientId: 'c' }, servers: { a: { url: 'http://a', roles: ['r'] } } }).shutdown.graceMs;
    const pod = (await render()).find((m) => m.kind === 'Deployment')!.spec.template.spec;
    const preStop = Number(pod.containers[0].lifecycle.preStop.exec.command[1]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(defaultGraceMs / 1000 + preStop);

    const longer = (await render('--set', 'config.shutdown.graceMs=90000')).find((m) => m.kind === 'Deployment')!.spec.template.spec;
    expect(longer.terminationGracePeriodSeconds).toBeGreaterThan(90 + preStop);
    await expect(render('--set', 'terminationGracePeriodSeconds=10')).rejects.toThrow(/terminationGracePeriodSeconds must be at least/);
  });

  it('mounts one signing-key Secret and probes the two health routes, as non-root on a read-only root', async () => {
    const pod = (await render()).find((m) => m.kind === 'Deployment')!.spec.template.spec;
    const container = pod.containers[0];
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect((pod.volumes as { name: string; secret?: { secretName: string } }[]).find((v) => v.name === 'signing-key')?.secret?.secretName).toBe('mcp-gateway-signing-key');
    expect(container.volumeMounts).toContainEqual({ name: 'signing-key', mountPath: '/run/secrets', readOnly: true });
  });

  it('refuses a store written into config and an unknown redis mode', async () => {
    await expect(render('--set', 'config.store.driver=memory')).rejects.toThrow(/through .Values.redis/);
    await expect(render('--set', 'redis.mode=memcached')).rejects.toThrow(/redis.mode must be/);
    await expect(render('--set', 'redis.mode=sentinel')).rejects.toThrow(/at least one sentinel/);
  });
});
