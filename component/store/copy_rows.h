/* COPY text and the tables archive events are shipped into (copy_rows.c).
 * DB thread. */
#ifndef MUCDESK_STORE_COPY_ROWS_H
#define MUCDESK_STORE_COPY_ROWS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/archive.h"

void pgtext_copy_str(struct buf *b, const char *s);  /* \N for NULL */
void pgtext_timestamp(char out[64], int64_t us);     /* 0: "" */
int64_t pgtext_parse_us(const char *text);           /* "epoch us" text */

/* ticket_events (events of a ticket) and muc_archive (plain rooms' events),
 * each with its staging table. */
struct copy_table;
extern const struct copy_table copy_ticket_events;
extern const struct copy_table copy_room_events;

/* The statements, into b (reset first): COPY into the table or, staging,
 * into its staging table with the ord column first; the INSERT from the
 * staging table that skips stanza ids already stored; the staging table's
 * CREATE TEMP TABLE. */
void copy_sql_copy(struct buf *b, const struct copy_table *t, bool staging);
void copy_sql_insert(struct buf *b, const struct copy_table *t);
void copy_sql_stage(struct buf *b, const struct copy_table *t);
/* Empties the staging table (between two batches of one transaction). */
void copy_sql_clear(struct buf *b, const struct copy_table *t);
/* Appends the event's row (staging: its seq as ord first). */
void copy_row(struct buf *b, const struct copy_table *t, bool staging,
              uint64_t seq, const struct archive_event *ev);

#endif
