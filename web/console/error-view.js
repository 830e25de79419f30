/** Shows an API failure readably: what went wrong, and the code and request id to quote to support. */
import { ApiError } from './api.js';
import { el } from './dom.js';

/** Validation problems (`[{path, message}]`) and simple facts (`{reason: "expired"}`) as readable lines. */
function detailLines(details) {
  if (Array.isArray(details)) {
    return details.filter((item) => typeof item?.message === 'string').map((item) => (typeof item.path === 'string' ? `${item.path}: ${item.message}` : item.message));
  }
  if (details !== null && typeof details === 'object') {
    return Object.entries(details)
      .filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value))
      .map(([key, value]) => `${key}: ${value}`);
  }
  return [];
}

/** @param {unknown} error */
export function errorView(error, { title = 'Something went wrong' } = {}) {
  const apiError = error instanceof ApiError ? error : undefined;
  const message = apiError?.message ?? (error instanceof Error ? error.message : String(error));
  const details = detailLines(apiError?.details);
  const facts = [];
  if (apiError?.code !== undefined) facts.push(el('span', {}, 'Code ', el('code', {}, apiError.code)));
  if (apiError?.requestId !== undefined) facts.push(el('span', {}, 'Request id ', el('code', { class: 'selectable' }, apiError.requestId)));
  if (apiError?.retryAfterSec !== undefined) facts.push(el('span', {}, `Try again in ${Math.ceil(apiError.retryAfterSec)} s`));
  else if (apiError?.retryable === true) facts.push(el('span', {}, 'Trying again may help'));
  return el(
    'div',
    { class: 'error-box', role: 'alert' },
    el('strong', { class: 'error-title' }, title),
    el('p', { class: 'error-message' }, message),
    details.length > 0 ? el('ul', { class: 'error-details' }, ...details.map((line) => el('li', {}, line))) : undefined,
    facts.length > 0 ? el('p', { class: 'error-facts' }, ...facts) : undefined,
  );
}
