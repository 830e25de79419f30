/**
 * The Grafana dashboard and the Prometheus alert rules only name metrics the gateway really exports
 * (src/ops/metrics.ts), so a renamed metric cannot silently blank a panel or an alert.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Metrics } from '../../src/ops/metrics.js';

const file = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Every series name the registry produces: histograms add _bucket, _sum and _count. */
function exportedSeries(): Set<string> {
  const names = new Set<string>();
  for (const metric of new Metrics().registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

const metricNames = (expressions: string[]): Set<string> => new Set(expressions.flatMap((expr) => expr.match(/\bgateway_[a-z0-9_]+/g) ?? []));

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(file('deploy/grafana/mcp-gateway.json')) as {
    panels: { targets?: { expr: string }[] }[];
    templating: { list: { query?: unknown }[] };
  };
  const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  const variables = dashboard.templating.list.map((variable) => variable.query).filter((query): query is string => typeof query === 'string');
  return [...targets, ...variables];
}

function ruleExpressions(): { alert: string; expr: string }[] {
  const rules = parseYaml(file('deploy/prometheus/gateway-alerts.yaml')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return rules.groups.flatMap((group) => group.rules);
}

describe('dashboards and alerts use real metric names', () => {
  const exported = exportedSeries();

  it('every metric on the dashboard is one the gateway exports', () => {
    const used = metricNames(dashboardExpressions());
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('the dashboard covers requests, latency, tool outcomes, breakers, runs, streams, mirror age, rate limits and tokens', () => {
    const used = metricNames(dashboardExpressions());
    for (const name of [
      'gateway_http_requests_total',
      'gateway_http_request_duration_seconds_bucket',
      'gateway_tool_calls_total',
      'gateway_upstream_breaker_open',
      'gateway_runs_total',
      'gateway_sse_streams_active',
      'gateway_revocation_mirror_staleness_seconds',
      'gateway_rate_limited_total',
      'gateway_llm_tokens_total',
    ]) {
      expect(used, name).toContain(name);
    }
  });

  it('every metric in the alert rules is one the gateway exports, and the required alerts exist', () => {
    const rules = ruleExpressions();
    expect([...metricNames(rules.map((rule) => rule.expr))].filter((name) => !exported.has(name))).toEqual([]);
    expect(rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining(['GatewayStoreDown', 'GatewayRevocationMirrorStale', 'GatewayUpstreamBreakerOpen', 'GatewayHighErrorRate', 'GatewayHighLatencyP99']),
    );
  });

  it('the check catches a misspelt metric', () => {
    expect([...metricNames(['rate(gateway_http_request_total[5m])'])].filter((name) => !exported.has(name))).toEqual(['gateway_http_request_total']);
  });
});
