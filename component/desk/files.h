/* What the file-upload service (component/upload/) asks the desk, and
 * nothing more: which open chat a requester is in, a `file` event on a
 * ticket, a queue's public status, and the hook purge-customer calls.
 * Kept apart from desk.h so that the upload code depends on four calls. */
#ifndef MUCDESK_DESK_FILES_H
#define MUCDESK_DESK_FILES_H

#include <stdbool.h>
#include <stdint.h>

struct desk;

struct desk_file_chat {
    int64_t ticket;
    char room[40];                /* the session room's local part */
    char queue[64];
    char nick[128];               /* the requester's nick in it */
    bool staff;                   /* not the customer */
};

/* The open chat (ticket not ended) whose room has an occupant with this
 * real full JID, visible (an invisible observer gets none: uploading would
 * show them).  In several: the one whose room local part is `hint` if
 * given, else the newest ticket.  0 with *out, or -1 (none). */
int desk_files_find_chat(struct desk *d, const char *full_jid,
                         const char *hint, struct desk_file_chat *out);

struct desk_file_event {
    const char *stanza_id;        /* unique: the file's own */
    const char *actor_jid;        /* bare */
    const char *actor_nick;
    const char *body;             /* the transcript's text */
    const char *payload;          /* XML for MAM (XEP-0066 OOB), or NULL */
    bool system;                  /* a `system` line (a file deleted), not
                                     the file itself */
};
/* Appends a `file` (or `system`) event to the ticket's transcript (archive order).
 * 0, or -1 (no such open chat, or the archive refused it). */
int desk_files_event(struct desk *d, int64_t ticket,
                     const struct desk_file_event *ev);

/* A queue's public status: within its hours, and agents available now.
 * 0, or -1 (no such queue). */
int desk_files_queue_status(struct desk *d, const char *queue, bool *open,
                            unsigned *available);

/* The upload service's store, lent to the desk for files the desk makes
 * (a transcript as PDF, desk/transcript_pdf.c): they are kept, served
 * and purged as uploads are.  Strings are malloc'd; the caller frees. */
#define DESK_FILE_TOKEN_SIZE 64
#define DESK_FILE_PATH_SIZE 4096
struct desk_file_store {
    /* A new file of ticket: its token and where to write it (not served
     * until finish).  0 or -1. */
    int (*reserve)(void *ud, int64_t ticket, char token[DESK_FILE_TOKEN_SIZE],
                   char path[DESK_FILE_PATH_SIZE]);
    /* The written file as a `file` event (its stanza id, body, payload)
     * and its URL.  0 or -1 (unreadable, empty, out of memory). */
    int (*describe)(void *ud, int64_t ticket, const char *token,
                    const char *name, const char *type, char **stanza_id,
                    char **body, char **payload, char **url);
    /* Served from now on (keep: its event is in PostgreSQL), or deleted. */
    void (*finish)(void *ud, int64_t ticket, const char *token, bool keep);
    void *ud;
};
/* Without one (no [http] public_url) the desk makes no files. */
void desk_files_set_store(struct desk *d, const struct desk_file_store *store);

/* Called after purge-customer erased transcripts (files follow). */
void desk_files_set_purge_hook(struct desk *d, void (*fn)(void *ud), void *ud);
void desk_files_purged(struct desk *d);

#endif
