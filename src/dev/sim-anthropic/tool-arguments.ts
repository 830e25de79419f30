/**
 * Fills a tool's arguments from the user's question, the way a careful model would: required
 * properties get a value found in the question — or are reported missing, so the model asks for
 * them instead of calling with a guess — and optional ones are left out unless they are enums the
 * question names.
 */
import type { ToolInputSchema } from './request.js';
import { isIdProperty } from './tool-profile.js';
import { idTokens, significantPhrase, significantWords, withoutIdTokens } from './words.js';

type PropertySchema = NonNullable<ToolInputSchema['properties']>[string];

export interface MissingArgument {
  readonly name: string;
  readonly description: string | undefined;
}

export interface FilledArguments {
  readonly input: Record<string, unknown>;
  /** Required properties the question gives no value for. */
  readonly missing: readonly MissingArgument[];
}

const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[A-Za-z]{2,}/;
const ISO_DATE = /\b\d{4}-\d{2}-\d{2}\b/;
const QUOTED = /"([^"]+)"|“([^”]+)”|'([^']+)'/;
/** 125000, 125,000, $125,000, 12.5, 125k. */
const NUMBER = /(?<![\w.-])\$?(-?\d{1,3}(?:,\d{3})+|-?\d+(?:\.\d+)?)(k)?(?![\w-])/i;
/** "close T-3001: replaced the toner" — what follows a colon is the free text. */
const AFTER_COLON = /:\s*(\S.*)$/s;

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

/** The next unused id the property accepts (by its pattern, when it has one). */
function takeId(property: PropertySchema, ids: string[]): string | undefined {
  let pattern: RegExp | undefined;
  try {
    pattern = property.pattern === undefined ? undefined : new RegExp(property.pattern, 'u');
  } catch {
    pattern = undefined;
  }
  const at = ids.findIndex((id) => pattern === undefined || pattern.test(id));
  return at < 0 ? undefined : ids.splice(at, 1)[0];
}

function quotedValue(question: string): string | undefined {
  const quoted = QUOTED.exec(question);
  return quoted ? (quoted[1] ?? quoted[2] ?? quoted[3]) : undefined;
}

function stringValue(name: string, property: PropertySchema, question: string, toolName: string, ids: string[]): string | undefined {
  // An id the user quotes is taken as they wrote it, even in a shape the tool may refuse.
  if (isIdProperty(name)) return takeId(property, ids) ?? quotedValue(question);
  if (property.format === 'email' || /email/i.test(name)) return EMAIL.exec(question)?.[0];
  if (property.format === 'date' || /date$/i.test(name)) return ISO_DATE.exec(question)?.[0];
  const quoted = quotedValue(question);
  if (quoted !== undefined) return quoted;
  const afterColon = AFTER_COLON.exec(question)?.[1]?.trim();
  if (afterColon !== undefined && afterColon !== '') return afterColon;
  // What is left once the words that chose the tool and the ids are gone is the subject.
  const phrase = significantPhrase(withoutIdTokens(question), significantWords(toolName));
  return phrase.length > 0 ? phrase : undefined;
}

function numberValue(property: PropertySchema, question: string): number | undefined {
  const match = NUMBER.exec(withoutIdTokens(question));
  if (!match) return undefined;
  const value = Number((match[1] ?? '').replaceAll(',', '')) * (match[2] === undefined ? 1 : 1000);
  return hasType(property, 'integer') ? Math.trunc(value) : value;
}

function valueFor(name: string, property: PropertySchema, question: string, toolName: string, ids: string[]): unknown {
  if (property.enum !== undefined) return mentionedEnumValue(property.enum, question);
  if (hasType(property, 'number') || hasType(property, 'integer')) return numberValue(property, question);
  if (hasType(property, 'string') || property.type === undefined) return stringValue(name, property, question, toolName, ids);
  return undefined;
}

export function fillArguments(schema: ToolInputSchema | undefined, question: string, toolName: string): FilledArguments {
  const required = new Set(schema?.required ?? []);
  // Handed out in order, so two id properties get two different ids.
  const ids = idTokens(question);
  const input: Record<string, unknown> = {};
  const missing: MissingArgument[] = [];
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    const isRequired = required.has(name);
    // Optional free values (cursor, limit, filters) stay out unless the question names an enum value.
    if (!isRequired && property.enum === undefined) continue;
    const value = valueFor(name, property, question, toolName, ids);
    if (value !== undefined) input[name] = value;
    else if (isRequired) missing.push({ name, description: property.description });
  }
  return { input, missing };
}
