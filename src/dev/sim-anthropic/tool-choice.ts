/** Picks the offered tool that best fits a question, by overlapping significant words. */
import { significantWords, withoutIdTokens } from './words.js';

export interface ToolDescriptor {
  readonly name: string;
  readonly description?: string | undefined;
}

/** A word in the tool's name says more about fit than one buried in its description. */
const NAME_WEIGHT = 2;
const DESCRIPTION_WEIGHT = 1;

function scoreTool(questionWords: ReadonlySet<string>, tool: ToolDescriptor): number {
  const nameWords = significantWords(tool.name);
  const descriptionWords = significantWords(tool.description ?? '');
  let score = 0;
  for (const word of questionWords) {
    if (nameWords.has(word)) score += NAME_WEIGHT;
    else if (descriptionWords.has(word)) score += DESCRIPTION_WEIGHT;
  }
  return score;
}

/** The best-scoring tool, the first one on ties; undefined when no tool shares a word. */
export function chooseTool<T extends ToolDescriptor>(question: string, tools: readonly T[]): T | undefined {
  const questionWords = significantWords(withoutIdTokens(question));
  let best: T | undefined;
  let bestScore = 0;
  for (const tool of tools) {
    const score = scoreTool(questionWords, tool);
    if (score > bestScore) {
      best = tool;
      bestScore = score;
    }
  }
  return best;
}
