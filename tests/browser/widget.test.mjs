// The customer widget (contrib/widget) in Debian's Chromium against the real
// desk: PostgreSQL, Prosody (WebSocket, anonymous host), mucdesk (the
// sanitizer build) and an agent that is a real XMPP client (slixmpp).  What
// is checked is what the customer sees in the page and what the desk
// stored in PostgreSQL.  issue 6, "Tests"; doc/widget-protocol.md is the
// contract between the two.
//
// Run by tests/browser/run (tests/run's `browser` layer).  Screenshots of
// each state go to $BROWSER_RESULTS/browser/.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LAYER, startEnv } from "./lib/env.mjs";
import { $, fillForm, focused, settled, shooter, shownMessages, shownNotices, stored, until, untilMessages, watchErrors } from "./lib/widget.mjs";

const RESULTS = process.env.BROWSER_RESULTS || join(process.cwd(), "results");
const SHOTS = join(RESULTS, LAYER);
const SERVER_KEEPS_STREAMS = process.env.MUCDESK_TEST_XMPP_SERVER === "ejabberd";
const shot = shooter(SHOTS);
const AGENT = "Alex";
const DESKTOP = { viewport: { width: 1280, height: 800 } };

let env = null;
let anyFailed = false;

/** A test body that records failure (logs are kept then). */
const body = (fn) => async (t) => {
  try {
    await fn(t);
  } catch (e) {
    anyFailed = true;
    throw e;
  }
};

before(async () => {
  env = await startEnv(RESULTS);
});

after(async () => {
  if (env) await env.stop(true); // only if the last test did not run
});

async function newPage(options = DESKTOP) {
  const ctx = await env.browser.newContext(options);
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  return { ctx, page, errors };
}

async function ticketRow(ticket, cols) {
  const rows = await env.desk.sql(`SELECT ${cols} FROM tickets WHERE id = ${Number(ticket)}`);
  return rows[0] || null;
}

/** Waits until the ticket's row has these column values (strings, as psql prints them). */
async function untilTicket(ticket, expected, what) {
  const cols = Object.keys(expected).join(", ");
  const want = Object.values(expected);
  let row;
  try {
    await until(async () => {
      row = await ticketRow(ticket, cols);
      return row && JSON.stringify(row) === JSON.stringify(want);
    }, what);
  } catch (e) {
    e.message += `\n  ${cols}: expected ${JSON.stringify(want)}, is ${JSON.stringify(row)}`;
    throw e;
  }
}

const agent = {
  joinQueue: (show = null) => env.desk.call("agent_join_queue", { show }),
  leaveQueue: () => env.desk.call("agent_leave_queue"),
  accept: (room) => env.desk.call("agent_accept", { room }),
  say: (room, text) => env.desk.call("agent_say", { room, body: text }),
  command: (room, text) => env.desk.call("agent_command", { room, text }),
  typing: (room, state) => env.desk.call("agent_chatstate", { room, state }),
  seesTyping: (room, state) => env.desk.call("agent_expect_chatstate", { room, nick: "Ann", state }),
  receives: (room, text, nick = "Ann") => env.desk.call("agent_expect_message", { room, nick, body: text }),
  seesCustomer: (room, type) => env.desk.call("agent_expect_presence", { room, nick: "Ann", type }),
  heard: (room) => env.desk.call("agent_messages", { room }),
  clear: () => env.desk.call("agent_clear"),
};

// ------------------------------------------------------------------------
describe("leave a message: no agent online", () => {
  test("the queue's offline form, sent, stored as a QUEUED ticket", body(async () => {
    await agent.leaveQueue();
    const { ctx, page, errors } = await newPage();
    await page.goto(env.url);
    await $(page, ".md-launcher").click();
    await $(page, ".md-form").waitFor();
    assert.equal(await $(page, ".md-form button[type=submit]").textContent(), "Send message");
    const text = await $(page, ".md-scroll").textContent();
    assert.match(text, /Leave a message for Billing/, "the desk's form title");
    assert.match(text, /Nobody from billing can chat right now/, "the queue's offline message");
    await shot(page, "14-leave-message");

    await fillForm(page, { question: "Please call me back about invoice 77." });
    await $(page, ".md-scroll").getByText("Thank you, we have your message.").waitFor();
    const shown = await $(page, ".md-scroll").textContent();
    const ticket = /Your reference number is (\d+)\./.exec(shown)?.[1];
    assert.ok(ticket, `a reference number is shown: ${shown}`);
    assert.match(shown, /we will answer by email/i, "the desk's note");
    await shot(page, "15-message-left");
    await untilTicket(ticket, { status: "QUEUED", customer_name: "Ann", customer_email: "ann@example.org", room: null }, "the message's ticket");
    const [question] = await ticketRow(ticket, "details->>'question'");
    assert.equal(question, "Please call me back about invoice 77.");
    assert.deepEqual(errors, []);
    await ctx.close();
  }));
});

// ------------------------------------------------------------------------
describe("a chat from the form to the rating", () => {
  // One customer's chat, step by step; a step after a failed one is skipped.
  const chat = { broken: false };
  const step = (name, fn) =>
    test(name, async (t) => {
      if (chat.broken) {
        t.skip("an earlier step of this chat failed");
        return;
      }
      try {
        await fn(t);
      } catch (e) {
        chat.broken = true;
        anyFailed = true;
        throw e;
      }
    });

  before(async () => {
    Object.assign(chat, await newPage());
    await agent.joinQueue();
  });
  after(async () => {
    if (chat.ctx) await chat.ctx.close();
  });

  step("pre-chat form: the queue's fields, checked in the page and by the desk", async () => {
    const { page } = chat;
    await page.goto(env.url);
    await $(page, ".md-launcher").waitFor();
    await shot(page, "01-launcher");
    assert.equal(await $(page, ".md-launcher").getAttribute("aria-label"), "Chat with us");
    await $(page, ".md-launcher").click();
    await $(page, ".md-form").waitFor();
    const text = await $(page, ".md-scroll").textContent();
    assert.match(text, /Chat with Billing/, "the desk's form title");
    assert.match(text, /Tell us about your question: the billing team answers\./, "the queue's greeting");
    for (const label of ["Your name", "Email", "Question"]) await $(page, ".md-form").getByLabel(label).waitFor();
    assert.equal(await $(page, "input[name=page]").count(), 0, "hidden fields are not shown");
    await shot(page, "02-form");

    // The page's own checks: required fields, an e-mail address's shape.
    await $(page, "input[name=email]").fill("ann at example");
    await $(page, ".md-form button[type=submit]").click();
    await $(page, ".md-form-error").first().waitFor();
    assert.equal(await $(page, "input[name=name]").getAttribute("aria-invalid"), "true");
    assert.equal(await $(page, "input[name=email]").getAttribute("aria-invalid"), "true");
    await shot(page, "03-form-errors");
    // The desk's: a name it refuses (over 100 characters) is said at the field.
    await fillForm(page, { name: "A".repeat(101) });
    const deskError = $(page, ".md-form").getByText(/at most 100 characters/);
    await deskError.waitFor();
    const errorId = await deskError.getAttribute("id");
    assert.ok(errorId && (await $(page, "input[name=name]").getAttribute("aria-describedby")).split(" ").includes(errorId), "the desk's error is the name field's");
    assert.equal(await $(page, "input[name=name]").getAttribute("aria-invalid"), "true");
    assert.equal(await $(page, "input[name=email]").inputValue(), "ann@example.org", "the form keeps what was typed");
  });

  step("waiting: the ticket, the position, the session details stored", async () => {
    const { page } = chat;
    await fillForm(page);
    await $(page, ".md-banner").getByText("You are next in the queue.").waitFor();
    const s = await stored(page);
    assert.ok(s && s.token && s.room && s.ticket, "the chat is kept in sessionStorage");
    Object.assign(chat, { room: s.room, ticket: s.ticket });
    assert.equal(await $(page, ".md-subtitle").textContent(), `Ticket #${s.ticket}: My invoice #1234 is wrong 😕`);
    await shot(page, "04-waiting");
    await untilTicket(s.ticket, { status: "QUEUED", customer_name: "Ann", customer_email: "ann@example.org" }, "the new ticket");
    const [page_, browser, question] = await ticketRow(s.ticket, "details->>'page', details->>'browser', details->>'question'");
    assert.equal(page_, env.url, "the page the customer was on");
    assert.match(browser, /HeadlessChrome/, "the customer's browser");
    assert.equal(question, "My invoice #1234 is wrong 😕");
  });

  step("an agent accepts: joined notice, typing both ways, messages, links, emoji", async () => {
    const { page, room, ticket } = chat;
    await agent.accept(room);
    await $(page, ".md-notice").getByText(`${AGENT} joined the chat.`).waitFor();
    await $(page, ".md-banner").getByText(`You are chatting with ${AGENT}.`).waitFor();
    await untilTicket(ticket, { status: "INPROGRESS", owner_jid: "agent1@localhost" }, "the ticket accepted");

    await agent.typing(room, "composing");
    await $(page, ".md-typing").getByText(`${AGENT} is typing…`).waitFor();
    await shot(page, "05-agent-typing");
    await agent.typing(room, "paused");
    await until(async () => (await $(page, ".md-typing").textContent()) === "", "the typing notice to go");

    await agent.say(room, "Hi Ann 👋 I'm looking at it. Our refund policy: https://example.org/refunds");
    await untilMessages(page, [`${AGENT}: Hi Ann 👋 I'm looking at it. Our refund policy: https://example.org/refunds`]);
    assert.equal(await $(page, ".md-agent a").getAttribute("href"), "https://example.org/refunds");
    assert.equal(await $(page, ".md-agent a").getAttribute("rel"), "noopener noreferrer nofollow");

    // The customer types: the agent sees it, then the message.
    await $(page, "#md-input").pressSequentially("Thanks!");
    await agent.seesTyping(room, "composing");
    await $(page, "#md-input").pressSequentially(" It's order 1234 <b>not bold</b> 🙂");
    await $(page, "#md-input").press("Enter");
    await agent.receives(room, "Thanks! It's order 1234 <b>not bold</b> 🙂");
    await untilMessages(page, [
      `${AGENT}: Hi Ann 👋 I'm looking at it. Our refund policy: https://example.org/refunds`,
      "You: Thanks! It's order 1234 <b>not bold</b> 🙂",
    ]);
    assert.equal(await $(page, ".md-bubble b").count(), 0, "text is text, never HTML");
    await until(async () => (await $(page, ".md-me .md-msg-state").first().isHidden()), "the room's reflection to confirm the message");
    assert.match(await $(page, ".md-me time").first().textContent(), /\d:\d\d/, "messages are time-stamped");
    await shot(page, "06-chatting");
  });

  step("a reload mid-chat: what the agent said meanwhile shows once, in order; nothing lost", async () => {
    const { page, room } = chat;
    const before = await shownMessages(page);
    await agent.clear();
    // The customer sends a message and reloads at once: whether the room
    // saw it before the page went or the widget sends it again after, the
    // agent gets it once and the customer sees it once.
    await $(page, "#md-input").fill("One more thing: I was charged twice.");
    await $(page, "#md-input").press("Enter");
    // Hold the widget's script so that the agent talks while no widget is there.
    let release;
    const held = new Promise((r) => (release = r));
    await page.route("**/mucdesk-widget.js", async (route) => {
      await held;
      await route.continue();
    });
    const reloaded = page.reload();
    await agent.seesCustomer(room, "unavailable");
    const ids = [];
    for (const text of ["Are you still there?", "I see the double charge 🔍", "Refund on its way."]) ids.push(await agent.say(room, text));
    release();
    await reloaded;
    await page.unroute("**/mucdesk-widget.js");
    await agent.seesCustomer(room, "available");

    const expected = [...before, "You: One more thing: I was charged twice.", `${AGENT}: Are you still there?`, `${AGENT}: I see the double charge 🔍`, `${AGENT}: Refund on its way.`];
    await untilMessages(page, expected, "the conversation after the reload");
    // The agent got the customer's message exactly once.
    await agent.receives(room, "One more thing: I was charged twice.");
    await until(async () => (await $(page, ".md-me .md-msg-state:visible").count()) === 0, "every message confirmed");
    assert.deepEqual(await agent.heard(room), [], "nothing else from the customer");
    // Each of the agent's messages is in the widget's timeline once, under the room's stanza-id.
    const s = await stored(page);
    const sids = s.timeline.items.map((i) => i.stanzaId).filter(Boolean);
    assert.equal(new Set(sids).size, sids.length, `no stanza-id twice: ${sids}`);
    for (const id of ids) assert.equal(sids.filter((x) => x === id).length, 1, `stanza-id ${id} once`);
    assert.deepEqual(await shownNotices(page), [`${AGENT} joined the chat.`], "the agent is not announced again");
    await $(page, "#md-input").waitFor({ state: "visible" });
    await shot(page, "07-after-reload");
  });

  step("network loss: reconnects by itself, gets what it missed, sends what was typed", async () => {
    const { page, ctx, room } = chat;
    const before = await shownMessages(page);
    await agent.clear();
    await ctx.setOffline(true);
    env.link.cut();
    await $(page, ".md-conn").getByText(/Connection lost/).waitFor();
    // A server with stream management (ejabberd) keeps a vanished stream
    // for resumption: the customer stays in the room until the widget is
    // back and its resume-chat replaces the old connection.
    if (!SERVER_KEEPS_STREAMS) await agent.seesCustomer(room, "unavailable");
    await agent.say(room, "The refund is issued 🎉");
    await agent.say(room, "Anything else?");
    // Typed while offline: shown as sending, sent once back.
    await $(page, "#md-input").fill("Sorry, my connection dropped.");
    await $(page, "#md-input").press("Enter");
    await $(page, ".md-me .md-msg-state").getByText("Sending…").waitFor();
    await shot(page, "08-connection-lost");

    env.link.restore();
    await ctx.setOffline(false);
    // What was missed goes right after what was seen before the cut; the
    // message typed meanwhile is sent (once) after the catch-up: the
    // room's order, as in the archive.
    const expected = [...before, `${AGENT}: The refund is issued 🎉`, `${AGENT}: Anything else?`, "You: Sorry, my connection dropped."];
    await untilMessages(page, expected, "the conversation after the reconnection", 40000);
    await agent.receives(room, "Sorry, my connection dropped.");
    await until(async () => (await $(page, ".md-me .md-msg-state:visible").count()) === 0, "every message confirmed");
    assert.deepEqual(await agent.heard(room), [], "the message reached the agent once");
    await until(async () => (await $(page, ".md-conn").textContent()) === "", "the connection notice to go");
    await shot(page, "09-reconnected");
  });

  step("the agent closes: the end, a rating stored in the ticket", async () => {
    const { page, room, ticket } = chat;
    await agent.command(room, "/close resolved refund issued");
    await $(page, ".md-ended").waitFor({ state: "visible" });
    assert.equal(await $(page, ".md-banner").textContent(), "This chat has ended.");
    // Said once (issue 15): not again from the desk's closing message, its
    // copy told to the customer, or the room's destruction reason.
    const panel = await $(page, ".md-panel").textContent();
    assert.equal((panel.match(/chat has ended/gi) || []).length, 1, `the end said once: ${panel}`);
    assert.equal(await $(page, "#md-input").isVisible(), false, "no composer after the end");
    await $(page, ".md-rating").waitFor({ state: "visible" });
    await shot(page, "10-ended");
    await untilTicket(ticket, { status: "RESOLVED", "ended_at IS NOT NULL": "t" }, "the ticket resolved");

    await $(page, 'label[for="md-star-5"]').click();
    await $(page, "#md-rating-comment").fill("Quick and kind 👍");
    await $(page, ".md-rating button[type=submit]").click();
    await $(page, ".md-thanks").waitFor({ state: "visible" });
    await shot(page, "11-rated");
    await untilTicket(ticket, { rating: "5", rating_comment: "Quick and kind 👍" }, "the rating in the ticket");
  });

  step("the transcript downloads as text with the whole conversation", async () => {
    const { page } = chat;
    const [download] = await Promise.all([page.waitForEvent("download"), $(page, ".md-ended button").getByText("Download transcript").click()]);
    const text = readFileSync(await download.path(), "utf8");
    writeFileSync(join(SHOTS, "transcript.txt"), text);
    assert.match(download.suggestedFilename(), /\.txt$/);
    assert.match(text, new RegExp(`Ticket: ${chat.ticket}`));
    // Every message shown, once each, in the order shown.
    const lines = await shownMessages(page);
    assert.equal(lines.length, 9);
    let at = -1;
    for (const l of lines) {
      const i = text.indexOf(`] ${l}\n`);
      assert.ok(i > at, `the transcript has, in order: ${l}\n${text}`);
      at = i;
    }
    for (const l of lines) assert.equal(text.split(l).length - 1, 1, `once: ${l}`);
  });

  step("the archive holds each message once", async () => {
    const rows = await env.desk.sql(`SELECT body, count(*) FROM ticket_events WHERE ticket_id = ${Number(chat.ticket)} AND kind = 'message' GROUP BY body HAVING count(*) > 1`);
    assert.deepEqual(rows, []);
    const [[n]] = await env.desk.sql(`SELECT count(*) FROM ticket_events WHERE ticket_id = ${Number(chat.ticket)} AND kind = 'message'`);
    assert.equal(Number(n), 9, "nine messages were said");
    assert.deepEqual(chat.errors, [], "no page errors");
  });
});

// ------------------------------------------------------------------------
describe("keyboard only", () => {
  test("form, errors, chat, end and rating without a pointer", body(async () => {
    const { ctx, page, errors } = await newPage();
    await page.goto(env.url);
    await $(page, ".md-launcher").waitFor();
    // Tab until the launcher has the focus.
    await until(async () => {
      await page.keyboard.press("Tab");
      return page.evaluate(() => document.activeElement?.id === "mucdesk-widget" && document.activeElement.shadowRoot.activeElement?.classList.contains("md-launcher"));
    }, "the launcher to get the focus by Tab", 5000);
    await page.keyboard.press("Enter");
    await $(page, ".md-form").waitFor();
    const focus = () => focused(page);
    await until(async () => (await focus()) === "name", "the focus on the first field");
    await page.keyboard.type("Bo");
    await page.keyboard.press("Tab");
    assert.equal(await focus(), "email");
    await page.keyboard.type("bo@example");
    await page.keyboard.press("Tab");
    assert.equal(await focus(), "question");
    await page.keyboard.type("Where is my parcel?");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    // The bad address: said at the field, which gets the focus.
    await until(async () => (await focus()) === "email", "the focus back on the wrong field");
    assert.equal(await $(page, "input[name=email]").getAttribute("aria-invalid"), "true");
    assert.ok(await $(page, "input[name=email]").getAttribute("aria-describedby"), "the error is tied to the field");
    await page.keyboard.type(".org");
    await page.keyboard.press("Enter"); // submits from a text field
    await $(page, ".md-banner").getByText(/in the queue/).waitFor();
    const { room, ticket } = await stored(page);
    await shot(page, "16-keyboard-waiting");

    await agent.accept(room);
    await $(page, ".md-notice").getByText(`${AGENT} joined the chat.`).waitFor();
    await until(async () => (await focus()) === "#md-input", "the focus in the composer");
    await page.keyboard.type("Typed with the keyboard");
    await page.keyboard.press("Enter");
    await agent.receives(room, "Typed with the keyboard", "Bo");

    // End chat: Tab to it, Enter, then confirm.
    await until(async () => {
      await page.keyboard.press("Tab");
      return (await focus()) === "End chat";
    }, "the focus on End chat", 5000);
    await page.keyboard.press("Enter");
    await until(async () => (await focus()) === "Yes, end chat", "the focus on the confirmation");
    await page.keyboard.press("Enter");
    await $(page, ".md-ended").waitFor({ state: "visible" });
    await untilTicket(ticket, { status: "RESOLVED" }, "the chat ended by the customer");

    // Rating: Tab to the stars, arrows to choose, Tab on to the comment and the button.
    await until(async () => {
      await page.keyboard.press("Tab");
      return /^#md-star-/.test(await focus());
    }, "the focus on the stars", 5000);
    await page.keyboard.press("ArrowDown"); // radios: arrows move and select
    const chosen = await $(page, 'input[name="md-rating"]:checked').getAttribute("value");
    await page.keyboard.press("Tab");
    assert.equal(await focus(), "#md-rating-comment");
    await page.keyboard.type("Fine");
    await page.keyboard.press("Tab");
    assert.equal(await focus(), "Send rating");
    await page.keyboard.press("Enter");
    await $(page, ".md-thanks").waitFor({ state: "visible" });
    await shot(page, "17-keyboard-rated");
    await untilTicket(ticket, { rating: chosen, rating_comment: "Fine" }, "the keyboard's rating");
    assert.deepEqual(errors, []);
    await ctx.close();
  }));
});

// ------------------------------------------------------------------------
describe("a 360 px phone", () => {
  test("full-screen panel, no agent available at first, then a chat; no sideways scrolling", body(async () => {
    // The agent is online but away: the chat waits with "no agent available".
    await agent.joinQueue("away");
    const { ctx, page, errors } = await newPage({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(env.url);
    await $(page, ".md-launcher").tap();
    await $(page, ".md-form").waitFor();
    await settled(page);
    const box = await $(page, ".md-panel").boundingBox();
    assert.deepEqual([box.x, box.y, box.width, box.height].map(Math.round), [0, 0, 360, 740], "the panel fills the screen");
    assert.equal(await $(page, "input[name=name]").evaluate((e) => getComputedStyle(e).fontSize), "16px", "no zoom on focus (iOS)");
    await shot(page, "12-mobile-form");
    await fillForm(page, { name: "Ann", question: "Can I change my delivery address?" });
    await $(page, ".md-banner").getByText(/No agent is available right now/).waitFor();
    const { room, ticket } = await stored(page);
    await shot(page, "12b-mobile-no-agents");

    await agent.joinQueue(); // available again: the desk offers the chat
    await agent.accept(room);
    await $(page, ".md-banner").getByText(`You are chatting with ${AGENT}.`).waitFor();
    await agent.say(room, "Sure! Which address would you like us to use? 🏠 Details: https://example.org/delivery-addresses-and-other-long-paths");
    await $(page, ".md-agent").waitFor();
    await $(page, "#md-input").fill("12 Rue de la Paix, 75002 Paris");
    await $(page, ".md-composer button[type=submit]").tap();
    await agent.receives(room, "12 Rue de la Paix, 75002 Paris");
    await untilMessages(page, [`${AGENT}: Sure! Which address would you like us to use? 🏠 Details: https://example.org/delivery-addresses-and-other-long-paths`, "You: 12 Rue de la Paix, 75002 Paris"]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, "no sideways scrolling");
    const composer = await $(page, ".md-composer").boundingBox();
    assert.ok(composer.x >= 0 && composer.x + composer.width <= 360, `the composer fits: ${JSON.stringify(composer)}`);
    await shot(page, "13-mobile-chat");
    await agent.command(room, "/close resolved");
    await $(page, ".md-ended").waitFor({ state: "visible" });
    await untilTicket(ticket, { status: "RESOLVED" }, "the phone's chat closed");
    assert.deepEqual(errors, []);
    await ctx.close();
  }));
});

// ------------------------------------------------------------------------
test("mucdesk stops cleanly: exit status 0, no sanitizer report", async () => {
  const problems = await env.stop(anyFailed);
  assert.deepEqual(problems, []);
});
