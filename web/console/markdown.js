/**
 * The model's answers as markdown: parsed by `marked` (GitHub-flavoured: tables, lists, code) and
 * sanitised by DOMPurify before it touches the page, so an answer can never inject script or markup
 * beyond formatting. Both are the packages' own browser builds, served by the gateway.
 */
import { marked } from './vendor/marked.js';
import DOMPurify from './vendor/purify.js';

// Links open in a new tab and tell the target nothing about this page.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const SANITIZE = { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'], FORBID_ATTR: ['style'] };

/** Renders markdown into the element, replacing what it held. */
export function renderMarkdown(element, markdown) {
  const html = marked.parse(markdown, { gfm: true, breaks: false, async: false });
  element.innerHTML = DOMPurify.sanitize(html, SANITIZE);
  // Wide tables scroll inside their own box, never the page.
  for (const table of element.querySelectorAll('table')) {
    const wrap = document.createElement('div');
    wrap.className = 'table-wrap';
    wrap.tabIndex = 0;
    wrap.setAttribute('role', 'region');
    wrap.setAttribute('aria-label', 'Table');
    table.replaceWith(wrap);
    wrap.append(table);
  }
  for (const pre of element.querySelectorAll('pre')) {
    pre.tabIndex = 0;
  }
}
