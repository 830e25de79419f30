/**
 * The embedded demo profile: a complete gateway config pointing at the dev stack (dev issuer,
 * sample MCP servers, simulated or real Anthropic API). The grants below are the demo's only role table.
 */
import type { GatewayConfigInput } from './schema.js';

export interface DemoEndpoints {
  issuerUrl: string;
  jwksUri: string;
  clientId: string;
  servers: Record<'hr' | 'finance' | 'sales' | 'support', string>;
  /** The simulated model's base URL; undefined when a real ANTHROPIC_API_KEY is used. */
  simulatedModelUrl: string | undefined;
}

const employeePreview = { tool: 'get_employee', arguments: { employeeId: '{{employeeId}}' } };

export function demoConfig(endpoints: DemoEndpoints, env: NodeJS.ProcessEnv = process.env): GatewayConfigInput {
  const port = env.PORT === undefined ? 8080 : Number(env.PORT);
  return {
    server: { host: '127.0.0.1', port },
    logging: { level: 'info', pretty: true },
    auth: { issuers: [endpoints.issuerUrl], jwksUri: endpoints.jwksUri, clientId: endpoints.clientId },
    store: { driver: 'memory' },
    // The dev issuer serves the same authorization-code flow as Keycloak, with a login page listing the demo users.
    console: { signIn: { issuer: endpoints.issuerUrl, clientId: endpoints.clientId } },
    servers: {
      hr: {
        url: endpoints.servers.hr,
        description: 'People directory: employees, org chart, salaries',
        // Everyone with `employee` reaches hr; the server itself limits them to their own record and reports.
        roles: ['employee', 'hr-read', 'hr-write', 'executive'],
        tools: {
          // Confirmations name the employee behind the id, read with get_employee as the person asking.
          delete_employee: { roles: ['hr-write', 'executive'], preview: { ...employeePreview, text: '{{name}} — {{title}}, {{department}} ({{location}})' } },
          update_salary: { roles: ['hr-write', 'executive'], preview: { ...employeePreview, text: '{{name}} — {{title}}, {{department}}; current salary {{salary}} USD' } },
        },
      },
      finance: {
        url: endpoints.servers.finance,
        description: 'Invoices and departmental budgets',
        roles: ['finance-read', 'finance-write', 'executive'],
        tools: { delete_invoice: { roles: ['finance-write', 'executive'] }, approve_budget: { roles: ['finance-write', 'executive'] } },
      },
      sales: {
        url: endpoints.servers.sales,
        description: 'Customers and the deal pipeline',
        roles: ['sales-read', 'sales-write', 'executive'],
        tools: { close_deal: { roles: ['sales-write', 'executive'] } },
      },
      support: {
        url: endpoints.servers.support,
        description: 'Customer support tickets',
        roles: ['employee', 'support-read', 'support-write', 'executive'],
        tools: { close_ticket: { roles: ['support-write', 'executive'] } },
      },
    },
    llm:
      endpoints.simulatedModelUrl === undefined
        ? { apiKey: env.ANTHROPIC_API_KEY }
        : { apiKey: 'simulated-model-key', baseURL: endpoints.simulatedModelUrl },
  };
}
