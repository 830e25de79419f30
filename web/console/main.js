/**
 * The console's entry point: sign-in (identity provider, demo user, or a pasted token), the
 * conversation list, the chat (one question at a time, each followed as a run), and the admin view.
 * All state lives in this tab and in the gateway; the token is sent only to this gateway's API.
 */
import { AdminView } from './admin-view.js';
import { ApiClient, consoleConfig } from './api.js';
import { ConversationsView } from './conversations-view.js';
import { byId, el } from './dom.js';
import { errorView } from './error-view.js';
import { OidcSignIn } from './oidc.js';
import { renderProfile } from './profile-view.js';
import { followRun } from './run-stream.js';
import { TokenStore, demoInfo, demoToken } from './session.js';
import { TurnView } from './turn-view.js';

const baseUrl = document.baseURI;
/** Where the identity provider sends the browser back: this console's own address, without query or hash. */
const redirectUri = new URL('.', baseUrl).href;
const tokens = new TokenStore();
const api = new ApiClient(baseUrl, () => tokens.get());
/** Which conversation is open and which run is being followed, so a reload can pick both up again. */
const PLACE_KEY = 'mcp-gateway.console.place';

const page = {
  notice: byId('notice'),
  signIn: byId('sign-in'),
  oidcSignIn: byId('oidc-sign-in'),
  oidcButton: byId('oidc-button'),
  oidcHint: byId('oidc-hint'),
  tokenForm: byId('token-form'),
  tokenDetails: byId('token-details'),
  tokenInput: byId('token-input'),
  demoForm: byId('demo-form'),
  demoUser: byId('demo-user'),
  whoami: byId('whoami'),
  whoamiName: byId('whoami-name'),
  adminLink: byId('admin-link'),
  chatLink: byId('chat-link'),
  signOut: byId('sign-out'),
  toggleSidebar: byId('toggle-sidebar'),
  workspace: byId('workspace'),
  sidebar: byId('sidebar'),
  profile: byId('profile-body'),
  chatTitle: byId('chat-title'),
  scroller: byId('scroller'),
  transcript: byId('transcript'),
  chatEmpty: byId('chat-empty'),
  askForm: byId('ask-form'),
  query: byId('query'),
  ask: byId('ask'),
  stop: byId('stop'),
  newConversation: byId('new-conversation'),
  admin: byId('admin'),
  adminBody: byId('admin-body'),
  announcer: byId('announcer'),
};

const session = { conversationId: undefined, run: undefined, demo: undefined, oidc: undefined, me: undefined, adminRole: 'gateway-admin', admin: undefined };

function readPlace() {
  try {
    return JSON.parse(sessionStorage.getItem(PLACE_KEY) ?? '{}');
  } catch {
    return {};
  }
}

function writePlace(place) {
  try {
    sessionStorage.setItem(PLACE_KEY, JSON.stringify(place));
  } catch {
    // Storage disabled: a reload starts a new conversation.
  }
}

function showNotice(error, title) {
  page.notice.replaceChildren(errorView(error, { title }));
  page.notice.hidden = false;
}

function clearNotice() {
  page.notice.hidden = true;
  page.notice.replaceChildren();
}

function announce(text) {
  page.announcer.textContent = text;
}

const conversations = new ConversationsView(
  { list: byId('conversation-list'), empty: byId('conversation-empty') },
  {
    load: () => api.conversations(),
    open: (id) => void openConversation(id),
    rename: (id, title) => api.renameConversation(id, title).then((summary) => {
      if (id === session.conversationId) page.chatTitle.textContent = summary.title;
      announce(`Renamed to ${summary.title}.`);
    }),
    remove: (id) => api.deleteConversation(id).then(() => {
      if (id === session.conversationId) resetConversation();
      announce('Conversation deleted.');
    }),
    failed: showNotice,
  },
);

function showSignIn() {
  page.workspace.hidden = true;
  page.admin.hidden = true;
  page.whoami.hidden = true;
  page.toggleSidebar.hidden = true;
  page.signIn.hidden = false;
  (page.oidcSignIn.hidden ? page.demoForm.hidden ? page.tokenInput : page.demoUser : page.oidcButton).focus();
}

function isAdmin() {
  return session.me?.roles?.includes(session.adminRole) === true;
}

/** `#admin` shows the admin view (to admins); anything else the chat. */
function route() {
  if (session.me === undefined) return;
  const admin = location.hash === '#admin' && isAdmin();
  page.workspace.hidden = admin;
  page.admin.hidden = !admin;
  page.toggleSidebar.hidden = admin;
  page.adminLink.hidden = admin || !isAdmin();
  page.chatLink.hidden = !admin;
  if (admin) {
    session.admin ??= new AdminView(page.adminBody, api, announce);
    void session.admin.show();
    byId('admin-title').focus?.();
  }
}

async function enterWorkspace() {
  let me;
  try {
    me = await api.me();
  } catch (error) {
    if (error.status === 401) tokens.clear();
    showNotice(error, error.status === 401 ? 'Sign-in failed' : 'Your profile could not be loaded');
    showSignIn();
    return;
  }
  session.me = me;
  clearNotice();
  renderProfile(page.profile, me);
  page.whoamiName.textContent = me.username ?? me.sub;
  page.signIn.hidden = true;
  page.whoami.hidden = false;
  route();
  void conversations.refresh();
  const place = readPlace();
  if (place.conversationId !== undefined) await openConversation(place.conversationId, { quiet: true });
  // A run followed before the reload (perhaps waiting for a confirmation) is followed again from its start.
  if (place.run !== undefined) void follow(place.run.query, { runId: place.run.runId }, place.run.before);
  if (!page.workspace.hidden) page.query.focus();
}

async function signInWith(token) {
  tokens.set(token);
  await enterWorkspace();
}

function showTranscript() {
  page.chatEmpty.hidden = page.transcript.children.length > 0;
}

function resetConversation() {
  session.conversationId = undefined;
  page.transcript.replaceChildren();
  page.chatTitle.textContent = 'New conversation';
  conversations.select(undefined);
  writePlace({});
  showTranscript();
}

function closeSidebar() {
  page.workspace.classList.remove('sidebar-open');
  page.toggleSidebar.setAttribute('aria-expanded', 'false');
}

async function openConversation(id, { quiet = false } = {}) {
  if (session.run !== undefined) return;
  let conversation;
  try {
    conversation = await api.conversation(id);
  } catch (error) {
    if (error.status === 404) {
      // Expired or deleted (perhaps on another device): start afresh.
      resetConversation();
      if (!quiet) showNotice(error, 'That conversation no longer exists');
      void conversations.refresh();
      return;
    }
    showNotice(error, 'The conversation could not be opened');
    return;
  }
  session.conversationId = conversation.id;
  page.chatTitle.textContent = conversation.title;
  page.transcript.replaceChildren(...conversation.transcript.map((turn) => TurnView.restored(turn, { retry: (question) => void ask(question) }).element));
  conversations.select(conversation.id);
  writePlace({ conversationId: conversation.id });
  showTranscript();
  closeSidebar();
  scrollToEnd(true);
  if (!quiet) {
    announce(`Opened ${conversation.title}.`);
    page.query.focus();
  }
}

function nearEnd() {
  const { scrollTop, scrollHeight, clientHeight } = page.scroller;
  return scrollHeight - scrollTop - clientHeight < 80;
}

function scrollToEnd(force = false) {
  if (force || nearEnd()) page.scroller.scrollTop = page.scroller.scrollHeight;
}

/** Back to the conversation as the store has it, after a run that did not complete. */
function keepConversation(conversationId) {
  session.conversationId = conversationId;
  writePlace(conversationId === undefined ? {} : { conversationId });
}

function setRunning(running) {
  page.ask.disabled = running;
  page.newConversation.disabled = running;
  page.stop.hidden = !running;
  page.stop.disabled = false;
}

const DONE_ANNOUNCEMENTS = { completed: 'Answer complete.', cancelled: 'Stopped.', failed: 'The run failed.', expired: 'The run expired.' };

function ask(query) {
  return follow(query, session.conversationId === undefined ? { query } : { query, conversationId: session.conversationId });
}

/** Asks a question (or follows a run started before a reload) and draws its events into a new turn. */
async function follow(query, request, before = session.conversationId) {
  if (session.run !== undefined) return;
  const turn = new TurnView(query, {
    decide: (confirmationId, decision) => api.decide(confirmationId, decision),
    answer: (elicitationId, body) => api.answerElicitation(run.runId, elicitationId, body),
    retry: (question) => void ask(question),
  });
  page.transcript.append(turn.element);
  showTranscript();
  scrollToEnd(true);
  const run = { controller: new AbortController(), runId: request.runId, turn };
  // Only a completed run keeps its exchange: anything else leaves the conversation as it was.
  const conversationBefore = before;
  session.run = run;
  setRunning(true);
  try {
    const { status } = await followRun(api, request, {
      signal: run.controller.signal,
      onStarted: (runId) => {
        run.runId = runId;
        writePlace({ conversationId: session.conversationId, run: { runId, query, before: conversationBefore } });
      },
      onReconnecting: (attempt) => turn.reconnecting(attempt),
      onResumed: () => turn.resumed(),
      onEvent: (event) => {
        const follow = nearEnd();
        if (event.type === 'run') {
          session.conversationId = event.data.conversationId;
          writePlace({ conversationId: session.conversationId, run: { runId: event.data.runId, query, before: conversationBefore } });
        }
        turn.handle(event);
        if (follow && !turn.waiting) scrollToEnd(true);
        if (event.type === 'confirmation_required') announce('A tool is waiting for your approval.');
        if (event.type === 'elicitation_required') announce('A tool is asking you a question.');
      },
    });
    announce(DONE_ANNOUNCEMENTS[status] ?? '');
    if (status === 'completed') {
      writePlace({ conversationId: session.conversationId });
      await conversations.refresh();
      conversations.select(session.conversationId);
      const current = conversations.items.find((item) => item.id === session.conversationId);
      if (current !== undefined) page.chatTitle.textContent = current.title;
    } else {
      keepConversation(conversationBefore);
    }
  } catch (error) {
    if (!run.controller.signal.aborted) {
      turn.fail(error, error.status === 401 ? 'Your sign-in is no longer valid: sign out and sign in again' : undefined);
      announce('Your question could not be answered.');
      keepConversation(conversationBefore);
    }
  } finally {
    if (session.run === run) {
      session.run = undefined;
      setRunning(false);
      // The Stop button just disappeared; keep the keyboard where the next question goes.
      const focus = document.activeElement;
      if (focus === page.stop || focus === document.body || turn.element.contains(focus)) page.query.focus();
    }
  }
}

async function stop() {
  const run = session.run;
  if (run === undefined) return;
  page.stop.disabled = true;
  run.turn.stopping();
  // Before the gateway named the run there is nothing to cancel on its side: just stop reading.
  if (run.runId === undefined) {
    run.controller.abort();
    run.turn.fail(new Error('Stopped before the run started.'), 'Stopped');
    return;
  }
  try {
    // The stream stays open and ends with `done` (cancelled).
    await api.cancelRun(run.runId);
  } catch (error) {
    page.stop.disabled = false;
    showNotice(error, 'The run could not be stopped');
  }
}

function signOut() {
  const run = session.run;
  if (run !== undefined) {
    // Cancel on the gateway too (the token is read before it is cleared below), then stop reading.
    if (run.runId !== undefined) api.cancelRun(run.runId).catch(() => {});
    run.controller.abort();
  }
  session.run = undefined;
  session.me = undefined;
  session.admin = undefined;
  setRunning(false);
  resetConversation();
  clearNotice();
  const oidc = session.oidc;
  if (oidc?.session !== undefined) {
    // Ends the provider's session too; the browser comes back here signed out.
    void oidc.signOut();
    return;
  }
  tokens.clear();
  if (location.hash === '#admin') history.replaceState(null, '', redirectUri);
  showSignIn();
  announce('Signed out.');
}

async function offerDemoUsers() {
  const info = await demoInfo(baseUrl);
  if (info === undefined || info.users.length === 0) return;
  session.demo = info;
  page.demoUser.replaceChildren(...info.users.map((user) => el('option', { value: user }, user)));
  page.demoForm.hidden = false;
}

async function setUpSignIn() {
  const config = await consoleConfig(baseUrl);
  if (typeof config.adminRole === 'string') session.adminRole = config.adminRole;
  if (config.signIn === null || config.signIn === undefined) return;
  const oidc = new OidcSignIn(config.signIn, redirectUri, (token) => (token === undefined ? tokens.clear() : tokens.set(token)));
  session.oidc = oidc;
  page.oidcHint.textContent = `You go to ${new URL(config.signIn.issuer).host} to sign in and come back here.`;
  page.oidcSignIn.hidden = false;
  const here = new URL(location.href);
  if (oidc.isCallback(here)) {
    // The code (or error) is in the address bar only until it is exchanged.
    history.replaceState(null, '', redirectUri);
    try {
      await oidc.finish(here);
    } catch (error) {
      showNotice(error, 'Sign-in at the identity provider failed');
    }
  } else {
    oidc.resume();
  }
}

page.oidcButton.addEventListener('click', () => {
  page.oidcButton.disabled = true;
  session.oidc?.start().catch((error) => {
    page.oidcButton.disabled = false;
    showNotice(error, 'The identity provider could not be reached');
  });
});

page.tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = page.tokenInput.value.trim();
  if (token === '') return;
  page.tokenInput.value = '';
  void signInWith(token);
});

page.demoForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (session.demo === undefined) return;
  const button = page.demoForm.querySelector('button');
  button.disabled = true;
  demoToken(session.demo, page.demoUser.value, baseUrl)
    .then(signInWith, (error) => showNotice(error, 'Demo sign-in failed'))
    .finally(() => (button.disabled = false));
});

page.askForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const query = page.query.value.trim();
  if (query === '' || session.run !== undefined) return;
  page.query.value = '';
  void ask(query);
});

page.query.addEventListener('keydown', (event) => {
  // Enter adds a line; Ctrl/Cmd+Enter asks.
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    page.askForm.requestSubmit();
  }
});

page.stop.addEventListener('click', () => void stop());
page.newConversation.addEventListener('click', () => {
  resetConversation();
  closeSidebar();
  announce('New conversation started.');
  page.query.focus();
});
page.toggleSidebar.addEventListener('click', () => {
  const open = page.workspace.classList.toggle('sidebar-open');
  page.toggleSidebar.setAttribute('aria-expanded', String(open));
  if (open) page.sidebar.querySelector('button')?.focus();
});
page.signOut.addEventListener('click', signOut);
window.addEventListener('hashchange', route);

await Promise.all([setUpSignIn(), offerDemoUsers()]);
if (tokens.get() === undefined) showSignIn();
else await enterWorkspace();
