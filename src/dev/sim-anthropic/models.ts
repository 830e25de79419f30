/** The model catalogue served by `GET /v1/models`, paginated like the real endpoint. */
import type { ModelInfo } from '@anthropic-ai/sdk/resources/models';

function model(id: string, displayName: string, line: ModelInfo['line'], createdAt: string): ModelInfo {
  return {
    type: 'model',
    id,
    display_name: displayName,
    created_at: createdAt,
    line,
    lifecycle: 'active',
    capabilities: null,
    deprecated_at: null,
    retires_at: null,
    max_input_tokens: 200_000,
    max_tokens: 64_000,
  };
}

/** Newest first, as the real API lists them. */
export const MODELS: readonly ModelInfo[] = [
  model('claude-sonnet-4-6', 'Claude Sonnet 4.6', 'sonnet', '2026-02-17T00:00:00Z'),
  model('claude-haiku-4-5', 'Claude Haiku 4.5', 'haiku', '2025-10-15T00:00:00Z'),
  model('claude-sonnet-4-5', 'Claude Sonnet 4.5', 'sonnet', '2025-09-29T00:00:00Z'),
];

export interface ModelPage {
  data: ModelInfo[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

/** One page per the `limit`, `after_id` and `before_id` query parameters. */
export function listModels(query: URLSearchParams, models: readonly ModelInfo[] = MODELS): ModelPage {
  const limit = Math.min(Math.max(Number(query.get('limit') ?? DEFAULT_LIMIT) || DEFAULT_LIMIT, 1), MAX_LIMIT);
  const afterId = query.get('after_id');
  const beforeId = query.get('before_id');
  let start = 0;
  let end = models.length;
  if (afterId !== null) start = models.findIndex((m) => m.id === afterId) + 1;
  if (beforeId !== null) {
    end = Math.max(models.findIndex((m) => m.id === beforeId), 0);
    start = Math.max(start, end - limit);
  }
  const data = models.slice(start, Math.min(end, start + limit));
  return {
    data,
    has_more: beforeId !== null ? start > 0 : start + data.length < end,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  };
}
