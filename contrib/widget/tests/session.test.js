// The session state machine against the fake XMPP layer: the pre-chat
// form, the chat, and above all what happens when the link breaks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/config.js";
import { ChatSession } from "../src/session.js";
import { createTabGuard } from "../src/tabs.js";
import { FakeServer, ManualClock, QUEUE, SERVICE, mapStore, settle } from "./support/fake-xmpp.js";
import { xml } from "@xmpp/xml";

const { config } = parseConfig({
  websocket: "ws://127.0.0.1:5280/xmpp-websocket",
  domain: "anon.localhost",
  queue: QUEUE,
  prefill: '{"name":"Ann"}',
});

const ANSWERS = { name: "Ann", email: "ann@example.org", question: "My invoice is wrong 😕" };

function setup({ server = new FakeServer(), store = mapStore(), clock = new ManualClock(), tabs = null } = {}) {
  const session = new ChatSession({
    tabs,
    config,
    transportFactory: server.factory,
    store,
    clock,
    env: { page: "https://shop.example/cart", browser: "TestBrowser/1.0" },
    random: () => 1, // backoff delays at the top of their range: 1, 2, 4, 8, 16, 30 s
  });
  session.start();
  return { server, store, clock, session };
}

/** Opens, fills the form and waits until the customer is in the room. */
async function startChat(ctx, answers = ANSWERS) {
  const { session } = ctx;
  session.open();
  await settle();
  assert.equal(session.state.phase, "form");
  await session.submitForm({ ...session.state.formValues, ...answers });
  await settle();
  return session.state.room;
}

const bodies = (session) => session.timeline.items.filter((i) => i.kind === "message").map((i) => i.body);
const sentMessages = (server, room) => server.sentBy((el) => el.name === "message" && el.attrs.to === room && el.getChild("body")).map((el) => el.getChildText("body"));

test("session: the form comes from request-chat, with prefill; invalid input sends nothing", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  assert.equal(session.state.phase, "idle");
  session.open();
  assert.equal(session.state.phase, "loading");
  await settle();
  assert.equal(session.state.phase, "form");
  assert.equal(session.state.formMode, "chat");
  assert.deepEqual(session.state.form.fields.filter((f) => f.type !== "hidden").map((f) => f.var), ["name", "email", "question"]);
  assert.equal(session.state.formValues.name, "Ann");
  const iqsBefore = server.sentBy((e) => e.name === "iq").length;
  assert.equal(await session.submitForm({ name: "Ann", email: "nope", question: "" }), false);
  assert.deepEqual(Object.keys(session.state.formErrors).sort(), ["email", "question"]);
  assert.equal(session.state.formError.key, "errorSummary");
  assert.equal(server.sentBy((e) => e.name === "iq").length, iqsBefore);
});

test("session: submitting joins the room, shows the queue position, and stores the token", async () => {
  const ctx = setup();
  const { session, server, store } = ctx;
  const room = await startChat(ctx);
  assert.equal(room, "ticket-41@support.localhost");
  assert.equal(session.state.phase, "waiting");
  assert.equal(session.state.ticket, "41");
  assert.equal(session.state.position, 2);
  assert.equal(session.state.wait, 240);
  // What the desk received: the answers, FORM_TYPE echoed, page and browser filled.
  assert.deepEqual(server.lastRequest.name, ["Ann"]);
  assert.deepEqual(server.lastRequest.question, ["My invoice is wrong 😕"]);
  assert.deepEqual(server.lastRequest.FORM_TYPE, ["urn:mucdesk:request-chat"]);
  assert.deepEqual(server.lastRequest.page, ["https://shop.example/cart"]);
  assert.deepEqual(server.lastRequest.browser, ["TestBrowser/1.0"]);
  // The join asks for no history; the archive is read right after.
  const join = server.sentBy((e) => e.name === "presence")[0];
  assert.equal(join.attrs.to, `${room}/Ann`);
  assert.equal(join.getChild("x").getChild("history").attrs.maxstanzas, "0");
  const mam = server.sentBy((e) => e.name === "iq" && e.getChild("query", "urn:xmpp:mam:2"));
  assert.equal(mam.length, 1);
  assert.equal(mam[0].attrs.to, room);
  const saved = store.load();
  assert.equal(saved.token, "tok-41-secret");
  assert.equal(saved.room, room);
  assert.equal(saved.phase, "waiting");
});

test("session: a bad-request naming a field is shown at that field; the retry starts a new command session", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  session.open();
  await settle();
  server.requestErrors.push({ condition: "bad-request", text: "email: this domain does not accept mail" });
  assert.equal(await session.submitForm({ ...ANSWERS }), false);
  assert.equal(session.state.phase, "form");
  assert.deepEqual(session.state.formErrors.email, { text: "this domain does not accept mail" });
  // Resubmit: a fresh execute, then the submit, with what was typed.
  const executes = () => server.sentBy((e) => e.getChild("command") && e.getChild("command").attrs.action === "execute").length;
  const before = executes();
  assert.equal(await session.submitForm({ ...ANSWERS, email: "ann@example.com" }), true);
  await settle();
  assert.equal(executes(), before + 1);
  assert.deepEqual(server.lastRequest.email, ["ann@example.com"]);
  assert.equal(session.state.phase, "waiting");
});

test("session: a note of type error and a forbidden error are shown on the form", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  session.open();
  await settle();
  server.requestErrors.push({ note: "You already have an open chat." });
  await session.submitForm({ ...ANSWERS });
  assert.deepEqual(session.state.formError, { text: "You already have an open chat." });
  server.requestErrors.push({ condition: "forbidden", text: "" });
  await session.submitForm({ ...ANSWERS });
  assert.deepEqual(session.state.formError, { key: "errorForbidden" });
});

test("session: a closed service fails the form load; retry loads it", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  server.refuseConnects = 1;
  session.open();
  await settle();
  assert.equal(session.state.phase, "failed");
  assert.deepEqual(session.state.error, { key: "errorConnect" });
  session.retryNow();
  await settle();
  assert.equal(session.state.phase, "form");
});

test("session: outside hours the form is a leave-a-message form; sending it joins nothing", async () => {
  const ctx = setup({ server: new FakeServer({ offline: true }) });
  const { session, server, store } = ctx;
  session.open();
  await settle();
  assert.equal(session.state.formMode, "offline");
  await session.submitForm({ ...ANSWERS, question: "Please call me back" });
  await settle();
  assert.equal(session.state.phase, "message-left");
  assert.equal(session.state.ticket, "41");
  assert.deepEqual(session.state.notes, [{ type: "info", text: "Thanks, we will answer by email." }]);
  assert.deepEqual(server.lastRequest.offline, ["1"], "the hidden offline field goes back");
  assert.equal(server.sentBy((e) => e.name === "presence").length, 0);
  assert.equal(store.load(), null);
  assert.equal(session.transport, null, "disconnected");
});

test("session: agent joins, types, talks; the customer's message is pending until reflected", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  const room = await startChat(ctx);
  server.agentJoin(room, "Alex");
  await settle();
  assert.equal(session.state.phase, "chatting");
  assert.deepEqual(session.state.agents, ["Alex"]);
  assert.deepEqual(session.timeline.items.map((i) => i.notice && i.notice.key), ["agentJoined"]);
  server.agentTyping(room, "composing");
  await settle();
  assert.deepEqual(session.state.typing, ["Alex"]);
  server.agentSay(room, "Hi Ann! 👋 See https://example.org/faq");
  await settle();
  assert.deepEqual(session.state.typing, [], "a message ends the typing notice");
  const item = session.sendMessage("  Thanks!  ");
  assert.equal(item.body, "Thanks!");
  assert.equal(item.state, "pending");
  await settle();
  assert.equal(item.state, "sent");
  assert.ok(item.stanzaId);
  assert.deepEqual(bodies(session), ["Hi Ann! 👋 See https://example.org/faq", "Thanks!"]);
  assert.equal(session.sendMessage("   "), null, "blank messages are not sent");
  server.agentLeave(room, "Alex");
  await settle();
  assert.equal(session.state.phase, "waiting", "back to waiting when the last agent leaves");
  assert.deepEqual(session.timeline.items.filter((i) => i.kind === "notice").map((i) => [i.notice.key, i.notice.vars.name]), [["agentJoined", "Alex"], ["agentLeft", "Alex"]]);
});

test("session: an agent's typing notice clears by itself when it goes stale", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  server.agentJoin(room);
  server.agentTyping(room, "composing");
  await settle();
  assert.deepEqual(session.state.typing, ["Alex"]);
  await clock.advance(29000);
  assert.deepEqual(session.state.typing, ["Alex"]);
  await clock.advance(2000);
  assert.deepEqual(session.state.typing, []);
  server.agentTyping(room, "composing");
  await settle();
  server.agentTyping(room, "paused");
  await settle();
  assert.deepEqual(session.state.typing, []);
});

test("session: the customer's typing is sent as composing, paused after 5 s, active when cleared", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  const states = () =>
    server
      .sentBy((e) => e.name === "message" && e.attrs.to === room && !e.getChild("body"))
      .map((e) => e.children.find((c) => typeof c !== "string" && c.attrs.xmlns === "http://jabber.org/protocol/chatstates").name);
  session.composing(true);
  session.composing(true);
  session.composing(true);
  await settle();
  assert.deepEqual(states(), ["composing"], "one notice, not one per key");
  await clock.advance(5000);
  assert.deepEqual(states(), ["composing", "paused"]);
  session.composing(true);
  session.composing(false);
  await settle();
  assert.deepEqual(states(), ["composing", "paused", "composing", "active"]);
  // A sent message carries <active/> itself: no extra notice afterwards.
  session.composing(true);
  session.sendMessage("hello");
  session.composing(false);
  await settle();
  assert.deepEqual(states(), ["composing", "paused", "composing", "active", "composing"]);
});

test("session: queue status, no agents and a rating request come as desk events", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  const room = await startChat(ctx);
  server.status(room, "You are number 1 in the queue.", { event: "queue", position: "1", wait: "30" });
  await settle();
  assert.equal(session.state.position, 1);
  assert.equal(session.state.wait, 30);
  assert.equal(session.timeline.items.length, 0, "queue updates show in the banner, not the log");
  server.status(room, "No agent is available.", { event: "no-agents" });
  await settle();
  assert.equal(session.state.noAgents, true);
  // The desk keeps sending positions; they say nothing about agents.
  server.status(room, "You are number 1 in the queue.", { event: "queue", position: "1", wait: "20" });
  await settle();
  assert.equal(session.state.noAgents, true, "a position update does not take back 'no agent available'");
  assert.equal(session.state.wait, 20);
  server.status(room, "Welcome! An agent will be with you shortly.");
  await settle();
  assert.deepEqual(session.timeline.items.map((i) => [i.kind, i.body]), [["status", "Welcome! An agent will be with you shortly."]]);
  server.status(room, "Please rate this chat.", { event: "rate" });
  await settle();
  assert.equal(session.state.rating.state, "requested");
});

test("session: network loss: reconnect with backoff, resume-chat, rejoin, catch up: nothing lost, nothing twice", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  server.agentJoin(room);
  server.agentSay(room, "one");
  await settle();
  session.sendMessage("two");
  await settle();

  server.dropAll();
  await settle();
  assert.equal(session.state.link, "retrying");
  assert.equal(session.state.retryAttempt, 1);
  // While we are away: the agent talks; the customer types.
  server.agentSay(room, "three (while you were away)");
  server.agentSay(room, "four 🎉");
  session.sendMessage("five (typed offline)");
  assert.equal(session.timeline.pending().length, 1);
  // The network stays down for the first retries.
  server.refuseConnects = 2;
  await clock.advance(1000);
  assert.equal(session.state.retryAttempt, 2);
  await clock.advance(2000);
  assert.equal(session.state.retryAttempt, 3);
  assert.equal(session.state.link, "retrying");
  await clock.advance(4000);
  assert.equal(session.state.link, "online");
  assert.equal(session.state.phase, "chatting");

  // resume-chat carried the token, on the service domain.
  const resume = server.sentBy((e) => e.name === "iq" && e.attrs.to === SERVICE && e.getChild("command")?.attrs.node === "resume-chat" && e.getChild("command").getChild("x"));
  assert.equal(resume.length, 1);
  assert.match(resume[0].toString(), /<field var="token"[^>]*><value>tok-41-secret<\/value>/);
  // The archive was asked for what followed the last stanza-id seen.
  const mam = server.sentBy((e) => e.name === "iq" && e.getChild("query", "urn:xmpp:mam:2"));
  assert.equal(mam.at(-1).getChild("query").getChild("set").getChildText("after"), "sid-2");
  assert.deepEqual(bodies(session), ["one", "two", "three (while you were away)", "four 🎉", "five (typed offline)"]);
  assert.deepEqual(sentMessages(server, room), ["two", "five (typed offline)"], "each message sent once");
  await settle();
  assert.equal(session.timeline.pending().length, 0);
  // The agent was there before and after: no second "joined" notice.
  assert.equal(session.timeline.items.filter((i) => i.kind === "notice").length, 1);
  // And the room's archive holds each message once.
  assert.deepEqual(server.customerMessages(room).map((m) => m.getChildText("body")), ["one", "two", "three (while you were away)", "four 🎉", "five (typed offline)"]);
});

test("session: a message that reached the room before the drop is confirmed from the archive, not sent again", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  // The message goes out, the room archives it, but the link dies before
  // its reflection comes back.
  session.sendMessage("did this arrive?");
  server.transports.at(-1).online = false; // nothing more is delivered to this connection
  await settle();
  server.transports.at(-1).online = true;
  server.transports.at(-1).drop();
  await settle();
  assert.equal(session.timeline.pending().length, 1);
  await clock.advance(1000);
  assert.equal(session.state.link, "online");
  assert.deepEqual(sentMessages(server, room), ["did this arrive?"]);
  assert.equal(session.timeline.pending().length, 0);
  assert.deepEqual(bodies(session), ["did this arrive?"]);
});

test("session: a message lost on the way is sent again after the catch-up, once", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  server.loseNextSends = 1;
  session.sendMessage("lost in the tunnel");
  await settle();
  server.dropAll();
  await settle();
  await clock.advance(1000);
  await settle();
  assert.deepEqual(server.customerMessages(room).map((m) => m.getChildText("body")), ["lost in the tunnel"]);
  assert.deepEqual(bodies(session), ["lost in the tunnel"]);
  assert.equal(session.timeline.items[0].state, "sent");
});

test("session: a reload mid-chat restores the conversation from storage and fetches what was missed", async () => {
  const store = mapStore();
  const server = new FakeServer();
  const first = setup({ server, store });
  const room = await startChat(first);
  server.agentJoin(room);
  server.agentSay(room, "before reload");
  await settle();
  first.session.sendMessage("me before reload");
  await settle();
  // The page goes away (as Prosody sees it: the connection closes).
  first.session.destroy();
  server.agentSay(room, "during reload");
  await settle();

  const second = setup({ server, store });
  assert.equal(second.session.state.phase, "chatting", "shown at once from storage");
  assert.deepEqual(bodies(second.session), ["before reload", "me before reload"]);
  await settle();
  assert.equal(second.session.state.link, "online");
  assert.deepEqual(bodies(second.session), ["before reload", "me before reload", "during reload"]);
  const after = server.sentBy((e) => e.name === "iq" && e.getChild("query", "urn:xmpp:mam:2")).at(-1);
  assert.equal(after.getChild("query").getChild("set").getChildText("after"), "sid-2", "after the last message seen before the reload");
  assert.deepEqual(server.customerMessages(room).map((m) => m.getChildText("body")), ["before reload", "me before reload", "during reload"]);
});

test("session: a long absence is read page by page (RSM), in order", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  server.mamPageMax = 20;
  server.dropAll();
  await settle();
  for (let i = 1; i <= 45; i += 1) server.agentSay(room, `m${i}`);
  await clock.advance(1000);
  assert.deepEqual(bodies(session), Array.from({ length: 45 }, (_, i) => `m${i + 1}`));
  const queries = server.sentBy((e) => e.name === "iq" && e.getChild("query", "urn:xmpp:mam:2"));
  assert.equal(queries.length, 1 + 3, "the first join, then three pages");
});

test("session: an archive that no longer has our last id is read whole; duplicates dropped", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  server.agentSay(room, "a");
  server.agentSay(room, "a2");
  await settle();
  server.dropAll();
  await settle();
  server.agentSay(room, "b");
  server.agentSay(room, "c");
  // The message we resume after is gone from the archive (say, erased).
  const r = server.rooms.get(room);
  r.archive.splice(1, 1);
  await clock.advance(1000);
  assert.deepEqual(bodies(session), ["a", "a2", "b", "c"], "'a' came again with the whole archive and was dropped");
  const afters = server.sentBy((e) => e.name === "iq" && e.getChild("query", "urn:xmpp:mam:2")).map((q) => q.getChild("query").getChild("set").getChildText("after"));
  assert.deepEqual(afters, [null, "sid-2", null], "first join, the failed resume point, then the whole archive");
  assert.equal(session.state.link, "online");
});

test("session: a refused token ends in 'lost' and forgets the chat", async () => {
  const ctx = setup();
  const { session, server, clock, store } = ctx;
  await startChat(ctx);
  server.dropAll();
  await settle();
  server.resumeErrors.push({ condition: "item-not-found", text: "token: unknown or expired" });
  await clock.advance(1000);
  assert.equal(session.state.phase, "lost");
  assert.deepEqual(session.state.error, { key: "errorResume" });
  assert.equal(store.load(), null);
  assert.equal(clock.pendingDelays().length, 0, "no more retries");
});

test("session: transient resume errors keep retrying with growing delays", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  await startChat(ctx);
  server.dropAll();
  await settle();
  server.resumeErrors.push({ condition: "remote-server-timeout" }, { condition: "service-unavailable" }, { condition: "internal-server-error" });
  const delays = [];
  for (let i = 0; i < 3; i += 1) {
    delays.push(session.state.retryAt - clock.now());
    await clock.advance(session.state.retryAt - clock.now());
  }
  assert.deepEqual(delays, [1000, 2000, 4000]);
  await clock.advance(8000);
  assert.equal(session.state.link, "online");
});

test("session: the backoff resets only after the link stayed up 10 s", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  await startChat(ctx);
  server.dropAll();
  await settle();
  await clock.advance(1000);
  assert.equal(session.state.link, "online");
  server.dropAll(); // flapping: drops again at once
  await settle();
  assert.equal(session.state.retryAt - clock.now(), 2000);
  await clock.advance(2000);
  await clock.advance(11000);
  server.dropAll();
  await settle();
  assert.equal(session.state.retryAt - clock.now(), 1000, "stable for 10 s: back to the first delay");
});

test("session: 'network online' from the browser retries at once", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  await startChat(ctx);
  server.dropAll();
  await settle();
  assert.equal(session.state.link, "retrying");
  session.networkOnline();
  await settle();
  assert.equal(session.state.link, "online");
});

test("session: a connect that hangs times out and is retried", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  await startChat(ctx);
  server.dropAll();
  server.hangConnects = 1;
  await settle();
  await clock.advance(1000);
  assert.equal(session.state.link, "connecting");
  await clock.advance(20000);
  assert.equal(session.state.link, "retrying");
  await clock.advance(2000);
  assert.equal(session.state.link, "online");
});

test("session: self-ping: 'not in the room' rejoins; no answer reconnects", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  // The service restarted and forgot its occupants.
  server.rooms.get(room).occupants.clear();
  server.agentSay(room, "said while you were not an occupant");
  await clock.advance(30000);
  await settle();
  assert.equal(session.joined, true);
  assert.deepEqual(bodies(session), ["said while you were not an occupant"]);
  assert.equal(server.transports.length, 1, "same connection");
  // Now the link dies silently: the ping gets no answer.
  server.hangIqs = 1;
  await clock.advance(30000);
  await clock.advance(16000);
  assert.equal(session.state.link, "retrying");
  await clock.advance(1000);
  assert.equal(session.state.link, "online");
  assert.equal(server.transports.length, 2);
});

test("session: the room is destroyed: ended, then the rating goes through rate-chat", async () => {
  const ctx = setup();
  const { session, server, store } = ctx;
  const room = await startChat(ctx);
  server.agentJoin(room);
  server.agentSay(room, "Anything else?");
  await settle();
  server.destroyRoom(room);
  await settle();
  assert.equal(session.state.phase, "ended");
  assert.equal(session.state.endReason, "closed");
  assert.equal(session.state.endText, null, "the desk said it closed: the destruction's reason is not said again");
  assert.equal(session.state.endedAt, ctx.clock.now());
  assert.equal(session.transport, null, "disconnected");
  // The end is said once, by the widget (its banner): not by the desk's
  // status message, nor its copy told to the customer alone, nor a notice.
  assert.deepEqual(session.timeline.items.map((i) => i.body || i.notice.key), ["agentJoined", "Anything else?"]);
  assert.equal(store.load().phase, "ended", "a reload shows the end and the rating");
  assert.equal(await session.rate(0), false);
  assert.equal(session.state.rating.error.key, "rateChoose");
  assert.equal(await session.rate(5, "Great help 👍"), true);
  assert.equal(session.state.rating.state, "done");
  assert.equal(server.tickets.get(41).rating, 5);
  assert.equal(server.tickets.get(41).comment, "Great help 👍");
  assert.equal(session.transport, null, "disconnected again after rating");
});

test("session: the chat ended while we were away: resume says so", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  server.dropAll();
  await settle();
  server.agentJoin(room);
  server.agentSay(room, "Solved while you were away");
  server.destroyRoom(room);
  await clock.advance(1000);
  assert.equal(session.state.phase, "ended");
  assert.deepEqual(bodies(session), ["Solved while you were away"], "read from the archive");
  assert.deepEqual(session.timeline.items.filter((i) => i.kind === "status"), [], "the archived end is not said again");
});

test("session: a room destroyed without the desk's closed event: its reason is kept for the end", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  const room = await startChat(ctx);
  server.destroyRoom(room, "Closed by the administrator", { said: null });
  await settle();
  assert.equal(session.state.phase, "ended");
  assert.equal(session.state.endText, "Closed by the administrator");
});

test("session: the customer ends the chat: an explicit leave, then the rating", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  await startChat(ctx);
  await session.endChat();
  assert.equal(session.state.phase, "ended");
  assert.equal(session.state.endReason, "left");
  const leave = server.lastLeave;
  assert.equal(leave.attrs.type, "unavailable");
  assert.equal(leave.getChild("desk", "urn:mucdesk:0").attrs.event, "leave");
  await settle();
  assert.equal(session.state.link, "offline", "no reconnection after leaving");
  assert.equal(await session.rate(4), true);
});

test("session: a nick already taken is retried with a suffix", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  server.evictOnResume = false;
  session.open();
  await settle();
  // Someone is already "Ann" in every new room.
  const orig = server.command.bind(server);
  server.command = (t, iq, cmd) => {
    const r = orig(t, iq, cmd);
    for (const [, room] of server.rooms) if (!room.occupants.has("Ann")) room.occupants.set("Ann", { jid: "other@x/y", customer: true, transport: null });
    return r;
  };
  await session.submitForm({ ...ANSWERS });
  await settle();
  assert.equal(session.state.nick, "Ann (2)");
  assert.equal(session.joined, true);
});

test("session: a message the room refuses is marked failed and can be retried", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  const room = await startChat(ctx);
  const t = server.transports.at(-1);
  const orig = server.onStanza.bind(server);
  server.onStanza = (tr, s) => {
    if (s.name === "message" && s.getChild("body")) {
      tr.deliver(xml("message", { from: room, type: "error", id: s.attrs.id }, xml("error", { type: "modify" }, xml("resource-constraint", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }))));
      return;
    }
    orig(tr, s);
  };
  const item = session.sendMessage("too fast");
  await settle();
  assert.equal(item.state, "failed");
  server.onStanza = orig;
  session.retryMessage(item.key);
  await settle();
  assert.equal(item.state, "sent");
  assert.ok(t);
});

test("session: new chat after the end forgets everything and shows a fresh form", async () => {
  const ctx = setup();
  const { session, server, store } = ctx;
  const room = await startChat(ctx);
  server.destroyRoom(room);
  await settle();
  session.newChat();
  await settle();
  assert.equal(session.state.phase, "form");
  assert.equal(session.timeline.items.length, 0);
  assert.equal(store.load(), null);
  assert.equal(session.token, null);
});

test("session: after resume-chat, a room that refuses us ends in 'lost'", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  server.dropAll();
  await settle();
  // resume-chat accepts the token, but the room no longer lets this customer in.
  const orig = server.command.bind(server);
  server.command = (t, iq, cmd) => {
    const r = orig(t, iq, cmd);
    server.rooms.get(room).members.clear();
    return r;
  };
  await clock.advance(1000);
  assert.equal(session.state.phase, "lost", "registration-required after a good resume-chat");
});

test("session: a join that times out is retried, not given up", async () => {
  const ctx = setup();
  const { session, server, clock } = ctx;
  const room = await startChat(ctx);
  server.dropAll();
  await settle();
  const orig = server.onStanza.bind(server);
  let swallowed = 0;
  server.onStanza = (t, s) => {
    if (s.name === "presence" && swallowed === 0) {
      swallowed += 1; // the join gets lost once
      return;
    }
    orig(t, s);
  };
  await clock.advance(1000);
  assert.equal(session.state.link, "connecting");
  await clock.advance(20000);
  assert.equal(session.state.link, "retrying");
  await clock.advance(2000);
  assert.equal(session.state.link, "online");
  assert.equal(server.rooms.get(room).occupants.size, 1);
});

test("session: the link dropped while the form was shown: the submit reconnects and starts a new command session", async () => {
  const ctx = setup();
  const { session, server } = ctx;
  session.open();
  await settle();
  server.dropAll();
  await settle();
  assert.equal(session.state.phase, "form", "nothing to resume before a chat exists");
  assert.equal(await session.submitForm({ ...ANSWERS }), true);
  await settle();
  assert.equal(session.state.phase, "waiting");
  assert.equal(server.transports.length, 2);
  const executes = server.sentBy((e) => e.getChild("command") && e.getChild("command").attrs.action === "execute");
  assert.equal(executes.length, 2, "one execute per connection");
});

test("session: a duplicated tab does not fight over the chat: 'open elsewhere', then 'continue here' takes it over", async () => {
  const server = new FakeServer();
  const channel = `mucdesk-test-${Math.random()}`;
  const storeA = mapStore();
  const a = setup({ server, store: storeA, tabs: createTabGuard({ BroadcastChannel }, channel) });
  const room = await startChat(a);
  server.agentJoin(room);
  server.agentSay(room, "hello from Alex");
  await settle();
  // "Duplicate tab": the new tab starts with a copy of sessionStorage.
  const storeB = mapStore();
  storeB.map.set("s", storeA.map.get("s"));
  const b = setup({ server, store: storeB, tabs: createTabGuard({ BroadcastChannel }, channel) });
  await new Promise((r) => setTimeout(r, 100));
  await settle();
  assert.equal(b.session.state.phase, "elsewhere");
  assert.equal(b.server.transports.length, 1, "the new tab did not connect");
  assert.equal(a.session.state.phase, "chatting", "the first tab keeps the chat");
  // The customer chooses the new tab.
  b.session.continueHere();
  await new Promise((r) => setTimeout(r, 50));
  await settle();
  assert.equal(a.session.state.phase, "elsewhere");
  assert.equal(a.session.transport, null);
  assert.equal(b.session.state.phase, "chatting");
  assert.equal(b.session.state.link, "online");
  assert.deepEqual(bodies(b.session), ["hello from Alex"]);
  assert.equal(storeA.load().phase, "chatting", "the yielding tab keeps its copy, to take it back later");
  a.session.destroy();
  b.session.destroy();
});
