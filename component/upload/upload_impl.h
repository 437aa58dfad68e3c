/* The upload service's inner structures, shared by the files of upload/. */
#ifndef MUCDESK_UPLOAD_IMPL_H
#define MUCDESK_UPLOAD_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "upload/stored.h"
#include "upload/upload.h"

#define LOG "upload"
#define UPLOAD_PATH_MAX 4096

/* A slot handed out and not yet used (or being used). */
struct upload_slot {
    char token[2 * UPLOAD_TOKEN_BYTES + 1];
    int64_t ticket;
    char *requester;              /* full JID */
    char *bare;
    char *nick;
    char *name;
    char *type;                   /* lower-case, no parameters */
    uint64_t size;
    uint64_t expires_ms;
    bool uploading;               /* its PUT's body is arriving */
    bool stored;
    UT_hash_handle hh;            /* u->slots, by token */
};

/* Bytes a ticket's files take (stored) and its slots may add (reserved). */
struct upload_ticket {
    int64_t ticket;
    uint64_t stored, reserved;
    UT_hash_handle hh;
};

struct upload_scan;

struct upload {
    struct loop *loop;
    struct router *router;
    struct disco *disco;
    struct desk *desk;
    struct store *store;
    struct archive *archive;
    const struct config *cfg;
    bool enabled;                 /* [http] public_url set */
    char *public_url;             /* without a trailing '/' */
    char *dir;
    bool scan;                    /* [upload] scan_command set */
    struct upload_slot *slots;
    unsigned slot_count;
    struct upload_ticket *tickets;
    unsigned uploads;             /* PUT bodies arriving */
    uint64_t bytes_in_flight;
    /* sweep.c */
    struct loop_timer *sweep_timer;
    bool sweep_running, sweep_again;
    /* scan.c */
    struct upload_scan *scan_head, *scan_tail;
    struct upload_scan *scanning;
};

/* upload.c */
int upload_record(struct upload *u, const struct upload_slot *s,
                  const char *sha);

/* usage.c: a ticket's files on disk (its directory; a file's path with
 * a suffix: "", ".held", ".meta", ".part").  0, or -1 if too long. */
int upload_ticket_dir(const struct upload *u, int64_t ticket, char *out,
                      size_t size);
int upload_file_path(const struct upload *u, int64_t ticket, const char *token,
                     const char *suffix, char *out, size_t size);
/* The bytes the ticket's files take and its slots reserve (read from its
 * directory the first time; NULL if out of memory). */
struct upload_ticket *upload_ticket_use(struct upload *u, int64_t ticket);
/* Deletes the file's data, held copy, metadata and part. */
void upload_delete(struct upload *u, int64_t ticket, const char *token);
/* Forgets the ticket's count unless slots still reserve bytes in it. */
void upload_forget_ticket_use(struct upload *u, int64_t ticket);
void upload_tickets_free(struct upload *u);

/* made.c: the store the desk writes its own files to (desk/files.h). */
void upload_lend_store(struct upload *u);

/* sweep.c: files whose transcript event the database no longer has go. */
void upload_sweep_start(struct upload *u);
void upload_sweep_stop(struct upload *u);
void upload_sweep_soon(void *ud);

/* scan.c: [upload] scan_command, one file at a time, off the event loop
 * (a child process); a held file is released or deleted. */
int upload_scan_start(struct upload *u);
void upload_scan_stop(struct upload *u);
void upload_scan_enqueue(struct upload *u, int64_t ticket, const char *token,
                         const char *bare, const char *nick, const char *name);

#endif
