/* Managing webhook endpoints (issue 16): the SQL of the admin commands,
 * shared by the daemon's ad-hoc commands (desk/webhooks_admin.c, on the
 * DB thread) and mucdeskctl (ctl/webhooks.c).  Tables: sql/011_webhooks.sql.
 *
 * Every function takes a live connection and blocks: never call one on
 * the XMPP thread.  Errors: a negative enum webhook_admin_result, with a
 * one-line text in err (for admins and logs, never for customers): for
 * WEBHOOK_ADMIN_INVALID it names the field and what it takes.
 *
 * Whatever restarts delivery (test, resume, replay) NOTIFYs
 * mucdesk_webhooks in the same transaction, so the sender wakes at once. */
#ifndef MUCDESK_WEBHOOK_ADMIN_H
#define MUCDESK_WEBHOOK_ADMIN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum webhook_admin_result {
    WEBHOOK_ADMIN_OK = 0,
    WEBHOOK_ADMIN_FAILED = -1,    /* the database failed */
    WEBHOOK_ADMIN_INVALID = -2,   /* a value refused (err: which, why) */
    WEBHOOK_ADMIN_NOT_FOUND = -3, /* no endpoint with that id */
};

/* The events an endpoint may subscribe to, NULL-terminated. */
extern const char *const webhook_event_names[];
#define WEBHOOK_EVENT_COUNT 7
#define WEBHOOK_URL_MAX 2000
#define WEBHOOK_SECRET_MIN 16
#define WEBHOOK_SECRET_MAX 200
#define WEBHOOK_DEAD_LIMIT 50

/* ---- pure checks (unit-tested) ------------------------------------------- */

/* NULL if url may be an endpoint's (http:// or https://, something after
 * it, no blanks or controls, at most WEBHOOK_URL_MAX bytes), else what
 * is wrong. */
const char *webhook_url_problem(const char *url);
bool webhook_event_known(const char *name);
/* An endpoint id ("3" or "#3") into *id.  0, or -1. */
int webhook_parse_id(const char *text, int *id);

/* ---- the operations ------------------------------------------------------- */

struct webhook_endpoint_new {
    const char *url;
    const char *secret;               /* NULL or "": 64 random hex digits */
    const char *const *events;        /* event_count names; 0: all seven */
    size_t event_count;
    const char *const *queues;        /* NULL or none: every queue; each
                                         must exist */
    size_t queue_count;
    const char *description;          /* NULL: none */
};

/* Checks what can be checked without the database: the URL, the secret's
 * length, the event names.  0, or WEBHOOK_ADMIN_INVALID with err naming
 * the field and what it takes (pure). */
int webhook_endpoint_check(const struct webhook_endpoint_new *e, char *err,
                           size_t errlen);
/* Checks e (webhook_endpoint_check, and that each queue exists: INVALID,
 * err naming the field) and inserts it: its id in *id
 * and its secret (given or generated) in secret, which holds at least
 * WEBHOOK_SECRET_MAX + 1 bytes. */
int webhook_admin_add(PGconn *conn, const struct webhook_endpoint_new *e,
                      int *id, char *secret, char *err, size_t errlen);

/* An endpoint as admins see it: never the secret. */
struct webhook_endpoint_info {
    int id;
    char *url;
    char *events;                     /* comma-separated */
    char *queues;                     /* comma-separated; NULL: every queue */
    char *description;                /* NULL: none */
    bool paused;
    long pending, dead, delivered;    /* its outbox rows */
    int failures;                     /* consecutive, the sender's count */
    char *last_success_at;            /* "2026-12-07T10:00:00Z", NULL: never */
    char *last_error;                 /* NULL: none */
};

/* Every endpoint by id, in an array the caller frees with
 * webhook_endpoint_info_free (never NULL on success). */
int webhook_admin_list(PGconn *conn, struct webhook_endpoint_info **out,
                       size_t *count, char *err, size_t errlen);
void webhook_endpoint_info_free(struct webhook_endpoint_info *list,
                                size_t count);

/* Queues a `webhook.test` event for endpoint id; its outbox id and its
 * delivery id (a UUID: 37 bytes with the NUL) out. */
int webhook_admin_test(PGconn *conn, int id, int64_t *outbox_id,
                       char delivery_id[37], char *err, size_t errlen);

/* Pause: events are still written, not sent.  Resume: sent again at once
 * (the failure count and the back-off cleared).  *changed (may be NULL):
 * whether it was not so already. */
int webhook_admin_pause(PGconn *conn, int id, bool *changed, char *err,
                        size_t errlen);
int webhook_admin_resume(PGconn *conn, int id, bool *changed, char *err,
                         size_t errlen);

/* The endpoint's dead events pending again (attempts and error cleared,
 * due now); with since (a PostgreSQL timestamptz text such as
 * "2026-12-07T10:00:00Z"; NULL or "": none) also its delivered ones
 * created at or after it.  *count: how many. */
int webhook_admin_replay(PGconn *conn, int id, const char *since, long *count,
                         char *err, size_t errlen);

/* Removes the endpoint and its events; *undelivered (may be NULL): how
 * many of them were not delivered. */
int webhook_admin_remove(PGconn *conn, int id, long *undelivered, char *err,
                         size_t errlen);

/* A dead letter. */
struct webhook_dead_row {
    int64_t id;                       /* the outbox row */
    int endpoint_id;
    char *event;
    int64_t ticket_id;                /* 0: none (webhook.test) */
    int attempts;
    int last_status;                  /* HTTP status; 0: no answer */
    char *last_error;                 /* NULL: none */
    char *created_at;                 /* "2026-12-07T10:00:00Z" */
};

/* The newest `limit` (<= 0: WEBHOOK_DEAD_LIMIT) dead events of endpoint
 * id (0: of all), newest first; free with webhook_dead_rows_free. */
int webhook_admin_dead(PGconn *conn, int id, int limit,
                       struct webhook_dead_row **out, size_t *count,
                       char *err, size_t errlen);
void webhook_dead_rows_free(struct webhook_dead_row *rows, size_t count);

#endif
