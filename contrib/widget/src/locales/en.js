// English: every text the widget shows, and the keys every other language
// (locales/<code>.js, same keys) and a site's data-texts translate.
// {name}-style placeholders are filled in; a value that is an object is
// chosen by the plural category (Intl.PluralRules) of its {count}: "one",
// "other", and in other languages "zero", "two", "few", "many".  Launcher
// texts (launcherLabel) are also compiled into the launcher (build.mjs).

export default {
  launcherLabel: "Chat with us",
  launcherUnread: { one: "Chat with us ({count} unread message)", other: "Chat with us ({count} unread messages)" },
  title: "Chat with us",
  close: "Close chat window",
  connecting: "Connecting…",
  loadingForm: "Loading…",

  // Pre-chat form
  formIntro: "Tell us a little about your question and we'll connect you with someone who can help.",
  fieldName: "Your name",
  fieldEmail: "Email",
  fieldQuestion: "Question",
  fieldTranscript: "Email me a transcript of this chat",
  startChat: "Start chat",
  sending: "Sending…",
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
  waitMinutes: { one: "Estimated wait: about {count} minute.", other: "Estimated wait: about {count} minutes." },
  waitUnderMinute: "Estimated wait: less than a minute.",
  waitingForAgent: "Waiting for an agent…",
  noAgents: "No agent is available right now. You keep your place in the queue; you can also write your message here and we will answer by email.",
  withAgent: "You are chatting with {name}.",
  agentJoined: "{name} joined the chat.",
  agentLeft: "{name} left the chat.",
  requeued: "Please wait: the next available agent will take your chat.",
  transferred: "Your chat was passed to another team. Please wait for the next agent.",
  detailsTitle: "Your request",
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

  // Being noticed
  alerts: "Alerts",
  soundOption: "Play a sound for new messages",
  notifyOption: "Notify me of replies while this tab is in the background",
  notifyBlocked: "Your browser blocks notifications from this site.",
  notifyTitle: "{name} replied",
  notifyTitleRoom: "New message",

  // Another tab
  elsewhere: "This chat is open in another tab or window.",
  continueHere: "Continue here",

  // Connection
  reconnecting: "Connection lost. Reconnecting…",
  reconnectingIn: "Connection lost. Reconnecting in {seconds} s…",
  retryNow: "Retry now",

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
  rateStars: { one: "{count} star", other: "{count} stars" },
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

  fileAttach: "Attach a file",
  fileDrop: "Drop files here to send them",
  fileUploading: "Sending {name}",
  fileHeld: "Being checked…",
  fileGone: "This file is no longer available.",
  fileTooBig: "{name} is too large: files up to {max} can be sent.",
  fileTypeRefused: "{name} cannot be sent: files of this type are not accepted.",
  fileChatFull: "{name} cannot be sent: the files of this chat may not exceed {max}.",
  fileEmpty: "{name} is empty.",
  fileTooMany: { "one": "Send one file at a time.", "other": "Send at most {count} files at a time." },
  fileUnavailable: "Files cannot be sent in this chat.",
  fileRefused: "Files cannot be sent in this chat right now.",
  fileBusy: "Too many files are on their way: try again in a moment.",
  fileNetwork: "The upload was interrupted. Check your connection and try again.",
  fileHttpError: "The upload failed (error {status}).",
  fileUploadFailed: "The upload failed.",
  fileInterrupted: "The upload stopped when the page was left.",
  fileRetry: "Try again",
};
