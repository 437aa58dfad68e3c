// The chat session: everything the widget does over XMPP, as a state
// machine the UI renders.  It talks to the server only through a transport
// (see transport.js for the real one, tests/support/fake-xmpp.js for the fake), so
// every rule here is unit-tested.
//
// Phases (state.phase):
//   idle          nothing asked yet
//   loading       connecting and fetching the pre-chat form
//   form          the pre-chat (or leave-a-message) form is shown
//   submitting    the form was sent
//   message-left  a message was left while nobody was available (final)
//   joining       request-chat answered; entering the session room
//   waiting       in the room, no agent yet (position and wait shown)
//   chatting      in the room with at least one agent
//   ended         the room was closed, or the customer ended the chat
//   failed        the form could not be loaded or the service refused
//   lost          the chat could not be resumed (token refused)
//   elsewhere     another tab of the site holds this chat (tabs.js)
// The link (state.link) is separate: offline, connecting, online, retrying.
//
// Reliability, in short: the resume token is stored as soon as
// request-chat answers; whenever the link drops during joining, waiting or
// chatting (or the page reloads), the session reconnects with backoff,
// runs resume-chat, rejoins the room, reads the archive (MAM) after the
// last stanza-id it holds, and only then re-sends what the customer typed
// that the archive does not hold yet.  See doc/widget-protocol.md.

import { Emitter } from "./emitter.js";
import { Backoff } from "./backoff.js";
import { Timeline } from "./timeline.js";
import { randomId } from "./ids.js";
import { MAX_FILES_AT_ONCE, checkFile, fileOf, fileType, isUploadUrl } from "./files.js";
import { createHttp } from "./http.js";
import {
  NS,
  XmppError,
  bareJid,
  buildChatState,
  buildCommandSubmit,
  buildDiscoInfo,
  buildExecute,
  buildGroupchat,
  buildJoin,
  buildLeave,
  buildMamQuery,
  buildPing,
  buildSlotRequest,
  parseCommandResponse,
  parseError,
  parseMamFin,
  parseMamResult,
  parseRoomMessage,
  parseRoomPresence,
  parseSlot,
  parseUploadService,
  submitAction,
  toXmppError,
} from "./protocol.js";
import {
  buildSubmit,
  buildSubmitFromObject,
  formValue,
  getField,
  initialValues,
  parseBoolean,
  parseForm,
  resultValues,
  validateForm,
} from "./forms.js";

export const TIMEOUTS = Object.freeze({
  connect: 20000, // WebSocket + anonymous login
  command: 20000, // one ad-hoc command round trip
  join: 20000, // MUC join until our self-presence
  mam: 20000, // one MAM page
  ping: 15000, // XEP-0410 self-ping answer
  keepalive: 30000, // interval between self-pings while in the room
  typingPause: 5000, // composing -> paused after this much quiet
  typingStale: 30000, // an agent's "typing" with no news is dropped after this
  leave: 3000, // wait for the room to confirm an explicit leave
  fileCheck: 2000, // between asks whether a file the scan holds is released
});

// How long a file held by the service's scan is asked about (x fileCheck).
const FILE_CHECKS = 90;

const MAM_PAGE = 50;
const MAM_MAX_PAGES = 40;
const NICK_RETRIES = 3;
const TOKEN_REFUSED = new Set(["item-not-found", "not-authorized", "forbidden", "registration-required", "bad-request", "note"]);
const JOIN_REFUSED = new Set(["registration-required", "forbidden", "not-authorized"]);
const ROOM_PHASES = new Set(["joining", "waiting", "chatting"]);

export const realClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t),
};

function initialState() {
  return {
    phase: "idle",
    link: "offline",
    retryAt: null,
    retryAttempt: 0,
    form: null,
    formMode: "chat", // "chat" or "offline" (leave a message)
    formValues: {},
    formErrors: {}, // var -> {key, vars} or {text}
    formError: null, // {key} or {text}: about the whole form
    notes: [], // info notes from the server, shown above the form
    ticket: null,
    room: null,
    nick: null,
    name: null,
    position: null,
    wait: null,
    noAgents: false,
    agents: [],
    typing: [],
    subject: null,
    endReason: null, // "closed", "removed", "left"
    endText: null, // a reason from a room destroyed without the desk's "closed" event
    endedAt: null, // ms
    rating: { state: "none", stars: 0, comment: "" }, // none, requested, sending, done, error
    error: null, // {key} or {text} for failed/lost
    upload: null, // the upload service's limits (files.js), once it said it has one
    fileError: null, // {key, vars}: a file refused before it was sent
  };
}

export class ChatSession extends Emitter {
  /**
   * options: { config, transportFactory(opts) -> transport, store (from
   * storage.js), clock, env: { page, browser }, random, backoff, timeouts }
   */
  constructor({ config, transportFactory, store, clock = realClock, env = {}, random = Math.random, backoff = {}, timeouts = {}, tabs = null, http = null }) {
    super();
    this.http = http || createHttp(globalThis);
    this.files = new Map(); // item key -> the File being uploaded (to retry a failed one)
    this.uploadAsked = null; // the disco#info in flight
    this.uploadLimits = undefined; // what it said (null: no upload service)
    this.tabs = tabs;
    this.heldPhase = null; // the room phase to go back to from "elsewhere"
    if (tabs) tabs.onTaken(() => this.yieldToOtherTab());
    this.config = config;
    this.transportFactory = transportFactory;
    this.store = store;
    this.clock = clock;
    this.env = env;
    this.t = { ...TIMEOUTS, ...timeouts };
    this.backoff = new Backoff(backoff, random);
    this.state = initialState();
    this.timeline = new Timeline();
    this.timeline.onChange(() => {
      this.save();
      this.emit("timeline", this.timeline);
    });

    this.transport = null;
    this.linkUp = false; // the transport is connected and logged in
    this.gen = 0; // bumps with each transport; events of older ones are ignored
    this.token = null;
    this.ownNicks = new Set();
    this.joined = false;
    this.joinWaiter = null;
    this.mam = null; // { queryid, results[] } while a MAM page is read
    this.timers = new Map();
    this.commandSession = null; // { sessionid, action } of the open request-chat
    this.resuming = null;
    this.inflight = new Set(); // rejecters of requests on the current transport
    this.leaving = false;
    this.liveQueueStatus = false; // a live queue status arrived during the catch-up
    this.sentChatState = "active";
    this.closedSeen = false; // the desk said the chat is closed (<desk event='closed'/>)
    this.typingTimers = new Map();
    this.destroyed = false;
    this.ui = {};
  }

  // ------------------------------------------------------------ state

  update(patch) {
    Object.assign(this.state, patch);
    this.save();
    this.emit("change", this.state);
  }

  /** UI state that should survive a reload too (the panel being open). */
  setUi(patch) {
    Object.assign(this.ui, patch);
    this.save();
  }

  save() {
    if (!this.store) return;
    const s = this.state;
    const phase = s.phase === "elsewhere" ? this.heldPhase || "joining" : s.phase;
    if (!this.token || !(ROOM_PHASES.has(phase) || phase === "ended")) {
      if (this.ui.open) this.store.save({ ui: this.ui });
      else this.store.clear();
      return;
    }
    const data = (limit) => ({
      ui: this.ui,
      token: this.token,
      phase,
      ticket: s.ticket,
      room: s.room,
      nick: s.nick,
      name: s.name,
      ownNicks: [...this.ownNicks],
      position: s.position,
      wait: s.wait,
      noAgents: s.noAgents,
      agents: s.agents,
      subject: s.subject,
      endReason: s.endReason,
      endText: s.endText,
      endedAt: s.endedAt,
      closedSeen: this.closedSeen,
      rating: { state: s.rating.state === "sending" ? "error" : s.rating.state, stars: s.rating.stars, comment: s.rating.comment },
      timeline: this.timeline.toJSON(limit),
    });
    if (!this.store.save(data(500))) this.store.save(data(50));
  }

  /** Called once after construction: picks up a chat from storage. */
  start() {
    const saved = this.store ? this.store.load() : null;
    if (saved && saved.ui && typeof saved.ui === "object") this.ui = { ...saved.ui };
    if (!saved || typeof saved.token !== "string" || typeof saved.room !== "string") return;
    this.token = saved.token;
    this.closedSeen = !!saved.closedSeen;
    this.ownNicks = new Set(Array.isArray(saved.ownNicks) ? saved.ownNicks : []);
    this.timeline = Timeline.fromJSON(saved.timeline);
    // An upload the page left can't go on: the file is gone with the page.
    for (const it of this.timeline.items) {
      if (it.state === "upload" && it.file && it.file.state !== "failed") Object.assign(it.file, { state: "failed", error: { key: "fileInterrupted", vars: {} } });
    }
    this.timeline.onChange(() => {
      this.save();
      this.emit("timeline", this.timeline);
    });
    const rating = saved.rating && typeof saved.rating === "object" ? saved.rating : {};
    Object.assign(this.state, {
      phase: saved.phase === "ended" ? "ended" : saved.phase === "chatting" ? "chatting" : saved.phase === "waiting" ? "waiting" : "joining",
      ticket: saved.ticket ?? null,
      room: saved.room,
      nick: saved.nick ?? null,
      name: saved.name ?? null,
      position: saved.position ?? null,
      wait: saved.wait ?? null,
      noAgents: !!saved.noAgents,
      agents: Array.isArray(saved.agents) ? saved.agents : [],
      subject: saved.subject ?? null,
      endReason: saved.endReason ?? null,
      endText: saved.endText ?? null,
      endedAt: saved.endedAt ?? null,
      rating: { state: rating.state || "none", stars: rating.stars || 0, comment: rating.comment || "" },
    });
    this.emit("change", this.state);
    this.emit("timeline", this.timeline);
    if (this.state.phase === "ended") return;
    if (!this.tabs) {
      this.resume();
      return;
    }
    const token = this.token;
    this.tabs.heldElsewhere(token).then((elsewhere) => {
      if (this.destroyed || this.token !== token) return;
      if (elsewhere) {
        this.heldPhase = this.state.phase;
        this.update({ phase: "elsewhere", link: "offline" });
      } else {
        this.tabs.hold(token);
        this.resume();
      }
    });
  }

  /** Another tab took this chat over: stop, quietly (no leave). */
  yieldToOtherTab() {
    if (!ROOM_PHASES.has(this.state.phase)) return;
    this.heldPhase = this.state.phase;
    this.clearTimer("retry");
    this.clearTimer("typing");
    this.dropTransport();
    this.update({ phase: "elsewhere", link: "offline", retryAt: null, typing: [] });
  }

  /** "Continue here": take the chat back from the other tab. */
  continueHere() {
    if (this.state.phase !== "elsewhere" || !this.token) return undefined;
    if (this.tabs) this.tabs.take(this.token);
    this.backoff.reset();
    this.update({ phase: this.heldPhase || "joining" });
    return this.resume();
  }

  destroy() {
    this.destroyed = true;
    if (this.tabs) this.tabs.close();
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const t of this.typingTimers.values()) this.clock.clearTimeout(t);
    this.dropTransport();
  }

  // ------------------------------------------------------------ timers

  setTimer(name, ms, fn) {
    this.clearTimer(name);
    this.timers.set(
      name,
      this.clock.setTimeout(() => {
        this.timers.delete(name);
        fn();
      }, ms),
    );
  }

  clearTimer(name) {
    const t = this.timers.get(name);
    if (t !== undefined) {
      this.clock.clearTimeout(t);
      this.timers.delete(name);
    }
  }

  withTimeout(promise, ms, condition = "timeout") {
    return new Promise((resolve, reject) => {
      const t = this.clock.setTimeout(() => reject(new XmppError(condition, "", "wait")), ms);
      promise.then(
        (v) => {
          this.clock.clearTimeout(t);
          resolve(v);
        },
        (e) => {
          this.clock.clearTimeout(t);
          reject(e);
        },
      );
    });
  }

  // ------------------------------------------------------------ link

  /**
   * Opens a new connection.  The link shows "online" once it is up, unless
   * `quiet` (a resume: "online" only once back in the room).
   */
  async connect({ quiet = false } = {}) {
    this.dropTransport();
    // A command session belongs to the JID that opened it: a new
    // connection (a new anonymous JID) must start its own.
    this.commandSession = null;
    const gen = ++this.gen;
    const transport = this.transportFactory({ websocket: this.config.websocket, domain: this.config.domain, lang: this.env.lang || undefined });
    this.transport = transport;
    transport.on("stanza", (el) => {
      if (gen === this.gen) this.onStanza(el);
    });
    transport.on("disconnect", () => {
      if (gen === this.gen) this.onLinkLost();
    });
    this.update({ link: "connecting" });
    try {
      await this.withTimeout(transport.start(), this.t.connect);
    } catch (e) {
      if (gen === this.gen) this.dropTransport();
      throw toXmppError(e);
    }
    if (gen !== this.gen) throw new XmppError("disconnected");
    this.linkUp = true;
    this.update({ link: quiet ? "connecting" : "online", retryAt: null });
    return transport;
  }

  async ensureConnected(options) {
    if (this.transport && this.linkUp) return this.transport;
    return this.connect(options);
  }

  /** Forgets the current transport (closing it quietly). */
  dropTransport() {
    const t = this.transport;
    this.transport = null;
    this.linkUp = false;
    this.gen += 1;
    this.joined = false;
    this.clearTimer("keepalive");
    this.clearTimer("stable");
    for (const reject of this.inflight) reject(new XmppError("disconnected"));
    this.inflight.clear();
    if (this.joinWaiter) {
      this.joinWaiter.reject(new XmppError("disconnected"));
      this.joinWaiter = null;
    }
    if (t) {
      Promise.resolve()
        .then(() => t.stop())
        .catch(() => {});
    }
    if (this.state.link !== "offline" && this.state.link !== "retrying") this.update({ link: "offline" });
  }

  onLinkLost() {
    this.transport = null;
    this.dropTransport();
    if (ROOM_PHASES.has(this.state.phase) && !this.destroyed) this.scheduleResume();
  }

  async request(el, timeout = this.t.command) {
    const transport = this.transport;
    if (!transport) throw new XmppError("disconnected");
    if (!el.attrs.id) el.attrs.id = randomId();
    let reject;
    const dropped = new Promise((_, r) => {
      reject = r;
    });
    this.inflight.add(reject);
    try {
      const res = await this.withTimeout(Promise.race([transport.request(el, timeout), dropped]), timeout + 1000);
      if (res && res.attrs && res.attrs.type === "error") throw parseError(res);
      return res;
    } catch (e) {
      throw toXmppError(e);
    } finally {
      this.inflight.delete(reject);
    }
  }

  send(el) {
    const transport = this.transport;
    if (!transport) return false;
    Promise.resolve()
      .then(() => transport.send(el))
      .catch(() => {});
    return true;
  }

  /** The browser says the network is back: don't wait for the backoff. */
  networkOnline() {
    if (this.state.link === "retrying") this.retryNow();
    else if (this.joined) this.selfPing();
  }

  retryNow() {
    if (this.state.phase === "failed" || this.state.phase === "idle") return this.loadForm();
    if (this.state.link === "retrying") {
      this.clearTimer("retry");
      return this.resume();
    }
    return undefined;
  }

  // ------------------------------------------------------------ ad-hoc

  /**
   * Executes `node` on `to`, answering each form with fill(form) (an object
   * of values), until the command completes.  Returns { form, notes } of
   * the completed result; throws XmppError (condition "note" for a note
   * of type error).
   */
  async runCommand(to, node, fill) {
    let res = parseCommandResponse(await this.request(buildExecute(to, node)));
    for (let stage = 0; res && res.status === "executing" && stage < 5; stage += 1) {
      const form = parseForm(res.x);
      if (!form) throw new XmppError("undefined-condition", "command sent no form");
      const x = buildSubmitFromObject(fill(form), form);
      res = parseCommandResponse(await this.request(buildCommandSubmit(to, node, res.sessionid, x, submitAction(res))));
    }
    if (!res) throw new XmppError("undefined-condition", "not a command response");
    const err = res.notes.find((n) => n.type === "error");
    if (err || res.status === "canceled") throw new XmppError("note", err ? err.text : "");
    return { form: parseForm(res.x), notes: res.notes };
  }

  // ------------------------------------------------------------ the form

  /** The panel was opened: make sure there is something to show. */
  open() {
    if (this.state.phase === "idle" || this.state.phase === "failed") return this.loadForm();
    return undefined;
  }

  async loadForm() {
    const keep = this.state.formValues;
    this.update({ phase: "loading", error: null, formError: null, formErrors: {} });
    try {
      await this.ensureConnected();
      const resp = parseCommandResponse(await this.request(buildExecute(this.config.queue, "request-chat")));
      if (!resp) throw new XmppError("undefined-condition");
      const err = resp.notes.find((n) => n.type === "error");
      if (err) throw new XmppError("note", err.text);
      const form = parseForm(resp.x);
      if (resp.status !== "executing" || !form) throw new XmppError("undefined-condition", "request-chat sent no form");
      this.commandSession = { sessionid: resp.sessionid, action: submitAction(resp) };
      const values = { ...initialValues(form, this.config.prefill), ...pick(keep, form) };
      this.update({
        phase: "form",
        form,
        formMode: isOffline(form) ? "offline" : "chat",
        formValues: values,
        notes: resp.notes.filter((n) => n.type !== "error"),
      });
    } catch (e) {
      const err = toXmppError(e);
      this.dropTransport();
      this.update({ phase: "failed", error: describeError(err, this.env.lang) });
    }
  }

  /** Values the widget fills itself in hidden fields it recognises. */
  autoValues(form) {
    const out = {};
    const page = getField(form, "page");
    if (page && page.type === "hidden" && this.env.page) out.page = this.env.page;
    const browser = getField(form, "browser");
    if (browser && browser.type === "hidden" && this.env.browser) out.browser = this.env.browser;
    const lang = getField(form, "lang");
    if (lang && lang.type === "hidden" && this.env.lang) out.lang = this.env.lang;
    return out;
  }

  /** The customer sent the form.  Returns false if it did not validate. */
  async submitForm(values) {
    const s = this.state;
    if (s.phase !== "form" || !s.form) return false;
    const errors = validateForm(s.form, values);
    if (Object.keys(errors).length) {
      this.update({ formValues: values, formErrors: errors, formError: { key: "errorSummary" } });
      return false;
    }
    this.update({ phase: "submitting", formValues: values, formErrors: {}, formError: null });
    let form = s.form;
    try {
      await this.ensureConnected();
      if (!this.commandSession) {
        // The previous attempt ended the command session: start a new one
        // and, if it asks the same questions, answer with what was typed.
        const resp = parseCommandResponse(await this.request(buildExecute(this.config.queue, "request-chat")));
        const fresh = resp && parseForm(resp.x);
        if (!fresh || resp.status !== "executing") throw new XmppError("undefined-condition", "request-chat sent no form");
        this.commandSession = { sessionid: resp.sessionid, action: submitAction(resp) };
        const same = sameFields(fresh, form);
        form = fresh;
        if (!same || Object.keys(validateForm(fresh, { ...initialValues(fresh), ...pick(values, fresh) })).length) {
          this.update({
            phase: "form",
            form: fresh,
            formMode: isOffline(fresh) ? "offline" : "chat",
            formValues: { ...initialValues(fresh, this.config.prefill), ...pick(values, fresh) },
          });
          return false;
        }
        values = { ...initialValues(fresh), ...pick(values, fresh) };
      }
      const { sessionid, action } = this.commandSession;
      const x = buildSubmit(form, values, this.autoValues(form));
      const resp = parseCommandResponse(
        await this.request(buildCommandSubmit(this.config.queue, "request-chat", sessionid, x, action)),
      );
      if (!resp) throw new XmppError("undefined-condition");
      const err = resp.notes.find((n) => n.type === "error");
      if (err) throw new XmppError("note", err.text);
      if (resp.status === "executing") {
        // A further stage: show its form.
        const next = parseForm(resp.x);
        if (!next) throw new XmppError("undefined-condition", "request-chat sent no form");
        this.commandSession = { sessionid: resp.sessionid || sessionid, action: submitAction(resp) };
        this.update({
          phase: "form",
          form: next,
          formMode: isOffline(next) ? "offline" : s.formMode,
          formValues: { ...initialValues(next, this.config.prefill), ...pick(values, next) },
          notes: resp.notes,
        });
        return false;
      }
      this.commandSession = null;
      return this.onRequestAnswered(parseForm(resp.x), resp.notes, values);
    } catch (e) {
      this.commandSession = null;
      const err = toXmppError(e);
      const formErrors = {};
      let formError = null;
      if (err.field && form.fields.some((f) => f.var === err.field)) formErrors[err.field] = { text: err.fieldText };
      else formError = describeError(err, this.env.lang);
      if (Object.keys(formErrors).length && !formError) formError = { key: "errorSummary" };
      if (err.condition === "disconnected" || err.condition === "timeout") this.dropTransport();
      this.update({ phase: "form", formErrors, formError });
      return false;
    }
  }

  onRequestAnswered(result, notes, values) {
    const v = resultValues(result);
    const info = notes.filter((n) => n.type !== "error");
    if (parseBoolean(v.offline || "") || !v.room || !v.token) {
      // A message left for later: nothing to join.
      this.dropTransport();
      this.update({ phase: "message-left", ticket: v.ticket || null, notes: info });
      return true;
    }
    const room = bareJid(v.room);
    const name = String(values.name || "").trim();
    const nick = (v.nick || name || "guest").trim().slice(0, 64);
    this.token = v.token;
    this.closedSeen = false;
    if (this.tabs) this.tabs.hold(v.token);
    this.ownNicks = new Set([nick]);
    this.timeline = new Timeline();
    this.timeline.onChange(() => {
      this.save();
      this.emit("timeline", this.timeline);
    });
    this.emit("timeline", this.timeline);
    this.update({
      phase: "joining",
      ticket: v.ticket || null,
      room,
      nick,
      name,
      position: numberOrNull(v.position),
      wait: numberOrNull(v.wait),
      noAgents: parseBoolean(v["no-agents"] || ""),
      agents: [],
      notes: info,
      form: null,
    });
    this.enterRoom().catch((e) => this.onRoomFailure(e));
    return true;
  }

  // ------------------------------------------------------------ the room

  /** Joins the room, reads what was missed, re-sends what is pending. */
  async enterRoom() {
    const before = new Set(this.state.agents);
    const roster = await this.join();
    // Agents who came or went while we were away get the notice they would
    // have had live; those still here are not announced twice.
    const now = this.clock.now();
    for (const nick of roster) if (!before.has(nick)) this.timeline.addNotice("agentJoined", { name: nick }, now);
    for (const nick of before) if (!roster.includes(nick)) this.timeline.addNotice("agentLeft", { name: nick }, now);
    this.update({ agents: roster, phase: this.phaseFor(roster) });
    this.askUploadService();
    await this.catchUp();
    this.flushPending();
    this.setTimer("keepalive", this.t.keepalive, () => this.selfPing());
    this.setTimer("stable", this.backoff.o.stableAfter, () => this.backoff.reset());
  }

  phaseFor(agents) {
    if (this.state.phase === "ended") return "ended";
    return agents.length ? "chatting" : "waiting";
  }

  /** Sends the join presence and waits for our self-presence; returns the roster. */
  async join() {
    const room = this.state.room;
    let nick = this.state.nick;
    for (let attempt = 0; ; attempt += 1) {
      this.roster = new Set();
      const waiter = {};
      const done = new Promise((resolve, reject) => {
        waiter.resolve = resolve;
        waiter.reject = reject;
      });
      this.joinWaiter = waiter;
      this.joined = false;
      this.pendingNick = nick;
      this.send(buildJoin(room, nick));
      try {
        await this.withTimeout(done, this.t.join);
        return [...this.roster];
      } catch (e) {
        const err = toXmppError(e);
        this.joinWaiter = null;
        if (err.condition === "conflict" && attempt < NICK_RETRIES) {
          nick = `${this.state.nick.replace(/ \(\d+\)$/, "")} (${attempt + 2})`;
          continue;
        }
        throw err;
      }
    }
  }

  onRoomFailure(e) {
    if (this.destroyed) return;
    const err = toXmppError(e);
    if (this.state.phase === "ended") return;
    if (err.condition === "item-not-found" || err.condition === "gone") {
      // The room no longer exists: resume-chat will say whether it ended.
      this.dropTransport();
      this.scheduleResume();
      return;
    }
    if (JOIN_REFUSED.has(err.condition)) {
      this.fail("lost", err);
      return;
    }
    this.dropTransport();
    this.scheduleResume();
  }

  /** Reads the room's archive after the last stanza-id held, page by page. */
  async catchUp() {
    const room = this.state.room;
    this.timeline.beginCatchUp();
    this.liveQueueStatus = false;
    let after = this.timeline.lastStanzaId();
    let complete = false;
    let restarted = false;
    try {
      for (let page = 0; page < MAM_MAX_PAGES; page += 1) {
        const queryid = randomId();
        this.mam = { queryid, results: [] };
        let iq;
        try {
          iq = await this.request(buildMamQuery(room, queryid, after, MAM_PAGE), this.t.mam);
        } catch (e) {
          const err = toXmppError(e);
          if (err.condition === "item-not-found" && after && !restarted) {
            // The archive no longer knows our last id: read it all; the
            // duplicates are dropped by stanza-id.
            restarted = true;
            after = null;
            continue;
          }
          if (err.condition === "feature-not-implemented" || err.condition === "service-unavailable") {
            complete = true; // no archive to read: what we have is all there is
            return;
          }
          throw err;
        }
        const { results } = this.mam;
        this.mam = null;
        for (const r of results) this.applyArchived(r);
        const fin = parseMamFin(iq);
        if (fin.complete || !fin.last || results.length === 0) {
          complete = true;
          return;
        }
        after = fin.last;
      }
    } finally {
      this.mam = null;
      this.timeline.endCatchUp(complete);
    }
  }

  applyArchived(r) {
    const m = parseRoomMessage(r.message, this.state.room);
    if (!m) return;
    const stanzaId = r.id || m.stanzaId;
    const time = r.stamp ?? m.stamp ?? this.clock.now();
    if (m.kind === "status") this.onStatus(m, stanzaId, time, true);
    else if (m.kind === "message") this.onChatMessage(m, stanzaId, time, true);
  }

  flushPending() {
    if (!this.joined) return;
    for (const item of this.timeline.pending()) this.send(this.messageOf(item));
  }

  /** The groupchat that carries a typed message or a file (its URL as body and XEP-0066). */
  messageOf(item) {
    return buildGroupchat(this.state.room, item.body, item.originId, item.file && item.file.url ? item.file.url : null);
  }

  // ------------------------------------------------------------ resume

  scheduleResume() {
    if (this.destroyed || this.timers.has("retry")) return;
    const delay = this.backoff.next();
    this.update({ link: "retrying", retryAt: this.clock.now() + delay, retryAttempt: this.backoff.attempt, typing: [] });
    this.setTimer("retry", delay, () => this.resume());
  }

  /** Reconnect (if needed), resume-chat, rejoin, catch up. */
  resume() {
    if (this.resuming) return this.resuming;
    this.clearTimer("retry");
    this.resuming = this.doResume().finally(() => {
      this.resuming = null;
    });
    return this.resuming;
  }

  async doResume() {
    try {
      if (this.state.link !== "online") this.update({ link: "connecting" });
      await this.ensureConnected({ quiet: true });
      const { form } = await this.runCommand(this.config.service, "resume-chat", () => ({ token: this.token }));
      const v = resultValues(form);
      const room = v.room ? bareJid(v.room) : this.state.room;
      if (v.nick) this.ownNicks.add(v.nick);
      this.update({
        room,
        ticket: v.ticket || this.state.ticket,
        nick: v.nick || this.state.nick,
        position: v.position !== undefined && v.position !== "" ? numberOrNull(v.position) : this.state.position,
        wait: v.wait !== undefined && v.wait !== "" ? numberOrNull(v.wait) : this.state.wait,
      });
      if (parseBoolean(v.ended || "")) {
        // It ended while we were away: read what we missed if the archive
        // still lets us, then show the end.
        try {
          await this.catchUp();
        } catch {
          /* the archive may be closed to us now */
        }
        this.end("closed", null);
        return;
      }
      try {
        await this.enterRoom();
      } catch (e) {
        throw Object.assign(toXmppError(e), { inRoom: true });
      }
      this.update({ link: "online", retryAt: null });
    } catch (e) {
      if (this.destroyed || this.state.phase === "ended") return;
      const err = toXmppError(e);
      // resume-chat refusing the token, or the room refusing us after it
      // accepted: the chat cannot come back.  Anything else may pass.
      const refused = e && e.inRoom ? JOIN_REFUSED.has(err.condition) : TOKEN_REFUSED.has(err.condition);
      if (refused) {
        this.fail("lost", err);
        return;
      }
      this.dropTransport();
      this.scheduleResume();
    }
  }

  fail(phase, err) {
    this.dropTransport();
    this.clearTimer("retry");
    this.token = null;
    if (this.tabs) this.tabs.release();
    if (this.store) this.store.clear();
    this.update({ phase, link: "offline", error: phase === "lost" ? { key: "errorResume" } : describeError(err, this.env.lang) });
  }

  // ------------------------------------------------------------ keepalive

  /** XEP-0410: are we still in the room?  Also proves the link is alive. */
  async selfPing() {
    this.clearTimer("keepalive");
    if (!this.joined || !this.transport) return;
    const gen = this.gen;
    try {
      await this.request(buildPing(`${this.state.room}/${this.state.nick}`), this.t.ping);
      this.onPingOk(gen);
    } catch (e) {
      if (gen !== this.gen) return;
      const err = toXmppError(e);
      if (err.condition === "service-unavailable" || err.condition === "feature-not-implemented") {
        this.onPingOk(gen);
      } else if (err.condition === "not-acceptable" || err.condition === "item-not-found") {
        // The room forgot us (say, the service restarted): rejoin.
        this.joined = false;
        this.resume();
      } else if (err.condition === "timeout" || err.condition === "disconnected") {
        this.onLinkLost();
      } else {
        // The service is unreachable right now (remote-server-timeout...):
        // the link is fine; look again soon.
        this.setTimer("keepalive", Math.min(this.t.keepalive, 10000), () => this.selfPing());
      }
    }
  }

  onPingOk(gen) {
    if (gen === this.gen && this.joined) this.setTimer("keepalive", this.t.keepalive, () => this.selfPing());
  }

  // ------------------------------------------------------------ stanzas in

  onStanza(el) {
    if (el.name === "message") {
      const r = parseMamResult(el);
      if (r) {
        if (this.mam && r.queryid === this.mam.queryid && bareJid(r.from || this.state.room) === this.state.room)
          this.mam.results.push(r);
        return;
      }
      const m = parseRoomMessage(el, this.state.room);
      if (m) this.onRoomMessage(m);
    } else if (el.name === "presence") {
      const p = parseRoomPresence(el, this.state.room);
      if (p) this.onRoomPresence(p);
    }
  }

  onRoomMessage(m) {
    const time = m.stamp ?? this.clock.now();
    switch (m.kind) {
      case "error":
        if (m.msgId) {
          const item = this.timeline.findByOriginId(m.msgId);
          if (item) {
            if (m.error.condition === "not-acceptable" || (m.error.condition === "forbidden" && !this.joined)) {
              // Not in the room (any more): keep it pending, rejoin, resend.
              this.resume();
            } else {
              this.timeline.markFailed(m.msgId);
            }
          }
        }
        break;
      case "subject":
        this.update({ subject: m.subject || null });
        break;
      case "chatstate":
        if (m.nick && !this.ownNicks.has(m.nick)) this.setTyping(m.nick, m.chatState === "composing");
        break;
      case "status":
        this.onStatus(m, m.stanzaId, time, false);
        break;
      case "message":
        this.onChatMessage(m, m.stanzaId, time, false);
        break;
      default:
        break;
    }
  }

  onChatMessage(m, stanzaId, time, archived) {
    const fromSelf = !!m.nick && this.ownNicks.has(m.nick);
    const file = fileOf(m);
    const item = this.timeline.add(
      {
        kind: "message",
        fromSelf,
        nick: m.nick,
        body: m.body,
        time,
        stanzaId,
        originId: m.originId,
        msgId: m.msgId,
        replaceId: m.replaceId,
        link: file ? null : linkOf(m),
        file,
      },
      archived,
    );
    if (item && item.file && !fromSelf) this.checkFile(item);
    if (!fromSelf && m.nick) this.setTyping(m.nick, false);
    if (item && !fromSelf) this.emit("incoming", item);
  }

  /** A message from the room itself: a desk event and/or a notice with text. */
  onStatus(m, stanzaId, time, archived) {
    if (stanzaId && this.timeline.hasSeen(stanzaId)) return;
    const d = m.desk;
    const event = d ? d.event : "";
    if (event === "queue" || event === "no-agents") {
      this.timeline.markSeen(stanzaId, archived);
      if (archived && this.liveQueueStatus) return; // a newer one came live
      if (!archived && this.timeline.catchingUp) this.liveQueueStatus = true;
      if (event === "queue") {
        // A position update says nothing about agents (§3: position,
        // wait): "no agent available" stays until an agent joins.
        this.update({
          position: numberOrNull(d.attrs.position) ?? this.state.position,
          wait: numberOrNull(d.attrs.wait),
        });
      } else {
        this.update({ noAgents: true });
      }
      return;
    }
    if (event === "rate") {
      this.timeline.markSeen(stanzaId, archived);
      if (this.state.rating.state === "none") this.update({ rating: { ...this.state.rating, state: "requested" } });
      return;
    }
    if (event === "closed") {
      // Said once, by the widget, in the customer's language: the desk's
      // body (archived, and told again to the customer alone just before
      // the room is destroyed for them) is not shown; nor is the reason of
      // that destruction (end()).
      this.timeline.markSeen(stanzaId, archived);
      this.closedSeen = true;
      return;
    }
    if (event === "rated") {
      // Planned (doc/protocol.md): the desk took a rating the customer
      // typed in the chat.
      this.timeline.markSeen(stanzaId, archived);
      if (this.state.rating.state !== "done") this.update({ rating: { ...this.state.rating, state: "done" } });
      return;
    }
    const notice = deskNotice(d);
    if (notice) {
      // Planned desk events the widget says itself (doc/protocol.md).
      const item = this.timeline.add({ kind: "status", fromSelf: false, nick: null, body: m.body || "", time, stanzaId, notice }, archived);
      if (item && !archived) this.emit("incoming", item);
      return;
    }
    if (event === "details") {
      const fields = detailsOf(m.form);
      if (fields) {
        const item = this.timeline.add({ kind: "status", fromSelf: false, nick: null, body: m.body || "", time, stanzaId, details: fields }, archived);
        if (item && !archived) this.emit("incoming", item);
        return;
      }
    }
    if (m.body) {
      const item = this.timeline.add({ kind: "status", fromSelf: false, nick: null, body: m.body, time, stanzaId }, archived);
      if (item && !archived) this.emit("incoming", item);
    } else {
      this.timeline.markSeen(stanzaId, archived);
    }
  }

  onRoomPresence(p) {
    if (p.error) {
      if (this.joinWaiter) {
        this.joinWaiter.reject(p.error);
        this.joinWaiter = null;
      }
      return;
    }
    // Status 110 marks our own presence; a service that forgets it still
    // answers our join with our nick, which no one else can hold.
    const isSelf = p.self || (!this.joined && !!this.joinWaiter && p.available && p.nick === this.pendingNick);
    if (isSelf) {
      if (p.available) {
        const nick = p.nick;
        this.ownNicks.add(nick);
        this.joined = true;
        if (nick !== this.state.nick) this.update({ nick });
        if (this.joinWaiter) {
          this.joinWaiter.resolve();
          this.joinWaiter = null;
        }
        return;
      }
      if (p.codes.has("303")) return; // a nick change we did not ask for; a new presence follows
      this.joined = false;
      if (this.leaving) {
        if (this.leaveWaiter) this.leaveWaiter();
        this.leaveWaiter = null;
        return;
      }
      if (p.destroy) return this.end("closed", p.destroy.reason || null);
      if (p.codes.has("307") || p.codes.has("301")) return this.end("removed", null);
      // Removed for another reason (shutdown 332, membership 321/322):
      // resume-chat decides whether we may come back.
      if (ROOM_PHASES.has(this.state.phase)) this.resume();
      return;
    }
    if (!p.nick || this.ownNicks.has(p.nick)) return;
    if (!this.joined) {
      // The roster sent before our self-presence.
      if (p.available) this.roster.add(p.nick);
      else this.roster.delete(p.nick);
      return;
    }
    const agents = new Set(this.state.agents);
    const now = this.clock.now();
    if (p.available && !agents.has(p.nick)) {
      agents.add(p.nick);
      this.timeline.addNotice("agentJoined", { name: p.nick }, now);
    } else if (!p.available && agents.has(p.nick)) {
      agents.delete(p.nick);
      this.setTyping(p.nick, false);
      if (p.codes.has("303") && p.newNick) agents.add(p.newNick);
      else this.timeline.addNotice("agentLeft", { name: p.nick }, now);
    } else {
      return;
    }
    const list = [...agents];
    this.update({ agents: list, phase: ROOM_PHASES.has(this.state.phase) ? this.phaseFor(list) : this.state.phase });
  }

  setTyping(nick, composing) {
    const typing = new Set(this.state.typing);
    const had = typing.has(nick);
    const old = this.typingTimers.get(nick);
    if (old !== undefined) this.clock.clearTimeout(old);
    this.typingTimers.delete(nick);
    if (composing) {
      typing.add(nick);
      this.typingTimers.set(
        nick,
        this.clock.setTimeout(() => this.setTyping(nick, false), this.t.typingStale),
      );
    } else typing.delete(nick);
    if (had !== composing) this.update({ typing: [...typing] });
  }

  // ------------------------------------------------------------ the customer acts

  sendMessage(text) {
    const body = String(text ?? "").replace(/^\s+|\s+$/g, "");
    if (!body || !ROOM_PHASES.has(this.state.phase)) return null;
    const id = randomId();
    const item = this.timeline.addLocal(body, id, this.clock.now());
    this.clearTimer("typing");
    this.sentChatState = "active";
    if (this.joined) this.send(buildGroupchat(this.state.room, body, id));
    return item;
  }

  retryMessage(key) {
    const item = this.timeline.items.find((i) => i.key === key);
    if (!item || item.from !== "me" || item.state !== "failed") return;
    this.timeline.markPending(item.originId);
    if (this.joined) this.send(this.messageOf(item));
  }

  // ------------------------------------------------------------ files

  /** Asks the service (once per page) whether it takes files, and its limits. */
  askUploadService() {
    if (this.uploadLimits) {
      if (!this.state.upload) this.update({ upload: this.uploadLimits });
      return Promise.resolve(this.uploadLimits);
    }
    if (this.uploadAsked || !this.transport) return this.uploadAsked || Promise.resolve(null);
    this.uploadAsked = this.request(buildDiscoInfo(this.config.service))
      .then((iq) => {
        const limits = parseUploadService(iq);
        this.uploadLimits = limits;
        if (limits && !this.destroyed) this.update({ upload: limits });
        return limits;
      })
      .catch(() => null) // a lost link: asked again on the next connection
      .finally(() => {
        this.uploadAsked = null;
      });
    return this.uploadAsked;
  }

  /**
   * The customer picked, dropped or pasted files.  Each is checked against
   * the service's limits and refused with words before any upload; the
   * others are uploaded one after the other and sent.
   */
  async sendFiles(list) {
    const files = [...(list || [])];
    if (!files.length) return [];
    if (files.length > MAX_FILES_AT_ONCE) {
      this.update({ fileError: { key: "fileTooMany", vars: { count: MAX_FILES_AT_ONCE } } });
      return [];
    }
    const out = [];
    for (const f of files) out.push(await this.sendFile(f));
    return out;
  }

  /** One file: null when refused before upload (state.fileError says why), else its item. */
  async sendFile(file) {
    if (!ROOM_PHASES.has(this.state.phase) || !this.joined) {
      this.update({ fileError: { key: "fileRefused", vars: {} } });
      return null;
    }
    const limits = this.state.upload || (await this.askUploadService());
    if (!limits) {
      this.update({ fileError: { key: "fileUnavailable", vars: {} } });
      return null;
    }
    const desc = { name: String(file.name || "file").slice(0, 200) || "file", size: Number(file.size) || 0, type: fileType(file) };
    const refusal = checkFile(desc, limits, this.timeline.fileBytes());
    this.update({ fileError: refusal });
    if (refusal) return null;
    const item = this.timeline.addLocalFile(desc, randomId(), this.clock.now());
    this.files.set(item.key, file);
    await this.upload(item, file);
    return item;
  }

  /** Uploads again a file that failed, while the page still has it. */
  retryFile(key) {
    const item = this.timeline.items.find((i) => i.key === key);
    const file = this.files.get(key);
    if (!item || !file || !item.file || item.file.state !== "failed") return undefined;
    return this.upload(item, file);
  }

  canRetryFile(key) {
    return this.files.has(key);
  }

  /** The upload's steps: a slot (iq), the PUT with its progress, the message. */
  async upload(item, file) {
    const tl = this.timeline;
    const f = item.file;
    const fail = (key, vars = {}) => tl.updateFile(item, { state: "failed", error: { key, vars } });
    tl.updateFile(item, { state: "requesting", progress: 0, error: null, url: null });
    let slot;
    try {
      slot = parseSlot(await this.request(buildSlotRequest(this.config.service, f, this.state.room)));
    } catch (e) {
      return fail(...slotRefusal(toXmppError(e), f, this.state.upload));
    }
    if (!slot) return fail("fileUploadFailed");
    tl.updateFile(item, { state: "uploading", url: slot.get });
    let shown = 0;
    const status = await this.http.put(slot.put, file, f.type, slot.headers, (p) => {
      // A few dozen updates, not one per network chunk (each is saved).
      if (p - shown >= 0.02 || p === 1) {
        shown = p;
        tl.updateFile(item, { progress: p });
      }
    });
    if (status !== 200 && status !== 201) return fail(...httpRefusal(status, f, this.state.upload));
    this.files.delete(item.key);
    item.body = slot.get;
    item.state = "pending";
    tl.updateFile(item, { state: "sent", progress: 1 });
    if (this.joined) this.send(this.messageOf(item));
    this.checkFile(item);
    return undefined;
  }

  /**
   * Asks the service whether a file of its own can be shown: held by its
   * scan (423: asked again a while), deleted (404), or there (its size, if
   * not known).  Files elsewhere are not asked about.
   */
  async checkFile(item, round = 0) {
    const f = item.file;
    if (!f || !f.url || !isUploadUrl(f.url) || this.destroyed) return;
    const r = await this.http.head(f.url);
    if (this.destroyed) return;
    if (r.status === 423) {
      if (f.check !== "held") this.timeline.updateFile(item, { check: "held" });
      if (round < FILE_CHECKS) this.clock.setTimeout(() => this.checkFile(item, round + 1), this.t.fileCheck);
    } else if (r.status === 404 || r.status === 410) {
      this.timeline.updateFile(item, { check: "gone" });
    } else if (r.status >= 200 && r.status < 300) {
      if (f.check || (!f.size && r.size)) this.timeline.updateFile(item, { check: null, size: f.size || r.size });
    }
  }

  /** The composer changed: hasText says whether it holds anything. */
  composing(hasText) {
    if (!this.joined) return;
    if (hasText) {
      if (this.sentChatState !== "composing") this.sendChatState("composing");
      this.setTimer("typing", this.t.typingPause, () => this.sendChatState("paused"));
    } else {
      this.clearTimer("typing");
      if (this.sentChatState !== "active") this.sendChatState("active");
    }
  }

  sendChatState(state) {
    this.sentChatState = state;
    if (this.joined) this.send(buildChatState(this.state.room, state, randomId()));
  }

  /** The customer ends the chat. */
  async endChat() {
    if (!ROOM_PHASES.has(this.state.phase)) return;
    this.leaving = true;
    this.clearTimer("retry");
    if (this.joined) {
      const left = new Promise((resolve) => {
        this.leaveWaiter = resolve;
      });
      this.send(buildLeave(this.state.room, this.state.nick));
      let timer;
      await Promise.race([left, new Promise((r) => (timer = this.clock.setTimeout(r, this.t.leave)))]);
      this.clock.clearTimeout(timer);
    }
    this.leaving = false;
    this.end("left", null);
  }

  /** The chat is over (closed by the desk, or left). */
  end(reason, text) {
    if (this.state.phase === "ended") return;
    if (this.leaveWaiter) {
      this.leaveWaiter();
      this.leaveWaiter = null;
    }
    this.clearTimer("retry");
    this.clearTimer("typing");
    for (const t of this.typingTimers.values()) this.clock.clearTimeout(t);
    this.typingTimers.clear();
    // The end is said once: by the banner (ui.js), from endReason.  The
    // reason of a room's destruction is shown too only when the desk did
    // not say the chat closed (a room destroyed some other way).
    const endText = text && !this.closedSeen ? text : null;
    this.update({ phase: "ended", endReason: reason, endText, endedAt: this.clock.now(), typing: [], link: "offline", retryAt: null });
    this.dropTransport();
  }

  /** Sends the rating (rate-chat on the service domain). */
  async rate(stars, comment = "") {
    const n = Number(stars);
    if (!Number.isInteger(n) || n < 1 || n > 5) {
      this.update({ rating: { ...this.state.rating, state: "error", error: { key: "rateChoose" } } });
      return false;
    }
    if (!this.token || !this.state.ticket) return false;
    this.update({ rating: { state: "sending", stars: n, comment } });
    const wasConnected = !!this.transport;
    try {
      await this.ensureConnected();
      await this.runCommand(this.config.service, "rate-chat", () => ({
        ticket: this.state.ticket,
        token: this.token,
        rating: String(n),
        comment: String(comment || ""),
      }));
      this.update({ rating: { state: "done", stars: n, comment } });
      if (this.state.phase === "ended" || !wasConnected) this.dropTransport();
      return true;
    } catch (e) {
      const err = toXmppError(e);
      if (this.state.phase === "ended") this.dropTransport();
      this.update({ rating: { state: "error", stars: n, comment, error: err.text && sameLanguage(err.lang, this.env.lang) ? { text: err.text } : { key: "rateFailed" } } });
      return false;
    }
  }

  /** Forgets this chat and shows a fresh form. */
  newChat() {
    this.dropTransport();
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
    this.token = null;
    this.closedSeen = false;
    if (this.tabs) this.tabs.release();
    this.ownNicks = new Set();
    this.commandSession = null;
    if (this.store) this.store.clear();
    this.timeline = new Timeline();
    this.timeline.onChange(() => {
      this.save();
      this.emit("timeline", this.timeline);
    });
    this.state = initialState();
    this.emit("timeline", this.timeline);
    this.emit("change", this.state);
    return this.loadForm();
  }
}

// ------------------------------------------------------------ helpers

/**
 * A link the message is about (XEP-0066 out-of-band data, as the desk's
 * /kb send and /canned give): { url, title } when the body is that URL,
 * or a title and then the URL ("How do I get a refund?: https://…"), or
 * the OOB <desc/> names it; else null (the body is shown as it is).
 */
export function linkOf(m) {
  const url = m.oob && m.oob.url;
  if (!url || !/^https?:\/\//i.test(url)) return null;
  const body = String(m.body || "").trim();
  if (m.oob.desc && (body === url || body.endsWith(url) || !body)) return { url, title: m.oob.desc };
  if (body === url) return { url, title: null };
  if (!body.endsWith(url)) return null;
  const title = body.slice(0, -url.length).replace(/[\s:\-–—]+$/u, "").trim();
  // Only a title before the URL: nothing else said that would be lost.
  if (!title || /https?:\/\//i.test(title) || title.includes("\n")) return null;
  return { url, title };
}

/** Why a slot was refused, as [key, vars] in the widget's words (doc/protocol.md's refusals). */
function slotRefusal(e, f, limits) {
  const l = limits || {};
  if (e.condition === "not-acceptable" && (e.app === "file-too-large" || (l.maxFileSize && f.size > l.maxFileSize)))
    return ["fileTooBig", { name: f.name, maxBytes: l.maxFileSize || f.size - 1 }];
  if (e.condition === "not-acceptable") return ["fileTypeRefused", { name: f.name }];
  if (e.condition === "resource-constraint" && /^This chat's files/.test(e.text) && l.maxTicketSize) return ["fileChatFull", { name: f.name, maxBytes: l.maxTicketSize }];
  if (e.condition === "resource-constraint") return ["fileBusy", {}];
  if (e.condition === "forbidden" || e.condition === "not-allowed" || e.condition === "not-authorized") return ["fileRefused", {}];
  if (e.condition === "timeout" || e.condition === "disconnected") return ["fileNetwork", {}];
  return ["fileUploadFailed", {}];
}

/** Why a PUT failed, as [key, vars]. */
function httpRefusal(status, f, limits) {
  const l = limits || {};
  if (status === 0) return ["fileNetwork", {}];
  if (status === 413) return ["fileTooBig", { name: f.name, maxBytes: l.maxFileSize || f.size - 1 }];
  if (status === 415) return ["fileTypeRefused", { name: f.name }];
  if (status === 503) return ["fileBusy", {}];
  return ["fileHttpError", { status: String(status) }];
}

/** Planned desk events that are a notice the widget words itself: {key, vars} or null. */
function deskNotice(d) {
  if (!d || d.event !== "requeued") return null;
  return { key: d.attrs.reason === "transfer" ? "transferred" : "requeued", vars: {} };
}

/** The session details a `details` event carries: [{label, value}] of the form, or null. */
function detailsOf(x) {
  const form = x ? parseForm(x) : null;
  if (!form) return null;
  const out = [];
  for (const f of form.fields) {
    if (!f.var || f.var === "FORM_TYPE" || f.type === "hidden" || f.type === "fixed") continue;
    const value = f.values.join("\n").trim();
    if (value) out.push({ var: f.var, label: f.label || f.var, value });
  }
  return out.length ? out : null;
}

function numberOrNull(v) {
  if (v === undefined || v === null || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function pick(values, form) {
  const out = {};
  if (!values) return out;
  for (const f of form.fields) {
    if (f.var && f.type !== "hidden" && f.type !== "fixed" && Object.prototype.hasOwnProperty.call(values, f.var))
      out[f.var] = values[f.var];
  }
  return out;
}

function sameFields(a, b) {
  const key = (f) => f.fields.filter((x) => x.var && x.type !== "fixed").map((x) => `${x.var}:${x.type}:${x.required}`).join("|");
  return key(a) === key(b);
}

/** Is this the leave-a-message form?  A field `offline` whose value is true. */
export function isOffline(form) {
  return parseBoolean(formValue(form, "offline") || "");
}

/**
 * Is the server's text in the customer's language?  The desk writes
 * English today; a text marked with another xml:lang is in that language
 * (doc/protocol.md: planned, the desk answering in the stream's language).
 */
function sameLanguage(textLang, lang) {
  const base = (t) => String(t || "en").split("-")[0].toLowerCase();
  return base(textLang) === base(lang);
}

/**
 * What to tell the customer about an error: the server's text when it is
 * in the customer's language (`lang`, default English) or nothing better
 * is known (a command's note), else the widget's own words for the
 * condition: {text} or {key}.
 */
export function describeError(err, lang = "en") {
  const e = toXmppError(err);
  if (e.condition === "note" && e.text) return { text: e.text };
  const own = e.text && sameLanguage(e.lang, lang) ? { text: e.text } : null;
  switch (e.condition) {
    case "service-unavailable":
    case "remote-server-not-found":
    case "remote-server-timeout":
    case "resource-constraint":
      return own || { key: "errorUnavailable" };
    case "forbidden":
    case "not-allowed":
    case "not-authorized":
      return own || { key: "errorForbidden" };
    case "disconnected":
    case "timeout":
      return { key: "errorConnect" };
    default:
      return own || { key: "errorGeneric" };
  }
}

export { NS, randomId };
