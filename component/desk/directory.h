/* Queues and agents in PostgreSQL (sql/001_init.sql, sql/004_desk.sql):
 * the SQL both the daemon (on its DB thread) and mucdeskctl run.
 *
 * Every function takes a live connection and blocks: never call one on
 * the XMPP thread.  Errors: a negative enum desk_db_result, with a
 * one-line text in err (for logs and for admins; never for customers). */
#ifndef MUCDESK_DESK_DIRECTORY_H
#define MUCDESK_DESK_DIRECTORY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum desk_db_result {
    DESK_DB_OK = 0,
    DESK_DB_FAILED = -1,     /* the database failed (connection, ...) */
    DESK_DB_EXISTS = -2,     /* creating something that exists */
    DESK_DB_NOT_FOUND = -3,  /* the queue (or agent) does not exist */
    DESK_DB_INVALID = -4,    /* a value the schema refuses */
};

struct tz;

struct desk_queue_row {
    char *name;             /* the queue room's local part */
    char *title;
    char *strategy;
    int offer_timeout;      /* seconds */
    int max_wait;           /* seconds */
    char *greeting;         /* NULL: none */
    char *offline_message;  /* NULL: none */
    char *prechat_fields;   /* desk/prechat.h's text; "" none */
    char *hours;            /* desk/hours.h's text; "" always open */
    char *timezone;         /* IANA name */
    char *closed_message;   /* NULL: none */
    int transcript_email;   /* 0 or 1 (< 0 on save: keep) */
    int answer_reminder;    /* seconds, 0 off (< 0 on save: keep) */
    /* Loaded only: the time zone read from the system (UTC if it could
     * not be: tz_problem says why).  Owned by the row until taken. */
    struct tz *tz;
    char *tz_problem;
};

/* A canned response (queue "" for every queue). */
struct desk_canned_row {
    char *queue;
    char *name;
    char *body;
};

/* A member's "takes chats" setting (agents.takes_chats).  Zero is the
 * default, so that a row built field by field never says "no" by
 * omission. */
enum desk_takes {
    DESK_TAKES_DEFAULT = 0,  /* NULL: yes for agents, no for supervisors */
    DESK_TAKES_YES,
    DESK_TAKES_NO,
};

struct desk_agent_row {
    char *queue;
    char *jid;              /* bare JID */
    char *role;             /* "agent" or "supervisor" */
    int max_chats;
    char *skills;           /* comma-separated, lower-case; "" for none */
    enum desk_takes takes_chats;
};

/* Whether a member with this role and setting is offered chats: the
 * setting, else yes for agents and no for supervisors. */
bool desk_agent_takes_chats(const char *role, enum desk_takes takes);
/* "role" (or ""), "yes" or "no"; a boolean's words too ("1", "0", "true",
 * "false"), as scripts send for a form field.  0, or -1 for anything else. */
int desk_takes_parse(const char *text, enum desk_takes *out);
/* "role", "yes" or "no". */
const char *desk_takes_name(enum desk_takes takes);

/* The whole directory, as loaded. */
struct desk_directory {
    int64_t version;
    struct desk_queue_row *queues;
    size_t queue_count;
    struct desk_agent_row *agents;  /* by queue, then order of addition */
    size_t agent_count;
    struct desk_canned_row *canned; /* by queue ("" first), then name */
    size_t canned_count;
};

void desk_directory_free(struct desk_directory *d);

/* Maps a failed result (cleared here) to a desk_db_result, with
 * PostgreSQL's message in err (unique violation: EXISTS, foreign key:
 * NOT_FOUND, check/format: INVALID, else FAILED). */
int desk_db_error(PGconn *conn, PGresult *res, char *err, size_t errlen);
/* An array of one zeroed element of `size` per row of `res` (and one
 * more, so that it is never empty), which the caller frees, with the
 * number of rows in *n; NULL out of memory, with `res` cleared and err
 * set. */
void *desk_db_rows(PGresult *res, size_t size, int *n, char *err,
                   size_t errlen);

int desk_db_version(PGconn *conn, int64_t *version, char *err, size_t errlen);
int desk_db_load(PGconn *conn, struct desk_directory *out, char *err,
                 size_t errlen);

/* create: refuse an existing queue (DESK_DB_EXISTS); otherwise update it
 * (DESK_DB_NOT_FOUND if it does not exist).  NULL strings keep the
 * current value on update; ints < 0 too.  The pre-chat fields, hours and
 * time zone are checked first (DESK_DB_INVALID, err naming the field). */
int desk_db_queue_save(PGconn *conn, const struct desk_queue_row *q,
                       bool create, char *err, size_t errlen);
int desk_db_queue_delete(PGconn *conn, const char *name, char *err,
                         size_t errlen);
/* Adds or updates the agent's membership of a queue. */
int desk_db_agent_save(PGconn *conn, const struct desk_agent_row *a,
                       char *err, size_t errlen);
/* Sets takes_chats on every membership of jid (set-availability). */
int desk_db_agent_takes_chats(PGconn *conn, const char *jid,
                              enum desk_takes takes, char *err, size_t errlen);
int desk_db_agent_remove(PGconn *conn, const char *queue, const char *jid,
                         char *err, size_t errlen);

/* Checks a queue name (the local part of its room): lower-case letters,
 * digits, '.', '_', '-', not starting with "ticket-".  Returns NULL if it
 * is fine, else what is wrong. */
const char *desk_queue_name_problem(const char *name);
/* Whether `name` is one of the routing strategies shipped with mucdesk. */
bool desk_strategy_known(const char *name);
/* Checks the queue settings that have a syntax of their own (pre-chat
 * fields, hours, time zone; NULL ones are not checked).  NULL if fine,
 * else what is wrong (in err, naming the field). */
const char *desk_queue_row_problem(const struct desk_queue_row *q, char *err,
                                   size_t errlen);

#endif
