// Being noticed: what the customer did not see yet is counted while the
// panel is closed or the tab is hidden, and shown on the launcher (a badge
// and its label) and in the page's title ("(2) Example Shop").  Optionally
// a short sound (off unless the customer, or the site with data-sound,
// turns it on) and, when the tab is hidden, a desktop notification, only
// once the customer allowed it: the browser's permission is asked only
// from the customer's own click on the option, never by itself.

const TITLE_PREFIX = /^\(\d+\+?\) /;

/**
 * options: { win, doc, t (translator), launcher (launcher-ui.js), tag (the
 * notifications' tag: one per queue), settings: { sound, notify } (the
 * customer's choices, kept by the caller), onSettings(settings) (they
 * changed), onActivate() (a notification was clicked: open the panel) }.
 */
export function createAttention({ win, doc, t, launcher, tag = "mucdesk", settings = {}, onSettings = () => {}, onActivate = () => {} }) {
  let unread = 0;
  let panelOpen = false;
  let baseTitle = null; // the page's title, while ours shows a count
  let ourTitle = null;
  let audio = null;
  const notes = new Set();
  const state = { sound: !!settings.sound, notify: !!settings.notify };

  const Notification = win.Notification;
  const canNotify = typeof Notification === "function" && typeof Notification.requestPermission === "function";
  const permission = () => (canNotify ? Notification.permission : "denied");

  const looking = () => panelOpen && !doc.hidden;

  function showCount() {
    launcher.setBadge(panelOpen ? 0 : unread);
    launcher.setLabel(unread && !panelOpen ? t("launcherUnread", { count: unread }) : t("launcherLabel"));
    // The title: the page's own, with the count in front while there is one.
    // A page that changes its title meanwhile keeps its new one.
    if (unread) {
      if (ourTitle === null || doc.title !== ourTitle) baseTitle = doc.title.replace(TITLE_PREFIX, "");
      ourTitle = `(${unread > 99 ? "99+" : unread}) ${baseTitle}`;
      if (doc.title !== ourTitle) doc.title = ourTitle;
    } else if (ourTitle !== null) {
      if (doc.title === ourTitle) doc.title = baseTitle;
      ourTitle = baseTitle = null;
    }
  }

  function seen() {
    if (unread) {
      unread = 0;
      showCount();
    }
    for (const n of notes) n.close();
    notes.clear();
  }

  function ding() {
    const AC = win.AudioContext || win.webkitAudioContext;
    if (!AC) return;
    try {
      if (!audio) audio = new AC();
      if (audio.state === "suspended" && audio.resume) audio.resume().catch(() => {});
      // Two short soft tones; nothing to download.
      const now = audio.currentTime;
      for (const [freq, at] of [[880, 0], [1320, 0.12]]) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + at);
        gain.gain.exponentialRampToValueAtTime(0.12, now + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(now + at);
        osc.stop(now + at + 0.3);
      }
    } catch {
      /* no sound: nothing lost */
    }
  }

  function notify(item) {
    if (!state.notify || !doc.hidden || permission() !== "granted") return;
    const body = String(item.body || "").replace(/\s+/g, " ").trim();
    try {
      const n = new Notification(item.nick ? t("notifyTitle", { name: item.nick }) : t("notifyTitleRoom"), {
        body: body.length > 140 ? body.slice(0, 139) + "…" : body,
        tag,
        lang: t.locale,
        dir: "auto",
        silent: true,
      });
      notes.add(n);
      n.onclick = () => {
        try {
          win.focus();
        } catch {
          /* the browser decides */
        }
        n.close();
        onActivate();
      };
      n.onclose = () => notes.delete(n);
    } catch {
      /* some browsers allow notifications only from a service worker */
    }
  }

  const onVisibility = () => {
    if (looking()) seen();
  };
  doc.addEventListener("visibilitychange", onVisibility);

  return {
    get unread() {
      return unread;
    },
    get settings() {
      return { ...state };
    },
    /** Whether the browser can show notifications at all here (secure page, API present). */
    canNotify,
    permission,
    /** Something arrived the customer may not have seen. */
    incoming(item) {
      if (looking()) return;
      unread += 1;
      showCount();
      if (state.sound) ding();
      notify(item);
    },
    /** The panel opened or closed. */
    panel(open) {
      panelOpen = open;
      if (looking()) seen();
      else showCount();
    },
    /** The customer turned the sound on or off (a click: it may start audio). */
    setSound(on) {
      state.sound = !!on;
      if (on && !audio) {
        const AC = win.AudioContext || win.webkitAudioContext;
        try {
          if (AC) audio = new AC(); // created in the click, so the browser lets it play later
        } catch {
          /* no sound */
        }
      }
      onSettings({ ...state });
    },
    /**
     * The customer turned notifications on or off.  Turning them on asks
     * the browser's permission if it was never given; resolves to the
     * permission ("granted", "denied", "default") and leaves notify off
     * unless granted.  Call only from the customer's click.
     */
    async setNotify(on) {
      if (!on || !canNotify) {
        state.notify = false;
        onSettings({ ...state });
        return permission();
      }
      let p = permission();
      if (p === "default") {
        try {
          p = await Notification.requestPermission();
        } catch {
          p = permission();
        }
      }
      state.notify = p === "granted";
      onSettings({ ...state });
      return p;
    },
    destroy() {
      doc.removeEventListener("visibilitychange", onVisibility);
      unread = 0;
      showCount();
      for (const n of notes) n.close();
      if (audio && audio.close) audio.close().catch(() => {});
    },
  };
}
