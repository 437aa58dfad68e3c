// Finds links in message text and builds DOM nodes for it.  The text is
// never parsed as HTML: it becomes text nodes and <a> elements whose href
// is set only for http:, https: and mailto: URLs that the URL parser
// accepts.  So "<b>" stays the four characters "<b>", and
// "javascript:..." stays text.

// A URL candidate: a scheme we allow, or www., then anything but
// whitespace, quotes and angle brackets.
const CANDIDATE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+|\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/gi;
const TRAILING = /[.,;:!?'"\u2019\u201d]+$/;

function trimTrailing(url) {
  let u = url;
  for (;;) {
    const before = u;
    u = u.replace(TRAILING, "");
    // A closing bracket ends the URL unless it closes one opened in it:
    // "(see https://x.org/a_(b))" keeps "(b)", "(https://x.org)" drops ")".
    for (const [open, close] of [["(", ")"], ["[", "]"], ["{", "}"]]) {
      while (u.endsWith(close) && u.split(close).length > u.split(open).length) u = u.slice(0, -1);
    }
    if (u === before) return u;
  }
}

export function safeHref(candidate) {
  let href;
  if (candidate.includes("@") && !/^(https?:\/\/|www\.)/i.test(candidate)) href = "mailto:" + candidate;
  else if (/^www\./i.test(candidate)) href = "https://" + candidate;
  else href = candidate;
  try {
    const u = new URL(href);
    if (u.protocol !== "http:" && u.protocol !== "https:" && u.protocol !== "mailto:") return null;
    if ((u.protocol === "http:" || u.protocol === "https:") && !u.hostname) return null;
    return u.href;
  } catch {
    return null;
  }
}

/**
 * Splits text into [{type: "text", text}, {type: "link", text, href}].
 * Concatenating every part's text gives back the input exactly.
 */
export function linkify(input) {
  const text = String(input ?? "");
  const parts = [];
  let last = 0;
  CANDIDATE.lastIndex = 0;
  let m;
  while ((m = CANDIDATE.exec(text)) !== null) {
    const raw = trimTrailing(m[0]);
    if (!raw) continue;
    const href = safeHref(raw);
    if (!href) continue;
    if (m.index > last) parts.push({ type: "text", text: text.slice(last, m.index) });
    parts.push({ type: "link", text: raw, href });
    last = m.index + raw.length;
    CANDIDATE.lastIndex = last;
  }
  if (last < text.length) parts.push({ type: "text", text: text.slice(last) });
  return parts;
}

/**
 * Appends the text to `parent` as text nodes, <br>s for line breaks, and
 * <a target=_blank rel="noopener noreferrer nofollow"> for links.
 */
export function appendRichText(doc, parent, input) {
  for (const part of linkify(input)) {
    if (part.type === "link") {
      const a = doc.createElement("a");
      a.setAttribute("href", part.href);
      a.setAttribute("target", "_blank");
      a.setAttribute("rel", "noopener noreferrer nofollow");
      a.textContent = part.text;
      parent.appendChild(a);
      continue;
    }
    const lines = part.text.split(/\r\n|\r|\n/);
    lines.forEach((line, i) => {
      if (i > 0) parent.appendChild(doc.createElement("br"));
      if (line) parent.appendChild(doc.createTextNode(line));
    });
  }
  return parent;
}
