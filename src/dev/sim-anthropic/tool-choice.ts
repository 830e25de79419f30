/**
 * Picks the offered tool that fits a question's intent. A change is made only with a tool of the
 * same kind of change on the entity the question names; a read is answered only with a tool that
 * reads. Entities count most when the tool's name or id arguments carry them, a little when only
 * its description mentions them; an id the tool's arguments cannot take rules the tool out.
 */
import type { Intent } from './intent.js';
import type { ToolProfile } from './tool-profile.js';

export type Choice<T extends ToolProfile> =
  | { readonly kind: 'tool'; readonly profile: T }
  /** Nothing offered does what was asked; `action` is the change asked for, if any. */
  | { readonly kind: 'none'; readonly action: Intent['action'] };

const NAME_NOUN = 3;
const DESCRIPTION_NOUN = 1;
const ACCEPTED_ID = 4;

function acceptsSome(profile: ToolProfile, ids: readonly string[]): boolean {
  return ids.some((id) => profile.idProperties.some((property) => property.accepts(id) === true));
}

/** The tool needs an id, the question gives ids, and none of them has the right shape. */
function rejectsIds(profile: ToolProfile, ids: readonly string[]): boolean {
  const required = profile.idProperties.filter((property) => property.required);
  if (ids.length === 0 || required.length === 0) return false;
  return ids.every((id) => required.every((property) => property.accepts(id) === false));
}

function nameNounMatches(intent: Intent, profile: ToolProfile): number {
  return [...intent.nouns].filter((noun) => profile.nouns.has(noun)).length;
}

function score(intent: Intent, profile: ToolProfile): number {
  let total = 0;
  for (const noun of intent.nouns) {
    if (profile.nouns.has(noun)) total += NAME_NOUN;
    else if (profile.descriptionWords.has(noun)) total += DESCRIPTION_NOUN;
  }
  return acceptsSome(profile, intent.ids) ? total + ACCEPTED_ID : total;
}

/** Required id arguments the question gives nothing for: a list beats a get when no id is named. */
function unmetIds(intent: Intent, profile: ToolProfile): number {
  return profile.idProperties.filter((property) => property.required && !intent.ids.some((id) => property.accepts(id) !== false)).length;
}

function best<T extends ToolProfile>(intent: Intent, candidates: readonly T[]): T | undefined {
  let chosen: { profile: T; score: number; unmet: number } | undefined;
  for (const profile of candidates) {
    const current = { profile, score: score(intent, profile), unmet: unmetIds(intent, profile) };
    if (current.score <= 0) continue;
    // Ties go to the tool that can run without asking, then to the order the tools were offered.
    if (chosen === undefined || current.score > chosen.score || (current.score === chosen.score && current.unmet < chosen.unmet)) chosen = current;
  }
  return chosen?.profile;
}

export function chooseTool<T extends ToolProfile>(intent: Intent, profiles: readonly T[]): Choice<T> {
  const usable = profiles.filter((profile) => !rejectsIds(profile, intent.ids));
  if (intent.action !== undefined) {
    // A change needs a tool that makes that change to the thing named, by name or by the id given.
    const changes = usable.filter(
      (profile) => profile.action === intent.action && (nameNounMatches(intent, profile) > 0 || acceptsSome(profile, intent.ids)),
    );
    // "delete it" names no entity: with exactly one tool for that change, that is the one meant.
    const sameAction = usable.filter((profile) => profile.action === intent.action);
    const unnamed = intent.nouns.size === 0 && intent.ids.length === 0 && sameAction.length === 1 ? sameAction[0] : undefined;
    const profile = best(intent, changes) ?? unnamed;
    return profile === undefined ? { kind: 'none', action: intent.action } : { kind: 'tool', profile };
  }
  const profile = best(intent, usable.filter((candidate) => candidate.readOnly));
  return profile === undefined ? { kind: 'none', action: undefined } : { kind: 'tool', profile };
}
