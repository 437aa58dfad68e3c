// The chat bundle's entry (an ES module the launcher imports on demand,
// build.mjs): the session, the panel and the XMPP library.  mountChat()
// puts the panel into the launcher's shadow root and takes its button over.

import { textsFor } from "./texts.js";
import { createTransport } from "./transport.js";
import { assembleWidget } from "./widget.js";

/**
 * options: { win, doc, config, language ({lang, locale, dir}), locale (the
 * language's texts, locales/<lang>.js; null for English), launcher
 * (launcher-ui.js) }.  Returns the widget: { open, close, toggle,
 * destroy, session, ui }.
 */
export function mountChat({ win, doc, config, language, locale = null, launcher, transportFactory = createTransport }) {
  const { texts, unknown } = textsFor(language.lang, locale, config.texts);
  for (const k of unknown) console.warn(`mucdesk widget: unknown text key "${k}"`);
  return assembleWidget({ win, doc, config, language, texts, launcher, transportFactory });
}
