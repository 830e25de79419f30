/** Turns tool results into the short answer a model would write about them. */

export interface ToolOutcome {
  readonly toolName: string;
  readonly text: string;
  readonly isError: boolean;
}

const MAX_QUOTE = 160;
const MAX_FIELDS = 3;
const LABEL_KEYS = ['name', 'title', 'label', 'displayName', 'id'];

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_QUOTE ? `${flat.slice(0, MAX_QUOTE - 1)}…` : flat;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A few values that name the items, e.g. their `name` fields. */
function labels(items: readonly unknown[]): string[] {
  const objects = items.filter(isObject);
  const key = LABEL_KEYS.find((candidate) => objects.some((item) => isPrimitive(item[candidate])));
  if (key === undefined) return items.filter(isPrimitive).slice(0, MAX_FIELDS).map(String);
  return objects
    .map((item) => item[key])
    .filter(isPrimitive)
    .slice(0, MAX_FIELDS)
    .map(String);
}

function describeList(items: readonly unknown[], noun: string): string {
  let sentence = plural(items.length, noun);
  const first = items[0];
  if (isObject(first)) sentence += ` with fields ${Object.keys(first).slice(0, MAX_FIELDS + 1).join(', ')}`;
  const named = labels(items);
  if (named.length > 0) sentence += ` (e.g. ${named.join(', ')})`;
  return sentence;
}

function describeObject(value: JsonObject): string {
  const listEntry = Object.entries(value).find((entry): entry is [string, unknown[]] => Array.isArray(entry[1]));
  if (listEntry) {
    // `invoices: [...]` reads as "2 invoices"; a key like `data` says nothing, so say "items".
    const [key, items] = listEntry;
    return describeList(items, key.endsWith('s') ? key.slice(0, -1) : 'item');
  }
  const fields = Object.entries(value)
    .filter((entry): entry is [string, string | number | boolean] => isPrimitive(entry[1]))
    .slice(0, MAX_FIELDS)
    .map(([key, field]) => `${key} ${String(field)}`);
  return fields.length > 0 ? `a record with ${fields.join(', ')}` : 'an empty record';
}

/** Parses the result as JSON, or the JSON embedded in it (gateways often frame results in tags). */
function parseEmbeddedJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const start = text.search(/[[{]/);
  const end = Math.max(text.lastIndexOf('}'), text.lastIndexOf(']'));
  for (const candidate of [text, start >= 0 && end > start ? text.slice(start, end + 1) : undefined]) {
    if (candidate === undefined) continue;
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch {
      // try the next candidate
    }
  }
  return { ok: false };
}

/** What a successful result holds: counts for JSON arrays, a few fields for objects, else a quote. */
export function describeResult(text: string): string {
  if (text.trim().length === 0) return 'no content';
  const parsed = parseEmbeddedJson(text);
  if (!parsed.ok) return `"${quote(text)}"`;
  const value = parsed.value;
  if (Array.isArray(value)) return describeList(value, 'item');
  if (isObject(value)) return describeObject(value);
  return `"${quote(String(value))}"`;
}

function isDeclined(outcome: ToolOutcome): boolean {
  return /\bdeclined?\b/i.test(outcome.text);
}

function sentenceFor(outcome: ToolOutcome): string {
  if (isDeclined(outcome)) return `You declined the ${outcome.toolName} call, so I did not run it.`;
  if (outcome.isError) return `The ${outcome.toolName} tool reported an error: "${quote(outcome.text)}".`;
  return `${outcome.toolName} returned ${describeResult(outcome.text)}.`;
}

export function summariseToolResults(outcomes: readonly ToolOutcome[]): string {
  const sentences = outcomes.map(sentenceFor);
  const allFine = outcomes.every((outcome) => !outcome.isError && !isDeclined(outcome));
  const opening = allFine ? 'Here is what I found.' : 'Here is where things stand.';
  return [opening, ...sentences].join(' ');
}
