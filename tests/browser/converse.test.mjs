// converse.js 14 (the npm package, its prebuilt bundle, unmodified) in
// Debian's Chromium as a staff member would use it, against the real desk:
// PostgreSQL, Prosody (converse connects to its WebSocket) and mucdesk (the
// sanitizer build).  The other side of each conversation is a real XMPP
// client (slixmpp, in desk_env.py): an admin who made a plain room and
// talks there, and a customer who asks the queue for a chat.  What is
// checked is what converse shows, what the slixmpp clients receive, what
// the desk stored, and what went over converse's WebSocket (every frame
// is written to $BROWSER_RESULTS/browser/converse-xmpp.log).
//
// Run by tests/browser/run (tests/run's `browser` layer), with its own
// servers, one test file at a time.  Screenshots go to
// $BROWSER_RESULTS/browser/converse-*.png.  Known problems are `todo`
// steps: they run and are reported (as skipped in the JUnit summary), and
// their failure fails nothing; see tests/browser/README.md.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { mucView, openConverse, serveConverse, shownMessages, untilFrame } from "./lib/converse.mjs";
import { LAYER, startEnv } from "./lib/env.mjs";
import { until } from "./lib/widget.mjs";

const RESULTS = process.env.BROWSER_RESULTS || join(process.cwd(), "results");
const SHOTS = join(RESULTS, LAYER);
mkdirSync(SHOTS, { recursive: true });
const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), animations: "disabled", caret: "hide" });

const DOMAIN = "support.localhost";
const LOBBY = `lobby@${DOMAIN}`; // a plain room the admin makes
const QUEUE = `billing@${DOMAIN}`; // desk_env's queue; agent1 is its agent
const ME = "Alex"; // converse's nick (agent1@localhost)
const ADMIN = "Sam"; // the admin's nick (slixmpp)
const EARLY = "Said before you came: the printer is out of toner.";

let env = null;
let web = null;
let anyFailed = false;
const S = {}; // the converse page and what the steps learn
const log = (line) => console.log(`converse: ${line}`);

// Steps of one session; a step after a failed one is skipped.  A todo
// step is a known problem: it runs and is reported, and its failure fails
// neither the run nor the steps after it.
let broken = false;
function step(name, fn, { todo } = {}) {
  test(name, todo ? { todo } : {}, async (t) => {
    if (broken) {
      t.skip("an earlier step failed");
      return;
    }
    try {
      await fn(t);
    } catch (e) {
      if (!todo) {
        broken = true;
        anyFailed = true;
      }
      throw e;
    }
  });
}

const admin = {
  say: (body, replace = null) => env.desk.call("user_say", { who: "admin", room: LOBBY, nick: ADMIN, body, replace }),
  pm: (nick, body) => env.desk.call("user_pm", { who: "admin", room: LOBBY, nick, body }),
  receives: (body, type = "groupchat") => env.desk.call("user_expect_message", { who: "admin", room: LOBBY, nick: ME, body, type }),
  seesJoin: () => env.desk.call("user_expect_presence", { who: "admin", room: LOBBY, nick: ME }),
};

/** Waits until converse shows exactly `expected` ("Nick: text") in the
 * room; with { people: true }, only what people said (the desk's own lines,
 * "desk: ...", are another step's). */
async function untilShown(muc, expected, what, { people = false } = {}) {
  const said = async () => (await shownMessages(muc)).filter((m) => !people || !m.startsWith("desk: "));
  try {
    await until(async () => JSON.stringify(await said()) === JSON.stringify(expected), what);
  } catch (e) {
    e.message += `\n  expected: ${JSON.stringify(expected)}\n  shown:    ${JSON.stringify(await shownMessages(muc).catch(() => "?"))}`;
    throw e;
  }
}

/** Shows the room (a click on it in the list of groupchats) and waits until it is entered. */
async function show(name, jid) {
  await S.page.locator("converse-rooms-list").getByText(name, { exact: true }).click();
  const muc = mucView(S.page, jid);
  await muc.locator("textarea.chat-textarea").waitFor();
  return muc;
}

/** Errors converse shows in a room: error lines, a failed entry. */
const shownErrors = (muc) => muc.locator(".chat-error, .disconnect-msg, .alert-danger").allTextContents();

const received = (f) => f.dir === "received";
const sent = (f) => f.dir === "sent";

before(async () => {
  env = await startEnv(RESULTS, { widget: false, logs: `${LAYER}/converse` });
  web = await serveConverse();
  // The admin makes an archived plain room and says something in it
  // before converse comes (converse will get it from MAM).
  const codes = await env.desk.call("user_join", {
    who: "admin", room: LOBBY, nick: ADMIN,
    config: {
      "muc#roomconfig_roomname": "Lobby",
      "muc#roomconfig_persistentroom": "1",
      "muc#roomconfig_publicroom": "1",
      "muc#roomconfig_enablelogging": "1",
    },
  });
  assert.ok(codes.includes(201), `the admin made the room: ${codes}`);
  S.early = await admin.say(EARLY);
});

after(async () => {
  if (S.frames) writeFileSync(join(SHOTS, "converse-xmpp.log"), S.frames.map((f) => `${f.dir === "sent" ? "SENT" : "RECV"} ${f.text}`).join("\n") + "\n");
  if (S.ctx) await S.ctx.close().catch(() => {});
  if (web) await web.close();
  if (env) await env.stop(true); // only if the last test did not run
});

// ------------------------------------------------------------------------
describe("converse.js as an agent", () => {
  step("logs in and enters a plain room and the queue room: shown as joined, no error", async () => {
    Object.assign(S, await openConverse(env.browser, web.url, {
      view_mode: "fullscreen",
      discover_connection_methods: false,
      websocket_url: env.desk.info.websocket,
      jid: "agent1@localhost",
      password: "agent1-pass",
      auto_login: true,
      nickname: ME,
      auto_join_rooms: [LOBBY, QUEUE],
      play_sounds: false,
      assets_path: "/dist/",
    }, log));
    const presence = await admin.seesJoin();
    assert.match(presence, /<occupant-id xmlns="urn:xmpp:occupant-id:0" id="[^"]+"\/>/, "the admin sees converse enter, with an occupant id");
    const rooms = S.page.locator("converse-rooms-list");
    await rooms.getByText("Lobby", { exact: true }).waitFor();
    await rooms.getByText("Billing", { exact: true }).waitFor();

    // The queue room: its subject counts converse's agent as available.
    const queue = await show("Billing", QUEUE);
    await queue.getByText("Billing: 0 waiting, 1 agent(s) available", { exact: false }).waitFor();
    assert.deepEqual(await shownErrors(queue), []);
    await shot(S.page, "converse-queue");

    const lobby = await show("Lobby", LOBBY);
    await lobby.locator("converse-muc-heading").getByText("Lobby").waitFor();
    assert.deepEqual(await shownErrors(lobby), []);
    // converse enters both rooms asking for no history (it reads MAM).
    for (const room of [LOBBY, QUEUE]) {
      const join = await untilFrame(S.frames, (f) => sent(f) && f.text.startsWith("<presence") && f.text.includes(`to="${room}/${ME}"`), `its presence to ${room}`);
      assert.match(join.text, /<history maxstanzas="0"\/>/, `converse's join of ${room}`);
    }
  });

  step("history: the message said before converse came, from MAM, shown once", async () => {
    const lobby = mucView(S.page, LOBBY);
    // converse asks the room's archive (it advertises urn:xmpp:mam:2)...
    const query = await untilFrame(S.frames, (f) => sent(f) && f.text.includes('xmlns="urn:xmpp:mam:2"') && f.text.includes(`to="${LOBBY}"`), "a MAM query to the lobby");
    const qid = /<iq [^>]*id="([^"]+)"/.exec(query.text)[1];
    const fin = await untilFrame(S.frames, (f) => received(f) && f.text.startsWith("<iq") && f.text.includes(`id='${qid}'`), "the MAM query's answer");
    assert.match(fin.text, /type='result'/);
    assert.match(fin.text, /<fin[^>]* complete='true'/);
    // ...which holds the early message, under its stanza-id.
    assert.ok(S.frames.some((f) => received(f) && f.text.includes("<result") && f.text.includes(`id='${S.early.stanza_id}'`) && f.text.includes(EARLY)), "the early message in the MAM results");
    // The room sent no discussion history (maxstanzas='0').
    assert.deepEqual(S.frames.filter((f) => received(f) && f.text.startsWith("<message") && !f.text.includes("<result") && f.text.includes("urn:xmpp:delay") && f.text.includes("<body>")).map((f) => f.text), []);
    await untilShown(lobby, [`${ADMIN}: ${EARLY}`], "the early message");
  });

  step("a message typed in converse reaches the slixmpp occupant once, with converse's ids", async () => {
    const lobby = mucView(S.page, LOBBY);
    const input = lobby.locator("textarea.chat-textarea");
    await input.pressSequentially("Hello from converse.js 👋 <b>not bold</b>");
    await input.press("Enter");
    const got = await admin.receives("Hello from converse.js 👋 <b>not bold</b>");
    assert.equal(got.copies, 1, "received once");
    assert.ok(got.id, "the message's id kept (muc#stable_id)");
    assert.equal(got.origin_id, got.id, "converse's origin-id kept");
    assert.ok(got.stanza_id, "the room's stanza-id");
    S.mine = got;
    // converse gets the reflection, under the same id.
    await untilFrame(S.frames, (f) => received(f) && f.text.startsWith("<message") && f.text.includes(`from='${LOBBY}/${ME}'`) && f.text.includes(`id='${got.id}'`) && f.text.includes(`id='${got.stanza_id}'`), "the reflection of converse's message");
  });

  step("a message from the slixmpp occupant shows in converse; converse's own shows once", async () => {
    const lobby = mucView(S.page, LOBBY);
    S.welcome = await admin.say("Welcome, Alex. Coffee is in the kitchen ☕");
    // It came after the reflection of converse's message on the same
    // stream: once it is shown, the reflection has been handled.
    await untilShown(lobby, [
      `${ADMIN}: ${EARLY}`,
      `${ME}: Hello from converse.js 👋 <b>not bold</b>`,
      `${ADMIN}: Welcome, Alex. Coffee is in the kitchen ☕`,
    ], "the admin's message after converse's own, each once");
    assert.equal(await lobby.locator(".chat-area .chat-msg b").count(), 0, "text is text, never HTML");
  });

  step("a correction (XEP-0308) of a live message replaces it in converse", async () => {
    const lobby = mucView(S.page, LOBBY);
    await admin.say("Welcome, Alex! Coffee is in the kitchen ☕", S.welcome.id);
    await untilShown(lobby, [
      `${ADMIN}: ${EARLY}`,
      `${ME}: Hello from converse.js 👋 <b>not bold</b>`,
      `${ADMIN}: Welcome, Alex! Coffee is in the kitchen ☕`,
    ], "the corrected message in place of the first");
  });

  step("private messages (MUC PM) both ways; the occupants list shows both nicks", async () => {
    const lobby = mucView(S.page, LOBBY);
    const occupants = lobby.locator("converse-muc-sidebar");
    await occupants.getByText(ADMIN, { exact: true }).waitFor();
    await occupants.getByText(ME, { exact: true }).waitFor();
    await admin.pm(ME, "Psst: the meeting moved to 3 pm.");
    await occupants.getByText(ADMIN, { exact: true }).click();
    const panel = lobby.locator("converse-muc-occupant");
    await panel.getByText("Psst: the meeting moved to 3 pm.").waitFor();
    assert.deepEqual(await shownMessages(lobby), [
      `${ADMIN}: ${EARLY}`,
      `${ME}: Hello from converse.js 👋 <b>not bold</b>`,
      `${ADMIN}: Welcome, Alex! Coffee is in the kitchen ☕`,
    ], "the private message is not in the room's conversation");
    const input = panel.locator("textarea.chat-textarea");
    await input.fill("Thanks, see you there.");
    await input.press("Enter");
    const got = await admin.receives("Thanks, see you there.", "chat");
    assert.equal(got.copies, 1);
    assert.match(got.stanza, /<x xmlns="http:\/\/jabber.org\/protocol\/muc#user"\/>/, "marked as a MUC private message");
    await panel.getByText("Thanks, see you there.").waitFor();
    await shot(S.page, "converse-lobby");
  });

  step("a correction of a message converse got from MAM replaces it", async () => {
    const lobby = mucView(S.page, LOBBY);
    // The archived message keeps its sender's id (as the live copy does),
    // and converse finds the one <replace id=…/> names by it.
    const early = S.frames.find((f) => received(f) && f.text.includes("<result") && f.text.includes(EARLY));
    assert.match(early.text, new RegExp(`<message [^>]*id='${S.early.id}'`), "the archived message keeps its id in MAM results");
    const corrected = "Said before you came: the printer is out of toner (fixed now).";
    await admin.say(corrected, S.early.id);
    await lobby.locator(".chat-area .chat-msg__text", { hasText: corrected }).waitFor();
    assert.deepEqual((await shownMessages(lobby)).filter((m) => m.includes("printer")), [`${ADMIN}: ${corrected}`], "the correction in place of the first text");
  });

  step("the queue: a chat offered, accepted in converse's invitation dialog, talked both ways", async () => {
    const chat = await env.desk.call("customer_request", { queue: "billing", question: "Where is my parcel?" });
    S.chat = chat;
    // The offer: a mediated invitation, also in XEP-0249 form, which is
    // what converse reads; it asks the agent.
    const dialog = S.page.locator(".modal.show");
    await dialog.getByText(`has invited you to join the groupchat "${chat.room}"`, { exact: false }).waitFor();
    assert.match(await dialog.textContent(), new RegExp(`Ticket #${chat.ticket} from Ann: Where is my parcel\\?`), "the offer's reason");
    await shot(S.page, "converse-offer");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    const room = mucView(S.page, chat.room);
    await room.locator("textarea.chat-textarea").waitFor({ state: "attached" });
    await env.desk.call("user_expect_presence", { who: "customer", room: chat.room, nick: ME });
    await until(async () => JSON.stringify(await env.desk.sql(`SELECT status, owner_jid FROM tickets WHERE id = ${Number(chat.ticket)}`)) === JSON.stringify([["INPROGRESS", "agent1@localhost"]]), "the ticket accepted by agent1");

    const ticketRoom = await show(`ticket-${chat.ticket}`, chat.room);
    await ticketRoom.locator("converse-muc-heading").getByText(`Ticket #${chat.ticket}: Where is my parcel?`).waitFor();
    await env.desk.call("user_say", { who: "customer", room: chat.room, nick: chat.nick, body: "Hello? It was due on Monday." });
    await untilShown(ticketRoom, ["Ann: Hello? It was due on Monday."], "the customer's message", { people: true });
    const input = ticketRoom.locator("textarea.chat-textarea");
    await input.fill("Hi Ann, it left our warehouse today.");
    await input.press("Enter");
    const got = await env.desk.call("user_expect_message", { who: "customer", room: chat.room, nick: ME, body: "Hi Ann, it left our warehouse today." });
    assert.equal(got.copies, 1);
    await env.desk.call("user_say", { who: "customer", room: chat.room, nick: chat.nick, body: "Great, thanks!" });
    await untilShown(ticketRoom, ["Ann: Hello? It was due on Monday.", `${ME}: Hi Ann, it left our warehouse today.`, "Ann: Great, thanks!"], "the conversation, each message once", { people: true });
    assert.deepEqual(await shownErrors(ticketRoom), []);
    await shot(S.page, "converse-ticket");
  });

  step("the desk's notices, from its occupant `desk` (staff only), show in converse", async () => {
    const { room, ticket } = S.chat;
    // mucdesk speaks to staff from ROOM/desk (the customer gets the same
    // words from the room's JID), an occupant converse lists...
    await untilFrame(S.frames, (f) => received(f) && f.text.includes(`from='${QUEUE}/desk'`) && f.text.includes(`New chat: ticket #${ticket} from Ann`), "the queue's announcement");
    await untilFrame(S.frames, (f) => received(f) && f.text.includes(`from='${room}/desk'`) && f.text.includes(`Ticket #${ticket}\nName: Ann`), "the session details");
    // ...and shows like any other.
    const ticketRoom = mucView(S.page, room);
    await ticketRoom.locator(".chat-area").getByText("Name: Ann", { exact: false }).first().waitFor();
    // Once, though converse got them twice: told on entering (as the
    // record, its stanza-id) and read from MAM.
    await untilFrame(S.frames, (f) => received(f) && f.text.includes("<result") && f.text.includes(`from='${room}/desk'`) && f.text.includes("Name: Ann"), "the session details in converse's MAM answer");
    const details = (await shownMessages(ticketRoom)).filter((m) => m.includes("Name: Ann"));
    assert.equal(details.length, 1, `the session details shown once: ${JSON.stringify(details)}`);
    assert.ok(details[0].startsWith(`desk: Ticket #${ticket}\nName: Ann`), "said by desk");
    await ticketRoom.locator("converse-muc-sidebar").getByText("desk", { exact: true }).waitFor();
    const queue = await show("Billing", QUEUE);
    await queue.locator(".chat-area").getByText(`New chat: ticket #${ticket} from Ann`, { exact: false }).waitFor();
    assert.ok((await shownMessages(queue)).some((m) => m.startsWith(`desk: New chat: ticket #${ticket} from Ann`)), "the announcement, said by desk");
    // The customer never learns of it.
    const seen = await env.desk.call("user_received", { who: "customer", room, nick: "desk" });
    assert.deepEqual(seen, [], "nothing from ROOM/desk reached the customer");
    await shot(S.page, "converse-desk-notices");
  });

  step(
    "a text command typed in converse: answered, and not shown as said in the room",
    async () => {
      const queue = await show("Billing", QUEUE);
      const from = S.frames.length;
      const input = queue.locator("textarea.chat-textarea");
      await input.fill("!waiting");
      await input.press("Enter");
      // mucdesk answers the sender alone, from its occupant `desk`; a
      // command is never broadcast, so converse gets no reflection of it.
      await untilFrame(S.frames, (f) => received(f) && f.text.includes(`from='${QUEUE}/desk'`) && f.text.includes("Waiting chats: none."), "the answer to !waiting", { from });
      await queue.locator(".chat-area").getByText("Waiting chats: none.").waitFor({ timeout: 1000 });
      assert.deepEqual((await shownMessages(queue)).filter((m) => m.includes("!waiting")), [], "the command is not shown as said");
    },
    { todo: "known problem: converse.js 14 keeps the command, never reflected, as a message the agent said (the answer, from `desk`, is shown)" },
  );

  step("no page error; nothing but converse's login-screen logos asked from outside; every file served", async () => {
    assert.deepEqual(S.errors, []);
    assert.deepEqual(S.offsite.filter((u) => !u.startsWith("https://conversejs.org/media/logos/")), []);
    assert.deepEqual(web.misses, []);
  });
});

// ------------------------------------------------------------------------
test("mucdesk stops cleanly: exit status 0, no sanitizer report", async () => {
  if (S.ctx) await S.ctx.close();
  S.ctx = null;
  const problems = await env.stop(anyFailed);
  assert.deepEqual(problems, []);
});
