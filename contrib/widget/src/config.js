// Configuration from the data-* attributes of the widget's <script> tag.
// parseConfig() is pure: it takes the tag's dataset (a plain object of
// camelCased keys, as the DOM gives it) and returns the configuration and a
// list of problems.  A problem with a required key stops the widget from
// mounting; the rest are warnings.

// The launcher parses the configuration (a missing attribute is said at
// once), so this stays small: the texts a site gives are only collected
// here, and checked against the text keys when the chat loads (texts.js).

import { LANGUAGES, baseLanguage, isLanguageTag } from "./lang.js";

export const DEFAULTS = Object.freeze({
  websocket: "",
  domain: "",
  service: "",
  queue: "",
  lang: null, // null: chosen from the page and the browser (lang.js)
  languages: null, // null: every language the widget ships
  color: "#1d4ed8",
  colorText: "#ffffff",
  position: null, // null: the end side (right; left in a right-to-left language)
  open: false,
  sound: false,
  zIndex: 2147483000,
  prefill: {},
  texts: { all: {}, byLang: {} },
});

const BARE_JID = /^[^\s@/"&'<>:]+@[^\s@/"&'<>]+$/;
const DOMAIN = /^[^\s@/"&'<>]+$/;
// Only plain colour syntaxes: the value lands in a CSS custom property,
// so anything that could close a declaration (;, }, url(...)) is refused.
const COLOR = /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/deg]+\))$/;

function kebab(camel) {
  return camel.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

function lowerFirst(s) {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function parseJson(value, name, problems) {
  if (value === undefined || value === "") return {};
  try {
    const v = JSON.parse(value);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch {
    /* reported below */
  }
  problems.push({ key: name, fatal: false, message: `data-${kebab(name)} is not a JSON object; ignored` });
  return {};
}

function parseBool(value) {
  if (value === undefined) return undefined;
  return value === "" || /^(1|true|yes|on)$/i.test(value);
}

/**
 * dataset: { websocket, domain, service, queue, lang, languages, color,
 *            colorText, position, open, sound, zIndex, texts (JSON),
 *            textKEY..., prefill (JSON), prefillVAR... }
 * Returns { config, problems: [{key, fatal, message}] }.
 */
export function parseConfig(dataset = {}) {
  const problems = [];
  const fatal = (key, message) => problems.push({ key, fatal: true, message });
  const warn = (key, message) => problems.push({ key, fatal: false, message });
  const get = (k) => (typeof dataset[k] === "string" ? dataset[k].trim() : undefined);

  const config = { ...DEFAULTS, prefill: {}, texts: { all: {}, byLang: {} } };

  const ws = get("websocket");
  if (!ws) fatal("websocket", "data-websocket (the XMPP WebSocket URL) is required");
  else {
    let url = null;
    try {
      url = new URL(ws);
    } catch {
      /* below */
    }
    if (!url || (url.protocol !== "ws:" && url.protocol !== "wss:"))
      fatal("websocket", `data-websocket must be a ws:// or wss:// URL, not "${ws}"`);
    else config.websocket = url.href;
  }

  const domain = get("domain");
  if (!domain) fatal("domain", "data-domain (the anonymous XMPP host) is required");
  else if (!DOMAIN.test(domain)) fatal("domain", `data-domain is not a domain: "${domain}"`);
  else config.domain = domain.toLowerCase();

  const queue = get("queue");
  if (!queue) fatal("queue", "data-queue (the queue JID, like billing@support.example.org) is required");
  else if (!BARE_JID.test(queue)) fatal("queue", `data-queue is not a bare JID: "${queue}"`);
  else config.queue = queue.toLowerCase();

  const service = get("service");
  if (service) {
    if (!DOMAIN.test(service)) fatal("service", `data-service is not a domain: "${service}"`);
    else config.service = service.toLowerCase();
  } else if (config.queue) {
    config.service = config.queue.slice(config.queue.indexOf("@") + 1);
  }

  const lang = get("lang");
  if (lang && lang !== "auto") {
    if (isLanguageTag(lang)) config.lang = lang;
    else warn("lang", `data-lang is not a language tag: "${lang}"`);
  }

  const languages = get("languages");
  if (languages) {
    const wanted = languages.split(/[\s,]+/).filter(Boolean);
    const known = wanted.map(baseLanguage).filter((l) => l && LANGUAGES.includes(l));
    for (const w of wanted) if (!LANGUAGES.includes(baseLanguage(w))) warn("languages", `data-languages: the widget has no "${w}" texts`);
    if (known.length) config.languages = [...new Set(known)];
  }

  const sound = parseBool(dataset.sound);
  if (sound !== undefined) config.sound = sound;

  for (const key of ["color", "colorText"]) {
    const v = get(key);
    if (v === undefined || v === "") continue;
    if (COLOR.test(v)) config[key] = v;
    else warn(key, `data-${kebab(key)} is not a colour: "${v}"`);
  }

  const position = get("position");
  if (position) {
    if (position === "left" || position === "right") config.position = position;
    else warn("position", `data-position must be "left" or "right", not "${position}"`);
  }

  const open = parseBool(dataset.open);
  if (open !== undefined) config.open = open;

  const z = get("zIndex");
  if (z) {
    if (/^-?\d{1,10}$/.test(z)) config.zIndex = Number(z);
    else warn("zIndex", `data-z-index is not an integer: "${z}"`);
  }

  // Texts: data-texts (JSON) first, then each data-text-KEY attribute, for
  // every language; a language code in data-texts holding an object
  // ({"de": {"send": "Abschicken"}}) gives texts for that language only.
  for (const [k, v] of Object.entries(parseJson(dataset.texts, "texts", problems))) {
    if (LANGUAGES.includes(k) && v && typeof v === "object" && !Array.isArray(v)) config.texts.byLang[k] = { ...v };
    else config.texts.all[k] = v;
  }
  for (const [k, v] of Object.entries(dataset)) {
    if (k.length > 4 && k.startsWith("text") && k !== "texts" && /^[A-Z]/.test(k.charAt(4)))
      config.texts.all[lowerFirst(k.slice(4))] = v;
  }

  // Prefilled form values: data-prefill (JSON) then data-prefill-VAR.
  const prefill = parseJson(dataset.prefill, "prefill", problems);
  for (const [k, v] of Object.entries(dataset)) {
    if (k.length > 7 && k.startsWith("prefill") && /^[A-Z]/.test(k.charAt(7)))
      prefill[kebab(lowerFirst(k.slice(7)))] = v;
  }
  for (const [k, v] of Object.entries(prefill)) {
    if (typeof v === "string") config.prefill[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") config.prefill[k] = String(v);
  }

  return { config, problems };
}

/** The storage key of a queue's chat in sessionStorage. */
export function storageKey(config) {
  return `mucdesk:${config.queue}`;
}
