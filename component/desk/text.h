/* Pure helpers of the desk, without state: text command lines, the wait
 * estimate, numbers, templates, URLs and addresses.  (The session details
 * JSON is desk/details.h.)
 * Unit-tested in tests/unit/test_desk_text.c. */
#ifndef MUCDESK_DESK_TEXT_H
#define MUCDESK_DESK_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Whether body starts like a text command: "!" and a letter (the primary
 * form), or "/" but not "//" (an escaped slash). */
bool desk_cmdline_prefix(const char *body);

/* "!close resolved thanks" (or "/close ...") -> name "close", args
 * "resolved thanks".  Returns 0, or -1 if body is not a command (see
 * desk_cmdline_prefix, or an empty name). */
struct desk_cmdline {
    char name[32];       /* lower-case, without the '!' or '/' */
    const char *args;    /* into body, leading blanks skipped; "" if none */
};
int desk_cmdline_parse(const char *body, struct desk_cmdline *out);

/* Splits the first word of *args into word[size] and moves *args past it
 * (and the blanks after).  A word longer than size - 1 bytes is cut on a
 * character boundary (to "" if its first character alone does not fit).
 * Returns false if there is no word. */
bool desk_next_word(const char **args, char *word, size_t size);

/* Parses a whole decimal integer within [min, max].  0 or -1. */
int desk_parse_int(const char *text, long min, long max, long *out);

/* Estimated wait in seconds for a chat at `position` (1 = next): the rolling
 * average wait times (index + 1) where index = position - 1 (Openfire
 * Fastpath's rule).  avg_s <= 0: no estimate (-1). */
int desk_wait_estimate(double avg_s, int position);

/* Minutes and seconds as "3 min" / "45 s" into out. */
void desk_format_duration(int seconds, char *out, size_t size);

/* A rolling average over the last DESK_WAIT_SAMPLES values. */
#define DESK_WAIT_SAMPLES 20
struct desk_rolling {
    double values[DESK_WAIT_SAMPLES];
    unsigned count, next;
};
void desk_rolling_add(struct desk_rolling *r, double value);
double desk_rolling_mean(const struct desk_rolling *r); /* 0 if empty */

/* Copies tmpl into out with each {NAME} replaced by its value; vars holds
 * NAME, value pairs, NULL-terminated.  Unknown {words} stay as they are. */
void desk_expand(const char *tmpl, const char *const *vars, struct buf *out);

/* Whether text (surrounding blanks aside) is one http(s) URL and nothing
 * else; if so, the URL without the blanks into url[size]. */
bool desk_is_url(const char *text, char *url, size_t size);

/* Whether text is one email address and nothing else: local@domain, the
 * local part a dot-atom (RFC 5322: letters, digits, !#$%&'*+-/=?^_`{|}~
 * and dots, or UTF-8 as RFC 6531 allows), the domain two or more labels of
 * letters, digits and hyphens (or UTF-8), at most 254 bytes in all.  No
 * comma, semicolon, colon, space, quote, bracket, CR or LF: the transcript
 * mail's To: header, read by `sendmail -t`, must name one mailbox only. */
bool desk_email_ok(const char *text);

/* Escapes a value for a double-quoted HTML attribute: & < > " ' (and
 * nothing else), appended to out. */
void desk_html_escape_attr(struct buf *out, const char *value);

/* The widget's embed snippet (doc/widget-protocol.md §8): exactly the
 * text of contrib/widget/src/snippet.js, ending with a newline. */
void desk_widget_snippet(struct buf *out, const char *script_url,
                         const char *websocket, const char *domain,
                         const char *service, const char *queue_jid);

/* Lower-cases a comma-separated list and drops blanks and empty items, in
 * place.  Returns the number of items. */
size_t desk_normalise_list(char *list);

#endif
