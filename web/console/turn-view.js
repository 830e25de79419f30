/**
 * One question and its run, drawn from the run's events: the streamed answer, a compact list of tool
 * activity and warnings, confirmations to approve or reject, token usage and the final status.
 */
import { ApiError } from './api.js';
import { el, formatJson } from './dom.js';
import { errorView } from './error-view.js';

const STATUS_TEXT = {
  completed: 'Done',
  failed: 'Failed',
  cancelled: 'Stopped',
  expired: 'Expired',
};

const DECISION_TEXT = {
  approve: 'Approved',
  reject: 'Rejected',
  expired: 'Expired before a decision',
  withdrawn: 'Withdrawn: the run ended first',
};

/** What the activity list says about a call once its confirmation is resolved. */
const CALL_STATE_AFTER = {
  approve: 'approved, running…',
  reject: 'rejected, not run',
  expired: 'not confirmed in time, not run',
  withdrawn: 'not run',
};

const ARGUMENTS_PREVIEW_CHARS = 120;

function preview(args) {
  const text = JSON.stringify(args ?? {});
  return text.length > ARGUMENTS_PREVIEW_CHARS ? `${text.slice(0, ARGUMENTS_PREVIEW_CHARS - 1)}…` : text;
}

let nextId = 0;
const uniqueId = (prefix) => `${prefix}-${++nextId}`;

export class TurnView {
  #activity = el('ul', { class: 'activity', 'aria-label': 'Tool activity' });
  #confirmations = el('div', { class: 'confirmations' });
  #answerText = document.createTextNode('');
  // Polite and busy while streaming: screen readers announce the answer once it settles, not every delta.
  #answer = el('div', { class: 'answer', 'aria-live': 'polite', 'aria-busy': 'true' }, this.#answerText);
  #status = el('span', { class: 'turn-status' }, 'Thinking…');
  #usage = el('span', { class: 'turn-usage' });
  #calls = new Map();
  #cards = new Map();
  /** Confirmations still waiting for a decision. */
  #pending = new Set();
  #stopping = false;
  #tokens = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0 };
  /** A `usage` event closes a model turn; the next turn's text starts a new paragraph. */
  #modelTurnEnded = false;

  /**
   * @param {string} question
   * @param {(confirmationId: string, decision: 'approve' | 'reject') => Promise<unknown>} decide
   */
  constructor(question, decide) {
    this.decide = decide;
    this.#activity.hidden = true;
    this.element = el(
      'li',
      { class: 'turn' },
      el('p', { class: 'question' }, el('span', { class: 'visually-hidden' }, 'You asked: '), question),
      this.#activity,
      this.#confirmations,
      this.#answer,
      el('p', { class: 'turn-footer' }, this.#status, this.#usage),
    );
  }

  /** @param {{ type: string, data: any }} event */
  handle({ type, data }) {
    switch (type) {
      case 'text':
        if (this.#modelTurnEnded && this.#answerText.length > 0) this.#answerText.appendData('\n\n');
        this.#modelTurnEnded = false;
        this.#answerText.appendData(data.delta);
        break;
      case 'tool_call':
        this.#toolCall(data);
        break;
      case 'tool_result':
        this.#toolResult(data);
        break;
      case 'confirmation_required':
        this.#confirmationRequired(data);
        break;
      case 'confirmation_resolved':
        this.#confirmationResolved(data);
        break;
      case 'warning':
        this.#addActivity(el('li', { class: 'activity-warning' }, el('span', { class: 'activity-label' }, 'Warning'), `${data.message} (${data.code})`));
        break;
      case 'usage':
        this.#modelTurnEnded = true;
        this.#addUsage(data);
        break;
      case 'error':
        this.fail(ApiError.fromEvent(data), 'The run failed');
        break;
      case 'done':
        this.#done(data);
        break;
      default:
        // Newer gateways may add event types; the console shows what it knows.
        break;
    }
    if (type !== 'done' && type !== 'error') this.#showProgress();
  }

  #showProgress() {
    this.#status.textContent = this.#stopping ? 'Stopping…' : this.#pending.size > 0 ? 'Waiting for your confirmation' : 'Working…';
  }

  reconnecting(attempt) {
    this.#status.textContent = `Connection lost; reconnecting (attempt ${attempt})…`;
  }

  resumed() {
    this.#showProgress();
  }

  stopping() {
    this.#stopping = true;
    this.#showProgress();
  }

  /** Shows a failure in this turn (an error event, a refused query, a lost stream) and ends it. */
  fail(error, title = 'Your question could not be answered') {
    this.element.append(errorView(error, { title }));
    this.#settle('');
  }

  #settle(status) {
    this.#answer.setAttribute('aria-busy', 'false');
    for (const card of this.#cards.values()) card.buttons.forEach((button) => (button.disabled = true));
    this.#status.textContent = status;
  }

  #addActivity(item) {
    this.#activity.hidden = false;
    this.#activity.append(item);
    return item;
  }

  #toolCall(data) {
    const state = el('span', { class: 'activity-state' }, 'running…');
    const item = this.#addActivity(
      el(
        'li',
        { class: 'activity-call' },
        el('span', { class: 'activity-label' }, `${data.server} · ${data.tool}`),
        el('code', { class: 'activity-args' }, preview(data.arguments)),
        state,
      ),
    );
    this.#calls.set(data.callId, { item, state });
  }

  #toolResult(data) {
    const call = this.#calls.get(data.callId);
    if (call === undefined) return;
    const failed = !data.ok || data.isError;
    call.item.classList.add(failed ? 'is-error' : 'is-ok');
    call.state.textContent = `${failed ? 'failed' : 'done'} in ${data.durationMs} ms${data.truncated ? ', truncated' : ''}`;
    if (data.summary) call.item.append(el('span', { class: 'activity-summary' }, data.summary));
  }

  #confirmationRequired(data) {
    const titleId = uniqueId('confirmation');
    const approve = el('button', { type: 'button', class: 'button-primary' }, 'Approve');
    const reject = el('button', { type: 'button' }, 'Reject');
    const outcome = el('p', { class: 'confirmation-outcome', role: 'status' });
    const expires = new Date(data.expiresAt);
    const card = el(
      'section',
      { class: 'confirmation', 'aria-labelledby': titleId, tabindex: '-1' },
      el('h3', { id: titleId }, 'Confirm ', el('code', {}, data.tool), ' on ', el('code', {}, data.server)),
      el(
        'p',
        {},
        'This tool can change data, so it runs only if you approve it',
        Number.isNaN(expires.getTime()) ? '.' : ` before ${expires.toLocaleTimeString()}.`,
      ),
      el('pre', { class: 'arguments', 'aria-label': 'Arguments' }, formatJson(data.arguments)),
      el('div', { class: 'actions' }, approve, reject),
      outcome,
    );
    const entry = { card, buttons: [approve, reject], outcome, callId: data.callId };
    this.#cards.set(data.confirmationId, entry);
    approve.addEventListener('click', () => void this.#decide(data.confirmationId, 'approve'));
    reject.addEventListener('click', () => void this.#decide(data.confirmationId, 'reject'));
    this.#confirmations.append(card);
    this.#calls.get(data.callId)?.state.replaceChildren('waiting for your confirmation');
    this.#pending.add(data.confirmationId);
    // A decision is needed before anything else happens: take the keyboard there.
    card.focus();
  }

  async #decide(confirmationId, decision) {
    const entry = this.#cards.get(confirmationId);
    if (entry === undefined) return;
    entry.buttons.forEach((button) => (button.disabled = true));
    entry.outcome.replaceChildren(decision === 'approve' ? 'Approving…' : 'Rejecting…');
    try {
      await this.decide(confirmationId, decision);
    } catch (error) {
      entry.outcome.replaceChildren(errorView(error, { title: 'The decision was not accepted' }));
      entry.buttons.forEach((button) => (button.disabled = false));
    }
  }

  #confirmationResolved(data) {
    this.#pending.delete(data.confirmationId);
    const entry = this.#cards.get(data.confirmationId);
    if (entry === undefined) return;
    entry.buttons.forEach((button) => button.remove());
    entry.outcome.replaceChildren(DECISION_TEXT[data.decision] ?? data.decision);
    entry.card.classList.add(`is-${data.decision}`);
    this.#calls.get(entry.callId)?.state.replaceChildren(CALL_STATE_AFTER[data.decision] ?? data.decision);
  }

  #addUsage(data) {
    this.#tokens.inputTokens += data.inputTokens ?? 0;
    this.#tokens.outputTokens += data.outputTokens ?? 0;
    this.#tokens.cacheReadTokens += data.cacheReadTokens ?? 0;
    const { inputTokens, outputTokens, cacheReadTokens } = this.#tokens;
    this.#usage.textContent = `${inputTokens} tokens in · ${outputTokens} out${cacheReadTokens > 0 ? ` · ${cacheReadTokens} from cache` : ''}`;
  }

  #done(data) {
    this.element.classList.add(`is-${data.status}`);
    this.#settle(STATUS_TEXT[data.status] ?? data.status);
    if (this.#answerText.length === 0 && data.status === 'completed') this.#answerText.appendData('(No answer text.)');
  }
}
