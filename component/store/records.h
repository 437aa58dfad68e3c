/* What the archive journals: the payload of each journal record.
 *
 * Fixed-width integers little-endian, then strings as a u32 length (all
 * ones for NULL), the bytes and a NUL, so that a decoded record points
 * straight into the payload.  Decoding checks every length against the
 * payload and fails rather than read past it. */
#ifndef MUCDESK_STORE_RECORDS_H
#define MUCDESK_STORE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/archive.h"
#include "store/tickets.h"

enum record_type {
    RECORD_EVENT = 1,  /* struct archive_event */
    RECORD_TICKET = 2, /* struct store_ticket */
};

/* Appends the payload of an event / ticket record to out. */
void record_encode_event(struct buf *out, const struct archive_event *ev);
void record_encode_ticket(struct buf *out, const struct store_ticket *t);

/* Decodes a payload; the strings point into it (valid as long as it is).
 * 0, or -1 if the payload is malformed. */
int record_decode_event(const uint8_t *p, size_t len, struct archive_event *ev);
int record_decode_ticket(const uint8_t *p, size_t len, struct store_ticket *t);

/* The kinds' names (archive_kind_name is in archive.h): the text includes
 * "subject", which PostgreSQL's kind column stores as "system". */
const char *archive_kind_text(enum archive_kind kind);
int archive_kind_parse(const char *text, enum archive_kind *out);
/* Wall-clock time in microseconds since the epoch. */
uint64_t archive_now_us(void);

#endif
