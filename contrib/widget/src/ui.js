// The chat panel's DOM, in the launcher's shadow root (launcher-ui.js),
// next to its button.  It renders the session's state and turns clicks
// and keys into session calls; it holds no protocol logic.  All text comes
// from the texts table, in the customer's language (texts.js); message
// text is added as text nodes and safe links (linkify.js), never as HTML.

import { createAttention } from "./attention.js";
import { fileErrorText, formatSize, isImage } from "./files.js";
import { formValue } from "./forms.js";
import { FormView } from "./formview.js";
import { ICON_CLOSE, icon } from "./launcher-ui.js";
import { appendRichText, safeHref } from "./linkify.js";
import { translator } from "./texts.js";
import { transcriptFileName, transcriptText } from "./transcript.js";
import CSS from "./styles.css";

const ICON_CLIP = "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z";
const ICON_BELL = "M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6v-5c0-3.07-1.64-5.64-4.5-6.32V4a1.5 1.5 0 0 0-3 0v.68C7.63 5.36 6 7.92 6 11v5l-2 2v1h16v-1l-2-2z";
const CHAT_PHASES = new Set(["joining", "waiting", "chatting", "ended"]);
const REQUEST_FORM = "urn:mucdesk:request-chat";
// The desk's own questions in request-chat (doc/widget-protocol.md §2):
// the widget words them in the customer's language.
const BUILT_IN_LABELS = { name: "fieldName", email: "fieldEmail", question: "fieldQuestion", transcript: "fieldTranscript" };

function h(doc, tag, attrs = {}, ...children) {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === "string" ? doc.createTextNode(c) : c);
  }
  return e;
}

/**
 * Mounts the panel.  options: { win, doc, config, language ({lang, locale,
 * dir}), texts (the texts table), session, launcher (launcher-ui.js) }.
 * Returns { open, close, toggle, host, root, attention, destroy }.
 */
export function mountWidget({ win, doc, config, language, texts, session, launcher }) {
  const t = translator(texts, language.locale);
  const { host, root, wrap } = launcher;
  const launcherBtn = launcher.button;
  const style = h(doc, "style", {}, CSS);
  root.appendChild(style);

  const timeFmt = new Intl.DateTimeFormat(language.locale, { hour: "numeric", minute: "2-digit" });
  const dateTimeFmt = new Intl.DateTimeFormat(language.locale, { day: "numeric", month: "short", hour: "numeric", minute: "2-digit" });

  // ------------------------------------------------------------ skeleton
  const panel = h(doc, "section", { class: "md-panel", id: "md-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "md-title" });
  panel.hidden = true;
  const title = h(doc, "h2", { class: "md-title", id: "md-title", tabindex: "-1" }, t("title"));
  const subtitle = h(doc, "p", { class: "md-subtitle", dir: "auto" });
  subtitle.hidden = true;
  const alertsBtn = h(doc, "button", { type: "button", class: "md-alerts-button", "aria-label": t("alerts"), title: t("alerts"), "aria-expanded": "false", "aria-controls": "md-alerts" });
  alertsBtn.appendChild(icon(doc, ICON_BELL, 22));
  alertsBtn.hidden = true;
  const closeBtn = h(doc, "button", { type: "button", class: "md-close", "aria-label": t("close") });
  closeBtn.appendChild(icon(doc, ICON_CLOSE, 24));
  const header = h(doc, "header", { class: "md-header" }, h(doc, "div", { class: "md-header-text" }, title, subtitle), alertsBtn, closeBtn);
  const conn = h(doc, "div", { class: "md-conn", role: "status", "aria-live": "polite" });
  const body = h(doc, "div", { class: "md-body" });

  // Alerts: the customer's choices, asked from their own clicks.
  const attention = createAttention({
    win,
    doc,
    t,
    launcher,
    tag: `mucdesk:${config.queue}`,
    settings: { sound: session.ui.sound ?? config.sound, notify: !!session.ui.notify },
    onSettings: (st) => session.setUi({ sound: st.sound, notify: st.notify }),
    onActivate: () => open(),
  });
  const alerts = h(doc, "div", { class: "md-alerts", id: "md-alerts", role: "group", "aria-label": t("alerts") });
  alerts.hidden = true;
  const soundBox = h(doc, "input", { type: "checkbox", id: "md-sound" });
  soundBox.checked = attention.settings.sound;
  soundBox.addEventListener("change", () => attention.setSound(soundBox.checked));
  alerts.appendChild(h(doc, "label", { for: "md-sound" }, soundBox, t("soundOption")));
  const notifyNote = h(doc, "p", { class: "md-note", role: "status" });
  notifyNote.hidden = true;
  if (attention.canNotify) {
    const notifyBox = h(doc, "input", { type: "checkbox", id: "md-notify" });
    notifyBox.checked = attention.settings.notify && attention.permission() === "granted";
    notifyBox.addEventListener("change", async () => {
      const wanted = notifyBox.checked;
      const p = await attention.setNotify(wanted);
      notifyBox.checked = attention.settings.notify;
      notifyNote.textContent = wanted && p === "denied" ? t("notifyBlocked") : "";
      notifyNote.hidden = !notifyNote.textContent;
    });
    alerts.appendChild(h(doc, "label", { for: "md-notify" }, notifyBox, t("notifyOption")));
  }
  alerts.appendChild(notifyNote);
  alertsBtn.addEventListener("click", () => {
    alerts.hidden = !alerts.hidden;
    alertsBtn.setAttribute("aria-expanded", alerts.hidden ? "false" : "true");
  });

  panel.append(header, alerts, conn, body);
  const dropNote = h(doc, "div", { class: "md-drop-note", "aria-hidden": "true" }, t("fileDrop"));
  panel.appendChild(dropNote);
  const canDrop = (e) => !!(view && view.key === "chat" && session.state.upload && session.state.phase !== "ended" && e.dataTransfer && [...(e.dataTransfer.types || [])].includes("Files"));
  panel.addEventListener("dragover", (e) => {
    if (!canDrop(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    panel.classList.add("md-dragging");
  });
  panel.addEventListener("dragleave", (e) => {
    if (!e.relatedTarget || !panel.contains(e.relatedTarget)) panel.classList.remove("md-dragging");
  });
  panel.addEventListener("drop", (e) => {
    panel.classList.remove("md-dragging");
    if (!canDrop(e)) return;
    e.preventDefault();
    session.sendFiles([...e.dataTransfer.files]);
  });
  wrap.insertBefore(panel, launcherBtn);
  launcher.setLabel(t("launcherLabel"));

  let isOpen = false;
  let view = null; // { key, ...parts }
  let confirmEnd = false;

  // ------------------------------------------------------------ open / close
  function open({ focus = true } = {}) {
    if (isOpen) return;
    isOpen = true;
    panel.hidden = false;
    launcher.setOpen(true);
    attention.panel(true);
    session.setUi({ open: true });
    const p = session.open();
    render();
    if (focus) focusView();
    return p;
  }

  function close({ focusLauncher = true } = {}) {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    launcher.setOpen(false);
    attention.panel(false);
    session.setUi({ open: false });
    if (focusLauncher) launcherBtn.focus();
  }

  function toggle() {
    if (isOpen) close();
    else open();
  }

  launcherBtn.addEventListener("click", toggle);
  closeBtn.addEventListener("click", () => close());
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      if (!alerts.hidden) {
        alerts.hidden = true;
        alertsBtn.setAttribute("aria-expanded", "false");
        alertsBtn.focus();
      } else if (confirmEnd) {
        confirmEnd = false;
        render();
        if (view && view.endBtn) view.endBtn.focus();
      } else close();
    }
  });

  function focusView() {
    if (!isOpen || !view) return;
    if (view.formView) view.formView.focusFirst();
    else if (view.textarea && !view.textarea.disabled && session.state.phase !== "ended") view.textarea.focus();
    else if (view.focusTarget) view.focusTarget.focus();
    else title.focus();
  }

  // ------------------------------------------------------------ rendering
  function render() {
    const s = session.state;
    renderHeader(s);
    // Alerts matter while a chat goes on.
    const chatOn = s.phase === "joining" || s.phase === "waiting" || s.phase === "chatting";
    alertsBtn.hidden = !chatOn;
    if (!chatOn && !alerts.hidden) {
      alerts.hidden = true;
      alertsBtn.setAttribute("aria-expanded", "false");
    }
    renderConn(s);
    const key = CHAT_PHASES.has(s.phase) ? "chat" : s.phase === "form" || s.phase === "submitting" ? "form" : s.phase;
    const hadFocus = root.activeElement && panel.contains(root.activeElement);
    if (!view || view.key !== key || (key === "form" && view.form !== s.form)) {
      body.textContent = "";
      view = buildView(key, s);
      if (hadFocus || (isOpen && key !== "chat")) focusView();
    }
    updateView(s);
  }

  function renderHeader(s) {
    // The room's subject names the ticket itself (PRODUCT.md §1.4).
    const text = s.subject ? s.subject : s.ticket ? t("ticket", { ticket: s.ticket }) : "";
    subtitle.textContent = text;
    subtitle.hidden = !text;
  }

  function renderConn(s) {
    conn.textContent = "";
    if (s.phase === "ended" || !CHAT_PHASES.has(s.phase)) return;
    if (s.link === "retrying") {
      const secs = s.retryAt ? Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000)) : 0;
      conn.appendChild(h(doc, "span", {}, secs > 1 ? t("reconnectingIn", { seconds: secs }) : t("reconnecting")));
      const b = h(doc, "button", { type: "button", class: "md-link-button" }, t("retryNow"));
      b.addEventListener("click", () => session.retryNow());
      conn.appendChild(b);
    } else if (s.link === "connecting" && s.phase !== "joining") {
      conn.appendChild(h(doc, "span", {}, t("reconnecting")));
    }
  }

  function buildView(key, s) {
    switch (key) {
      case "form":
        return buildFormView(s);
      case "chat":
        return buildChatView();
      case "message-left": {
        const box = h(doc, "div", { class: "md-scroll" });
        const heading = h(doc, "p", { class: "md-ended-title", tabindex: "-1" }, t("messageLeft"));
        box.appendChild(heading);
        if (s.ticket) box.appendChild(h(doc, "p", {}, t("messageLeftTicket", { ticket: s.ticket })));
        for (const n of s.notes || []) box.appendChild(h(doc, "p", { class: "md-note" }, n.text));
        body.appendChild(box);
        return { key, focusTarget: heading };
      }
      case "elsewhere": {
        const box = h(doc, "div", { class: "md-scroll" });
        const msg = h(doc, "p", { role: "status" }, t("elsewhere"));
        const btn = h(doc, "button", { type: "button", class: "md-primary" }, t("continueHere"));
        btn.addEventListener("click", () => session.continueHere());
        box.append(msg, h(doc, "p", {}, btn));
        body.appendChild(box);
        return { key, focusTarget: btn };
      }
      case "failed":
      case "lost": {
        const box = h(doc, "div", { class: "md-scroll" });
        const alert = h(doc, "p", { class: "md-alert", role: "alert" });
        const btn = h(doc, "button", { type: "button", class: "md-primary" }, key === "lost" ? t("newChat") : t("retry"));
        btn.addEventListener("click", () => (key === "lost" ? session.newChat() : session.retryNow()));
        box.append(alert, h(doc, "p", {}, btn));
        body.appendChild(box);
        return { key, alert, focusTarget: btn };
      }
      default: {
        const box = h(doc, "div", { class: "md-center", role: "status" }, t(s.phase === "loading" ? "loadingForm" : "connecting"));
        body.appendChild(box);
        return { key, focusTarget: null };
      }
    }
  }

  function buildFormView(s) {
    const offline = s.formMode === "offline";
    const labels = {};
    if (formValue(s.form, "FORM_TYPE") === REQUEST_FORM) for (const [v, key] of Object.entries(BUILT_IN_LABELS)) labels[v] = t(key);
    const formView = new FormView(doc, s.form, {
      t,
      labels,
      idPrefix: "md-form",
      values: s.formValues,
      submitLabel: offline ? t("offlineSubmit") : t("startChat"),
      intro: offline ? t("offlineIntro") : t("formIntro"),
    });
    const box = h(doc, "div", { class: "md-scroll" });
    // The queue's own form title wins; the widget's only stands in for none.
    if (offline && !s.form.title) box.appendChild(h(doc, "h3", { class: "md-form-title" }, t("offlineTitle")));
    for (const n of s.notes || []) box.appendChild(h(doc, "p", { class: "md-note" }, n.text));
    box.appendChild(formView.el);
    body.appendChild(box);
    formView.el.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (session.state.phase !== "form") return;
      const ok = await session.submitForm(formView.read());
      if (!ok && view && view.formView === formView) {
        formView.setErrors(session.state.formErrors, session.state.formError);
        if (!formView.focusFirstInvalid()) formView.button.focus();
      }
    });
    return { key: "form", form: s.form, formView, offline };
  }

  function buildChatView() {
    const banner = h(doc, "div", { class: "md-banner", role: "status", "aria-live": "polite", tabindex: "-1" });
    // A list of messages inside a log region: the region announces what is
    // added, the list keeps list semantics for reading back.
    const log = h(doc, "ol", { class: "md-log" });
    const logRegion = h(doc, "div", { class: "md-log-region", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": t("title") }, log);
    const scroll = h(doc, "div", { class: "md-scroll" }, logRegion);
    const scrollToEnd = () => {
      scroll.scrollTop = scroll.scrollHeight;
    };
    const typing = h(doc, "div", { class: "md-typing", "aria-live": "polite", "aria-atomic": "true" });

    // Rating (shown when requested during the chat, and at its end).
    const rating = buildRating();

    // Composer.
    const textarea = h(doc, "textarea", { id: "md-input", rows: "1", placeholder: t("messagePlaceholder"), maxlength: "4000" });
    const label = h(doc, "label", { for: "md-input", class: "md-visually-hidden" }, t("messageLabel"));
    const sendBtn = h(doc, "button", { type: "submit", class: "md-primary" }, t("send"));
    // Files (issue 15): the attach button, shown once the service said it
    // takes files; drag-and-drop onto the panel; an image pasted.
    const fileInput = h(doc, "input", { type: "file", multiple: true, class: "md-visually-hidden", tabindex: "-1", "aria-hidden": "true" });
    const attachBtn = h(doc, "button", { type: "button", class: "md-attach", "aria-label": t("fileAttach"), title: t("fileAttach") });
    attachBtn.appendChild(icon(doc, ICON_CLIP, 22));
    attachBtn.hidden = true;
    attachBtn.addEventListener("click", () => fileInput.click());
    fileInput.addEventListener("change", () => {
      const files = [...fileInput.files];
      fileInput.value = "";
      session.sendFiles(files);
    });
    const fileError = h(doc, "p", { class: "md-file-error", role: "alert" });
    fileError.hidden = true;
    // After the send button in the DOM (shown first: CSS order).
    const composer = h(doc, "form", { class: "md-composer" }, label, textarea, sendBtn, attachBtn, fileInput);
    textarea.addEventListener("paste", (e) => {
      const files = [...((e.clipboardData && e.clipboardData.files) || [])];
      if (!files.length || !session.state.upload) return;
      e.preventDefault();
      session.sendFiles(files);
    });
    composer.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = textarea.value;
      if (!text.trim()) return;
      session.sendMessage(text);
      textarea.value = "";
      autosize();
      textarea.focus();
    });
    textarea.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new win.Event("submit", { cancelable: true }));
      }
    });
    const autosize = () => {
      textarea.style.height = "auto";
      if (textarea.scrollHeight) textarea.style.height = Math.min(140, textarea.scrollHeight + 2) + "px";
    };
    textarea.addEventListener("input", () => {
      autosize();
      session.composing(textarea.value.trim() !== "");
    });

    // End / transcript actions.
    const endBtn = h(doc, "button", { type: "button", class: "md-link-button" }, t("endChat"));
    const transcriptBtn = h(doc, "button", { type: "button", class: "md-link-button" }, t("downloadTranscript"));
    const actions = h(doc, "div", { class: "md-actions" }, endBtn, transcriptBtn);
    endBtn.addEventListener("click", () => {
      confirmEnd = true;
      render();
      view.confirmYes.focus();
    });
    transcriptBtn.addEventListener("click", downloadTranscript);
    const confirmYes = h(doc, "button", { type: "button", class: "md-primary" }, t("endChatYes"));
    const confirmNo = h(doc, "button", { type: "button", class: "md-secondary" }, t("endChatNo"));
    const confirm = h(doc, "div", { class: "md-confirm", role: "group", "aria-labelledby": "md-confirm-q" }, h(doc, "p", { id: "md-confirm-q" }, t("endChatConfirm")), confirmYes, confirmNo);
    confirmYes.addEventListener("click", () => {
      confirmEnd = false;
      session.endChat();
    });
    confirmNo.addEventListener("click", () => {
      confirmEnd = false;
      render();
      endBtn.focus();
    });

    // The end: what to do next, below the conversation.
    const endedTranscript = h(doc, "button", { type: "button", class: "md-secondary" }, t("downloadTranscript"));
    const newChatBtn = h(doc, "button", { type: "button", class: "md-secondary" }, t("newChat"));
    endedTranscript.addEventListener("click", downloadTranscript);
    newChatBtn.addEventListener("click", () => session.newChat());
    const ended = h(doc, "div", { class: "md-ended" }, endedTranscript, newChatBtn);

    // The rating and the end actions scroll with the conversation, so a
    // phone keeps room for both.
    scroll.append(rating.el, ended);
    body.append(banner, scroll, typing, fileError, confirm, composer, actions);
    return {
      key: "chat",
      attachBtn,
      fileInput,
      fileError,
      banner,
      log,
      scroll,
      typing,
      rating,
      composer,
      textarea,
      actions,
      endBtn,
      confirm,
      confirmYes,
      ended,
      scrollToEnd,
      nodes: new Map(),
      wasEnded: null,
      focusTarget: banner,
    };
  }

  function buildRating() {
    const form = h(doc, "form", { class: "md-rating", novalidate: true });
    const fs = h(doc, "fieldset");
    const legend = h(doc, "legend", {}, t("rateTitle"));
    const requested = h(doc, "p", { class: "md-note" }, t("rateRequested"));
    const stars = h(doc, "div", { class: "md-stars" });
    // Highest first in the DOM, shown reversed, so CSS can light "this and
    // lower" stars; radios keep arrow-key navigation and a name per star.
    for (let n = 5; n >= 1; n -= 1) {
      const id = `md-star-${n}`;
      const input = h(doc, "input", { type: "radio", name: "md-rating", id, value: String(n) });
      const name = t("rateStars", { count: n });
      const lab = h(doc, "label", { for: id, title: name }, h(doc, "span", { "aria-hidden": "true" }, "★"), h(doc, "span", { class: "md-visually-hidden" }, name));
      stars.append(input, lab);
    }
    fs.append(legend, stars);
    const commentId = "md-rating-comment";
    const comment = h(doc, "textarea", { id: commentId, rows: "2", maxlength: "1000" });
    const commentLabel = h(doc, "label", { for: commentId }, t("rateComment"));
    const error = h(doc, "p", { class: "md-error", role: "alert" });
    error.hidden = true;
    const submit = h(doc, "button", { type: "submit", class: "md-primary" }, t("rateSubmit"));
    const thanks = h(doc, "p", { class: "md-thanks", role: "status", tabindex: "-1" }, t("rateThanks"));
    const fields = h(doc, "div", { class: "md-field" }, commentLabel, comment);
    form.append(requested, fs, fields, error, submit, thanks);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const chosen = form.querySelector('input[name="md-rating"]:checked');
      await session.rate(chosen ? Number(chosen.value) : 0, comment.value.trim());
      if (session.state.rating.state === "done") thanks.focus();
    });
    return { el: form, requested, fs, fields, error, submit, thanks, comment };
  }

  function updateView(s) {
    if (!view) return;
    if (view.key === "form") {
      const busy = s.phase === "submitting";
      view.formView.setBusy(busy, t("sending"), view.offline ? t("offlineSubmit") : t("startChat"));
      if (!busy) view.formView.setErrors(s.formErrors, s.formError);
      return;
    }
    if (view.key === "failed" || view.key === "lost") {
      const e = s.error || { key: "errorGeneric" };
      view.alert.textContent = e.text ? e.text : t(e.key);
      return;
    }
    if (view.key !== "chat") return;
    const endedNow = s.phase === "ended";

    // Banner.
    const lines = [];
    if (endedNow) lines.push(t(s.endReason === "removed" ? "chatEndedRemoved" : "chatEnded"));
    else if (s.phase === "chatting") lines.push(t("withAgent", { name: s.agents.join(", ") }));
    else if (s.phase === "joining") lines.push(t("connecting"));
    else {
      if (s.noAgents) lines.push(t("noAgents"));
      else if (s.position === 1) lines.push(t("queueNext"));
      else if (s.position) lines.push(t("queuePosition", { position: s.position }));
      else lines.push(t("waitingForAgent"));
      if (!s.noAgents && s.wait !== null && s.wait !== undefined) {
        const minutes = Math.round(s.wait / 60);
        lines.push(s.wait < 60 ? t("waitUnderMinute") : t("waitMinutes", { count: minutes, minutes }));
      }
    }
    if (endedNow && s.endText) lines.push(s.endText);
    const bannerText = lines.join("\n");
    if (view.banner.dataset.text !== bannerText) {
      view.banner.dataset.text = bannerText;
      view.banner.textContent = "";
      lines.forEach((l, i) => view.banner.appendChild(h(doc, "p", i && endedNow ? { dir: "auto" } : {}, l)));
    }

    renderLog();

    // Typing.
    const typ = s.typing.length === 0 ? "" : s.typing.length === 1 ? t("typing", { name: s.typing[0] }) : t("typingSeveral");
    if (view.typing.textContent !== typ) view.typing.textContent = typ;

    // Rating.
    const r = s.rating;
    const showRating = !!s.ticket && (endedNow || r.state !== "none");
    view.rating.el.hidden = !showRating;
    view.rating.requested.hidden = endedNow || r.state !== "requested";
    const done = r.state === "done";
    view.rating.fs.hidden = done;
    view.rating.fields.hidden = done;
    view.rating.submit.hidden = done;
    view.rating.thanks.hidden = !done;
    view.rating.submit.disabled = r.state === "sending";
    view.rating.submit.textContent = r.state === "sending" ? t("sending") : t("rateSubmit");
    const err = r.state === "error" && r.error ? (r.error.text ? r.error.text : t(r.error.key)) : "";
    view.rating.error.textContent = err;
    view.rating.error.hidden = !err;

    // Files: the attach button and a refusal said before any upload.
    view.attachBtn.hidden = !s.upload;
    if (s.upload && s.upload.types) view.fileInput.setAttribute("accept", s.upload.types.join(","));
    const ferr = s.fileError && !endedNow ? fileErrorText(t, s.fileError, language.locale) : "";
    if (view.fileError.textContent !== ferr) view.fileError.textContent = ferr;
    view.fileError.hidden = !ferr;

    // Composer / actions / confirm / end.
    view.composer.hidden = endedNow || confirmEnd;
    view.actions.hidden = endedNow || confirmEnd;
    view.confirm.hidden = endedNow || !confirmEnd;
    view.ended.hidden = !endedNow;
    const ratingShown = showRating && !view.ratingWasShown;
    view.ratingWasShown = showRating;
    if ((view.wasEnded === false && endedNow) || ratingShown) view.scrollToEnd();
    if (view.wasEnded === false && endedNow && isOpen) {
      // The composer just went away: put focus on the banner that says why.
      view.banner.focus();
    }
    view.wasEnded = endedNow;
  }

  // ------------------------------------------------------------ the log
  function itemSignature(it) {
    return [it.body, it.state, it.edited ? 1 : 0, it.time, it.nick, it.link ? it.link.url : "", it.file ? JSON.stringify(it.file) : ""].join("\u0001");
  }

  function formatTime(ms) {
    const d = new Date(ms);
    const today = new Date();
    return d.toDateString() === today.toDateString() ? timeFmt.format(d) : dateTimeFmt.format(d);
  }

  function timeEl(ms) {
    if (!ms) return null;
    return h(doc, "time", { datetime: new Date(ms).toISOString() }, formatTime(ms));
  }

  /** A message about one link (a knowledge-base article): its title as the link, and the site's name. */
  function linkCard(link) {
    const href = safeHref(link.url);
    if (!href || !link.title) return null;
    const a = h(doc, "a", { class: "md-card", href, target: "_blank", rel: "noopener noreferrer nofollow" });
    a.append(h(doc, "span", { class: "md-card-title", dir: "auto" }, link.title), h(doc, "span", { class: "md-card-host" }, new URL(href).host));
    return a;
  }

  /** A file in the chat: its upload's progress or error, a thumbnail, or a download link. */
  function fileView(it) {
    const f = it.file;
    const box = h(doc, "div", { class: "md-file" });
    const name = h(doc, "span", { class: "md-file-name", dir: "auto" }, f.name);
    const size = f.size ? h(doc, "span", { class: "md-file-size" }, formatSize(f.size, language.locale)) : null;
    const nameAndSize = size ? [name, " ", size] : [name];
    const href = f.url ? safeHref(f.url) : null;
    if (f.state === "requesting" || f.state === "uploading") {
      const pct = Math.round((f.progress || 0) * 100);
      const bar = h(doc, "progress", { max: "100", value: String(pct), "aria-label": t("fileUploading", { name: f.name }) });
      const pctText = new Intl.NumberFormat(language.locale, { style: "percent" }).format(pct / 100);
      box.append(...nameAndSize, bar, h(doc, "span", { class: "md-file-progress" }, pctText));
      box.classList.add("md-file-uploading");
      return box;
    }
    if (f.state === "failed") {
      box.append(...nameAndSize, h(doc, "span", { class: "md-file-note" }, fileErrorText(t, f.error || { key: "fileUploadFailed" }, language.locale)));
      if (session.canRetryFile(it.key)) {
        const b = h(doc, "button", { type: "button", class: "md-link-button" }, t("fileRetry"));
        b.addEventListener("click", () => session.retryFile(it.key));
        box.appendChild(b);
      }
      box.classList.add("md-file-failed");
      return box;
    }
    if (!href || f.check === "gone") {
      box.append(name, h(doc, "span", { class: "md-file-note" }, t("fileGone")));
      return box;
    }
    if (f.check === "held") {
      box.append(...nameAndSize, h(doc, "span", { class: "md-file-note" }, t("fileHeld")));
      box.classList.add("md-file-held");
      return box;
    }
    const a = h(doc, "a", { class: "md-file-link", href, target: "_blank", rel: "noopener noreferrer nofollow", download: f.name });
    if (isImage(f)) {
      const img = h(doc, "img", { class: "md-file-thumb", src: href, alt: f.name, loading: "lazy", referrerpolicy: "no-referrer" });
      // Not shown after all (held, deleted, another host refusing): the link stays.
      img.addEventListener("error", () => img.replaceWith(name));
      a.appendChild(img);
      a.classList.add("md-file-image");
    } else {
      a.append(...nameAndSize);
    }
    box.appendChild(a);
    return box;
  }

  function detailsItem(it) {
    const dl = h(doc, "dl");
    for (const f of it.details) {
      const key = BUILT_IN_LABELS[f.var];
      dl.append(h(doc, "dt", { dir: "auto" }, key ? t(key) : f.label), h(doc, "dd", { dir: "auto" }, f.value));
    }
    return h(doc, "li", { class: "md-details" }, h(doc, "h3", {}, t("detailsTitle")), dl);
  }

  function buildItem(it) {
    if (it.kind === "notice" || (it.kind === "status" && it.notice)) {
      return h(doc, "li", { class: "md-notice" }, t(it.notice.key, it.notice.vars || {}), timeEl(it.time));
    }
    if (it.kind === "status" && it.details) return detailsItem(it);
    if (it.kind === "status") {
      const li = h(doc, "li", { class: "md-status", dir: "auto" });
      appendRichText(doc, li, it.body);
      const te = timeEl(it.time);
      if (te) li.appendChild(te);
      return li;
    }
    const me = it.from === "me";
    const li = h(doc, "li", { class: `md-msg ${me ? "md-me" : "md-agent"}${it.state === "failed" ? " md-failed" : ""}` });
    const meta = h(doc, "div", { class: "md-meta" }, h(doc, "span", { class: "md-nick" }, me ? t("you") : it.nick || t("support")), " ", timeEl(it.time));
    const bubble = h(doc, "div", { class: "md-bubble", dir: "auto" });
    const card = it.link && !me ? linkCard(it.link) : null;
    if (it.file) bubble.appendChild(fileView(it));
    else if (card) bubble.appendChild(card);
    else appendRichText(doc, bubble, it.body);
    if (it.edited) bubble.appendChild(h(doc, "span", { class: "md-msg-state" }, " " + t("edited")));
    li.append(meta, bubble);
    const stateLine = h(doc, "div", { class: "md-msg-state" });
    if (it.state === "pending") stateLine.textContent = t("messagePending");
    else if (it.state === "failed") {
      stateLine.appendChild(doc.createTextNode(t("messageFailed") + " "));
      const b = h(doc, "button", { type: "button", class: "md-link-button" }, t("retrySend"));
      b.addEventListener("click", () => session.retryMessage(it.key));
      stateLine.appendChild(b);
    }
    stateLine.hidden = it.state === "sent";
    li.appendChild(stateLine);
    return li;
  }

  function renderLog() {
    if (!view || view.key !== "chat") return;
    const { log, nodes, scroll } = view;
    const items = session.timeline.items;
    const nearBottom = scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < 80;
    let added = false;
    const keep = new Set();
    let prev = null;
    for (const it of items) {
      keep.add(it.key);
      const sig = itemSignature(it);
      let entry = nodes.get(it.key);
      if (!entry) {
        entry = { node: buildItem(it), sig };
        nodes.set(it.key, entry);
        added = true;
      } else if (entry.sig !== sig) {
        const fresh = buildItem(it);
        entry.node.replaceWith(fresh);
        entry.node = fresh;
        entry.sig = sig;
      }
      const want = prev ? prev.nextSibling : log.firstChild;
      if (want !== entry.node) log.insertBefore(entry.node, want);
      prev = entry.node;
    }
    for (const [key, entry] of nodes) {
      if (!keep.has(key)) {
        entry.node.remove();
        nodes.delete(key);
      }
    }
    if (added && (nearBottom || items.length && items[items.length - 1].from === "me")) scroll.scrollTop = scroll.scrollHeight;
  }

  // ------------------------------------------------------------ transcript
  function downloadTranscript() {
    const s = session.state;
    const ended = s.phase === "ended" && s.endedAt ? { time: s.endedAt, key: s.endReason === "removed" ? "chatEndedRemoved" : "chatEnded" } : null;
    const text = transcriptText(session.timeline.items, t, { ticket: s.ticket, queue: config.queue, exportedAt: Date.now(), ended, locale: language.locale });
    const name = transcriptFileName(s.ticket, Date.now());
    const blob = new win.Blob([text], { type: "text/plain;charset=utf-8" });
    if (!win.URL || typeof win.URL.createObjectURL !== "function") return { name, text };
    const url = win.URL.createObjectURL(blob);
    const a = h(doc, "a", { href: url, download: name });
    a.style.display = "none";
    root.appendChild(a);
    a.click();
    a.remove();
    win.setTimeout(() => win.URL.revokeObjectURL(url), 10000);
    return { name, text };
  }

  // ------------------------------------------------------------ wiring
  const offChange = session.on("change", render);
  const offTimeline = session.on("timeline", () => renderLog());
  const offIncoming = session.on("incoming", (item) => attention.incoming(item));
  let tick = null;
  const ticker = () => {
    // The "reconnecting in N s" countdown.
    if (session.state.link === "retrying") renderConn(session.state);
  };
  tick = win.setInterval(ticker, 1000);
  const onOnline = () => session.networkOnline();
  win.addEventListener("online", onOnline);
  // A phone that froze the tab in the background: check the link as soon
  // as the page is looked at again, rather than at the next keepalive.
  const onVisible = () => {
    if (!doc.hidden) session.networkOnline();
  };
  doc.addEventListener("visibilitychange", onVisible);

  render();
  if (session.ui.open || config.open) open({ focus: false });

  return {
    host,
    root,
    open,
    close,
    toggle,
    attention,
    downloadTranscript,
    isOpen: () => isOpen,
    destroy() {
      offChange();
      offTimeline();
      offIncoming();
      attention.destroy();
      win.clearInterval(tick);
      win.removeEventListener("online", onOnline);
      doc.removeEventListener("visibilitychange", onVisible);
      launcherBtn.removeEventListener("click", toggle);
      panel.remove();
      style.remove();
      host.remove();
    },
  };
}
