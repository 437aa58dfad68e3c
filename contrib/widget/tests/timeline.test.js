import { test } from "node:test";
import assert from "node:assert/strict";
import { Timeline } from "../src/timeline.js";

const msg = (sid, body, extra = {}) => ({ kind: "message", fromSelf: false, nick: "Alex", body, time: 1, stanzaId: sid, ...extra });
const bodies = (t) => t.items.map((i) => i.body);

test("timeline: live messages in order, a stanza-id seen twice is dropped", () => {
  const t = new Timeline();
  assert.ok(t.add(msg("s1", "a")));
  assert.ok(t.add(msg("s2", "b")));
  assert.equal(t.add(msg("s1", "a again")), null);
  assert.deepEqual(bodies(t), ["a", "b"]);
  assert.equal(t.lastStanzaId(), "s2");
});

test("timeline: a catch-up inserts what was missed before what arrived live meanwhile, without duplicates", () => {
  const t = new Timeline();
  t.add(msg("s1", "one"));
  t.add(msg("s2", "two"));
  // Link lost after s2.  On rejoin, s5 arrives live before the archive answers.
  t.beginCatchUp();
  t.add(msg("s5", "five (live)"));
  for (const [sid, body] of [["s2", "two"], ["s3", "three"], ["s4", "four"], ["s5", "five (archived)"]]) t.add(msg(sid, body), true);
  t.endCatchUp(true);
  assert.deepEqual(bodies(t), ["one", "two", "three", "four", "five (live)"]);
  assert.equal(t.lastStanzaId(), "s5");
  // A second reconnect replays the whole page: nothing changes.
  t.beginCatchUp();
  for (const sid of ["s3", "s4", "s5"]) assert.equal(t.add(msg(sid, "dup"), true), null);
  t.endCatchUp(true);
  assert.deepEqual(bodies(t), ["one", "two", "three", "four", "five (live)"]);
});

test("timeline: archive pages arriving in several parts keep their order", () => {
  const t = new Timeline();
  t.beginCatchUp();
  for (let i = 1; i <= 120; i += 1) t.add(msg(`s${i}`, String(i)), true);
  t.endCatchUp(true);
  assert.deepEqual(bodies(t), Array.from({ length: 120 }, (_, i) => String(i + 1)));
});

test("timeline: an interrupted catch-up does not move the resume point past live messages", () => {
  const t = new Timeline();
  t.add(msg("s1", "one"));
  t.beginCatchUp();
  t.add(msg("s9", "nine (live)"));
  t.add(msg("s2", "two"), true);
  t.endCatchUp(false); // the link dropped after the first page
  assert.equal(t.lastStanzaId(), "s2", "the next catch-up must ask for what follows s2, not s9");
  t.beginCatchUp();
  for (let i = 3; i <= 9; i += 1) t.add(msg(`s${i}`, `m${i}`), true);
  t.endCatchUp(true);
  assert.deepEqual(bodies(t), ["one", "two", "m3", "m4", "m5", "m6", "m7", "m8", "nine (live)"]);
});

test("timeline: own messages are pending until the room reflects them (by origin-id)", () => {
  const t = new Timeline();
  const mine = t.addLocal("hello", "o1", 5);
  assert.equal(mine.state, "pending");
  assert.deepEqual(t.pending().map((i) => i.originId), ["o1"]);
  const back = t.add({ kind: "message", fromSelf: true, nick: "Ann", body: "hello", time: 6, stanzaId: "s1", originId: "o1" });
  assert.equal(back, mine);
  assert.equal(mine.state, "sent");
  assert.equal(mine.stanzaId, "s1");
  assert.equal(t.items.length, 1);
  assert.equal(t.add({ kind: "message", fromSelf: true, nick: "Ann", body: "hello", stanzaId: "s1", originId: "o1" }, true), null);
  assert.equal(t.items.length, 1);
});

test("timeline: a pending message found in the archive is confirmed and takes its archived place", () => {
  const t = new Timeline();
  t.add(msg("s1", "one"));
  t.addLocal("sent just before the drop", "o1", 5);
  t.addLocal("typed while offline", "o2", 6);
  t.beginCatchUp();
  t.add(msg("s2", "agent said this first"), true);
  t.add({ kind: "message", fromSelf: true, nick: "Ann", body: "sent just before the drop", stanzaId: "s3", originId: "o1", time: 7 }, true);
  t.add(msg("s4", "agent replied"), true);
  t.endCatchUp(true);
  assert.deepEqual(bodies(t), ["one", "agent said this first", "sent just before the drop", "agent replied", "typed while offline"]);
  assert.deepEqual(t.pending().map((i) => i.originId), ["o2"], "only o2 must be sent again");
});

test("timeline: the same origin-id archived twice (a resend) is shown once", () => {
  const t = new Timeline();
  t.addLocal("hi", "o1", 1);
  t.add({ kind: "message", fromSelf: true, nick: "Ann", body: "hi", stanzaId: "s1", originId: "o1" });
  assert.equal(t.add({ kind: "message", fromSelf: true, nick: "Ann", body: "hi", stanzaId: "s2", originId: "o1" }), null);
  assert.equal(t.items.length, 1);
  assert.equal(t.lastStanzaId(), "s2");
});

test("timeline: corrections edit the message they name, from the same sender, once", () => {
  const t = new Timeline();
  t.add(msg("s1", "teh answer", { msgId: "m1" }));
  t.add(msg("s2", "the answer", { msgId: "m2", replaceId: "m1" }));
  assert.deepEqual(bodies(t), ["the answer"]);
  assert.equal(t.items[0].edited, true);
  // Someone else cannot correct it.
  t.add({ kind: "message", fromSelf: false, nick: "Mallory", body: "pwned", stanzaId: "s3", msgId: "m3", replaceId: "m1" });
  assert.deepEqual(bodies(t), ["the answer", "pwned"]);
});

test("timeline: statuses without an item still count as seen and move the resume point", () => {
  const t = new Timeline();
  t.markSeen("q1");
  assert.equal(t.hasSeen("q1"), true);
  assert.equal(t.lastStanzaId(), "q1");
});

test("timeline: survives a JSON round trip (sessionStorage), keeping identities", () => {
  const t = new Timeline();
  t.add(msg("s1", "one"));
  t.addLocal("mine", "o1", 2);
  t.addNotice("agentJoined", { name: "Alex" }, 3);
  const back = Timeline.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
  assert.deepEqual(back.items, t.items);
  assert.equal(back.add(msg("s1", "dup")), null);
  assert.equal(back.lastStanzaId(), "s1");
  assert.deepEqual(back.pending().map((i) => i.originId), ["o1"]);
  assert.equal(Timeline.fromJSON("garbage").items.length, 0);
  assert.equal(Timeline.fromJSON({ items: [null, 3, { key: "k", kind: "notice", notice: { key: "x" } }] }).items.length, 1);
});

test("timeline: toJSON keeps only the newest items when asked", () => {
  const t = new Timeline();
  for (let i = 0; i < 10; i += 1) t.add(msg(`s${i}`, String(i)));
  assert.deepEqual(t.toJSON(3).items.map((i) => i.body), ["7", "8", "9"]);
});
