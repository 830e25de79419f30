/**
 * What the simulated model reads from an offered tool: the verb of its name (a change or a read),
 * the entities it acts on, its description's words, and which business ids its id arguments accept
 * (from the schema's `pattern`, else the example its description gives).
 */
import { actionOf, isReadVerb, type Action } from './intent.js';
import type { RequestTool, ToolInputSchema } from './request.js';
import { significantWords, singular, splitWords } from './words.js';

type PropertySchema = NonNullable<ToolInputSchema['properties']>[string];

export interface IdProperty {
  readonly name: string;
  readonly required: boolean;
  /** true/false when the schema says what its ids look like, undefined when it does not. */
  accepts(id: string): boolean | undefined;
}

export interface ToolProfile {
  readonly tool: RequestTool;
  /** How a person would say it: `hr__delete_employee` → "delete employee". Never the qualified name. */
  readonly label: string;
  /** The change the tool makes; undefined for a tool that only reads. */
  readonly action: Action | undefined;
  readonly readOnly: boolean;
  /** The gateway says so in the description when a person must confirm the call. */
  readonly needsConfirmation: boolean;
  /** Entities from the name and the id arguments: `update_salary(employeeId)` → salary, employee. */
  readonly nouns: ReadonlySet<string>;
  readonly descriptionWords: ReadonlySet<string>;
  readonly idProperties: readonly IdProperty[];
}

/** The gateway's marker for tools that wait for a person (see runs/model-tools.ts). */
const CONFIRMATION_MARKER = /must confirm/i;
const DESCRIBED_EXAMPLE = /e\.g\.\s*["“']?([A-Z]{1,4}-)\d/;

/** `id`, `employee_id`, `employeeId`, `employeeID` — but not `paid`. */
export function isIdProperty(name: string): boolean {
  return /(?:^|[_-])id$/i.test(name) || /[a-z0-9]I[dD]$/.test(name);
}

/** The unqualified tool name: servers prefix it as `server__tool`; a person never sees that. */
export function baseName(name: string): string {
  const at = name.lastIndexOf('__');
  return at >= 0 ? name.slice(at + 2) : name;
}

export function toolLabel(name: string): string {
  return splitWords(baseName(name)).join(' ');
}

function idAcceptor(property: PropertySchema): (id: string) => boolean | undefined {
  if (property.pattern !== undefined) {
    try {
      const pattern = new RegExp(property.pattern, 'u');
      return (id) => pattern.test(id);
    } catch {
      // An unreadable pattern says nothing; fall back to the description's example.
    }
  }
  const prefix = DESCRIBED_EXAMPLE.exec(property.description ?? '')?.[1];
  if (prefix === undefined) return () => undefined;
  return (id) => id.startsWith(prefix) && /^\d/.test(id.slice(prefix.length));
}

function idProperties(schema: ToolInputSchema | undefined): IdProperty[] {
  const required = new Set(schema?.required ?? []);
  return Object.entries(schema?.properties ?? {})
    .filter(([name]) => isIdProperty(name))
    .map(([name, property]) => ({ name, required: required.has(name), accepts: idAcceptor(property) }));
}

/** `employeeId` → employee; a bare `id` names nothing. */
function idNouns(properties: readonly IdProperty[]): string[] {
  return properties.flatMap(({ name }) => splitWords(name).filter((word) => word !== 'id').map(singular));
}

export function profileTool(tool: RequestTool): ToolProfile {
  const nameWords = splitWords(baseName(tool.name));
  const action = actionOf(nameWords[0] ?? '');
  const description = tool.description ?? '';
  const needsConfirmation = CONFIRMATION_MARKER.test(description);
  const ids = idProperties(tool.input_schema);
  const entityWords = nameWords.filter((word) => actionOf(word) === undefined && !isReadVerb(word));
  return {
    tool,
    label: toolLabel(tool.name),
    action,
    // An unknown verb is a read unless the gateway says a person must confirm it.
    readOnly: action === undefined && !needsConfirmation,
    needsConfirmation,
    nouns: new Set([...significantWords(entityWords.join(' ')), ...idNouns(ids)]),
    descriptionWords: significantWords(description),
    idProperties: ids,
  };
}
