// The launcher's own words in every language (its button's name): the
// launcher is on every page and knows the language before any translation
// is loaded.  build.mjs replaces this module, in the launcher's bundle, by
// the object it exports (computed at build time), so the launcher holds
// these few words per language, not the translations they come from.

import ar from "./locales/ar.js";
import de from "./locales/de.js";
import en from "./locales/en.js";
import es from "./locales/es.js";
import fr from "./locales/fr.js";
import it from "./locales/it.js";
import ja from "./locales/ja.js";
import nl from "./locales/nl.js";
import pl from "./locales/pl.js";
import pt from "./locales/pt.js";
import ru from "./locales/ru.js";
import tr from "./locales/tr.js";
import uk from "./locales/uk.js";
import zh from "./locales/zh.js";

const ALL = { en, de, fr, es, it, nl, pt, pl, ru, uk, tr, ar, zh, ja };

/** { de: "Chatten Sie mit uns", … }: the launcher button's name per language. */
export default Object.fromEntries(Object.entries(ALL).map(([lang, texts]) => [lang, texts.launcherLabel]));
