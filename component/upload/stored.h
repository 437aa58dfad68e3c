/* A stored file's layout and record, shared by the upload service
 * (upload.c) and mucdeskctl mail-in (which keeps e-mail attachments the
 * same way): DIR/TICKET/TOKEN with its type and name in TOKEN.meta, the
 * capability URL PUBLIC_URL/upload/TICKET/TOKEN/NAME, and the `file`
 * event whose stanza id ties the file's life to it (sweep.c).  Pure but
 * for the token's randomness and the .meta file. */
#ifndef MUCDESK_UPLOAD_STORED_H
#define MUCDESK_UPLOAD_STORED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"

#define UPLOAD_TOKEN_BYTES 24     /* 192 bits */
#define UPLOAD_TOKEN_SIZE (2 * UPLOAD_TOKEN_BYTES + 1)
#define UPLOAD_EVENT_ID_SIZE 38   /* "file-" + 32 hex + NUL */
#define UPLOAD_NAME_MAX_BYTES 255
#define UPLOAD_TYPE_MAX_BYTES 127

/* The files' directory of a configuration ([upload] dir, else
 * [service] state_dir/uploads); malloc'd, NULL if out of memory. */
char *upload_dir_of(const struct config *cfg);
/* A fresh unguessable token (hex).  0 or -1. */
int upload_token_new(char out[UPLOAD_TOKEN_SIZE]);
/* "file-" + the first 128 bits of SHA-256(token) in hex. */
void upload_event_id(const char *token, char out[UPLOAD_EVENT_ID_SIZE]);
/* Percent-encodes all but RFC 3986's unreserved characters. */
void upload_url_encode(struct buf *out, const char *s);
/* The URL of a stored file (public_url without its trailing '/'). */
void upload_url(struct buf *out, const char *public_url, int64_t ticket,
                const char *token, const char *name);
/* TOKEN.meta: the content type and the name, one line each.  0 or -1. */
int upload_meta_write(const char *path, const char *type, const char *name);
/* Whether a lower-case media type is in a comma-separated list. */
bool upload_type_allowed(const char *list, const char *type);
/* A name a client gave is usable as it is: UTF-8, no '/', '\\', control
 * characters or quotes (it goes into a header), not "." or "..". */
bool upload_name_ok(const char *s);
/* The `file` event's body ("NAME (TYPE, N bytes, sha256 HEX): URL") and
 * payload (XEP-0066 OOB and <file xmlns='urn:mucdesk:0'/>). */
void upload_event_text(struct buf *body, struct buf *payload, const char *name,
                       const char *type, uint64_t size, const char *sha,
                       const char *url);

#endif
