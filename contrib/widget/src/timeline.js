// The conversation as the customer sees it, in order, each message once.
//
// Messages reach the widget three ways: live from the room, from the room's
// archive (MAM) after a reconnect or reload, and typed by the customer
// (shown at once, "pending" until the room reflects them back).  Every
// message the room archives carries a stanza-id (XEP-0359) set by the
// room: that is the identity used to drop duplicates.  The customer's own
// messages also carry an origin-id the widget chose, which ties the pending
// copy to the reflected or archived one.
//
// Order: live messages are appended.  A catch-up (MAM after the last
// stanza-id seen) inserts what was missed right after the last message
// seen before the gap, in archive order, before anything that arrived live
// meanwhile (that is newer: it came after the rejoin).

let counter = 0;
function localKey(prefix) {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter.toString(36)}`;
}

/**
 * Item: { key, kind: "message" | "status" | "notice", from: "me" | "agent" |
 *         "room", nick, body, time, stanzaId, originId, msgId, state:
 *         "pending" | "sent" | "failed", edited, notice: {key, vars},
 *         link: {url, title} (a message about one link), details:
 *         [{var, label, value}] (the desk's session details), file: a file
 *         (below) }
 *
 * A file item (issue 15) has file: { url, name, size, type, event (it came
 * from the desk's `file` event, not yet from the message), state
 * ("requesting" a slot, "uploading", "sent", "failed": the customer's own
 * upload; "sent" for everyone else's), progress (0..1), error ({key,
 * vars}), check ("held": the service's scan holds it; "gone": deleted;
 * null) }.  The customer's own file is state "upload" until its message
 * is sent (then "pending", as a typed message).
 */
export class Timeline {
  constructor() {
    this.items = [];
    this.seen = new Set(); // every stanza-id applied (messages, corrections, statuses)
    this.cursor = null; // insertion index during a catch-up
    this.lastId = null; // the newest stanza-id in archive order: MAM resumes after it
    this.anchorKey = null; // the item at (or just before) lastId: a catch-up inserts after it
    this.liveDuringCatchUp = null; // { id, key } of the newest live stanza while catching up
    this.listeners = new Set();
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit() {
    for (const fn of this.listeners) fn(this);
  }

  indexOfKey(key) {
    return this.items.findIndex((i) => i.key === key);
  }

  findByStanzaId(id) {
    return id ? this.items.find((i) => i.stanzaId === id) : undefined;
  }

  findByOriginId(id) {
    return id ? this.items.find((i) => i.from === "me" && i.originId === id) : undefined;
  }

  /**
   * The stanza-id of the newest archived stanza applied (message, status or
   * correction): a catch-up asks MAM for what came after it.  While a
   * catch-up runs, live stanzas do not move it (the archive between may
   * not be fetched yet); a catch-up that completes moves it to the newest
   * live one.
   */
  lastStanzaId() {
    return this.lastId;
  }

  /**
   * Records an applied stanza-id; `item` is the item it produced or
   * updated (null for a status that only changed the banner).
   */
  noteId(stanzaId, archived, item = null) {
    if (!stanzaId) return;
    this.seen.add(stanzaId);
    let key;
    if (item) key = item.key;
    else if (archived && this.cursor !== null) key = this.cursor > 0 ? this.items[this.cursor - 1].key : null;
    else key = this.items.length ? this.items[this.items.length - 1].key : null;
    if (archived || this.cursor === null) {
      this.lastId = stanzaId;
      this.anchorKey = key;
    } else {
      this.liveDuringCatchUp = { id: stanzaId, key };
    }
  }

  /** Messages the customer typed that the room has not confirmed yet. */
  pending() {
    return this.items.filter((i) => i.from === "me" && i.state === "pending");
  }

  /** The customer typed something: shown at once, pending. */
  addLocal(body, originId, time) {
    const item = {
      key: localKey("l"),
      kind: "message",
      from: "me",
      nick: null,
      body,
      time,
      stanzaId: null,
      originId,
      msgId: originId,
      state: "pending",
      edited: false,
    };
    this.items.push(item);
    this.emit();
    return item;
  }

  /** The customer picked a file: shown at once, uploading (state "upload"). */
  addLocalFile(file, originId, time) {
    const item = {
      key: localKey("f"),
      kind: "message",
      from: "me",
      nick: null,
      body: "",
      time,
      stanzaId: null,
      originId,
      msgId: originId,
      state: "upload",
      edited: false,
      file: { url: null, name: file.name, size: file.size, type: file.type, event: false, state: "requesting", progress: 0, error: null, check: null },
    };
    this.items.push(item);
    this.emit();
    return item;
  }

  /** Changes a file item's file (progress, state, check). */
  updateFile(item, patch) {
    if (!item.file) return;
    Object.assign(item.file, patch);
    this.emit();
  }

  findByFileUrl(url) {
    return url ? this.items.find((i) => i.file && i.file.url === url) : undefined;
  }

  /** The bytes of the files this chat holds (what the service counts against its cap). */
  fileBytes() {
    let n = 0;
    for (const i of this.items) if (i.file && i.file.url && i.file.state !== "failed" && i.file.size) n += i.file.size;
    return n;
  }

  /** A local notice (agent joined, chat ended...); never archived. */
  addNotice(key, vars, time) {
    const item = { key: localKey("n"), kind: "notice", from: "room", nick: null, body: null, time, notice: { key, vars } };
    this.items.push(item);
    this.emit();
    return item;
  }

  markFailed(originId) {
    const item = this.findByOriginId(originId);
    if (item && item.state === "pending") {
      item.state = "failed";
      this.emit();
    }
    return item;
  }

  markPending(originId) {
    const item = this.findByOriginId(originId);
    if (item) {
      item.state = "pending";
      this.emit();
    }
    return item;
  }

  /**
   * A message from the room, live (archived = false) or from the archive.
   * entry: { kind: "message" | "status", fromSelf, nick, body, time,
   *          stanzaId, originId, msgId, replaceId }
   * Returns the item added or updated, or null for a duplicate.
   */
  add(entry, archived = false) {
    if (entry.stanzaId && this.seen.has(entry.stanzaId)) return null;

    // A correction (XEP-0308) edits the message it names, from the same sender.
    if (entry.replaceId) {
      const target = this.items.find(
        (i) => i.kind === "message" && i.msgId === entry.replaceId && (entry.fromSelf ? i.from === "me" : i.nick === entry.nick),
      );
      if (target) {
        this.noteId(entry.stanzaId, archived, null);
        target.body = entry.body;
        if (entry.link) target.link = entry.link;
        else delete target.link;
        target.edited = true;
        this.emit();
        return target;
      }
    }

    // A file the timeline holds already: the desk's `file` event (MAM) and
    // the message carrying the same URL are one file, shown once.
    const sameFile = entry.file ? this.findByFileUrl(entry.file.url) : undefined;
    if (sameFile && entry.file.event) {
      this.noteId(entry.stanzaId, archived, null);
      const f = sameFile.file;
      sameFile.file = { ...f, name: entry.file.name || f.name, size: entry.file.size ?? f.size, type: entry.file.type || f.type };
      this.emit();
      return null;
    }
    if (sameFile && sameFile.file.event && !(entry.fromSelf && entry.originId && this.findByOriginId(entry.originId))) {
      sameFile.file.event = false;
      sameFile.msgId = entry.msgId || sameFile.msgId;
      this.noteId(entry.stanzaId, archived, sameFile);
      this.emit();
      return null;
    }

    // Our own message coming back: confirm the pending copy.
    if (entry.fromSelf && entry.originId) {
      const mine = this.findByOriginId(entry.originId);
      if (mine) {
        if (mine.stanzaId && entry.stanzaId && mine.stanzaId !== entry.stanzaId) {
          // The same origin-id archived twice (a resend the server did not
          // dedupe): one copy is enough for the customer.
          this.noteId(entry.stanzaId, archived, mine);
          return null;
        }
        mine.state = "sent";
        if (entry.time) mine.time = entry.time;
        if (archived && this.cursor !== null) this.moveToCursor(mine);
        if (entry.stanzaId) {
          mine.stanzaId = entry.stanzaId;
          this.noteId(entry.stanzaId, archived, mine);
        }
        this.emit();
        return mine;
      }
    }

    const item = {
      key: entry.stanzaId ? `s:${entry.stanzaId}` : localKey("r"),
      kind: entry.kind === "status" ? "status" : "message",
      from: entry.fromSelf ? "me" : entry.nick ? "agent" : "room",
      nick: entry.nick || null,
      body: entry.body,
      time: entry.time,
      stanzaId: entry.stanzaId || null,
      originId: entry.originId || null,
      msgId: entry.msgId || null,
      state: "sent",
      edited: false,
    };
    // What the widget renders itself rather than the body: a link card, a
    // desk notice in the customer's language, the session details.
    if (entry.link) item.link = entry.link;
    if (entry.notice) item.notice = entry.notice;
    if (entry.details) item.details = entry.details;
    if (entry.file) item.file = { ...entry.file, state: "sent", progress: 1, error: null, check: null };
    if (archived && this.cursor !== null) {
      this.items.splice(this.cursor, 0, item);
      this.cursor += 1;
    } else {
      this.items.push(item);
    }
    this.noteId(item.stanzaId, archived, item);
    this.emit();
    return item;
  }

  /** Records a stanza-id that produced no item (a status update), so a replay is ignored. */
  markSeen(stanzaId, archived = false) {
    this.noteId(stanzaId, archived, null);
  }

  hasSeen(stanzaId) {
    return !!stanzaId && this.seen.has(stanzaId);
  }

  moveToCursor(item) {
    const idx = this.items.indexOf(item);
    if (idx < 0) return;
    if (idx < this.cursor) return; // already before the insertion point
    this.items.splice(idx, 1);
    this.items.splice(this.cursor, 0, item);
    this.cursor += 1;
  }

  /**
   * Starts a catch-up: what the archive holds after lastId goes right after
   * the anchor item (the one at lastId), before anything newer held
   * (messages that came live, pending ones).  With no anchor, at the top.
   */
  beginCatchUp() {
    let i = this.anchorKey ? this.indexOfKey(this.anchorKey) : -1;
    if (i < 0 && this.lastId) {
      // The anchor was trimmed away (a very long chat): after the last
      // confirmed item is the best guess.
      i = this.items.length - 1;
      while (i >= 0 && this.items[i].from === "me" && this.items[i].state !== "sent") i -= 1;
    }
    this.cursor = i + 1;
    this.liveDuringCatchUp = null;
  }

  /** Ends a catch-up; `complete` when the archive was read to its end. */
  endCatchUp(complete = true) {
    if (complete && this.liveDuringCatchUp) {
      this.lastId = this.liveDuringCatchUp.id;
      this.anchorKey = this.liveDuringCatchUp.key;
    }
    this.liveDuringCatchUp = null;
    this.cursor = null;
  }

  get catchingUp() {
    return this.cursor !== null;
  }

  /** A compact copy for sessionStorage (the newest `limit` items). */
  toJSON(limit = 500) {
    return { lastId: this.lastId, anchorKey: this.anchorKey, items: this.items.slice(-limit).map((i) => ({ ...i })) };
  }

  static fromJSON(data) {
    const t = new Timeline();
    if (!data || !Array.isArray(data.items)) return t;
    t.lastId = typeof data.lastId === "string" ? data.lastId : null;
    t.anchorKey = typeof data.anchorKey === "string" ? data.anchorKey : null;
    for (const raw of data.items) {
      if (!raw || typeof raw !== "object" || typeof raw.key !== "string") continue;
      const item = { ...raw };
      t.items.push(item);
      if (item.stanzaId) t.seen.add(item.stanzaId);
    }
    return t;
  }
}
