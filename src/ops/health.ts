/**
 * Liveness and readiness. Readiness follows the review's GAP-008 matrix, because a load balancer acts
 * on it and every replica shares the same dependencies: a verdict that pulls one replica pulls them
 * all. So only what this replica cannot serve without makes it `unhealthy`:
 *
 * | situation                                                        | status      |
 * | ---------------------------------------------------------------- | ----------- |
 * | everything answers; or some (not all) upstreams down             | healthy     |
 * | store down (fail-open, or fail-closed with the mirror fresh)     | degraded    |
 * | identity provider down while its keys are cached                 | degraded    |
 * | every upstream down; the model API refusing                     | degraded    |
 * | an upstream not connected yet (start-up: `degraded` state)       | degraded    |
 * | store and identity provider both down                            | unhealthy   |
 * | no usable signing keys (never fetched, or cached beyond the max) | unhealthy   |
 * | revocation mirror stale under fail-closed (requests are refused) | unhealthy   |
 * | revocation mirror never loaded (the store was down since start)  | unhealthy   |
 * | shutdown begun                                                   | shutting-down |
 *
 * HTTP: 200 for healthy and degraded, 503 for unhealthy and shutting-down. Checks only read state
 * that this replica's own background work keeps (key refreshes, mirror resyncs, store pings, upstream
 * connections); nothing a client sends — a token with an unknown `kid`, say — changes the verdict.
 */
export type DependencyRole = 'store' | 'identity-provider' | 'revocations' | 'upstream' | 'model';

/** `degraded`: the dependency is failing but this replica still serves around it (cached keys, a stale mirror under fail-open). */
export type DependencyState = 'up' | 'degraded' | 'down';

export interface DependencyStatus {
  state: DependencyState;
  detail?: string;
}

export interface DependencyCheck {
  name: string;
  role: DependencyRole;
  check(): Promise<DependencyStatus> | DependencyStatus;
}

export type ReadinessStatus = 'healthy' | 'degraded' | 'unhealthy' | 'shutting-down';

export interface CheckReport {
  role: DependencyRole;
  state: DependencyState;
  /** `state === 'up'`. */
  ok: boolean;
  detail?: string;
}

export interface ReadinessReport {
  status: ReadinessStatus;
  /** Why the status is not `healthy`, one line per matrix rule that applied. */
  reasons: string[];
  checks: Record<string, CheckReport>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function bounded(check: DependencyCheck): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DependencyStatus>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'down', detail: 'check timed out' }), CHECK_TIMEOUT_MS);
  });
  try {
    const run = Promise.resolve()
      .then(() => check.check())
      .catch((error: unknown): DependencyStatus => ({ state: 'down', detail: error instanceof Error ? error.message : String(error) }));
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The matrix itself, pure: the states of every check → the verdict and its reasons. */
export function verdict(checks: ReadonlyArray<{ name: string; role: DependencyRole; state: DependencyState }>): { status: Exclude<ReadinessStatus, 'shutting-down'>; reasons: string[] } {
  const byRole = (role: DependencyRole) => checks.filter((check) => check.role === role);
  const anyIn = (role: DependencyRole, state: DependencyState) => byRole(role).some((check) => check.state === state);
  const storeDown = anyIn('store', 'down');
  const idpDegraded = anyIn('identity-provider', 'degraded');
  const idpDown = anyIn('identity-provider', 'down');
  const upstreams = byRole('upstream');
  const upstreamsDown = upstreams.filter((check) => check.state !== 'up');

  const fatal: string[] = [];
  if (idpDown) fatal.push('no usable signing keys from the identity provider');
  if (storeDown && idpDegraded) fatal.push('store and identity provider both down');
  if (anyIn('revocations', 'down')) fatal.push('revocation state unusable (see the revocations check)');
  if (fatal.length > 0) return { status: 'unhealthy', reasons: fatal };

  const degraded: string[] = [];
  if (storeDown) degraded.push('store down: serving from the revocation mirror, per-replica rate limits');
  if (idpDegraded) degraded.push('identity provider unreachable: serving with cached signing keys');
  if (anyIn('revocations', 'degraded') && !storeDown) degraded.push('revocation mirror stale');
  if (upstreams.length > 0 && upstreamsDown.length === upstreams.length) degraded.push('every upstream MCP server is down');
  // Start-up: `healthy` only once every upstream has been tried, so a fresh replica is not reported ready too early.
  else if (anyIn('upstream', 'degraded')) degraded.push('upstream MCP servers still connecting');
  if (anyIn('model', 'down') || anyIn('model', 'degraded')) degraded.push('model API unavailable');
  return degraded.length > 0 ? { status: 'degraded', reasons: degraded } : { status: 'healthy', reasons: [] };
}

export class Health {
  private readonly checks: DependencyCheck[] = [];
  private shuttingDown = false;

  register(check: DependencyCheck): void {
    this.checks.push(check);
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  async readiness(): Promise<ReadinessReport> {
    const results = await Promise.all(this.checks.map(async (check) => ({ check, status: await bounded(check) })));
    const checks: ReadinessReport['checks'] = {};
    for (const { check, status } of results) {
      checks[check.name] = { role: check.role, state: status.state, ok: status.state === 'up', ...(status.detail === undefined ? {} : { detail: status.detail }) };
    }
    if (this.shuttingDown) return { status: 'shutting-down', reasons: ['shutdown in progress'], checks };
    const { status, reasons } = verdict(results.map(({ check, status: result }) => ({ name: check.name, role: check.role, state: result.state })));
    return { status, reasons, checks };
  }
}

/** HTTP status of a readiness verdict: a load balancer keeps healthy and degraded replicas. */
export function readinessHttpStatus(status: ReadinessStatus): 200 | 503 {
  return status === 'healthy' || status === 'degraded' ? 200 : 503;
}
