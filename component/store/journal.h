/* The journal: append-only segment files of checksummed records.
 *
 * A record is a 24-byte header (magic, CRC-32C, sequence number, payload
 * length, type) and its payload.  Sequence numbers are consecutive across
 * the whole journal; a segment file is named after the sequence number of
 * its first record (`0000000000000001.mdj`) and starts with a 32-byte
 * header repeating it.  Segments are prepared ahead, allocated and
 * zero-filled (disk full shows up when a segment is prepared, never in the
 * middle of a record; a sync flushes data, not metadata), so their tails
 * read as zeros: the first header that does not check out ends a segment.
 *
 * journal_open() scans every segment: a torn or corrupt tail of the newest
 * segment (a crash while writing) is cut, its bytes zeroed, and reported.
 *
 * Threads: one writer (journal_append, journal_sync), one housekeeper
 * (journal_prepare, journal_trim: may block on the disk, so not the
 * writer) and any number of readers (struct journal_reader, each used by
 * one thread); they share the segment list under a lock.  A reader only
 * reads records the writer has finished, told by the `limit` sequence
 * number the caller passes (the writer publishes it after each append). */
#ifndef MUCDESK_STORE_JOURNAL_H
#define MUCDESK_STORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define JOURNAL_RECORD_HEADER 24
#define JOURNAL_SEGMENT_HEADER 32
/* Larger records are refused (and read as corruption). */
#define JOURNAL_RECORD_MAX (64u * 1024u * 1024u)

struct journal;
struct journal_reader;

struct journal_record {
    uint64_t seq;
    uint8_t type;
    const uint8_t *payload; /* borrowed: valid until the next read */
    size_t len;
};

/* ---- encoding (any thread, no journal needed) ------------------------------- */

/* Starts a record at the end of `out`: reserves the header, returns the
 * record's offset.  Append the payload to `out`, then call _end. */
size_t journal_record_begin(struct buf *out);
/* Fills in the header of the record started at `start`. */
void journal_record_end(struct buf *out, size_t start, uint64_t seq,
                        uint8_t type);

enum journal_decode {
    JOURNAL_DECODE_OK,
    JOURNAL_DECODE_SHORT, /* the header says more bytes follow than `avail` */
    JOURNAL_DECODE_BAD,   /* not a record: zeros, torn, or corrupt */
};
/* Reads one record at data[0..avail).  OK: *rec filled (payload points into
 * data) and *size is the record's whole length.  SHORT: *size is the length
 * needed. */
enum journal_decode journal_record_decode(const uint8_t *data, size_t avail,
                                          struct journal_record *rec,
                                          size_t *size);

/* ---- the journal ------------------------------------------------------------ */

struct journal_options {
    const char *dir;        /* created if missing (one level) */
    uint64_t segment_size;  /* bytes; a record larger than this gets an
                               oversized segment of its own */
    bool sync;              /* fsync data and directory entries (journal
                               durability); false: leave it to the kernel */
};

struct journal_open_report {
    uint64_t first_seq;  /* oldest record kept (== next_seq if none) */
    uint64_t next_seq;   /* the sequence number the next record must have */
    size_t segments;
    uint64_t records;    /* valid records found */
    uint64_t cut_bytes;  /* bytes of a torn tail that were cut (0: clean) */
    unsigned gaps;       /* corrupt stretches inside the journal (data lost) */
};

/* Opens (creating if needed) and recovers the journal.  0, or -1 with a
 * one-line reason in err. */
int journal_open(const struct journal_options *opt, struct journal **out,
                 struct journal_open_report *report, char *err, size_t errlen);
void journal_close(struct journal *j);

/* Writer: appends framed records (consecutive sequence numbers starting at
 * journal_next_seq()), rotating segments as they fill.  0, or -1 with errno
 * (ENOSPC...): then *done bytes (whole records) were written and the rest
 * may be given again. */
int journal_append(struct journal *j, const uint8_t *records, size_t len,
                   size_t *done);
/* Writer: makes everything appended durable (fdatasync; no-op unless
 * opt.sync).  0 or -1 with errno. */
int journal_sync(struct journal *j);
/* Housekeeper: once the active segment is half full, allocates and
 * zero-fills the next one (blocking for as long as that takes), so that a
 * full disk is noticed before it matters and rotating costs nothing.  0, or
 * -1 with errno (the journal keeps working until the active segment is
 * full, then allocates one itself). */
int journal_prepare(struct journal *j);
/* Housekeeper: deletes the segments whose records all have seq <= upto
 * (never the active one).  Returns how many were deleted. */
int journal_trim(struct journal *j, uint64_t upto);

uint64_t journal_next_seq(const struct journal *j); /* writer thread */
/* Any thread: segment count and bytes on disk. */
size_t journal_segments(struct journal *j, uint64_t *bytes);
/* Any thread: the sequence number of the oldest record still on disk. */
uint64_t journal_first_seq(struct journal *j);

/* ---- readers ------------------------------------------------------------------ */

struct journal_pos {
    uint64_t segment;   /* first_seq of the segment */
    uint64_t offset;
    uint64_t next_seq;
};

struct journal_reader *journal_reader_new(struct journal *j);
void journal_reader_free(struct journal_reader *r);
/* Positions the reader at the record `seq` (or the oldest one kept, if that
 * was trimmed).  Returns the sequence number it is positioned at. */
uint64_t journal_reader_seek(struct journal_reader *r, uint64_t seq);
/* Next record if its seq <= limit: 1 (rec valid until the next call), 0 if
 * there is none yet, -1 on an I/O error (errno; the position is kept). */
int journal_reader_next(struct journal_reader *r, uint64_t limit,
                        struct journal_record *rec);
void journal_reader_tell(const struct journal_reader *r, struct journal_pos *pos);
void journal_reader_restore(struct journal_reader *r, const struct journal_pos *pos);

#endif
