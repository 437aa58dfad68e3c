/* How mail refers to a ticket, both ways: the "[Ticket#N]" in a subject
 * and our own Message-IDs ("mucdesk.N.UNIQUE@DOMAIN"), which a reply's
 * In-Reply-To or References brings back.  The desk writes them on the mail
 * it sends (transcripts, replies); mucdeskctl mail-in reads them on the
 * mail that comes in.  Pure functions. */
#ifndef MUCDESK_CORE_MAILREF_H
#define MUCDESK_CORE_MAILREF_H

#include <stddef.h>
#include <stdint.h>

/* Our Message-ID for mail about ticket N: "mucdesk.N.UNIQUE@DOMAIN"
 * (without <>), which a reply's In-Reply-To or References brings back.
 * unique: letters, digits, '.' or '-' (e.g. a job id and a time).
 * Returns the length, or -1 if it does not fit or unique is not so. */
int mailref_message_id(char *out, size_t size, int64_t ticket,
                      const char *unique, const char *domain);
/* The ticket number of one of our Message-IDs (with or without <>), 0 if
 * it is not one (or its domain is not msgid_domain, when given). */
int64_t mailref_message_id_ticket(const char *id, const char *msgid_domain);
/* The N of the first "[Ticket#N]" in a subject (case-insensitive), 0 if
 * none. */
int64_t mailref_subject_ticket(const char *subject);

/* The domain of an address ("Support <support@desk.example>" gives
 * "desk.example") into out; NULL if there is none or it does not fit. */
const char *mailref_domain(const char *address, char *out, size_t size);

#endif
