/* JIDs (RFC 7622 as XMPP servers apply it: stringprep nodeprep, nameprep
 * and resourceprep, like Prosody).
 *
 * A struct jid holds the three prepared parts in fixed arrays, so parsing
 * allocates nothing; an absent part is the empty string (XMPP forbids empty
 * parts, so the two cannot be confused). */
#ifndef MUCDESK_CORE_JID_H
#define MUCDESK_CORE_JID_H

#include <stdbool.h>
#include <stddef.h>

#define JID_PART_MAX 1023

struct jid {
    char local[JID_PART_MAX + 1];
    char domain[JID_PART_MAX + 1];
    char resource[JID_PART_MAX + 1];
};

/* Longest text form: three parts and two separators. */
#define JID_TEXT_MAX (3 * JID_PART_MAX + 3)

/* Parses and prepares `text`.  Returns 0, or -1 if it is not a valid JID. */
int jid_parse(const char *text, struct jid *out);

/* Prepares one part alone (for nicknames: resourceprep; for room names:
 * nodeprep) into out (size JID_PART_MAX+1).  0 or -1 if invalid or empty. */
int jid_prep_local(const char *in, char *out);
int jid_prep_resource(const char *in, char *out);

static inline bool jid_has_local(const struct jid *j) { return j->local[0]; }
static inline bool jid_has_resource(const struct jid *j)
{
    return j->resource[0];
}

/* Text forms, into out[outlen].  Return the length, or -1 if it did not fit. */
int jid_bare_text(const struct jid *j, char *out, size_t outlen);
int jid_full_text(const struct jid *j, char *out, size_t outlen);

/* Compares bare parts only. */
bool jid_bare_equal(const struct jid *a, const struct jid *b);

#endif
