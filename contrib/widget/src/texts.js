// The texts table and the translator.  English (locales/en.js) is the
// base: every key exists there.  A language's file (locales/<code>.js)
// replaces what it translates, then the site's own texts (data-texts,
// data-text-KEY: config.js) replace any of them, for every language or for
// one (see README.md).  {name} placeholders are filled by format(); a value
// that is an object ({one: "…", other: "…"}) is a plural, chosen with
// Intl.PluralRules by the {count} it is given.

import en from "./locales/en.js";

export const DEFAULT_TEXTS = en;

const PLURAL_KEYS = new Set(["zero", "one", "two", "few", "many", "other"]);

// Older names a site may still use in data-texts.
const ALIASES = { rateStar: ["rateStars", "one"] };

function isPlural(v) {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => PLURAL_KEYS.has(k) && typeof v[k] === "string");
}

/** Replaces {name} placeholders with vars[name]; unknown ones stay as they are. */
export function format(template, vars = {}, numberFormat = null) {
  return String(template).replace(/\{([a-zA-Z0-9_]+)\}/g, (whole, key) => {
    if (!Object.prototype.hasOwnProperty.call(vars, key)) return whole;
    const v = vars[key];
    return typeof v === "number" && numberFormat ? numberFormat.format(v) : String(v);
  });
}

/**
 * Builds the texts table: English, then each override object in order.
 * Only known keys with a string (or plural object) value are taken, so a
 * typo is reported, not silently ignored.  Returns { texts, unknown: [keys] }.
 */
export function mergeTexts(...overrides) {
  const texts = { ...DEFAULT_TEXTS };
  const unknown = [];
  for (const o of overrides) {
    if (!o || typeof o !== "object") continue;
    for (const [k, v] of Object.entries(o)) {
      if (Object.prototype.hasOwnProperty.call(ALIASES, k) && typeof v === "string") {
        const [key, category] = ALIASES[k];
        const base = isPlural(texts[key]) ? texts[key] : { other: String(texts[key]) };
        texts[key] = { ...base, [category]: v };
      } else if (!Object.prototype.hasOwnProperty.call(DEFAULT_TEXTS, k)) unknown.push(k);
      else if (typeof v === "string" || isPlural(v)) texts[k] = v;
    }
  }
  return { texts, unknown };
}

/**
 * The texts for one language: English, the language's file (`locale`, an
 * object of texts or null), then the site's texts for every language
 * (siteTexts.all) and for this one (siteTexts.byLang[lang]).
 */
export function textsFor(lang, locale = null, siteTexts = null) {
  const all = siteTexts && siteTexts.all;
  const own = siteTexts && siteTexts.byLang && siteTexts.byLang[lang];
  return mergeTexts(locale, all, own);
}

/**
 * A translator bound to a texts table and a locale: t("agentJoined",
 * {name}); t("waitMinutes", {count: 5}) picks the plural form for 5 in
 * that locale.  Numbers in vars are written the locale's way.
 */
export function translator(texts, locale = "en") {
  let rules = null;
  let numbers = null;
  try {
    rules = new Intl.PluralRules(locale);
    numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  } catch {
    rules = new Intl.PluralRules("en");
  }
  const t = (key, vars = {}) => {
    let v = texts[key] ?? DEFAULT_TEXTS[key] ?? key;
    if (isPlural(v)) {
      const n = Number(vars.count);
      v = v[Number.isFinite(n) ? rules.select(n) : "other"] ?? v.other ?? Object.values(v)[0];
    }
    return format(v, vars, numbers);
  };
  t.texts = texts;
  t.locale = locale;
  return t;
}
