/* A growable byte buffer with a sticky failure flag.
 *
 * Appends never abort the caller: if memory runs out, the buffer records the
 * failure and ignores later appends, so a writer can append a whole stanza
 * and check buf_failed() once at the end.  The data is always NUL-terminated
 * after a successful append, so it can be used as a C string. */
#ifndef MUCDESK_CORE_BUF_H
#define MUCDESK_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    bool failed;  /* an allocation failed since the last buf_reset */
};

#define BUF_INIT {NULL, 0, 0, false}

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Empties the buffer and clears the failure flag; keeps the allocation. */
void buf_reset(struct buf *b);
/* Makes room for `extra` more bytes (plus the terminator). 0 or -1. */
int buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Shortens the buffer to n bytes (n <= len): drops a half-written part. */
void buf_truncate(struct buf *b, size_t n);
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Gives the data to the caller (who frees it) and empties the buffer.
 * Returns NULL if the buffer failed; an empty buffer yields "". */
char *buf_steal(struct buf *b);

static inline bool buf_failed(const struct buf *b) { return b->failed; }
static inline const char *buf_cstr(const struct buf *b)
{
    return b->data ? b->data : "";
}

#endif
