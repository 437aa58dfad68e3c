/* One incoming e-mail (RFC 5322 + MIME), as mucdeskctl mail-in needs it:
 * the sender, the subject, the ticket it answers, the text in UTF-8 and
 * the attachments.  Parsed by GMime 3; every part's charset converted to
 * UTF-8; everything bounded (the limits below).
 *
 * The ticket references ([Ticket#N], our Message-IDs) are core/mailref.h.
 * A layer below desk: no store, no desk.  Pure but for GMime's global
 * initialisation, done once on first use (not thread-safe: call it from
 * one thread, as mucdeskctl does). */
#ifndef MUCDESK_MAILIN_PARSE_H
#define MUCDESK_MAILIN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Postfix's default message_size_limit (10240000) rounded up: a larger
 * message would not have reached us through a default MTA. */
#define MAILIN_MESSAGE_MAX (10u * 1024 * 1024)
/* The text kept as the customer's message: beyond this an e-mail is quoted
 * history or a pasted log, and one transcript line must stay readable. */
#define MAILIN_BODY_MAX (64u * 1024)
/* Attachments listed; more are counted, not kept (a mass of them is a
 * mailing, not a support request). */
#define MAILIN_ATTACHMENTS_MAX 20
/* Nested multiparts and embedded messages: real mail nests a handful
 * deep; GMime's parser recurses on each, so the depth is bounded before
 * it parses. */
#define MAILIN_NESTING_MAX 32
/* Header texts kept (name, subject, address), in bytes. */
#define MAILIN_HEADER_MAX 998

struct mailin_attachment {
    char *name;            /* the file name (RFC 2231 decoded), or "attachment" */
    char *type;            /* "application/pdf" */
    unsigned char *data;   /* the decoded bytes */
    size_t size;
    char sha256[65];       /* of data, lower-case hex */
};

struct mailin_message {
    char *from_addr;       /* "ann@example.org", never NULL */
    char *from_name;       /* display name, or NULL */
    char *subject;         /* decoded (RFC 2047), or NULL */
    char *message_id;      /* without <>, or NULL */
    int64_t ticket;        /* the ticket answered, 0: none */
    char *body;            /* UTF-8, never NULL (may be "") */
    bool body_from_html;   /* no text/plain part: the HTML one, as text */
    bool body_cut;         /* longer than MAILIN_BODY_MAX */
    bool auto_submitted;   /* Auto-Submitted other than "no" (RFC 3834) */
    struct mailin_attachment *attachments;
    size_t attachment_count;
    size_t attachments_dropped;  /* beyond MAILIN_ATTACHMENTS_MAX */
};

enum mailin_rc {
    MAILIN_OK = 0,
    MAILIN_BAD = -1,       /* not a message we can read (no From address...) */
    MAILIN_TOO_BIG = -2,   /* over MAILIN_MESSAGE_MAX or nested too deep */
    MAILIN_NOMEM = -3,
};

/* Parses len bytes.  msgid_domain: the domain of our own Message-IDs
 * (mailref_message_id), or NULL to accept any.  On MAILIN_OK *out is
 * filled (free it with mailin_message_free); otherwise it is left zeroed
 * and err says why (never allocates). */
int mailin_parse(const char *data, size_t len, const char *msgid_domain,
                 struct mailin_message *out, char *err, size_t errlen);
void mailin_message_free(struct mailin_message *m);

/* The text of an HTML document: tags dropped, script and style left out,
 * entities decoded, block ends as line breaks, blank runs collapsed.
 * Returns a malloc'ed string (caller frees), NULL when out of memory. */
char *mailin_html_text(const char *html, size_t len);

#endif
