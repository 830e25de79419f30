/** Liveness (the process answers) and readiness (its hard dependencies answer), plus the metrics scrape. */
import type { FastifyInstance } from 'fastify';
import type { Health } from '../../ops/health.js';
import type { Metrics } from '../../ops/metrics.js';

export function registerHealthRoutes(app: FastifyInstance, health: Health, metrics: Metrics | undefined): void {
  app.get('/health/live', async () => ({ status: 'alive' }));

  app.get('/health/ready', async (_request, reply) => {
    const report = await health.readiness();
    const ok = report.status === 'ready' || report.status === 'degraded';
    return reply.status(ok ? 200 : 503).send(report);
  });

  if (metrics !== undefined) {
    app.get('/metrics', async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    });
  }
}
