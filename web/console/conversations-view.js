/**
 * The sidebar of conversations kept for this user by the gateway: open one, rename it, delete it.
 * The list is re-read after each answered question and after every change, so another device's
 * conversations show up too.
 */
import { el } from './dom.js';

const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export class ConversationsView {
  /**
   * @param {{ list: HTMLElement, empty: HTMLElement }} elements
   * @param {{
   *   load: () => Promise<{ conversations: Array<{ id: string, title: string, updatedAt: string, turns: number }> }>,
   *   open: (id: string) => void,
   *   rename: (id: string, title: string) => Promise<unknown>,
   *   remove: (id: string) => Promise<unknown>,
   *   failed: (error: unknown, title: string) => void,
   * }} actions
   */
  constructor(elements, actions) {
    this.elements = elements;
    this.actions = actions;
    this.currentId = undefined;
    this.items = [];
  }

  async refresh() {
    try {
      const { conversations } = await this.actions.load();
      this.items = conversations;
      this.render();
    } catch (error) {
      this.actions.failed(error, 'Your conversations could not be loaded');
    }
  }

  select(id) {
    this.currentId = id;
    for (const item of this.elements.list.children) {
      const current = item.dataset.id === id;
      item.classList.toggle('is-current', current);
      const link = item.querySelector('.conversation-open');
      if (current) link?.setAttribute('aria-current', 'true');
      else link?.removeAttribute('aria-current');
    }
  }

  render() {
    this.elements.empty.hidden = this.items.length > 0;
    this.elements.list.replaceChildren(...this.items.map((conversation) => this.#item(conversation)));
    this.select(this.currentId);
  }

  #item(conversation) {
    const open = el(
      'button',
      { type: 'button', class: 'conversation-open' },
      el('span', { class: 'conversation-title' }, conversation.title),
      el('span', { class: 'conversation-meta' }, `${WHEN.format(new Date(conversation.updatedAt))} · ${conversation.turns} ${conversation.turns === 1 ? 'question' : 'questions'}`),
    );
    open.addEventListener('click', () => this.actions.open(conversation.id));
    const rename = el('button', { type: 'button', class: 'button-small', 'aria-label': `Rename “${conversation.title}”` }, 'Rename');
    const remove = el('button', { type: 'button', class: 'button-small button-quiet-danger', 'aria-label': `Delete “${conversation.title}”` }, 'Delete');
    const item = el('li', { class: 'conversation', 'data-id': conversation.id }, open, el('span', { class: 'conversation-actions' }, rename, remove));
    rename.addEventListener('click', () => this.#startRename(item, conversation, rename));
    remove.addEventListener('click', async () => {
      if (!confirm(`Delete the conversation “${conversation.title}”? This cannot be undone.`)) return;
      try {
        await this.actions.remove(conversation.id);
        await this.refresh();
      } catch (error) {
        this.actions.failed(error, 'The conversation could not be deleted');
      }
    });
    return item;
  }

  #startRename(item, conversation, renameButton) {
    const inputId = `rename-${conversation.id}`;
    const input = el('input', { id: inputId, type: 'text', value: conversation.title, maxlength: '200', required: true });
    const form = el(
      'form',
      { class: 'rename-form' },
      el('label', { for: inputId, class: 'visually-hidden' }, 'New name'),
      input,
      el('button', { type: 'submit', class: 'button-small' }, 'Save'),
      el('button', { type: 'button', class: 'button-small', 'data-cancel': '' }, 'Cancel'),
    );
    const restore = () => {
      form.replaceWith(item.querySelector('.conversation-actions') ?? form);
      this.render();
    };
    form.querySelector('[data-cancel]').addEventListener('click', restore);
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') restore();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const title = input.value.trim();
      if (title === '') return;
      try {
        await this.actions.rename(conversation.id, title);
        await this.refresh();
        this.elements.list.querySelector(`[data-id="${conversation.id}"] .conversation-open`)?.focus();
      } catch (error) {
        this.actions.failed(error, 'The conversation could not be renamed');
      }
    });
    renameButton.parentElement.replaceWith(form);
    input.focus();
    input.select();
  }
}
