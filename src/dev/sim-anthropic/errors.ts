/** The Messages API's error vocabulary: statuses and the `error.type` each one carries. */

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/** The statuses a test can inject with `failNext`. */
export type InjectableStatus = 400 | 401 | 429 | 500 | 529;

export const INJECTED_FAILURES: Readonly<Record<InjectableStatus, { type: ApiErrorType; message: string }>> = {
  400: { type: 'invalid_request_error', message: 'Simulated invalid request' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  429: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit (simulated)' },
  500: { type: 'api_error', message: 'Internal server error' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

export interface ApiErrorBody {
  type: 'error';
  error: { type: ApiErrorType; message: string };
  request_id: string;
}

export function errorBody(type: ApiErrorType, message: string, requestId: string): ApiErrorBody {
  return { type: 'error', error: { type, message }, request_id: requestId };
}
