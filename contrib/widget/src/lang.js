// Which language the widget speaks.  Small on purpose: the launcher (the
// part every page loads) decides, before any translation is downloaded;
// the translations themselves are one file per language (locales/),
// loaded when the chat is.

/** The languages the widget ships (locales/<code>.js; English is built in). */
export const LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "pl", "ru", "uk", "tr", "ar", "zh", "ja"];

/** Written right to left: the panel is mirrored (dir="rtl"). */
const RTL = new Set(["ar", "fa", "he", "ur"]);

const TAG = /^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$/;

/** "pt-BR" -> "pt"; null for anything that is not a language tag. */
export function baseLanguage(tag) {
  if (typeof tag !== "string" || !TAG.test(tag.trim())) return null;
  return tag.trim().split("-")[0].toLowerCase();
}

export function isLanguageTag(tag) {
  return typeof tag === "string" && TAG.test(tag.trim());
}

/**
 * Picks the language from candidate tags, best first (the site's
 * data-lang, the page's <html lang>, the browser's navigator.languages):
 * the first whose language the widget ships and the site allows.
 * Returns { lang: "de" (the translation), locale: "de-AT" (the tag given,
 * for dates, times and numbers), dir: "ltr" | "rtl" }; English when
 * nothing matches.
 */
export function chooseLanguage(candidates, allowed = LANGUAGES) {
  const ok = allowed && allowed.length ? allowed : LANGUAGES;
  for (const c of candidates) {
    const base = baseLanguage(c);
    if (base && ok.includes(base)) return { lang: base, locale: canonical(c.trim()), dir: RTL.has(base) ? "rtl" : "ltr" };
  }
  const lang = ok.includes("en") ? "en" : ok[0];
  return { lang, locale: lang, dir: RTL.has(lang) ? "rtl" : "ltr" };
}

/** A tag Intl accepts ("de-at" -> "de-AT"), or the base language if Intl refuses it. */
function canonical(tag) {
  try {
    return Intl.getCanonicalLocales(tag)[0] || baseLanguage(tag);
  } catch {
    return baseLanguage(tag);
  }
}

/**
 * The candidates, in order: the configured language (unless "auto"), the
 * page's lang attribute, then the browser's preferences.
 */
export function languageCandidates({ configured = null, doc = null, nav = null } = {}) {
  const page = doc && doc.documentElement && doc.documentElement.getAttribute("lang");
  const browser = nav ? [...(nav.languages || []), nav.language] : [];
  return [configured !== "auto" && configured, page, ...browser].filter((c) => typeof c === "string" && c.trim());
}

/**
 * The language for this page: { lang, locale, dir } as chooseLanguage()
 * says, except that a language the site configures (data-lang) wins over
 * everything, even one the widget does not ship: the site then supplies
 * the texts (data-texts), English fills the gaps, and dates, times and the
 * lang attribute follow the configured tag, as they always did.
 */
export function pickLanguage({ configured = null, allowed = null, doc = null, nav = null } = {}) {
  const base = configured && configured !== "auto" ? baseLanguage(configured) : null;
  if (base) {
    return { lang: LANGUAGES.includes(base) ? base : "en", locale: canonical(configured.trim()), dir: RTL.has(base) ? "rtl" : "ltr" };
  }
  return chooseLanguage(languageCandidates({ doc, nav }), allowed);
}
