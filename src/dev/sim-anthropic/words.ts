/** Word handling shared by tool choice and argument filling: tokenising, stop-words, id tokens. */

const STOP_WORDS = new Set([
  'a', 'about', 'all', 'also', 'am', 'an', 'and', 'any', 'are', 'as', 'at', 'be', 'by', 'can',
  'could', 'do', 'does', 'for', 'from', 'get', 'give', 'has', 'have', 'he', 'her', 'him', 'his',
  'how', 'i', 'if', 'in', 'into', 'is', 'it', 'its', 'let', 'me', 'my', 'of', 'on', 'or', 'our',
  'please', 'she', 'should', 'so', 'some', 'tell', 'that', 'the', 'their', 'them', 'there', 'these',
  'they', 'this', 'those', 'to', 'us', 'want', 'was', 'we', 'were', 'what', 'when', 'where', 'which',
  'who', 'whom', 'why', 'will', 'with', 'would', 'you', 'your',
]);

/** Business identifiers such as `E-1042`, `INV-2003`, `T-3001` or `BUD-2026Q3-SALES`. */
const ID_TOKEN = /\b[A-Z]{1,4}-\d[A-Za-z0-9]*(?:-[A-Z0-9]+)*\b/g;

/** Ids in the order they appear. */
export function idTokens(text: string): string[] {
  return text.match(ID_TOKEN) ?? [];
}

export function withoutIdTokens(text: string): string {
  return text.replace(ID_TOKEN, ' ');
}

/** Folds simple plurals so "employees" meets "employee" and "entries" meets "entry". */
export function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith('s') && !/(?:ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}

/** Lower-cased words, splitting camelCase, snake_case and kebab-case as well as prose. */
export function splitWords(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0);
}

function isSignificant(word: string): boolean {
  return word.length > 1 && !/^\d+$/.test(word) && !STOP_WORDS.has(word);
}

/** The words that carry meaning, normalised for matching. */
export function significantWords(text: string): Set<string> {
  return new Set(splitWords(text).filter(isSignificant).map(singular));
}

/** The meaningful words of `text` in their original spelling and order, minus `exclude`d ones. */
export function significantPhrase(text: string, exclude: ReadonlySet<string>): string {
  return text
    .split(/\s+/)
    .map((raw) => raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ''))
    .filter((raw) => {
      const words = splitWords(raw).filter(isSignificant).map(singular);
      return words.some((word) => !exclude.has(word));
    })
    .join(' ');
}
