/**
 * The console's entry point: sign-in, the profile, and one question at a time, each followed as a run.
 * All state lives in this tab; the token is sent only to this gateway's API.
 */
import { ApiClient } from './api.js';
import { byId, el } from './dom.js';
import { errorView } from './error-view.js';
import { renderProfile } from './profile-view.js';
import { followRun } from './run-stream.js';
import { TokenStore, demoInfo, demoToken } from './session.js';
import { TurnView } from './turn-view.js';

const baseUrl = document.baseURI;
const tokens = new TokenStore();
const api = new ApiClient(baseUrl, () => tokens.get());

const page = {
  notice: byId('notice'),
  signIn: byId('sign-in'),
  tokenForm: byId('token-form'),
  tokenInput: byId('token-input'),
  demoForm: byId('demo-form'),
  demoUser: byId('demo-user'),
  whoami: byId('whoami'),
  whoamiName: byId('whoami-name'),
  signOut: byId('sign-out'),
  workspace: byId('workspace'),
  profile: byId('profile-body'),
  transcript: byId('transcript'),
  askForm: byId('ask-form'),
  query: byId('query'),
  ask: byId('ask'),
  stop: byId('stop'),
  newConversation: byId('new-conversation'),
  announcer: byId('announcer'),
};

/** The conversation follow-up questions continue, and the run being followed, if any. */
const session = { conversationId: undefined, run: undefined, demo: undefined };

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

function showSignIn() {
  page.workspace.hidden = true;
  page.whoami.hidden = true;
  page.signIn.hidden = false;
  page.tokenInput.focus();
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
  clearNotice();
  renderProfile(page.profile, me);
  page.whoamiName.textContent = me.username ?? me.sub;
  page.signIn.hidden = true;
  page.whoami.hidden = false;
  page.workspace.hidden = false;
  page.query.focus();
}

async function signInWith(token) {
  tokens.set(token);
  await enterWorkspace();
}

function resetConversation() {
  session.conversationId = undefined;
  page.transcript.replaceChildren();
}

function setRunning(running) {
  page.ask.disabled = running;
  page.newConversation.disabled = running;
  page.stop.hidden = !running;
  page.stop.disabled = false;
}

const DONE_ANNOUNCEMENTS = { completed: 'Answer complete.', cancelled: 'Stopped.', failed: 'The run failed.', expired: 'The run expired.' };

async function ask(query) {
  const turn = new TurnView(query, (confirmationId, decision) => api.decide(confirmationId, decision));
  page.transcript.append(turn.element);
  turn.element.scrollIntoView({ block: 'nearest' });
  const run = { controller: new AbortController(), runId: undefined, turn };
  session.run = run;
  setRunning(true);
  try {
    const { status } = await followRun(
      api,
      session.conversationId === undefined ? { query } : { query, conversationId: session.conversationId },
      {
        signal: run.controller.signal,
        onStarted: (runId) => (run.runId = runId),
        onReconnecting: (attempt) => turn.reconnecting(attempt),
        onResumed: () => turn.resumed(),
        onEvent: (event) => {
          if (event.type === 'run') session.conversationId = event.data.conversationId;
          turn.handle(event);
        },
      },
    );
    announce(DONE_ANNOUNCEMENTS[status] ?? '');
  } catch (error) {
    if (!run.controller.signal.aborted) {
      turn.fail(error, error.status === 401 ? 'Your sign-in is no longer valid: sign out and sign in again' : undefined);
      announce('Your question could not be answered.');
    }
  } finally {
    if (session.run === run) {
      session.run = undefined;
      setRunning(false);
      // The Stop button just disappeared; keep the keyboard where the next question goes.
      if (document.activeElement === page.stop || document.activeElement === document.body) page.query.focus();
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
  setRunning(false);
  tokens.clear();
  resetConversation();
  clearNotice();
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
  announce('New conversation started.');
  page.query.focus();
});
page.signOut.addEventListener('click', signOut);

void offerDemoUsers();
if (tokens.get() === undefined) showSignIn();
else void enterWorkspace();
