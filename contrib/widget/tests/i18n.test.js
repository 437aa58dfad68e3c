// The customer's language: which one the widget picks, the translations
// (complete, same placeholders, the plural forms each language has), the
// plural rules and the number, date and time formats in use, and
// right-to-left.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { JSDOM } from "jsdom";
import { LANGUAGES, chooseLanguage, languageCandidates, pickLanguage } from "../src/lang.js";
import { DEFAULT_TEXTS, mergeTexts, textsFor, translator } from "../src/texts.js";
import LAUNCHER_TEXTS from "../src/launcher-texts.js";

const locales = {};
for (const lang of LANGUAGES) locales[lang] = (await import(`../src/locales/${lang}.js`)).default;

const placeholders = (v) => new Set([...(typeof v === "string" ? [v] : Object.values(v)).join(" ").matchAll(/\{([a-zA-Z0-9_]+)\}/g)].map((m) => m[1]));

test("i18n: the 14 languages, one file each, nothing else in locales/", () => {
  assert.deepEqual(LANGUAGES, ["en", "de", "fr", "es", "it", "nl", "pt", "pl", "ru", "uk", "tr", "ar", "zh", "ja"]);
  assert.deepEqual(readdirSync(new URL("../src/locales/", import.meta.url)).sort(), LANGUAGES.map((l) => `${l}.js`).sort());
});

test("i18n: every language translates every text, with the same placeholders, and none is left in English", () => {
  const keys = Object.keys(DEFAULT_TEXTS);
  for (const [lang, texts] of Object.entries(locales)) {
    assert.deepEqual(Object.keys(texts), keys, `${lang}: the same keys, in the same order as en.js`);
    if (lang === "en") continue;
    for (const k of keys) {
      const v = texts[k];
      assert.ok(typeof v === "string" || (v && typeof v === "object"), `${lang}.${k}`);
      // Plural forms and the placeholders they fill: {count} may be written
      // out in a form ("one": "eine Minute"), never a new one invented.
      const want = placeholders(DEFAULT_TEXTS[k]);
      const got = placeholders(v);
      for (const p of got) assert.ok(want.has(p), `${lang}.${k}: unknown placeholder {${p}}`);
      for (const p of want) if (p !== "count") assert.ok(got.has(p), `${lang}.${k}: {${p}} is missing`);
      if (typeof v === "object") assert.ok(typeof v.other === "string", `${lang}.${k}: a plural needs "other"`);
    }
    // Words that are the same in English are fine ("Support", "Ticket {ticket}"); most are not.
    const same = keys.filter((k) => JSON.stringify(texts[k]) === JSON.stringify(DEFAULT_TEXTS[k]));
    assert.ok(same.length <= 4, `${lang}: still English: ${same.join(", ")}`);
  }
});

test("i18n: plural forms: each language gives the categories its plural rules use", () => {
  for (const [lang, texts] of Object.entries(locales)) {
    const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
    for (const [k, v] of Object.entries(texts)) {
      if (typeof v !== "object") continue;
      for (const c of Object.keys(v)) assert.ok(categories.includes(c), `${lang}.${k}: "${c}" is no plural category of ${lang} (${categories})`);
      // The categories that counts of messages, minutes and stars hit (0–200).
      const hit = new Set(Array.from({ length: 201 }, (_, n) => new Intl.PluralRules(lang).select(n)));
      for (const c of hit) if (c !== "zero" || k !== "rateStars") assert.ok(v[c] !== undefined || (c === "many" && ["fr", "es", "it", "pt"].includes(lang)), `${lang}.${k}: no form for "${c}"`);
    }
  }
});

test("i18n: plural rules in use: Russian, Polish, Arabic, English", () => {
  const ru = translator({ ...DEFAULT_TEXTS, ...locales.ru }, "ru");
  assert.equal(ru("rateStars", { count: 1 }), "1 звезда");
  assert.equal(ru("rateStars", { count: 3 }), "3 звезды");
  assert.equal(ru("rateStars", { count: 5 }), "5 звёзд");
  assert.equal(ru("launcherUnread", { count: 21 }), "Напишите нам (21 непрочитанное сообщение)");
  assert.equal(ru("waitMinutes", { count: 12 }), "Примерное время ожидания: около 12 минут.");
  const pl = translator({ ...DEFAULT_TEXTS, ...locales.pl }, "pl");
  assert.equal(pl("launcherUnread", { count: 2 }), "Porozmawiaj z nami (2 nieprzeczytane wiadomości)");
  assert.equal(pl("launcherUnread", { count: 5 }), "Porozmawiaj z nami (5 nieprzeczytanych wiadomości)");
  assert.equal(pl("launcherUnread", { count: 22 }), "Porozmawiaj z nami (22 nieprzeczytane wiadomości)");
  const ar = translator({ ...DEFAULT_TEXTS, ...locales.ar }, "ar");
  assert.equal(ar("rateStars", { count: 2 }), "نجمتان");
  assert.equal(ar("rateStars", { count: 3 }), `${new Intl.NumberFormat("ar").format(3)} نجوم`, "few, in Arabic digits");
  assert.equal(ar("launcherUnread", { count: 1 }), "تحدث معنا (رسالة واحدة غير مقروءة)");
  assert.equal(ar("waitMinutes", { count: 11 }), `مدة الانتظار المتوقعة: ${new Intl.NumberFormat("ar").format(11)} دقيقة تقريبًا.`);
  const en = translator(DEFAULT_TEXTS, "en");
  assert.equal(en("launcherUnread", { count: 1 }), "Chat with us (1 unread message)");
  assert.equal(en("launcherUnread", { count: 1000 }), "Chat with us (1,000 unread messages)", "numbers the locale's way");
  assert.equal(en("ticket", { ticket: "1234" }), "Ticket 1234", "a ticket number is an identifier, written as it is");
});

test("i18n: a site's text may be a plural too; an old rateStar override becomes the 'one' form", () => {
  const { texts, unknown } = mergeTexts({ rateStars: { one: "{count} étoile", other: "{count} étoiles" } }, { rateStar: "une étoile" });
  assert.deepEqual(unknown, []);
  const t = translator(texts, "fr");
  assert.equal(t("rateStars", { count: 1 }), "une étoile");
  assert.equal(t("rateStars", { count: 4 }), "4 étoiles");
  assert.deepEqual(mergeTexts({ rateStars: { few: 3 } }).texts.rateStars, DEFAULT_TEXTS.rateStars, "not a plural: ignored");
});

test("i18n: the language: data-lang, else the page's lang, else the browser's; the first the widget ships", () => {
  const doc = (lang) => new JSDOM(`<!doctype html><html${lang ? ` lang="${lang}"` : ""}><body></body></html>`).window.document;
  const nav = (languages) => ({ languages, language: languages[0] });
  assert.deepEqual(pickLanguage({ doc: doc("de-AT"), nav: nav(["fr-FR", "en"]) }), { lang: "de", locale: "de-AT", dir: "ltr" }, "the page first");
  assert.deepEqual(pickLanguage({ doc: doc(null), nav: nav(["sv-SE", "pt-BR", "en"]) }), { lang: "pt", locale: "pt-BR", dir: "ltr" }, "then the browser, skipping what is not shipped");
  assert.deepEqual(pickLanguage({ doc: doc("sv"), nav: nav(["nb"]) }), { lang: "en", locale: "en", dir: "ltr" }, "English when nothing matches");
  assert.deepEqual(pickLanguage({ configured: "ja", doc: doc("de"), nav: nav(["fr"]) }), { lang: "ja", locale: "ja", dir: "ltr" }, "the site's data-lang wins");
  assert.deepEqual(pickLanguage({ configured: "auto", doc: doc("ar-EG") }), { lang: "ar", locale: "ar-EG", dir: "rtl" }, "auto: as if not set; Arabic is right to left");
  assert.deepEqual(pickLanguage({ configured: "sv", doc: doc("de") }), { lang: "en", locale: "sv", dir: "ltr" }, "a configured language the widget lacks: the site brings its texts, dates are Swedish");
  assert.deepEqual(pickLanguage({ allowed: ["en", "fr"], doc: doc("de"), nav: nav(["fr-CA"]) }), { lang: "fr", locale: "fr-CA", dir: "ltr" }, "data-languages: only those the site offers");
  assert.deepEqual(pickLanguage({ doc: doc("zh-Hans-CN") }), { lang: "zh", locale: "zh-Hans-CN", dir: "ltr" });
  assert.deepEqual(languageCandidates({ configured: "auto", doc: doc("it"), nav: { languages: ["es"], language: "es" } }), ["it", "es", "es"]);
  assert.deepEqual(chooseLanguage(["en-x-bad!", "DE-ch"]), { lang: "de", locale: "de-CH", dir: "ltr" }, "tags that are not tags are skipped; case made canonical");
});

test("i18n: the texts for a language: English, the translation, the site's texts for all, then for that language", () => {
  const site = { all: { title: "Help" }, byLang: { de: { title: "Hilfe", send: "Ab geht's" } } };
  const de = textsFor("de", locales.de, site).texts;
  assert.equal(de.title, "Hilfe");
  assert.equal(de.send, "Ab geht's");
  assert.equal(de.endChat, "Chat beenden", "the German file");
  assert.equal(textsFor("fr", locales.fr, site).texts.title, "Help", "the site's text for every language");
  assert.equal(textsFor("fr", null, {}).texts.endChat, "End chat", "no file: English");
});

test("i18n: the launcher knows its own name in every language, without the translations", () => {
  for (const lang of LANGUAGES) assert.equal(LAUNCHER_TEXTS[lang], locales[lang].launcherLabel, lang);
});

test("i18n: dates and times in the customer's locale", () => {
  const when = new Date(Date.UTC(2026, 10, 22, 15, 4));
  const time = (locale) => new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit", timeZone: "UTC" }).format(when);
  assert.equal(time("de-DE"), "15:04");
  assert.match(time("en-US"), /^3:04\s?PM$/);
  assert.equal(time("ja"), "15:04");
});
