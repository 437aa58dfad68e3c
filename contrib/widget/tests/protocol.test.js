import { test } from "node:test";
import assert from "node:assert/strict";
import parse from "@xmpp/xml/lib/parse.js";
import {
  buildChatState, buildGroupchat, buildJoin, buildLeave, buildMamQuery, parseCommandResponse, parseError,
  parseMamFin, parseMamResult, parseRoomMessage, parseRoomPresence, submitAction, toXmppError,
} from "../src/protocol.js";

const ROOM = "ticket-42@support.localhost";

test("protocol: join asks for no history (MAM fills the gap) and leave says it is on purpose", () => {
  assert.equal(buildJoin(ROOM, "Ann").toString(), `<presence to="${ROOM}/Ann"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`);
  assert.equal(buildLeave(ROOM, "Ann").toString(), `<presence to="${ROOM}/Ann" type="unavailable"><desk xmlns="urn:mucdesk:0" event="leave"/></presence>`);
});

test("protocol: a message carries an origin-id equal to its id and an active chat state", () => {
  const m = buildGroupchat(ROOM, "hi <b>", "abc");
  assert.equal(m.toString(), `<message to="${ROOM}" type="groupchat" id="abc"><body>hi &lt;b&gt;</body><active xmlns="http://jabber.org/protocol/chatstates"/><origin-id xmlns="urn:xmpp:sid:0" id="abc"/></message>`);
  assert.match(buildChatState(ROOM, "composing", "x").toString(), /<composing xmlns="http:\/\/jabber.org\/protocol\/chatstates"\/><no-store xmlns="urn:xmpp:hints"\/>/);
});

test("protocol: MAM query with RSM after and max; first query has no after", () => {
  const q = buildMamQuery(ROOM, "q1", "sid-7", 50, "i1").toString();
  assert.match(q, /<query xmlns="urn:xmpp:mam:2" queryid="q1">/);
  assert.match(q, /<set xmlns="http:\/\/jabber.org\/protocol\/rsm"><max>50<\/max><after>sid-7<\/after><\/set>/);
  assert.ok(!buildMamQuery(ROOM, "q1", null).toString().includes("<after>"));
});

test("protocol: room messages are classified; only the room's own stanza-id is trusted", () => {
  const m = parseRoomMessage(parse(`<message from='${ROOM}/Alex' type='groupchat' id='m1'><body>Hi</body><stanza-id xmlns='urn:xmpp:sid:0' id='fake' by='evil@x'/><stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='${ROOM}'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`), ROOM);
  assert.equal(m.kind, "message");
  assert.equal(m.nick, "Alex");
  assert.equal(m.stanzaId, "s1");
  assert.equal(m.originId, "o1");
  assert.equal(m.msgId, "m1");
  const st = parseRoomMessage(parse(`<message from='${ROOM}' type='groupchat'><body>You are number 2</body><desk xmlns='urn:mucdesk:0' event='queue' position='2' wait='120'/></message>`), ROOM);
  assert.equal(st.kind, "status");
  assert.deepEqual(st.desk.attrs, { event: "queue", position: "2", wait: "120" });
  assert.equal(parseRoomMessage(parse(`<message from='${ROOM}/Alex' type='groupchat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`), ROOM).kind, "chatstate");
  assert.equal(parseRoomMessage(parse(`<message from='${ROOM}' type='groupchat'><subject>Ticket 42</subject></message>`), ROOM).kind, "subject");
  assert.equal(parseRoomMessage(parse(`<message from='other@support.localhost/Alex' type='groupchat'><body>x</body></message>`), ROOM), null);
  assert.equal(parseRoomMessage(parse(`<message from='${ROOM}/Alex' type='chat'><body>private</body></message>`), ROOM).kind, "other");
  const delayed = parseRoomMessage(parse(`<message from='${ROOM}/Alex' type='groupchat'><body>x</body><delay xmlns='urn:xmpp:delay' stamp='2026-11-22T09:00:00Z'/></message>`), ROOM);
  assert.equal(delayed.stamp, Date.UTC(2026, 10, 22, 9));
  const err = parseRoomMessage(parse(`<message from='${ROOM}' type='error' id='o9'><error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`), ROOM);
  assert.equal(err.kind, "error");
  assert.equal(err.error.condition, "not-acceptable");
});

test("protocol: presences: self (110), destroy, kick, nick change, errors", () => {
  const self = parseRoomPresence(parse(`<presence from='${ROOM}/Ann'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant'/><status code='110'/><status code='210'/></x></presence>`), ROOM);
  assert.equal(self.self, true);
  assert.equal(self.available, true);
  assert.ok(self.codes.has("210"));
  const d = parseRoomPresence(parse(`<presence from='${ROOM}/Ann' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><destroy><reason>Resolved</reason></destroy><status code='110'/></x></presence>`), ROOM);
  assert.deepEqual(d.destroy, { reason: "Resolved", jid: null });
  const nick = parseRoomPresence(parse(`<presence from='${ROOM}/Alex' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item nick='Alexandra'/><status code='303'/></x></presence>`), ROOM);
  assert.equal(nick.newNick, "Alexandra");
  const e = parseRoomPresence(parse(`<presence from='${ROOM}/Ann' type='error'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`), ROOM);
  assert.equal(e.error.condition, "conflict");
});

test("protocol: errors: condition, text, and the field a bad-request names", () => {
  const e = parseError(parse(`<iq type='error'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>email: give one email address, such as name@example.org</text></error></iq>`));
  assert.equal(e.condition, "bad-request");
  assert.equal(e.field, "email");
  assert.equal(e.fieldText, "give one email address, such as name@example.org");
  assert.equal(parseError(parse(`<iq type='error'><error><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Closed for today</text></error></iq>`)).field, null);
  assert.equal(toXmppError(Object.assign(new Error("t"), { name: "TimeoutError" })).condition, "timeout");
  assert.equal(toXmppError(new Error("socket")).condition, "disconnected");
  assert.equal(toXmppError({ condition: "forbidden", text: "no" }).text, "no");
});

test("protocol: command responses: status, session, notes, actions", () => {
  const r = parseCommandResponse(parse(`<iq type='result'><command xmlns='http://jabber.org/protocol/commands' node='request-chat' sessionid='s1' status='executing'><actions execute='next'><next/><complete/></actions><note type='info'>Hi</note><x xmlns='jabber:x:data' type='form'/></command></iq>`));
  assert.equal(r.status, "executing");
  assert.equal(r.sessionid, "s1");
  assert.deepEqual(r.notes, [{ type: "info", text: "Hi" }]);
  assert.equal(submitAction(r), "next");
  assert.ok(r.x);
  const plain = parseCommandResponse(parse(`<iq type='result'><command xmlns='http://jabber.org/protocol/commands' node='x' sessionid='s' status='executing'/></iq>`));
  assert.equal(submitAction(plain), "complete");
  assert.equal(parseCommandResponse(parse(`<iq type='result'/>`)), null);
});

test("protocol: MAM results and fin", () => {
  const r = parseMamResult(parse(`<message from='${ROOM}'><result xmlns='urn:xmpp:mam:2' queryid='q1' id='sid-3'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-22T09:00:00Z'/><message from='${ROOM}/Alex' type='groupchat'><body>x</body></message></forwarded></result></message>`));
  assert.equal(r.queryid, "q1");
  assert.equal(r.id, "sid-3");
  assert.equal(r.stamp, Date.UTC(2026, 10, 22, 9));
  assert.equal(r.message.getChildText("body"), "x");
  const fin = parseMamFin(parse(`<iq type='result'><fin xmlns='urn:xmpp:mam:2' complete='false'><set xmlns='http://jabber.org/protocol/rsm'><first>a</first><last>b</last><count>9</count></set></fin></iq>`));
  assert.deepEqual(fin, { complete: false, first: "a", last: "b", count: 9 });
  assert.equal(parseMamFin(parse(`<iq type='result'/>`)).complete, true);
});
