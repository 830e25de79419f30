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

function rawName(server: string, tool: string, prefixed: boolean): string {
  return prefixed ? `${server}${SEPARATOR}${tool}` : tool;
}

/** The name cut to fit, with a hash of the (server, tool) pair it stands for. */
function hashedName(server: string, tool: string, prefixed: boolean): string {
  const clean = rawName(server, tool, prefixed).replace(INVALID, '_');
  const suffix = `_${shortHash(`${server}/${tool}`)}`;
  return `${clean.slice(0, MAX_TOOL_NAME_LENGTH - suffix.length)}${suffix}`;
}

/** A provider-safe name for `server/tool`; deterministic, and distinct for distinct inputs in practice. */
export function qualifiedName(server: string, tool: string, prefixed = true): string {
  const raw = rawName(server, tool, prefixed);
  // A sanitised or over-long name gets a hash of the original so two different tools never share a name.
  if (raw.replace(INVALID, '_') === raw && raw.length <= MAX_TOOL_NAME_LENGTH) return raw;
  return hashedName(server, tool, prefixed);
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
    const chosen = tools.map(({ server, tool, unprefixed }) => {
      const prefixed = !(unprefixed && bareCounts.get(tool) === 1 && !prefixedNames.has(qualifiedName(server, tool, false)));
      return { server, tool, prefixed, name: qualifiedName(server, tool, prefixed) };
    });
    const claimants = new Map<string, Set<string>>();
    for (const { server, tool, name } of chosen) claimants.set(name, (claimants.get(name) ?? new Set()).add(`${server}/${tool}`));
    for (const { server, tool, prefixed, name } of chosen) {
      // The separator may occur in server and tool names ("a__b"/"c" vs "a"/"b__c"): every claimant
      // of a shared name gets a hashed one, so none silently shadows another.
      const shared = (claimants.get(name)?.size ?? 0) > 1;
      table.add({ server, tool }, shared ? hashedName(server, tool, prefixed) : name);
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
