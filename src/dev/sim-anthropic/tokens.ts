/** The simulator's token arithmetic: roughly four characters per token, as for English text. */

const CHARS_PER_TOKEN = 4;

export function tokensForChars(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

export function charsForTokens(tokens: number): number {
  return tokens * CHARS_PER_TOKEN;
}
