/**
 * The admin view, for holders of the gateway's admin role: readiness matrix, each upstream's state and
 * circuit, tool definitions waiting for approval, revocations, and the recent audit records.
 */
import { el } from './dom.js';
import { errorView } from './error-view.js';

const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

function stateBadge(ok, okText = 'up', downText = 'down') {
  return el('span', { class: `badge ${ok ? 'badge-ok' : 'badge-down'}` }, ok ? okText : downText);
}

function table(caption, headings, rows) {
  return el(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `${caption} table` },
    el(
      'table',
      {},
      el('caption', { class: 'visually-hidden' }, caption),
      el('thead', {}, el('tr', {}, ...headings.map((heading) => el('th', { scope: 'col' }, heading)))),
      el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((cell) => el('td', {}, cell))))),
    ),
  );
}

/** A check's state (`up`, `degraded`, `down`) as a badge. */
function stateText(check) {
  const state = check.state ?? (check.ok ? 'up' : 'down');
  return el('span', { class: `badge ${state === 'up' ? 'badge-ok' : state === 'degraded' ? 'badge-degraded' : 'badge-down'}` }, state);
}

let formCount = 0;

function field(label, input) {
  const id = `admin-field-${++formCount}`;
  input.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), input);
}

export class AdminView {
  /** @param {HTMLElement} container @param {import('./api.js').ApiClient} api @param {(text: string) => void} announce */
  constructor(container, api, announce) {
    this.container = container;
    this.api = api;
    this.announce = announce;
    this.readiness = el('section', { class: 'panel', 'aria-labelledby': 'admin-readiness' });
    this.upstreams = el('section', { class: 'panel', 'aria-labelledby': 'admin-upstreams' });
    this.pins = el('section', { class: 'panel', 'aria-labelledby': 'admin-pins' });
    this.revocations = el('section', { class: 'panel', 'aria-labelledby': 'admin-revocations' }, ...this.#revocationForm());
    this.audit = el('section', { class: 'panel admin-wide', 'aria-labelledby': 'admin-audit' });
    this.auditResults = el('div', { class: 'audit-results' });
    this.audit.append(...this.#auditForm(), this.auditResults);
    container.replaceChildren(this.readiness, this.upstreams, this.pins, this.revocations, this.audit);
  }

  async show() {
    await Promise.all([this.#loadOverview(), this.#loadAudit({})]);
  }

  async #loadOverview() {
    let overview;
    try {
      overview = await this.api.adminOverview();
    } catch (error) {
      this.readiness.replaceChildren(el('h3', { id: 'admin-readiness' }, 'Readiness'), errorView(error, { title: 'The overview could not be loaded' }));
      return;
    }
    const checks = Object.entries(overview.readiness.checks);
    this.readiness.replaceChildren(
      el('h3', { id: 'admin-readiness' }, 'Readiness: ', el('span', { class: `badge badge-${overview.readiness.status}` }, overview.readiness.status)),
      ...(overview.readiness.reasons?.length > 0 ? [el('ul', { class: 'hint' }, ...overview.readiness.reasons.map((reason) => el('li', {}, reason)))] : []),
      table(
        'Readiness checks',
        ['Dependency', 'Role', 'State', 'Detail'],
        checks.map(([name, check]) => [name, check.role ?? check.kind ?? '', stateText(check), check.detail ?? '']),
      ),
    );
    this.upstreams.replaceChildren(
      el('h3', { id: 'admin-upstreams' }, 'Upstream servers'),
      table(
        'Upstream servers',
        ['Server', 'State', 'Circuit', 'Tools', 'Detail'],
        overview.upstreams.map((server) => [
          el('span', {}, el('strong', {}, server.name), el('br'), el('span', { class: 'muted' }, server.url)),
          stateBadge(server.ok),
          el('span', { class: `badge ${server.circuit === 'open' ? 'badge-down' : 'badge-ok'}` }, server.circuit),
          String(server.tools),
          server.detail ?? '',
        ]),
      ),
    );
    const changes = overview.pinChanges ?? [];
    this.pins.replaceChildren(
      el('h3', { id: 'admin-pins' }, 'Tool pins'),
      el('p', { class: 'hint' }, `Pinning: ${overview.pinning}. A tool whose definition changed after it was first seen waits here for approval.`),
      changes.length === 0
        ? el('p', { class: 'muted' }, 'No changed tool definitions.')
        : el('ul', { class: 'pin-list' }, ...changes.map((change) => this.#pinItem(change))),
    );
  }

  #pinItem(change) {
    const approve = el('button', { type: 'button', class: 'button-small' }, `Approve ${change.server}.${change.tool}`);
    const item = el('li', {}, el('code', {}, `${change.server}.${change.tool}`), ' ', el('span', { class: 'muted' }, change.detectedAt ?? ''), ' ', approve);
    approve.addEventListener('click', async () => {
      approve.disabled = true;
      try {
        await this.api.approvePin(change.server, change.tool);
        this.announce(`Approved ${change.server}.${change.tool}.`);
        await this.#loadOverview();
      } catch (error) {
        item.append(errorView(error, { title: 'Not approved' }));
        approve.disabled = false;
      }
    });
    return item;
  }

  #revocationForm() {
    const kind = el('select', {}, el('option', { value: 'sub' }, 'Every token of a user'), el('option', { value: 'sid' }, 'A session'), el('option', { value: 'jti' }, 'One token (jti)'));
    const value = el('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off' });
    const result = el('div', { role: 'status' });
    const form = el('form', { class: 'stack' }, field('Revoke', kind), field('User id (sub), session id or token id', value), el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'button-danger' }, 'Revoke')), result);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = value.value.trim();
      if (text === '') return;
      const body = kind.value === 'sub' ? { sub: text, before: new Date().toISOString() } : { [kind.value]: text };
      try {
        const answer = await this.api.revoke(body);
        result.replaceChildren(el('p', { class: 'ok' }, `Revoked until ${WHEN.format(new Date(answer.expiresAt))}.`));
        value.value = '';
      } catch (error) {
        result.replaceChildren(errorView(error, { title: 'Not revoked' }));
      }
    });
    return [el('h3', { id: 'admin-revocations' }, 'Revocations'), el('p', { class: 'hint' }, 'Takes effect on every replica within seconds.'), form];
  }

  #auditForm() {
    const user = el('input', { type: 'text', name: 'user', autocomplete: 'off', spellcheck: 'false' });
    const tool = el('input', { type: 'text', name: 'tool', autocomplete: 'off', spellcheck: 'false' });
    const decision = el(
      'select',
      { name: 'decision' },
      el('option', { value: '' }, 'Any'),
      ...['allow', 'confirm', 'deny', 'approve', 'reject'].map((name) => el('option', { value: name }, name)),
    );
    const form = el('form', { class: 'audit-filter' }, field('User', user), field('Tool', tool), field('Decision', decision), el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Filter')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#loadAudit({ user: user.value.trim(), tool: tool.value.trim(), decision: decision.value });
    });
    return [el('h3', { id: 'admin-audit' }, 'Recent audit records'), form];
  }

  async #loadAudit(filter) {
    try {
      const { records } = await this.api.audit(filter);
      this.auditResults.replaceChildren(
        records.length === 0
          ? el('p', { class: 'muted' }, 'No matching records.')
          : table(
              'Audit records',
              ['When', 'User', 'Tool', 'Decision', 'Outcome', 'Arguments'],
              records.map((record) => [
                WHEN.format(new Date(record.at)),
                record.username,
                `${record.server}.${record.tool}`,
                record.decision,
                record.outcome,
                el('code', { class: 'audit-args' }, JSON.stringify(record.arguments)),
              ]),
            ),
      );
      this.announce(`${records.length} audit records.`);
    } catch (error) {
      this.auditResults.replaceChildren(errorView(error, { title: 'The audit records could not be loaded' }));
    }
  }
}
