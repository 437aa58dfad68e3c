/* mucdeskctl's ticket commands, the twins of the daemon's (desk/tickets.c)
 * on the same SQL (desk/ticketdb.c), for an operator on the host: every
 * queue is visible, the actor is "mucdeskctl:USER".
 *
 *   tickets [--queue Q] [--status S] [--owner JID|none] [--text T]
 *           [--age A] [--max N]        one line per ticket, tab-separated
 *   ticket N                           its fields and latest lines
 *   ticket-update N field=value...     as !ticket-update
 *   ticket-reply N TEXT                a reply the running daemon mails
 *
 * A running mucdesk announces what ticket-update hands a queue (its
 * follow-up announcer) and mails the reply (its mailer). */
#include "build-config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "ctl/ctl.h"
#include "desk/directory.h"
#include "desk/reports.h"
#include "desk/ticket_args.h"
#include "desk/ticketdb.h"
#include "desk/transcript.h"
#include "xmpp/stamp.h"

#define CTL_OK 0
#define CTL_FAILED 1
#define CTL_USAGE 2
#define SHOW_EVENTS 15

static int db_status(int rc, const char *err)
{
    if (rc == DESK_DB_OK)
        return CTL_OK;
    fprintf(stderr, "mucdeskctl: %s\n",
            rc == DESK_DB_NOT_FOUND ? "no such ticket" : err);
    return rc == DESK_DB_FAILED ? CTL_FAILED : CTL_USAGE;
}

static void actor_name(char *out, size_t size)
{
    const struct passwd *pw = getpwuid(geteuid());
    snprintf(out, size, "mucdeskctl:%s", pw ? pw->pw_name : "?");
}

/* A unique key for the events of this run: retried runs are new ones. */
static void run_key(char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, size, "ctl%lld.%ld.%d", (long long)ts.tv_sec, ts.tv_nsec,
             (int)getpid());
}

static int ticket_arg(int argc, char **argv, int i, int64_t *id,
                      const char *usage)
{
    if (i >= argc || desk_parse_ticket(argv[i], id) < 0) {
        fprintf(stderr, "usage: mucdeskctl -c FILE %s\n", usage);
        return -1;
    }
    return 0;
}

static int cmd_list(PGconn *conn, int argc, char **argv, int i)
{
    struct desk_ticket_filter f = {.status = "OPEN"};
    char status[16], owner[320];
    for (; i < argc; i += 2) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (!v) {
            /* an option without its value */
        } else if (strcmp(opt, "--queue") == 0) {
            f.queue = v;
        } else if (strcmp(opt, "--status") == 0) {
            if (strcasecmp(v, "any") == 0)
                f.status = NULL;
            else if (strcasecmp(v, "open") == 0)
                f.status = "OPEN";
            else if (desk_parse_status(v, status, sizeof status) == 0)
                f.status = status;
            else
                ok = false;
        } else if (strcmp(opt, "--owner") == 0) {
            bool none, any;
            ok = desk_owner_arg(NULL, v, owner, sizeof owner, &none, &any) ==
                 0;
            f.unassigned = none;
            f.owner = ok && !none && !any ? owner : NULL;
        } else if (strcmp(opt, "--text") == 0) {
            f.text = v;
        } else if (strcmp(opt, "--age") == 0) {
            ok = desk_parse_age(v, &f.age_s, &f.older) == 0;
        } else if (strcmp(opt, "--max") == 0) {
            f.limit = atoi(v);
            ok = f.limit >= 1 && f.limit <= 100000;
        } else {
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "mucdeskctl: tickets: bad option %s%s%s (see "
                            "mucdeskctl(8))\n",
                    opt, v ? " " : "", v ? v : "");
            return CTL_USAGE;
        }
    }
    struct desk_found *found;
    size_t n;
    long total;
    char err[512];
    int rc = desk_db_tickets_list(conn, &f, &found, &n, &total, err,
                                  sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    int64_t now = stamp_now_us();
    for (size_t k = 0; k < n; k++) {
        const struct desk_found *t = &found[k];
        char age[16];
        desk_age_text((now - t->created_us) / 1000000, age, sizeof age);
        printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)t->id, t->status,
               t->queue, t->owner_jid ? t->owner_jid : "-",
               t->customer_name   ? t->customer_name
               : t->customer_email ? t->customer_email
                                   : "-",
               age, t->subject ? t->subject : "");
    }
    if (total > (long)n)
        fprintf(stderr, "mucdeskctl: %zu of %ld shown (--max)\n", n, total);
    desk_found_free(found, n);
    return CTL_OK;
}

static int cmd_show(PGconn *conn, int argc, char **argv, int i)
{
    int64_t id;
    if (ticket_arg(argc, argv, i, &id, "ticket N") < 0 || i + 1 != argc)
        return CTL_USAGE;
    struct desk_transcript t;
    char err[512];
    int rc = desk_db_transcript(conn, id, 5000, &t, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    struct buf out = BUF_INIT;
    desk_transcript_latest_text(&t, SHOW_EVENTS, &out);
    fputs(buf_cstr(&out), stdout);
    buf_free(&out);
    desk_transcript_free(&t);
    return CTL_OK;
}

static const char *keep_as_is(void *ud, const char *s)
{
    (void)ud;
    return s; /* argv lives as long as the command */
}

static int cmd_update(PGconn *conn, int argc, char **argv, int i)
{
    static const char usage[] = "ticket-update N field=value...";
    struct desk_ticket_change c = {0};
    if (ticket_arg(argc, argv, i, &c.id, usage) < 0)
        return CTL_USAGE;
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: mucdeskctl -c FILE %s\n", usage);
        return CTL_USAGE;
    }
    for (int k = i + 1; k < argc; k++) {
        char *eq = strchr(argv[k], '=');
        if (!eq || eq == argv[k]) {
            fprintf(stderr, "mucdeskctl: not field=value: %s\n", argv[k]);
            return CTL_USAGE;
        }
        *eq = '\0';
        char why[200];
        if (desk_ticket_change_set(&c, NULL, argv[k], eq + 1, keep_as_is,
                                   NULL, why, sizeof why) < 0) {
            fprintf(stderr, "mucdeskctl: %s\n", why);
            return CTL_USAGE;
        }
    }
    char actor[300], key[64], err[512];
    actor_name(actor, sizeof actor);
    run_key(key, sizeof key);
    c.actor = actor;
    c.key = key;
    struct desk_ticket_updated u;
    int rc = desk_db_ticket_update(conn, &c, &u, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    if (u.changes)
        printf("ticket %lld: %s\n", (long long)c.id, u.summary);
    else
        printf("ticket %lld: nothing to change\n", (long long)c.id);
    return CTL_OK;
}

static int cmd_reply(PGconn *conn, int argc, char **argv, int i)
{
    int64_t id;
    if (ticket_arg(argc, argv, i, &id, "ticket-reply N TEXT") < 0 ||
        i + 2 != argc || !argv[i + 1][0]) {
        if (i < argc)
            fprintf(stderr, "usage: mucdeskctl -c FILE ticket-reply N TEXT\n");
        return CTL_USAGE;
    }
    char actor[300], key[64], err[512];
    actor_name(actor, sizeof actor);
    run_key(key, sizeof key);
    int rc = desk_db_ticket_reply(conn, id, actor, "Support", argv[i + 1], key,
                                  NULL, 0, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    printf("ticket %lld: reply queued; a running mucdesk mails it\n",
           (long long)id);
    return CTL_OK;
}

int ctl_tickets(PGconn *conn, const char *command, int argc, char **argv,
                int i)
{
    if (strcmp(command, "tickets") == 0)
        return cmd_list(conn, argc, argv, i);
    if (strcmp(command, "ticket") == 0)
        return cmd_show(conn, argc, argv, i);
    if (strcmp(command, "ticket-update") == 0)
        return cmd_update(conn, argc, argv, i);
    return cmd_reply(conn, argc, argv, i);
}
