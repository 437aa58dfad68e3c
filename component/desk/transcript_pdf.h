/* The `transcript` command's PDF (transcript_pdf.c, issue 14): drawn by
 * mucdeskctl (cairo and pango stay out of the daemon), kept as a file of
 * the ticket in the upload store and answered with its link. */
#ifndef MUCDESK_DESK_TRANSCRIPT_PDF_H
#define MUCDESK_DESK_TRANSCRIPT_PDF_H

#include <stdint.h>

#include "xmpp/stanza.h"

struct adhoc_reply;
struct desk;

/* Whether a PDF can be made now: a file store ([http] public_url) and a
 * free render slot.  0, or -1 with *err. */
int desk_transcript_pdf_check(struct desk *d, struct xerr *err);
/* For an asker allowed to read the ticket: draws it and answers r (a note
 * and `url`), or fails r.  r is answered exactly once. */
void desk_transcript_pdf_start(struct desk *d, struct adhoc_reply *r,
                               int64_t ticket, const char *asker);

/* At desk_free: renders still drawing are stopped and failed. */
void desk_transcript_pdf_stop(struct desk *d);

#endif
