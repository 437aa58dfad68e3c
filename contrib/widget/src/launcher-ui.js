// The launcher's DOM: the host element #mucdesk-widget, its shadow root,
// and the round button in the corner with its unread badge.  The chat
// (ui.js), once loaded, puts its panel and its CSS into the same shadow
// root, next to the button.

import CSS from "./launcher.css";

export const ICON_CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z";
export const ICON_CLOSE = "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z";
const SVG = "http://www.w3.org/2000/svg";

export function icon(doc, path, size, cls = "") {
  const svg = doc.createElementNS(SVG, "svg");
  const attrs = { class: cls, viewBox: "0 0 24 24", width: size, height: size, "aria-hidden": "true", focusable: "false", fill: "currentColor" };
  for (const k in attrs) if (attrs[k]) svg.setAttribute(k, String(attrs[k]));
  const p = doc.createElementNS(SVG, "path");
  p.setAttribute("d", path);
  svg.appendChild(p);
  return svg;
}

/**
 * Mounts the launcher.  options: { doc, config (config.js), language
 * ({lang, locale, dir}: lang.js), label (the button's name), container
 * (default doc.body) }.  Returns { host, root, wrap, button, setLabel(text),
 * setBadge(n), setBusy(bool), setOpen(bool), destroy() }.
 */
export function createLauncher({ doc, config, language, label, container = null }) {
  const host = doc.createElement("div");
  host.id = "mucdesk-widget";
  host.setAttribute("lang", language.locale);
  host.setAttribute("dir", language.dir);
  host.style.setProperty("--md-accent", config.color);
  host.style.setProperty("--md-accent-text", config.colorText);
  host.style.setProperty("--md-z", String(config.zIndex));
  const root = host.attachShadow({ mode: "open" });
  const style = doc.createElement("style");
  style.textContent = CSS;
  const wrap = doc.createElement("div");
  wrap.className = "md-root";
  wrap.setAttribute("dir", language.dir);
  // The corner: the site's choice, else the end side of the reading direction.
  wrap.dataset.position = config.position || (language.dir === "rtl" ? "left" : "right");
  const button = doc.createElement("button");
  button.type = "button";
  button.className = "md-launcher";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "md-panel");
  button.setAttribute("aria-label", label);
  button.append(icon(doc, ICON_CHAT, 28, "md-icon-chat"), icon(doc, ICON_CLOSE, 28, "md-icon-close"));
  const badge = doc.createElement("span");
  badge.className = "md-badge";
  badge.setAttribute("aria-hidden", "true");
  badge.hidden = true;
  button.appendChild(badge);
  wrap.appendChild(button);
  root.append(style, wrap);
  (container || doc.body).appendChild(host);

  return {
    host,
    root,
    wrap,
    button,
    badge,
    language,
    setLabel(text) {
      button.setAttribute("aria-label", text);
    },
    setBadge(n) {
      badge.textContent = n > 99 ? "99+" : String(n);
      badge.hidden = !n;
    },
    setBusy(busy) {
      if (busy) button.setAttribute("aria-busy", "true");
      else button.removeAttribute("aria-busy");
    },
    setOpen(open) {
      wrap.classList.toggle("md-open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    },
    destroy() {
      host.remove();
    },
  };
}
