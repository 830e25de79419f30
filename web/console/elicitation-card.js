/**
 * A tool server's question to the person running the agent (run event `elicitation_required`): a
 * card with a form generated from the requested schema, which MCP keeps flat and primitive — text
 * (with a format), numbers, yes/no, one choice or several from a list. Submitting answers `accept`
 * with the form's values; "Decline" and "Cancel" answer without content. The card then shows the
 * outcome the run reports (`elicitation_resolved`), whoever answered and wherever.
 */
import { el } from './dom.js';
import { errorView } from './error-view.js';

const OUTCOME_TEXT = {
  accept: 'Answered',
  decline: 'Declined',
  cancel: 'Cancelled',
  expired: 'Not answered in time: the tool server was told it was cancelled',
  withdrawn: 'Withdrawn: the tool call ended first',
};

const INPUT_TYPES = { email: 'email', uri: 'url', date: 'date' };

let nextId = 0;
const uniqueId = (prefix) => `${prefix}-${++nextId}`;

/** The choices of a single- or multi-select: `[{ value, label }]`, or undefined for a free field. */
function choicesOf(schema) {
  const variants = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(variants)) return variants.map((variant) => ({ value: variant.const, label: variant.title ?? String(variant.const) }));
  if (Array.isArray(schema.enum)) return schema.enum.map((value, index) => ({ value, label: schema.enumNames?.[index] ?? String(value) }));
  return undefined;
}

/** One form field: its element, and how to read its value (undefined: left out). */
function field(name, schema, required) {
  const id = uniqueId('elicit-field');
  const label = schema.title ?? name;
  const hint = schema.description ? el('p', { class: 'hint', id: `${id}-hint` }, schema.description) : undefined;
  const described = hint === undefined ? undefined : `${id}-hint`;
  if (schema.type === 'boolean') {
    const box = el('input', { type: 'checkbox', id, name, checked: schema.default === true, 'aria-describedby': described });
    return { element: el('div', { class: 'field field-check' }, el('label', { for: id }, box, ' ', label), hint), read: () => box.checked };
  }
  if (schema.type === 'array') {
    const choices = choicesOf(schema.items ?? {}) ?? [];
    const defaults = Array.isArray(schema.default) ? schema.default : [];
    const boxes = choices.map((choice) => ({ choice, box: el('input', { type: 'checkbox', name, value: String(choice.value), checked: defaults.includes(choice.value) }) }));
    return {
      element: el('fieldset', { class: 'field', 'aria-describedby': described }, el('legend', {}, label), ...boxes.map(({ choice, box }) => el('label', { class: 'choice' }, box, ' ', choice.label)), hint),
      read: () => boxes.filter(({ box }) => box.checked).map(({ choice }) => choice.value),
    };
  }
  const choices = choicesOf(schema);
  let input;
  if (choices !== undefined) {
    input = el('select', { id, name, required, 'aria-describedby': described }, required ? undefined : el('option', { value: '' }, '—'), ...choices.map((choice) => el('option', { value: String(choice.value), selected: schema.default === choice.value }, choice.label)));
  } else {
    const numeric = schema.type === 'number' || schema.type === 'integer';
    input = el('input', {
      id,
      name,
      type: numeric ? 'number' : (INPUT_TYPES[schema.format] ?? 'text'),
      required,
      step: schema.type === 'integer' ? '1' : numeric ? 'any' : undefined,
      min: schema.minimum,
      max: schema.maximum,
      minlength: schema.minLength,
      maxlength: schema.maxLength,
      value: schema.default === undefined ? undefined : String(schema.default),
      'aria-describedby': described,
    });
  }
  const read = () => {
    if (input.value === '') return undefined;
    if (schema.type === 'number' || schema.type === 'integer') return Number(input.value);
    return choices?.find((choice) => String(choice.value) === input.value)?.value ?? input.value;
  };
  return { element: el('div', { class: 'field' }, el('label', { for: id }, label, required ? ' (required)' : ''), input, hint), read };
}

/**
 * @param {{ elicitationId: string, server: string, tool: string, message: string, requestedSchema: { properties?: Record<string, any>, required?: string[] } }} data
 * @param {(answer: { action: 'accept' | 'decline' | 'cancel', content?: Record<string, unknown> }) => Promise<unknown>} answer
 */
export function elicitationCard(data, answer) {
  const titleId = uniqueId('elicitation');
  const required = new Set(data.requestedSchema?.required ?? []);
  const fields = Object.entries(data.requestedSchema?.properties ?? {}).map(([name, schema]) => ({ name, ...field(name, schema, required.has(name)) }));
  const submit = el('button', { type: 'submit', class: 'button-primary' }, 'Send answer');
  const decline = el('button', { type: 'button' }, 'Decline');
  const cancel = el('button', { type: 'button' }, 'Cancel');
  const buttons = [submit, decline, cancel];
  const outcome = el('div', { class: 'confirmation-outcome', role: 'status' });
  const form = el('form', { class: 'elicitation-form' }, ...fields.map((entry) => entry.element), el('div', { class: 'actions' }, ...buttons));
  const card = el(
    'section',
    { class: 'confirmation elicitation', 'aria-labelledby': titleId, tabindex: '-1' },
    el('h3', { id: titleId }, 'A tool asks you'),
    el('p', { class: 'confirmation-where' }, 'Tool ', el('code', {}, data.tool), ' on ', el('code', {}, data.server)),
    el('p', { class: 'elicitation-message' }, data.message),
    form,
    outcome,
  );

  /** Set once the run reports the outcome, which may arrive before the answer's own response. */
  let settled = false;
  const send = async (body) => {
    buttons.forEach((button) => (button.disabled = true));
    outcome.replaceChildren('Sending…');
    try {
      await answer(body);
      if (!settled) outcome.replaceChildren('Sent; waiting for the tool…');
    } catch (error) {
      if (settled) return;
      outcome.replaceChildren(errorView(error, { title: 'The answer was not accepted' }));
      buttons.forEach((button) => (button.disabled = false));
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const content = {};
    for (const entry of fields) {
      const value = entry.read();
      if (value !== undefined) content[entry.name] = value;
    }
    void send({ action: 'accept', content });
  });
  decline.addEventListener('click', () => void send({ action: 'decline' }));
  cancel.addEventListener('click', () => void send({ action: 'cancel' }));

  return {
    element: card,
    buttons,
    /** The run reported the outcome: the form goes, the outcome stays. */
    resolved(result) {
      settled = true;
      const hadFocus = card.contains(document.activeElement);
      form.remove();
      if (hadFocus) card.focus();
      outcome.replaceChildren(OUTCOME_TEXT[result] ?? result);
      card.classList.add(`is-${result}`);
    },
  };
}
