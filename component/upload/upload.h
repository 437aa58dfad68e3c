/* XEP-0363 HTTP File Upload on mucdesk's own domain, for the occupants of
 * open chats, with the files on the HTTP listener ([http] public_url) and
 * a queue status resource for the widget.  See README.md.
 *
 * Above the desk: it asks the desk only through desk/files.h.  Everything
 * runs on the XMPP thread, except what http/server.h does on its own
 * thread (a PUT's body written, hashed, synced and renamed). */
#ifndef MUCDESK_UPLOAD_UPLOAD_H
#define MUCDESK_UPLOAD_UPLOAD_H

#include "core/config.h"
#include "core/loop.h"
#include "http/server.h"
#include "store/archive.h"
#include "store/db.h"
#include "xmpp/disco.h"
#include "xmpp/router.h"

struct desk;
struct upload;

/* Registers the slot requests (iq), the disco feature and form, and the
 * routes /upload/ and /status/ on http (before its start).  Borrows all
 * for its whole life.  Uploads need [http] public_url: without it only
 * /status/ is served.  NULL on failure (logged). */
struct upload *upload_new(struct loop *loop, struct router *router,
                          struct disco *disco, struct http_server *http,
                          struct desk *desk, struct store *store,
                          struct archive *archive, const struct config *cfg);
/* Creates the directory, starts the sweep of files whose transcripts are
 * gone.  0 or -1 (logged). */
int upload_start(struct upload *u);
/* Kills a running scan; what it held stays held (scanned again at the
 * next start).  NULL is a no-op. */
void upload_free(struct upload *u);

#endif
