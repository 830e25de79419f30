/**
 * Fills a tool's arguments from the user's question, the way a careful model would: required
 * properties get a value found in the question, optional ones are left out unless they are enums
 * the question names.
 */
import type { ToolInputSchema } from './request.js';
import { idTokens, significantPhrase, significantWords, withoutIdTokens } from './words.js';

type PropertySchema = NonNullable<ToolInputSchema['properties']>[string];

const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[A-Za-z]{2,}/;
const ISO_DATE = /\b\d{4}-\d{2}-\d{2}\b/;
const QUOTED = /"([^"]+)"|“([^”]+)”|'([^']+)'/;
const NUMBER = /(?<![\w.-])-?\d+(?:\.\d+)?(?![\w-])/;

/** `id`, `employee_id`, `employeeId`, `employeeID` — but not `paid`. */
function isIdProperty(name: string): boolean {
  return /(?:^|[_-])id$/i.test(name) || /[a-z0-9]I[dD]$/.test(name);
}

function hasType(schema: PropertySchema, type: string): boolean {
  return Array.isArray(schema.type) ? schema.type.includes(type) : schema.type === type;
}

/** The enum value the question mentions first (as a whole word, any case). */
function mentionedEnumValue(values: readonly unknown[], question: string): unknown {
  let found: { value: unknown; at: number } | undefined;
  for (const value of values) {
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    const escaped = String(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const at = question.search(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`, 'i'));
    if (at >= 0 && (found === undefined || at < found.at)) found = { value, at };
  }
  return found?.value;
}

function stringValue(name: string, schema: PropertySchema, question: string, toolName: string, ids: string[]): string {
  if (isIdProperty(name)) {
    const id = ids.shift();
    if (id !== undefined) return id;
  }
  if (schema.format === 'email' || /email/i.test(name)) {
    const email = EMAIL.exec(question)?.[0];
    if (email !== undefined) return email;
  }
  if (schema.format === 'date' || /date$/i.test(name)) {
    const date = ISO_DATE.exec(question)?.[0];
    if (date !== undefined) return date;
  }
  const quoted = QUOTED.exec(question);
  if (quoted) return quoted[1] ?? quoted[2] ?? quoted[3] ?? '';
  // What is left once the words that chose the tool and the ids are gone is the subject.
  const phrase = significantPhrase(withoutIdTokens(question), significantWords(toolName));
  return phrase.length > 0 ? phrase : question.trim();
}

function numberValue(schema: PropertySchema, question: string): number | undefined {
  const match = NUMBER.exec(withoutIdTokens(question));
  if (!match) return undefined;
  const value = Number(match[0]);
  return hasType(schema, 'integer') ? Math.trunc(value) : value;
}

export function fillArguments(schema: ToolInputSchema | undefined, question: string, toolName: string): Record<string, unknown> {
  const required = new Set(schema?.required ?? []);
  // Handed out in order, so two id properties get two different ids.
  const ids = idTokens(question);
  const input: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    const isRequired = required.has(name);
    let value: unknown;
    if (property.enum !== undefined) {
      value = mentionedEnumValue(property.enum, question) ?? (isRequired ? property.enum[0] : undefined);
    } else if (!isRequired) {
      continue;
    } else if (hasType(property, 'string') || property.type === undefined) {
      value = stringValue(name, property, question, toolName, ids);
    } else if (hasType(property, 'number') || hasType(property, 'integer')) {
      value = numberValue(property, question);
    }
    if (value !== undefined) input[name] = value;
  }
  return input;
}
