// Every string the widget shows, in English.  A site replaces any of them
// with data-texts='{"key": "..."}' or data-text-KEY="..." on the script tag
// (see README.md).  {name} placeholders are filled by format().

export const DEFAULT_TEXTS = {
  launcherLabel: "Chat with us",
  launcherUnread: "Chat with us ({count} unread)",
  title: "Chat with us",
  close: "Close chat window",
  connecting: "Connecting…",
  loadingForm: "Loading…",

  // Pre-chat form
  formIntro: "Tell us a little about your question and we'll connect you with someone who can help.",
  startChat: "Start chat",
  sending: "Sending…",
  required: "required",
  errorRequired: "Please fill in this field.",
  errorEmail: "Please enter a valid email address, like name@example.com.",
  errorJid: "Please enter a valid address, like name@example.com.",
  errorOption: "Please choose one of the options.",
  errorInteger: "Please enter a whole number.",
  errorRange: "Please enter a number between {min} and {max}.",
  errorPattern: "Please check the format of this field.",
  errorSummary: "Please correct the highlighted fields.",
  chooseOption: "Choose…",

  // Leave a message (outside hours / no agents)
  offlineTitle: "Leave us a message",
  offlineIntro: "No one is available to chat right now. Leave a message and we will answer by email.",
  offlineSubmit: "Send message",
  messageLeft: "Thank you, we have your message.",
  messageLeftTicket: "Your reference number is {ticket}. We will answer by email.",

  // Waiting and chatting
  ticket: "Ticket {ticket}",
  queuePosition: "You are number {position} in the queue.",
  queueNext: "You are next in the queue.",
  waitMinutes: "Estimated wait: about {minutes} min.",
  waitUnderMinute: "Estimated wait: less than a minute.",
  waitingForAgent: "Waiting for an agent…",
  noAgents: "No agent is available right now. You keep your place in the queue; you can also write your message here and we will answer by email.",
  withAgent: "You are chatting with {name}.",
  agentJoined: "{name} joined the chat.",
  agentLeft: "{name} left the chat.",
  typing: "{name} is typing…",
  typingSeveral: "Several people are typing…",
  you: "You",
  support: "Support",
  messageLabel: "Your message",
  messagePlaceholder: "Type your message…",
  send: "Send",
  messagePending: "Sending…",
  messageFailed: "Not delivered.",
  retrySend: "Try again",
  edited: "(edited)",
  newMessages: "New messages",

  // Another tab
  elsewhere: "This chat is open in another tab or window.",
  continueHere: "Continue here",

  // Connection
  reconnecting: "Connection lost. Reconnecting…",
  reconnectingIn: "Connection lost. Reconnecting in {seconds} s…",
  retryNow: "Retry now",
  reconnected: "Reconnected.",

  // Ending
  endChat: "End chat",
  endChatConfirm: "End this chat?",
  endChatYes: "Yes, end chat",
  endChatNo: "No, keep chatting",
  chatEnded: "This chat has ended.",
  chatEndedRemoved: "You were removed from this chat.",
  downloadTranscript: "Download transcript",
  newChat: "Start a new chat",

  // Rating
  rateTitle: "How was this chat?",
  rateRequested: "Your agent asks you to rate this chat.",
  rateStar: "{count} star",
  rateStars: "{count} stars",
  rateComment: "Comment (optional)",
  rateSubmit: "Send rating",
  rateThanks: "Thank you for your feedback!",
  rateChoose: "Please choose a number of stars.",
  rateFailed: "Your rating could not be sent. Please try again.",

  // Errors
  errorConnect: "We could not connect to the chat service. Please check your connection and try again.",
  errorUnavailable: "Chat is not available right now. Please try again later.",
  errorForbidden: "You are not allowed to start a chat here.",
  errorGeneric: "Something went wrong. Please try again.",
  errorResume: "Your chat could not be restored. You can start a new one.",
  retry: "Try again",

  // Transcript file
  transcriptTitle: "Chat transcript",
  transcriptTicket: "Ticket: {ticket}",
  transcriptQueue: "Queue: {queue}",
  transcriptExported: "Exported: {time}",
};

/** Replaces {name} placeholders with vars[name]; unknown ones stay as they are. */
export function format(template, vars = {}) {
  return String(template).replace(/\{([a-zA-Z0-9_]+)\}/g, (whole, key) =>
    Object.prototype.hasOwnProperty.call(vars, key) ? String(vars[key]) : whole,
  );
}

/**
 * Builds the texts table: defaults, then each override object in order.
 * Only known keys with string values are taken, so a typo is reported, not
 * silently ignored.  Returns { texts, unknown: [keys] }.
 */
export function mergeTexts(...overrides) {
  const texts = { ...DEFAULT_TEXTS };
  const unknown = [];
  for (const o of overrides) {
    if (!o || typeof o !== "object") continue;
    for (const [k, v] of Object.entries(o)) {
      if (!Object.prototype.hasOwnProperty.call(DEFAULT_TEXTS, k)) unknown.push(k);
      else if (typeof v === "string") texts[k] = v;
    }
  }
  return { texts, unknown };
}

/** A translator bound to a texts table: t("agentJoined", {name}). */
export function translator(texts) {
  return (key, vars) => format(texts[key] ?? key, vars);
}
