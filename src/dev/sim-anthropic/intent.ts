/**
 * What a question asks for, read the way a careful model would: whether it asks for a change (and
 * which kind), the entities it names, the business ids it mentions, and whether it wants everything.
 * A question without a change verb is a read: the model never changes data unless asked to.
 */
import { idTokens, significantWords, splitWords, withoutIdTokens } from './words.js';

export type Action = 'delete' | 'update' | 'close' | 'approve' | 'create';

/** Verbs (base forms only: "closed tickets" is a filter, "close ticket" a change) and what they ask for. */
const ACTION_VERBS: Readonly<Record<string, Action>> = {
  delete: 'delete', remove: 'delete', fire: 'delete', terminate: 'delete', erase: 'delete', purge: 'delete',
  update: 'update', change: 'update', set: 'update', raise: 'update', increase: 'update', lower: 'update',
  decrease: 'update', modify: 'update', edit: 'update', adjust: 'update',
  close: 'close', resolve: 'close', mark: 'close',
  approve: 'approve', accept: 'approve',
  create: 'create', add: 'create', register: 'create', submit: 'create',
};

/** Verbs of reading; they name no entity, so they never count as one. */
const READ_VERBS = new Set(['list', 'show', 'get', 'find', 'search', 'look', 'lookup', 'fetch', 'read', 'display', 'see', 'view', 'check', 'how', 'many', 'much', 'query', 'describe', 'count']);

const ALL_WORDS = new Set(['all', 'every', 'everyone', 'everything', 'entire', 'whole', 'complete']);

export interface Intent {
  readonly question: string;
  /** The change asked for; undefined for a read. */
  readonly action: Action | undefined;
  /** Meaningful words that are not verbs: the entities and fields the question is about. */
  readonly nouns: ReadonlySet<string>;
  /** Business ids in the order they appear, e.g. E-1042. */
  readonly ids: readonly string[];
  /** "all employees": follow every page instead of showing the first. */
  readonly wantsAll: boolean;
}

/** The change a verb asks for, if it is one; used for tool names too (`delete_employee`). */
export function actionOf(word: string): Action | undefined {
  return Object.hasOwn(ACTION_VERBS, word) ? ACTION_VERBS[word] : undefined;
}

export function isReadVerb(word: string): boolean {
  return READ_VERBS.has(word);
}

export function readIntent(question: string): Intent {
  const prose = withoutIdTokens(question);
  const words = splitWords(prose);
  const action = words.map(actionOf).find((found) => found !== undefined);
  const nouns = new Set([...significantWords(prose)].filter((word) => actionOf(word) === undefined && !isReadVerb(word) && !ALL_WORDS.has(word)));
  return { question, action, nouns, ids: idTokens(question), wantsAll: words.some((word) => ALL_WORDS.has(word)) };
}
