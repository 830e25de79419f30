/**
 * Qualified tool names: `server__tool`, within the model providers' limit of 64 characters of
 * [a-zA-Z0-9_-]. Names that do not fit are shortened deterministically with a short hash, so every
 * replica and every run agrees. Names are mapped back through the table, never parsed.
 */
import { createHash } from 'node:crypto';

export const MAX_TOOL_NAME_LENGTH = 64;
const SEPARATOR = '__';
const INVALID = /[^a-zA-Z0-9_-]/g;

export interface ToolAddress {
  readonly server: string;
  readonly tool: string;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** A provider-safe name for `server/tool`; deterministic, and distinct for distinct inputs in practice. */
export function qualifiedName(server: string, tool: string, prefixed = true): string {
  const raw = prefixed ? `${server}${SEPARATOR}${tool}` : tool;
  const clean = raw.replace(INVALID, '_');
  // A sanitised or over-long name gets a hash of the original so two different tools never share a name.
  if (clean === raw && clean.length <= MAX_TOOL_NAME_LENGTH) return clean;
  const suffix = `_${shortHash(`${server}/${tool}`)}`;
  return `${clean.slice(0, MAX_TOOL_NAME_LENGTH - suffix.length)}${suffix}`;
}

export class NameTable {
  private readonly byName = new Map<string, ToolAddress>();
  private readonly byAddress = new Map<string, string>();

  /**
   * Rebuilds the table from every server's tools. Servers marked unprefixed expose bare tool names
   * unless a bare name would collide with any other exposed name, in which case it keeps its prefix.
   */
  static build(tools: ReadonlyArray<ToolAddress & { unprefixed: boolean }>): NameTable {
    const table = new NameTable();
    const bareCounts = new Map<string, number>();
    for (const { tool } of tools) bareCounts.set(tool, (bareCounts.get(tool) ?? 0) + 1);
    const prefixedNames = new Set(tools.map(({ server, tool }) => qualifiedName(server, tool)));
    for (const { server, tool, unprefixed } of tools) {
      const bare = qualifiedName(server, tool, false);
      const useBare = unprefixed && bareCounts.get(tool) === 1 && !prefixedNames.has(bare);
      table.add({ server, tool }, useBare ? bare : qualifiedName(server, tool));
    }
    return table;
  }

  private add(address: ToolAddress, name: string): void {
    this.byName.set(name, address);
    this.byAddress.set(`${address.server}/${address.tool}`, name);
  }

  resolve(name: string): ToolAddress | undefined {
    return this.byName.get(name);
  }

  nameOf(server: string, tool: string): string | undefined {
    return this.byAddress.get(`${server}/${tool}`);
  }
}
