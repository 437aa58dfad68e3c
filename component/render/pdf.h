/* A transcript as a PDF document: a title, a table of header fields, then
 * one row per event (when, who, text wrapped), "Page N of M" at the foot of
 * every page.  Drawn with cairo, text shaped by pango (any script: bidi for
 * Arabic and Hebrew, CJK, combining marks; fonts found by fontconfig).
 *
 * A layer of its own below desk: it knows nothing of tickets or the store,
 * only the plain document below.  Blocking and CPU-bound (about 1 ms per
 * event): for mucdeskctl and worker threads, never the event loop.
 * Thread-safe as cairo and pango are (one document per call). */
#ifndef MUCDESK_RENDER_PDF_H
#define MUCDESK_RENDER_PDF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct render_field {
    const char *label;            /* "Queue" */
    const char *value;            /* NULL or "": the row is left out */
};

struct render_line {
    const char *when;             /* "2026-12-07 10:00:01", or NULL */
    const char *who;              /* the speaker, or NULL for status lines */
    const char *text;             /* wrapped to the page; NULL: "" */
    bool muted;                   /* staff-only: grey */
};

struct render_doc {
    const char *title;            /* first line, large; NULL: none */
    const char *author;           /* PDF metadata (Creator); NULL: "mucdesk" */
    const struct render_field *fields;
    size_t field_count;
    const struct render_line *lines;
    size_t line_count;
    const char *footnote;         /* after the last line, or NULL */
};

/* Text that is not UTF-8 is drawn with U+FFFD in place of the bad bytes;
 * each text is cut at RENDER_TEXT_MAX bytes (the rest noted as cut). */
#define RENDER_TEXT_MAX (64 * 1024)

/* Appends the PDF to out.  0, or -1 with a reason in err (never
 * allocates for it). */
int render_pdf_buf(const struct render_doc *doc, struct buf *out, char *err,
                   size_t errlen);
/* Writes the PDF to path (created or truncated).  0, or -1 with err. */
int render_pdf_file(const struct render_doc *doc, const char *path, char *err,
                    size_t errlen);

/* Frees the font and glyph caches cairo, pango and fontconfig keep for the
 * whole process (so that a leak checker sees only real leaks).  Call it
 * once, at exit, after the last render. */
void render_pdf_shutdown(void);

#endif
