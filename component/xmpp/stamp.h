/* XEP-0082 date and time profiles: the `stamp` of XEP-0203 delays, MAM
 * `start`/`end`, MUC history `since`.  Times are Unix microseconds (the
 * archive's unit). */
#ifndef MUCDESK_XMPP_STAMP_H
#define MUCDESK_XMPP_STAMP_H

#include <stddef.h>
#include <stdint.h>

#define STAMP_TEXT_MAX 32

/* "2024-05-01T12:34:56.789Z": always with milliseconds, so every stamp
 * has the same width and stamps sort as text the way they sort in time
 * (clients and scripts compare them as strings).  out needs
 * STAMP_TEXT_MAX bytes. */
void stamp_format(int64_t at_us, char out[STAMP_TEXT_MAX]);

/* Parses a DateTime (CCYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm|-hh:mm)).
 * Returns 0, or -1 if the text is not one. */
int stamp_parse(const char *text, int64_t *at_us);

/* The current time (wall clock) in Unix microseconds. */
int64_t stamp_now_us(void);

#endif
