// The HTML a site pastes to get the widget for one queue.  The daemon's
// `widget-snippet` ad-hoc command and `mucdeskctl widget-snippet` print the
// very same text (doc/widget-protocol.md, "The embed snippet"); the vectors
// in tests/snippet-vectors.json pin it down for both sides.

/** Escapes a value for a double-quoted HTML attribute. */
export function escapeAttr(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/**
 * { scriptUrl, websocket, domain, service, queue } -> the snippet, ending
 * with a newline.  Attributes in this order, one per line after the first,
 * indented by two spaces; values escaped with escapeAttr().
 */
export function widgetSnippet({ scriptUrl, websocket, domain, service, queue }) {
  const attr = (name, value) => `  ${name}="${escapeAttr(value)}"`;
  return (
    [
      `<script src="${escapeAttr(scriptUrl)}" defer`,
      attr("data-websocket", websocket),
      attr("data-domain", domain),
      attr("data-service", service),
      attr("data-queue", queue),
    ].join("\n") + "></script>\n"
  );
}
