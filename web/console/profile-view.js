/** "You": the signed-in user from `GET /api/me`, their roles, and the servers and tools they may use. */
import { el } from './dom.js';

function badge(text, kind) {
  return el('span', { class: `badge badge-${kind}` }, text);
}

function toolItem(tool) {
  return el(
    'li',
    { class: 'tool' },
    el('span', { class: 'tool-name' }, tool.name),
    tool.requiresConfirmation ? badge('needs confirmation', 'confirm') : undefined,
    tool.readOnly ? badge('read-only', 'read') : undefined,
    tool.description ? el('span', { class: 'tool-description' }, tool.description) : undefined,
  );
}

function serverItem(server) {
  const summary = el(
    'summary',
    {},
    el('span', { class: 'server-name' }, server.name),
    server.available ? undefined : badge('unavailable', 'down'),
    el('span', { class: 'server-count' }, `${server.tools.length} ${server.tools.length === 1 ? 'tool' : 'tools'}`),
  );
  const tools = server.tools.length > 0 ? el('ul', { class: 'tools' }, ...server.tools.map(toolItem)) : el('p', { class: 'muted' }, 'No tools you may use right now.');
  return el(
    'li',
    { class: server.available ? 'server' : 'server server-down' },
    el('details', {}, summary, server.description ? el('p', { class: 'server-description' }, server.description) : undefined, tools),
  );
}

/** @param {HTMLElement} container @param {any} me the body of `GET /api/me` */
export function renderProfile(container, me) {
  const roles = me.roles.length > 0 ? el('ul', { class: 'roles' }, ...me.roles.map((role) => el('li', {}, role))) : el('span', { class: 'muted' }, 'none');
  const servers =
    me.servers.length > 0 ? el('ul', { class: 'servers' }, ...me.servers.map(serverItem)) : el('p', { class: 'muted' }, 'Your roles grant no tool servers.');
  container.replaceChildren(
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, 'Username'),
      el('dd', {}, me.username ?? me.sub),
      me.email ? el('dt', {}, 'Email') : undefined,
      me.email ? el('dd', {}, me.email) : undefined,
      el('dt', {}, 'Roles'),
      el('dd', {}, roles),
    ),
    el('h3', {}, 'Servers and tools'),
    servers,
  );
}
