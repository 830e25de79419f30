/**
 * One question and its run, drawn from the run's events in the order they happened: the model's text
 * (markdown), each tool call and its result, confirmations to approve or reject, questions a tool asks
 * (elicitation-card.js), what a tool had the model write, more text, then token
 * usage and the final status. A finished turn can be copied, and one that did not complete retried.
 */
import { ApiError } from './api.js';
import { el } from './dom.js';
import { elicitationCard } from './elicitation-card.js';
import { errorView } from './error-view.js';
import { renderMarkdown } from './markdown.js';

const STATUS_TEXT = {
  completed: 'Done',
  failed: 'Failed',
  cancelled: 'Stopped',
  expired: 'Expired',
};

const DECISION_TEXT = {
  approve: 'Approved',
  reject: 'Rejected: not run',
  expired: 'Expired before a decision: not run',
  withdrawn: 'Withdrawn: the run ended first',
};

/** What a tool row says once its confirmation is resolved; a declined call keeps it (it never ran). */
const CALL_STATE_AFTER = {
  approve: 'approved, running…',
  reject: 'rejected, not run',
  expired: 'not confirmed in time, not run',
  withdrawn: 'not run',
};

const OUTCOME_TEXT = { done: 'done', failed: 'failed', declined: 'rejected, not run', unknown: '' };

let nextId = 0;
const uniqueId = (prefix) => `${prefix}-${++nextId}`;

/** "employeeId" → "Employee id"; a schema title wins when the gateway sends one. */
function labelFor(name, labels) {
  const given = labels?.[name];
  if (typeof given === 'string' && given !== '') return given;
  const words = name.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function valueText(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 2);
}

/** Arguments as a labelled list (a read-only form), never raw JSON. */
export function argumentList(args, labels) {
  const entries = Object.entries(args ?? {});
  if (entries.length === 0) return el('p', { class: 'muted' }, 'No arguments.');
  return el('dl', { class: 'arguments' }, ...entries.flatMap(([name, value]) => [el('dt', {}, labelFor(name, labels)), el('dd', {}, valueText(value))]));
}

/** Tool annotations in plain words. */
function annotationWords(annotations) {
  if (annotations === undefined || annotations === null) return ['Changes data'];
  const words = [];
  if (annotations.readOnly === true) words.push('Reads only');
  else words.push('Changes data');
  if (annotations.destructive === true) words.push('Cannot be undone');
  if (annotations.idempotent === true) words.push('Safe to repeat');
  return words;
}

function formatRemaining(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
}

export class TurnView {
  #body = el('div', { class: 'turn-body' });
  #status = el('span', { class: 'turn-status' }, 'Thinking…');
  #usage = el('span', { class: 'turn-usage' });
  #actions = el('span', { class: 'turn-actions' });
  /** The text block the next delta goes to; a tool call or card in between starts a new one. */
  #text = undefined;
  #answer = [];
  #calls = new Map();
  #cards = new Map();
  /** Confirmations and questions still waiting for the person. */
  #pending = new Set();
  #questions = new Map();
  #stopping = false;
  #tokens = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0 };
  /** A `usage` event closes a model turn; the next turn's text starts a new paragraph. */
  #modelTurnEnded = false;
  #renderQueued = false;

  /**
   * @param {string} question
   * @param {{
   *   decide?: (confirmationId: string, decision: 'approve' | 'reject') => Promise<unknown>,
   *   answer?: (elicitationId: string, body: { action: string, content?: Record<string, unknown> }) => Promise<unknown>,
   *   retry?: (question: string) => void,
   * }} [callbacks]
   */
  constructor(question, { decide, answer, retry } = {}) {
    this.question = question;
    this.decide = decide;
    this.answer = answer;
    this.retry = retry;
    this.element = el(
      'li',
      { class: 'turn' },
      el('p', { class: 'question' }, el('span', { class: 'visually-hidden' }, 'You asked: '), question),
      // Polite and busy while streaming: screen readers announce the answer once it settles, not every delta.
      el('div', { class: 'answer', 'aria-live': 'polite', 'aria-busy': 'true' }, this.#body),
      el('p', { class: 'turn-footer' }, this.#status, this.#usage, this.#actions),
    );
  }

  /** A finished turn from a stored conversation (`GET /api/conversations/:id`). */
  static restored(turn, callbacks) {
    const view = new TurnView(turn.question, callbacks);
    for (const item of turn.items) {
      if (item.type === 'text') view.#appendText(item.text);
      else {
        const callId = uniqueId('restored');
        view.#toolCall({ callId, server: item.server, tool: item.tool, title: item.title, arguments: item.arguments });
        view.#setCallState(callId, OUTCOME_TEXT[item.outcome] ?? '', item.outcome === 'failed' ? 'is-error' : item.outcome === 'declined' ? 'is-declined' : 'is-ok');
      }
    }
    view.#flush();
    view.#settle('');
    view.#offerActions('completed');
    return view;
  }

  /** @param {{ type: string, data: any }} event */
  handle({ type, data }) {
    switch (type) {
      case 'text':
        this.#appendText(data.delta);
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
      case 'elicitation_required':
        this.#elicitationRequired(data);
        break;
      case 'elicitation_resolved':
        this.#elicitationResolved(data);
        break;
      case 'sampling':
        this.#sampling(data);
        break;
      case 'warning':
        this.#block(el('p', { class: 'activity-warning' }, el('strong', {}, 'Warning: '), `${data.message} (${data.code})`));
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

  /** Whether a confirmation card in this turn still waits for a decision. */
  get waiting() {
    return this.#pending.size > 0;
  }

  #showProgress() {
    const waitingFor = this.#questions.size > 0 ? 'Waiting for your answer' : 'Waiting for your confirmation';
    this.#status.textContent = this.#stopping ? 'Stopping…' : this.#pending.size > 0 ? waitingFor : 'Working…';
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
    this.#block(errorView(error, { title }));
    this.#settle('');
    this.#offerActions('failed');
  }

  #settle(status) {
    this.#flush();
    this.element.querySelector('.answer')?.setAttribute('aria-busy', 'false');
    for (const card of [...this.#cards.values(), ...this.#questions.values()]) {
      card.buttons.forEach((button) => (button.disabled = true));
      clearInterval(card.timer);
    }
    this.#status.textContent = status;
  }

  #block(node) {
    this.#text = undefined;
    this.#body.append(node);
    return node;
  }

  #appendText(delta) {
    if (this.#text === undefined) {
      this.#text = { element: el('div', { class: 'markdown' }), markdown: '' };
      this.#body.append(this.#text.element);
      this.#answer.push(this.#text);
    } else if (this.#modelTurnEnded && this.#text.markdown.length > 0) {
      this.#text.markdown += '\n\n';
    }
    this.#modelTurnEnded = false;
    this.#text.markdown += delta;
    this.#scheduleRender();
  }

  /** Re-renders the streaming block at most once a frame. */
  #scheduleRender() {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    requestAnimationFrame(() => this.#flush());
  }

  #flush() {
    this.#renderQueued = false;
    for (const block of this.#answer) {
      if (block.rendered !== block.markdown) {
        renderMarkdown(block.element, block.markdown);
        block.rendered = block.markdown;
      }
    }
  }

  #toolCall(data) {
    const state = el('span', { class: 'tool-state' }, 'running…');
    const name = data.title ?? data.tool;
    const item = this.#block(
      el(
        'details',
        { class: 'tool-call' },
        el('summary', {}, el('span', { class: 'tool-label' }, name), data.server ? el('span', { class: 'tool-server' }, data.server) : undefined, state),
        argumentList(data.arguments, data.argumentLabels),
      ),
    );
    this.#calls.set(data.callId, { item, state, resolved: undefined });
  }

  #setCallState(callId, text, className) {
    const call = this.#calls.get(callId);
    if (call === undefined) return;
    call.item.classList.remove('is-ok', 'is-error', 'is-declined');
    if (className) call.item.classList.add(className);
    call.state.textContent = text;
  }

  #toolResult(data) {
    const call = this.#calls.get(data.callId);
    if (call === undefined) return;
    // A declined call never ran: its result is the refusal, not a failure.
    if (call.resolved !== undefined && call.resolved !== 'approve') return;
    const failed = !data.ok || data.isError;
    this.#setCallState(data.callId, `${failed ? 'failed' : 'done'}${data.truncated ? ', truncated' : ''}`, failed ? 'is-error' : 'is-ok');
    if (data.summary) call.item.append(el('p', { class: 'tool-summary' }, data.summary));
  }

  #confirmationRequired(data) {
    const titleId = uniqueId('confirmation');
    const approve = el('button', { type: 'button', class: 'button-primary' }, 'Approve');
    const reject = el('button', { type: 'button' }, 'Reject');
    const outcome = el('p', { class: 'confirmation-outcome', role: 'status' });
    const countdown = el('span', { class: 'countdown' });
    const expiresAt = Date.parse(data.expiresAt);
    const words = annotationWords(data.annotations);
    const card = el(
      'section',
      { class: 'confirmation', 'aria-labelledby': titleId, tabindex: '-1' },
      el('h3', { id: titleId }, 'Approve: ', data.title ?? data.tool, '?'),
      el('p', { class: 'confirmation-where' }, 'Tool ', el('code', {}, data.tool), ' on ', el('code', {}, data.server)),
      data.description ? el('p', { class: 'confirmation-description' }, data.description) : undefined,
      el('ul', { class: 'tags', 'aria-label': 'What this tool does' }, ...words.map((word) => el('li', { class: word === 'Cannot be undone' ? 'tag tag-danger' : 'tag' }, word))),
      data.preview ? el('p', { class: 'confirmation-preview' }, el('strong', {}, 'This refers to: '), data.preview) : undefined,
      argumentList(data.arguments, data.argumentLabels),
      el('div', { class: 'actions' }, approve, reject, Number.isNaN(expiresAt) ? undefined : countdown),
      outcome,
    );
    const entry = { card, buttons: [approve, reject], outcome, callId: data.callId, timer: undefined };
    if (!Number.isNaN(expiresAt)) {
      const tick = () => {
        const left = expiresAt - Date.now();
        countdown.textContent = left > 0 ? `Expires in ${formatRemaining(left)}` : 'Expired';
        if (left <= 0) clearInterval(entry.timer);
      };
      tick();
      entry.timer = setInterval(tick, 1_000);
    }
    approve.addEventListener('click', () => void this.#decide(data.confirmationId, 'approve'));
    reject.addEventListener('click', () => void this.#decide(data.confirmationId, 'reject'));
    this.#cards.set(data.confirmationId, entry);
    this.#setCallState(data.callId, 'waiting for your approval', '');
    this.#block(card);
    this.#pending.add(data.confirmationId);
    // A decision is needed before anything else happens: take the keyboard there.
    card.focus();
  }

  async #decide(confirmationId, decision) {
    const entry = this.#cards.get(confirmationId);
    if (entry === undefined || this.decide === undefined) return;
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
    clearInterval(entry.timer);
    const hadFocus = entry.card.contains(document.activeElement);
    entry.card.querySelector('.actions')?.remove();
    // The buttons are gone: keep the keyboard on the card rather than dropping it to the page.
    if (hadFocus) entry.card.focus();
    entry.outcome.replaceChildren(DECISION_TEXT[data.decision] ?? data.decision);
    entry.card.classList.add(`is-${data.decision}`);
    const call = this.#calls.get(entry.callId);
    if (call !== undefined) call.resolved = data.decision;
    this.#setCallState(entry.callId, CALL_STATE_AFTER[data.decision] ?? data.decision, data.decision === 'approve' ? '' : 'is-declined');
  }

  #elicitationRequired(data) {
    const card = elicitationCard(data, (body) => (this.answer === undefined ? Promise.reject(new Error('Answering is not available here')) : this.answer(data.elicitationId, body)));
    this.#questions.set(data.elicitationId, card);
    this.#pending.add(data.elicitationId);
    this.#setCallState(data.callId, 'waiting for your answer', '');
    this.#block(card.element);
    card.element.focus();
  }

  #elicitationResolved(data) {
    this.#pending.delete(data.elicitationId);
    this.#questions.get(data.elicitationId)?.resolved(data.outcome);
  }

  /** What the tool had the model write: served (with its tokens) or refused. */
  #sampling(data) {
    const text = data.outcome === 'served' ? `The tool had the model write a reply (${data.inputTokens} tokens in · ${data.outputTokens} out).` : `The tool asked for the model; refused (${data.reason ?? 'not allowed'}).`;
    const call = this.#calls.get(data.callId);
    if (call !== undefined) call.item.append(el('p', { class: 'tool-summary' }, text));
    if (data.outcome === 'served') this.#addUsage({ inputTokens: data.inputTokens, outputTokens: data.outputTokens });
  }

  #addUsage(data) {
    this.#tokens.inputTokens += data.inputTokens ?? 0;
    this.#tokens.outputTokens += data.outputTokens ?? 0;
    this.#tokens.cacheReadTokens += data.cacheReadTokens ?? 0;
    const { inputTokens, outputTokens, cacheReadTokens } = this.#tokens;
    this.#usage.textContent = `${inputTokens} tokens in · ${outputTokens} out${cacheReadTokens > 0 ? ` · ${cacheReadTokens} from cache` : ''}`;
  }

  #offerActions(status) {
    const buttons = [];
    const text = this.#answer.map((block) => block.markdown).join('\n\n').trim();
    if (text !== '') {
      const copy = el('button', { type: 'button', class: 'button-small' }, 'Copy answer');
      copy.addEventListener('click', () => {
        navigator.clipboard?.writeText(text).then(
          () => (copy.textContent = 'Copied'),
          () => (copy.textContent = 'Copy failed'),
        );
      });
      buttons.push(copy);
    }
    if (status !== 'completed' && this.retry !== undefined) {
      const retry = el('button', { type: 'button', class: 'button-small' }, 'Retry');
      retry.addEventListener('click', () => this.retry(this.question));
      buttons.push(retry);
    }
    this.#actions.replaceChildren(...buttons);
  }

  #done(data) {
    this.element.classList.add(`is-${data.status}`);
    if (this.#answer.length === 0 && data.status === 'completed') this.#appendText('(No answer text.)');
    this.#settle(STATUS_TEXT[data.status] ?? data.status);
    this.#offerActions(data.status);
  }
}
