/* mail-in's attachments kept as chat files (mail_files.c). */
#ifndef MUCDESK_CTL_MAIL_FILES_H
#define MUCDESK_CTL_MAIL_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "mailin/parse.h"
#include "upload/stored.h"

struct mail_file {
    int64_t ticket;
    bool kept;                    /* written (as .part); else why */
    char why[160];
    char token[UPLOAD_TOKEN_SIZE];
    char part[4096], path[4096], meta[4096];
    char event_id[UPLOAD_EVENT_ID_SIZE];
    struct buf body, payload;     /* the `file` event's, when kept */
};

struct mail_files {
    struct mail_file *files;      /* one per attachment, in order */
    size_t count;
    char dir[4096], ticket_dir[4096];
};

/* Writes each attachment of m that the [upload] limits allow as
 * TICKET/TOKEN.part (fsynced, scanned); the others say why not.  0, or -1
 * if out of memory (*out then holds nothing). */
int mail_files_prepare(const struct config *cfg, int64_t ticket,
                       const struct mailin_message *m, struct mail_files *out);
/* After the COMMIT: the parts become the files. */
void mail_files_commit(struct mail_files *mf);
/* The transaction failed: the parts go. */
void mail_files_abort(struct mail_files *mf);
void mail_files_free(struct mail_files *mf);

#endif
