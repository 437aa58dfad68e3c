// The widget in the customer's language, and being noticed (issue 15), in
// Debian's Chromium against the real desk (PostgreSQL, Prosody, mucdesk,
// a slixmpp agent; lib/env.mjs): a German page, an Arabic one (right to
// left, mirrored), a page that names no language (the browser's
// languages decide), the unread count on the launcher and in the title
// while the panel is closed or the tab hidden, a desktop notification,
// a knowledge-base article as a readable link, and the end said once.
//
// Headless Chromium keeps every tab visible (Playwright has no way to hide
// one, microsoft/playwright#2286): "the tab hidden" is the page's
// document.visibilityState set to "hidden" and a visibilitychange event,
// which is all the widget reads.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LAYER, startEnv } from "./lib/env.mjs";
import { $, fillForm, shooter, shownMessages, stored, until, untilMessages, watchErrors } from "./lib/widget.mjs";

const RESULTS = process.env.BROWSER_RESULTS || join(process.cwd(), "results");
const shot = shooter(join(RESULTS, LAYER));
const AGENT = "Alex";

let env = null;
let anyFailed = false;
const body = (fn) => async (t) => {
  try {
    await fn(t);
  } catch (e) {
    anyFailed = true;
    throw e;
  }
};

before(async () => {
  env = await startEnv(RESULTS, { logs: `${LAYER}/languages` });
  await env.desk.call("agent_join_queue", {});
});

after(async () => {
  if (env) await env.stop(true);
});

const agent = {
  accept: (room) => env.desk.call("agent_accept", { room }),
  say: (room, text) => env.desk.call("agent_say", { room, body: text }),
  command: (room, text) => env.desk.call("agent_command", { room, text }),
  receives: (room, text, nick = "Ann") => env.desk.call("agent_expect_message", { room, nick, body: text }),
};

async function newPage(options = {}) {
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  return { ctx, page, errors };
}

/** The tab goes to the background (or comes back), as far as the page can tell. */
async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

/** Fills the form (its labels in any language: by field name) and waits for the room. */
async function startChat(page, question) {
  await $(page, ".md-launcher").click();
  await $(page, ".md-form").waitFor();
  await fillForm(page, { question });
  await until(async () => (await stored(page))?.room, "the chat's room");
  return stored(page);
}

// ------------------------------------------------------------------------
describe("a German page", () => {
  test("the widget in German: launcher, the desk's questions, the queue's position from its desk event, the chat, a knowledge-base link, the end said once", body(async () => {
    const { ctx, page, errors } = await newPage();
    await page.goto(`${env.url}?lang=de`);
    await $(page, ".md-launcher").waitFor();
    assert.equal(await $(page, ".md-launcher").getAttribute("aria-label"), "Chatten Sie mit uns");
    assert.equal(await page.locator("#mucdesk-widget").getAttribute("lang"), "de");
    await $(page, ".md-launcher").click();
    await $(page, ".md-form").waitFor();
    for (const label of ["Ihr Name", "E-Mail", "Ihre Frage"]) await $(page, ".md-form").getByLabel(label).waitFor();
    assert.equal(await $(page, ".md-form button[type=submit]").textContent(), "Chat starten");
    await shot(page, "20-de-form");
    await fillForm(page, { question: "Meine Rechnung stimmt nicht 😕" });
    // The desk's <desk event='queue' position='1'/>, not its English body.
    await $(page, ".md-banner").getByText("Sie sind als Nächstes an der Reihe.").waitFor();
    const { room } = await stored(page);
    await agent.accept(room);
    await $(page, ".md-banner").getByText(`Sie chatten mit ${AGENT}.`).waitFor();
    await $(page, ".md-notice").getByText(`${AGENT} ist dem Chat beigetreten.`).waitFor();
    await agent.say(room, "Hallo Ann, ich sehe mir das an.");
    await $(page, "#md-input").fill("Danke!");
    await $(page, "#md-input").press("Enter");
    await agent.receives(room, "Danke!");
    // A knowledge-base article, as the desk sends it today: "Title?: URL" + XEP-0066.
    const id = await env.desk.call("kb_add", { title: "Wie bekomme ich eine Erstattung?", url: "https://example.org/hilfe/erstattung" });
    await agent.command(room, `/kb send ${id}`);
    const card = $(page, ".md-agent .md-card");
    await card.waitFor();
    assert.equal(await card.getAttribute("href"), "https://example.org/hilfe/erstattung");
    assert.equal(await card.locator(".md-card-title").textContent(), "Wie bekomme ich eine Erstattung?");
    assert.doesNotMatch(await $(page, ".md-log").textContent(), /\?: https/, "not 'Title?: https://…'");
    const time = await $(page, ".md-agent time").first().textContent();
    assert.match(time, /^\d{1,2}:\d\d$/, `a German time: ${time}`);
    await shot(page, "21-de-chat");
    await agent.command(room, "/close resolved");
    await $(page, ".md-ended").waitFor({ state: "visible" });
    assert.equal(await $(page, ".md-banner").textContent(), "Dieser Chat ist beendet.");
    // The desk says "This chat has ended. Thank you!" (with <desk event='closed'/>),
    // tells it again to the customer, and gives the room's destruction a
    // reason: the customer reads the end once, in German.
    const panel = await $(page, ".md-panel").textContent();
    assert.equal((panel.match(/beendet|ended/gi) || []).length, 1, `the end said once: ${panel}`);
    await shot(page, "22-de-ended");
    assert.deepEqual(errors, []);
    await ctx.close();
  }));
});

// ------------------------------------------------------------------------
describe("an Arabic page", () => {
  test("right to left: the launcher in the left corner, the panel mirrored, Arabic texts and digits", body(async () => {
    const { ctx, page, errors } = await newPage();
    await page.goto(`${env.url}?lang=ar`);
    await $(page, ".md-launcher").waitFor();
    assert.equal(await page.locator("#mucdesk-widget").getAttribute("dir"), "rtl");
    assert.equal(await $(page, ".md-launcher").getAttribute("aria-label"), "تحدث معنا");
    const launcher = await $(page, ".md-launcher").boundingBox();
    assert.ok(launcher.x < 100, `the launcher on the left: ${JSON.stringify(launcher)}`);
    const { room } = await startChat(page, "أين طلبي؟");
    await $(page, ".md-banner").getByText("أنت التالي في قائمة الانتظار.").waitFor();
    await agent.accept(room);
    await $(page, ".md-banner").getByText(`أنت تتحدث مع ${AGENT}.`).waitFor();
    await agent.say(room, "مرحبًا آن، سأتحقق من طلبك الآن.");
    await $(page, "#md-input").fill("شكرًا جزيلًا!");
    await $(page, "#md-input").press("Enter");
    await agent.receives(room, "شكرًا جزيلًا!");
    await untilMessages(page, [`${AGENT}: مرحبًا آن، سأتحقق من طلبك الآن.`, "أنت: شكرًا جزيلًا!"]);
    // Mirrored: the customer's own messages on the left, the agent's on the
    // right, the close button at the header's left end.
    const panel = await $(page, ".md-panel").boundingBox();
    const mine = await $(page, ".md-me .md-bubble").boundingBox();
    const theirs = await $(page, ".md-agent .md-bubble").boundingBox();
    const close = await $(page, ".md-close").boundingBox();
    assert.ok(panel.x < 100, "the panel on the left");
    assert.ok(mine.x - panel.x < 30, `own message at the left: ${JSON.stringify({ panel, mine })}`);
    assert.ok(panel.x + panel.width - (theirs.x + theirs.width) < 30, `the agent's at the right: ${JSON.stringify({ panel, theirs })}`);
    assert.ok(close.x - panel.x < 60, "close at the left end of the header");
    const stamp = await $(page, ".md-me time").first().textContent();
    const want = await $(page, ".md-me time").first().evaluate((t) => new Intl.DateTimeFormat("ar", { hour: "numeric", minute: "2-digit" }).format(new Date(t.getAttribute("datetime"))));
    assert.equal(stamp, want, "the time the Arabic way (the browser's own digits)");
    assert.match(stamp, /[صم]/, `with the Arabic morning/evening mark: ${stamp}`);
    await shot(page, "23-ar-chat");
    await agent.command(room, "/close resolved");
    await $(page, ".md-ended").waitFor({ state: "visible" });
    assert.equal(await $(page, ".md-banner").textContent(), "انتهت هذه المحادثة.");
    await shot(page, "24-ar-ended");
    assert.deepEqual(errors, []);
    await ctx.close();
  }));
});

// ------------------------------------------------------------------------
describe("a page that names no language", () => {
  test("the browser's languages decide: Portuguese for pt-BR, English for Swedish", body(async () => {
    for (const [locale, label] of [["pt-BR", "Fale conosco"], ["sv-SE", "Chat with us"]]) {
      const { ctx, page } = await newPage({ locale });
      await page.goto(`${env.url}?lang=none`);
      await $(page, ".md-launcher").waitFor();
      assert.equal(await $(page, ".md-launcher").getAttribute("aria-label"), label, locale);
      await ctx.close();
    }
  }));
});

// ------------------------------------------------------------------------
describe("being noticed", () => {
  test("unread count on the launcher and in the title while the panel is closed or the tab hidden; a desktop notification once allowed", body(async () => {
    const { ctx, page, errors } = await newPage();
    await ctx.grantPermissions(["notifications"], { origin: new URL(env.url).origin });
    // Records what the page shows as notifications (headless Chromium has no screen for them).
    await page.addInitScript(() => {
      window.__notes = [];
      const Real = window.Notification;
      window.Notification = class extends Real {
        constructor(title, options) {
          super(title, options);
          window.__notes.push({ title, body: options && options.body });
        }
      };
    });
    await page.goto(env.url);
    const { room } = await startChat(page, "Where is my parcel?");
    await agent.accept(room);
    await $(page, ".md-banner").getByText(`You are chatting with ${AGENT}.`).waitFor();
    const title = await page.title();

    // The panel closed: counted on the launcher and in the title.
    await $(page, ".md-close").click();
    await agent.say(room, "I found your parcel.");
    await agent.say(room, "It arrives tomorrow.");
    await until(async () => (await $(page, ".md-badge").textContent()) === "2", "the badge to count 2");
    assert.equal(await $(page, ".md-launcher").getAttribute("aria-label"), "Chat with us (2 unread messages)");
    assert.equal(await page.title(), `(2) ${title}`);
    await shot(page, "25-unread-badge");
    await $(page, ".md-launcher").click();
    await until(async () => (await page.title()) === title, "the title back");
    assert.equal(await $(page, ".md-badge").isHidden(), true);

    // Notifications: turned on by the customer's click (which asks the browser).
    await $(page, ".md-alerts-button").click();
    await $(page, "#md-notify").check();
    assert.equal(await page.evaluate(() => Notification.permission), "granted");
    // The tab hidden, the panel open: the title counts, a notification says who and what.
    await setHidden(page, true);
    await agent.say(room, "Anything else I can do?");
    await until(async () => (await page.title()) === `(1) ${title}`, "the title to count 1");
    await until(async () => (await page.evaluate(() => window.__notes.length)) === 1, "a notification");
    assert.deepEqual(await page.evaluate(() => window.__notes[0]), { title: `${AGENT} replied`, body: "Anything else I can do?" });
    await setHidden(page, false);
    await until(async () => (await page.title()) === title, "the title back when the tab is looked at");
    assert.deepEqual(errors, []);
    await ctx.close();
  }));
});

test("mucdesk stops cleanly: exit status 0, no sanitizer report", async () => {
  const problems = await env.stop(anyFailed);
  assert.deepEqual(problems, []);
});
