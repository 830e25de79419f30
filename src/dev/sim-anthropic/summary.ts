/**
 * Turns tool results into the answer a model would write about them, in markdown: a table for
 * lists (saying when more pages exist), a short list of fields for one record, a plain sentence
 * for a change, a failure or a declined call. Tools are named as a person would say them and the
 * gateway's `<tool_output>` framing never shows.
 */
import type { Action } from './intent.js';
import { isIdProperty } from './tool-profile.js';
import { singular, splitWords } from './words.js';

export interface ToolOutcome {
  /** "delete employee", never `hr__delete_employee`. */
  readonly label: string;
  readonly action: Action | undefined;
  readonly input: Readonly<Record<string, unknown>>;
  /** The tool result as the model received it (possibly framed). */
  readonly text: string;
  readonly isError: boolean;
}

/** What the question was about, to pick out the rows and fields it asked for. */
export interface Focus {
  readonly nouns: ReadonlySet<string>;
  readonly ids: readonly string[];
}

type JsonObject = Record<string, unknown>;

const MAX_COLUMNS = 6;
const MAX_ROWS = 100;
const MAX_CELL = 60;
const PAST_TENSE: Readonly<Record<Action, string>> = { delete: 'deleted', update: 'updated', close: 'closed', approve: 'approved', create: 'created' };
const FRAME_OPEN = /^\s*<tool_output\b[^>]*>\s*/;
const FRAME_CLOSE = /\s*<\/tool_output>([\s\S]*)$/;
const DECLINED = /\bdeclined?\b/i;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** The tool's own output, without the gateway's framing; `cut` when the gateway truncated it. */
export function unframe(text: string): { body: string; cut: boolean } {
  const opened = text.replace(FRAME_OPEN, '');
  const close = FRAME_CLOSE.exec(opened);
  if (close === null) return { body: opened.trim(), cut: false };
  return { body: opened.slice(0, close.index).trim(), cut: /truncated/i.test(close[1] ?? '') };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `managerId` → "Manager id". */
function heading(key: string): string {
  const words = splitWords(key).join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Math.abs(value) >= 10_000 ? value.toLocaleString('en-US') : String(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  return `\`${JSON.stringify(value)}\``;
}

function cell(value: unknown): string {
  const text = formatValue(value).replace(/\s+/g, ' ').replaceAll('|', '\\|');
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text;
}

function table(rows: readonly JsonObject[]): string {
  const columns: string[] = [];
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) if (isPrimitive(value) && !columns.includes(key)) columns.push(key);
  }
  const shown = columns.slice(0, MAX_COLUMNS);
  const lines = [`| ${shown.map(heading).join(' | ')} |`, `| ${shown.map(() => '---').join(' | ')} |`];
  for (const row of rows.slice(0, MAX_ROWS)) lines.push(`| ${shown.map((key) => cell(row[key])).join(' | ')} |`);
  return lines.join('\n');
}

function idOf(record: JsonObject): string | undefined {
  const key = Object.keys(record).find((candidate) => isIdProperty(candidate) && typeof record[candidate] === 'string');
  return key === undefined ? undefined : String(record[key]);
}

/** "**Hana Eriksen** (E-1042)", or just the id in bold. */
function subjectOf(record: JsonObject): string | undefined {
  const id = idOf(record);
  const name = typeof record.name === 'string' ? record.name : typeof record.title === 'string' ? record.title : undefined;
  if (name !== undefined) return id === undefined ? `**${name}**` : `**${name}** (${id})`;
  return id === undefined ? undefined : `**${id}**`;
}

function inputIds(input: Readonly<Record<string, unknown>>): string {
  const ids = Object.entries(input)
    .filter(([key, value]) => isIdProperty(key) && typeof value === 'string')
    .map(([, value]) => String(value));
  return ids.length > 0 ? ` ${ids.join(', ')}` : '';
}

function fieldList(record: JsonObject, skip: ReadonlySet<string>): string {
  return Object.entries(record)
    .filter(([key, value]) => !skip.has(key) && value !== undefined)
    .map(([key, value]) => `- **${heading(key)}**: ${formatValue(value)}`)
    .join('\n');
}

function keyMatches(key: string, nouns: ReadonlySet<string>): boolean {
  return splitWords(key).some((word) => nouns.has(singular(word)));
}

/** The list inside a page (`{employees: [...], nextCursor}`), with its noun and whether more exist. */
function pageOf(value: unknown): { noun: string; rows: JsonObject[]; more: boolean } | undefined {
  if (Array.isArray(value)) return { noun: 'item', rows: value.filter(isObject), more: false };
  if (!isObject(value)) return undefined;
  const entry = Object.entries(value).find((candidate): candidate is [string, unknown[]] => Array.isArray(candidate[1]));
  if (entry === undefined) return undefined;
  const [key, items] = entry;
  return { noun: singular(splitWords(key).join(' ')) || 'item', rows: items.filter(isObject), more: typeof value.nextCursor === 'string' };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function describeRecord(record: JsonObject, outcome: ToolOutcome, focus: Focus): string {
  const subject = subjectOf(record);
  if (outcome.action !== undefined) {
    const [, ...rest] = outcome.label.split(' ');
    const what = rest.join(' ');
    const target = subject ?? inputIds(outcome.input).trim();
    const sentence = `Done: ${PAST_TENSE[outcome.action]} ${what}${outcome.action === 'update' ? ' of' : ''} ${target}.`.replace(/\s+\./, '.');
    const shown = new Set(['name', ...Object.keys(record).filter((key) => isIdProperty(key) || record[key] === true)]);
    const fields = fieldList(record, shown);
    return fields === '' ? sentence : `${sentence}\n\n${fields}`;
  }
  const asked = Object.keys(record).filter((key) => keyMatches(key, focus.nouns) && isPrimitive(record[key]));
  const lead = asked
    .map((key) => `The ${splitWords(key).join(' ')} of ${subject ?? 'this record'} is **${formatValue(record[key])}**.`)
    .join(' ');
  const intro = lead !== '' ? lead : subject === undefined ? 'Here is the record:' : `Here is ${subject}:`;
  return `${intro}\n\n${fieldList(record, new Set())}`;
}

/** Several pages of one list tool read as one list. */
function describePages(pages: ReadonlyArray<{ noun: string; rows: JsonObject[]; more: boolean }>, focus: Focus): string {
  const noun = pages[0]?.noun ?? 'item';
  const all = pages.flatMap((page) => page.rows);
  const more = pages.at(-1)?.more === true;
  if (all.length === 0) return `No ${noun}s matched.`;
  const named = all.filter((row) => focus.ids.some((id) => Object.values(row).includes(id)));
  if (named.length > 0) return `Here is what I found for ${focus.ids.join(', ')}:\n\n${table(named)}`;
  const intro =
    pages.length > 1 && !more ? `Here are all ${plural(all.length, noun)}:` : more ? `Here are the first ${plural(all.length, noun)}:` : `Here ${all.length === 1 ? 'is' : 'are'} the ${plural(all.length, noun)}:`;
  const cutNote = all.length > MAX_ROWS ? `\n\nThe table shows the first ${MAX_ROWS}.` : '';
  const moreNote = more ? `\n\nThere are more ${noun}s than shown here; ask for *all ${noun}s* to see every one.` : '';
  return `${intro}\n\n${table(all)}${cutNote}${moreNote}`;
}

function describeSuccess(outcomes: readonly ToolOutcome[], focus: Focus): string {
  const bodies = outcomes.map((outcome) => unframe(outcome.text));
  const cut = bodies.some((body) => body.cut) ? '\n\nThe result was cut short; ask a narrower question to see the rest.' : '';
  const values = bodies.map((body) => parseJson(body.body));
  const pages = values.map(pageOf);
  if (pages.every((page) => page !== undefined)) return describePages(pages, focus) + cut;
  const [first] = outcomes;
  const value = values[0];
  if (first !== undefined && isObject(value)) return describeRecord(value, first, focus) + cut;
  const text = bodies.map((body) => body.body).join('\n\n');
  return (text === '' ? `**${first?.label ?? 'The tool'}** returned nothing.` : text) + cut;
}

function describeFailure(outcome: ToolOutcome): string {
  const target = inputIds(outcome.input);
  if (DECLINED.test(outcome.text)) return `You declined, so I did not ${outcome.label}${target}. Nothing was changed.`;
  const { body } = unframe(outcome.text);
  return `I couldn't ${outcome.label}${target}: ${body === '' ? 'the tool reported an error without details' : body}`;
}

/** Consecutive calls of the same tool (pages) are described together. */
function groups(outcomes: readonly ToolOutcome[]): ToolOutcome[][] {
  const grouped: ToolOutcome[][] = [];
  for (const outcome of outcomes) {
    const last = grouped.at(-1);
    if (last?.[0]?.label === outcome.label && !outcome.isError && last.every((item) => !item.isError)) last.push(outcome);
    else grouped.push([outcome]);
  }
  return grouped;
}

export function summariseToolResults(outcomes: readonly ToolOutcome[], focus: Focus = { nouns: new Set(), ids: [] }): string {
  return groups(outcomes)
    .map((group) => {
      const [first] = group;
      return first !== undefined && first.isError ? describeFailure(first) : describeSuccess(group, focus);
    })
    .join('\n\n');
}
