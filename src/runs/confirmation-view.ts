/**
 * What a person needs to decide on a confirmation, taken from the tool's own definition: its title and
 * description, its annotations in plain terms, and labels for its arguments (schema titles).
 */
import type { CatalogueTool } from '../upstream/catalogue.js';

export interface ConfirmationToolView {
  title?: string;
  description?: string;
  annotations: { readOnly: boolean; destructive: boolean; idempotent: boolean; openWorld: boolean };
  argumentLabels?: Record<string, string>;
}

export function confirmationToolView(tool: CatalogueTool): ConfirmationToolView {
  const hints = tool.annotations ?? {};
  const title = tool.title ?? hints.title;
  const properties = tool.inputSchema.properties;
  const labels: Record<string, string> = {};
  if (properties !== null && typeof properties === 'object') {
    for (const [name, schema] of Object.entries(properties as Record<string, unknown>)) {
      const label = schema !== null && typeof schema === 'object' ? (schema as { title?: unknown }).title : undefined;
      if (typeof label === 'string' && label !== '') labels[name] = label;
    }
  }
  return {
    ...(title === undefined ? {} : { title }),
    ...(tool.description === '' ? {} : { description: tool.description }),
    // MCP's defaults: a tool that does not say otherwise may change data, destructively, and reach outside systems.
    annotations: {
      readOnly: hints.readOnlyHint === true,
      destructive: hints.readOnlyHint !== true && hints.destructiveHint !== false,
      idempotent: hints.idempotentHint === true,
      openWorld: hints.openWorldHint !== false,
    },
    ...(Object.keys(labels).length === 0 ? {} : { argumentLabels: labels }),
  };
}
