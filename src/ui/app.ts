/**
 * The hub's page: sign in with a token, then the pages a person uses — operations (`/`, `/ops/<id>`),
 * projects (`/projects`, `/projects/<id>` with its backups, move and copy), hosts (`/hosts/<id>`).
 * A view draws into `<main>` and returns what stops it (timers, live bars) when the person leaves.
 */
import { api, signIn, signOut, token, whenSignedOut } from './api.js';
import { $, html } from './dom.js';
import './lro-progress.js';
import { navigate, NAVIGATED } from './nav.js';
import { STYLE } from './style.js';
import { docsView } from './views/docs.js';
import { hostsList, hostView } from './views/host.js';
import { opsList, opView } from './views/ops.js';
import { projectView } from './views/project.js';
import { projectsList } from './views/projects.js';

import type { View } from './nav.js';

/** Ids in a page's path are hex and dashes only: a crafted link cannot aim the page's requests elsewhere. */
const ROUTES: [RegExp, View][] = [
  [/^\/ops\/([0-9a-fA-F-]{8,36})$/, opView],
  [/^\/projects\/([0-9a-fA-F-]{36})$/, projectView],
  [/^\/projects\/?$/, projectsList],
  [/^\/hosts\/([0-9a-fA-F-]{36})$/, hostView],
  [/^\/hosts\/?$/, hostsList],
  [/^\/$/, opsList],
];

document.head.insertAdjacentHTML('beforeend', `<style>${STYLE}</style>`);
const header = document.querySelector('header') ?? document.body.insertBefore(document.createElement('header'), document.body.firstChild);
const main = document.querySelector('main')!;
let leave: (() => void) | void;
let me: { name: string; kind: string } | null = null;

function signInView(reason = '') {
  header.innerHTML = '';
  main.innerHTML = html`<h1>lro</h1>
    <p>Long-running operations: backups, restores, moves and copies, with live progress.</p>
    <form id="signin">
      <label for="token">API token</label> <input id="token" name="token" type="password" autocomplete="off" required />
      <button>Sign in</button>
    </form>
    <p id="signin-reason" role="alert">${reason}</p>`.text;
  $(main, 'form').addEventListener('submit', (e) => {
    e.preventDefault();
    signIn(String(new FormData(e.target as HTMLFormElement).get('token')));
    me = null;
    void route();
  });
  $<HTMLInputElement>(main, '#token').focus();
}

async function drawHeader() {
  me ??= await api('GET', '/v1/me');
  header.innerHTML = html`<nav aria-label="main">
      <a href="/">Operations</a> <a href="/projects">Projects</a> <a href="/hosts">Hosts</a> <a href="/docs">API</a>
    </nav>
    <span class="who"
      >signed in as <strong>${me!.name}</strong>${me!.kind === 'admin' ? ' (hub admin)' : ''}
      <button type="button" id="signout">Sign out</button></span
    >`.text;
  $(header, '#signout').addEventListener('click', () => {
    signOut();
    me = null;
    signInView('signed out');
  });
}

async function route() {
  leave?.();
  leave = undefined;
  if (location.pathname === '/docs') return void (leave = docsView(main, '')); // public, like /openapi.json
  if (!token()) return signInView();
  // The header is drawn beside the view, not before it: a live bar starts at once. A refused token
  // signs out (whenSignedOut); any other failure is said in the header.
  drawHeader().catch((err: { status?: number; message: string }) => {
    if (err.status !== 401) header.textContent = `lro — ${err.message}`;
  });
  for (const [re, view] of ROUTES) {
    const m = location.pathname.match(re);
    if (m) {
      leave = view(main, decodeURIComponent(m[1] ?? ''));
      return;
    }
  }
  main.innerHTML = html`<h1>Not found</h1>
    <p>No page at ${location.pathname}. <a href="/">Operations</a></p>`.text;
}

whenSignedOut((reason) => {
  leave?.();
  leave = undefined;
  me = null;
  signInView(reason);
});
document.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest('a');
  if (a && a.origin === location.origin && !a.target && !a.hasAttribute('download')) {
    e.preventDefault();
    navigate(a.pathname + a.search);
  }
});
window.addEventListener('popstate', () => void route());
window.addEventListener(NAVIGATED, () => void route());
void route();
