/**
 * The console's only way to build DOM. Children that are strings become text nodes and attribute
 * values go through setAttribute, so text from the server is never parsed as HTML.
 */

/**
 * @param {string} tag
 * @param {Record<string, string | number | boolean | undefined>} [attributes] `class` sets the class list; `true` sets an empty attribute
 * @param {...(Node | string | number | undefined | null | false)} children
 * @returns {HTMLElement}
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'number' ? String(child) : child);
  }
  return node;
}

/** Looks up an element the page must have; a missing one is a bug in index.html, so it throws. */
export function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`#${id} is missing from the page`);
  return node;
}

/** Arguments as readable, indented JSON. */
export function formatJson(value) {
  return JSON.stringify(value ?? {}, null, 2);
}
