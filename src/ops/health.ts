/**
 * Liveness and readiness with a dependency matrix. Hard dependencies (store, issuer) decide
 * readiness; soft ones (each upstream, the model API) only degrade it, so one dead tool server
 * never takes the gateway out of a load balancer.
 */
export type DependencyKind = 'hard' | 'soft';

export interface DependencyStatus {
  ok: boolean;
  detail?: string;
}

export interface DependencyCheck {
  name: string;
  kind: DependencyKind;
  check(): Promise<DependencyStatus>;
}

export interface ReadinessReport {
  status: 'ready' | 'degraded' | 'unready' | 'shutting-down';
  checks: Record<string, DependencyStatus & { kind: DependencyKind }>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function bounded(check: DependencyCheck): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DependencyStatus>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: 'check timed out' }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check.check().catch((error: unknown) => ({ ok: false, detail: String(error) })), timeout]);
  } finally {
    clearTimeout(timer);
  }
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
    const results = await Promise.all(this.checks.map(async (check) => [check, await bounded(check)] as const));
    const checks: ReadinessReport['checks'] = {};
    for (const [check, status] of results) checks[check.name] = { kind: check.kind, ...status };
    const hardDown = results.some(([check, status]) => check.kind === 'hard' && !status.ok);
    const softDown = results.some(([check, status]) => check.kind === 'soft' && !status.ok);
    const status = this.shuttingDown ? 'shutting-down' : hardDown ? 'unready' : softDown ? 'degraded' : 'ready';
    return { status, checks };
  }
}
