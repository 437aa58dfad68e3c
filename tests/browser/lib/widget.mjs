// Helpers for driving the widget in a page: locators into its shadow root,
// what the customer sees, screenshots, and polling waits on conditions.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** The widget's host element; Playwright's CSS locators pierce its open shadow root. */
export const W = (page) => page.locator("#mucdesk-widget");
export const $ = (page, sel) => W(page).locator(sel);

export const STORAGE_KEY = "mucdesk:billing@support.localhost";

/** The chat as the widget stored it (sessionStorage), or null. */
export async function stored(page) {
  return page.evaluate((k) => JSON.parse(sessionStorage.getItem(k) || "null"), STORAGE_KEY);
}

/**
 * The messages of the log as the customer sees them, in order:
 * "Alex: text" for the agent, "You: text" for the customer.
 */
export async function shownMessages(page) {
  return $(page, ".md-log li.md-msg").evaluateAll((lis) =>
    lis.map((li) => `${li.querySelector(".md-nick").textContent}: ${li.querySelector(".md-bubble").textContent}`),
  );
}

/** The texts of the log's notices ("Alex joined the chat."). */
export async function shownNotices(page) {
  return $(page, ".md-log li.md-notice").evaluateAll((lis) => lis.map((li) => li.firstChild.textContent));
}

/** Waits for the widget panel's running animations (its entrance) to finish. */
export async function settled(page) {
  await $(page, ".md-panel").evaluate((el) => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished.catch(() => null))));
}

/**
 * What has the keyboard focus inside the widget: "name" for a form field
 * (its name), "#id" for an element with an id, else its text.
 */
export async function focused(page) {
  return page.evaluate(() => {
    const a = document.getElementById("mucdesk-widget")?.shadowRoot.activeElement;
    if (!a) return null;
    if (a.name && a.type !== "radio") return a.name;
    return a.id ? `#${a.id}` : a.textContent;
  });
}

/** Polls fn (every 50 ms) until it returns a truthy value; returns it. */
export async function until(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out (${ms} ms) waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the customer's log shows exactly `expected` (a list of "Nick: text"). */
export async function untilMessages(page, expected, what = "the messages", ms = 15000) {
  try {
    await until(async () => JSON.stringify(await shownMessages(page)) === JSON.stringify(expected), what, ms);
  } catch (e) {
    e.message += `\n  expected: ${JSON.stringify(expected)}\n  shown:    ${JSON.stringify(await shownMessages(page).catch(() => "?"))}`;
    throw e;
  }
}

/** Screenshots: the whole page, and the widget alone (panel and launcher) for the docs. */
export function shooter(dir) {
  mkdirSync(dir, { recursive: true });
  return async function shot(page, name) {
    const opts = { animations: "disabled", caret: "hide" };
    await page.screenshot({ ...opts, path: join(dir, `${name}.png`) });
    const vp = page.viewportSize();
    // Before the first click there is no panel (the chat is not loaded yet).
    const panel = (await $(page, ".md-panel").count()) ? await $(page, ".md-panel").boundingBox() : null;
    const launcher = (await $(page, ".md-launcher").count()) ? await $(page, ".md-launcher").boundingBox() : null;
    if ((panel || launcher) && vp.width > 480) {
      // The panel and its launcher, in whichever corner they are (the
      // launcher alone, with some page around it, while the panel is closed).
      const boxes = [panel, launcher].filter(Boolean);
      const margin = panel ? 16 : 120;
      const x = Math.max(0, Math.floor(Math.min(...boxes.map((b) => b.x))) - margin);
      const y = Math.max(0, Math.floor(Math.min(...boxes.map((b) => b.y))) - (panel ? 16 : 60));
      const right = Math.min(vp.width, Math.ceil(Math.max(...boxes.map((b) => b.x + b.width))) + margin);
      await page.screenshot({ ...opts, path: join(dir, `${name}.widget.png`), clip: { x, y, width: right - x, height: vp.height - y } });
    }
  };
}

/** Fills the pre-chat form with the mouse and the keyboard's typing, and sends it. */
export async function fillForm(page, { name = "Ann", email = "ann@example.org", question = "My invoice #1234 is wrong 😕" } = {}) {
  await $(page, "input[name=name]").fill(name);
  await $(page, "input[name=email]").fill(email);
  await $(page, "textarea[name=question]").fill(question);
  await $(page, ".md-form button[type=submit]").click();
}

/** Errors the page reported (uncaught exceptions, console errors but the network's own). */
export function watchErrors(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    // Chromium logs failed WebSocket connects and offline requests itself:
    // losing the network is what some tests do on purpose.
    if (m.type() === "error" && !/WebSocket|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION/.test(m.text())) errors.push(m.text());
  });
  return errors;
}
