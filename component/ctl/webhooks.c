/* mucdeskctl's webhook commands, the twins of the daemon's ad-hoc ones
 * (desk/webhooks_admin.c) on the same SQL (webhook/admin.c):
 *
 *   webhook-add URL [--events a,b] [--queues q1,q2] [--secret S]
 *               [--description TEXT]      "id N" and "secret S"
 *   webhook-list                          one line per endpoint
 *   webhook-test ID | webhook-pause ID | webhook-resume ID
 *   webhook-replay ID [--since TIME]
 *   webhook-remove ID
 *   webhook-dead [ID]                     one line per dead event
 *
 * Lines are tab-separated; "-" for nothing.  A running mucdesk's sender
 * hears test, resume and replay at once (NOTIFY). */
#include "build-config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "webhook/admin.h"

#define CTL_OK 0
#define CTL_FAILED 1
#define CTL_USAGE 2

static int db_status(int rc, const char *err)
{
    if (rc == WEBHOOK_ADMIN_OK)
        return CTL_OK;
    fprintf(stderr, "mucdeskctl: %s\n", err);
    return rc == WEBHOOK_ADMIN_FAILED ? CTL_FAILED : CTL_USAGE;
}

static int usage_of(const char *text)
{
    fprintf(stderr, "usage: mucdeskctl -c FILE %s\n", text);
    return CTL_USAGE;
}

static const char *dash(const char *s)
{
    return s && *s ? s : "-";
}

/* "a,b,c" split in place into list (at most max); how many, -1 if more. */
static int split_commas(char *text, const char **list, int max)
{
    int n = 0;
    for (char *p = strtok(text, ", "); p; p = strtok(NULL, ", ")) {
        if (n == max)
            return -1;
        list[n++] = p;
    }
    return n;
}

#define LIST_MAX 64

static int cmd_add(PGconn *conn, int argc, char **argv, int i)
{
    static const char usage[] =
        "webhook-add URL [--events a,b] [--queues q1,q2] [--secret S] "
        "[--description TEXT]";
    if (i >= argc || argv[i][0] == '-')
        return usage_of(usage);
    struct webhook_endpoint_new e = {.url = argv[i]};
    const char *events[LIST_MAX], *queues[LIST_MAX];
    for (i++; i < argc; i += 2) {
        const char *opt = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int n = 0;
        if (!v) {
            n = -1;
        } else if (strcmp(opt, "--events") == 0) {
            n = split_commas(v, events, LIST_MAX);
            e.events = events;
            e.event_count = n > 0 ? (size_t)n : 0;
            if (n == 0) {
                fprintf(stderr, "mucdeskctl: events: name at least one\n");
                return CTL_USAGE;
            }
        } else if (strcmp(opt, "--queues") == 0) {
            n = split_commas(v, queues, LIST_MAX);
            e.queues = n > 0 ? queues : NULL;
            e.queue_count = n > 0 ? (size_t)n : 0;
        } else if (strcmp(opt, "--secret") == 0) {
            e.secret = v;
        } else if (strcmp(opt, "--description") == 0) {
            e.description = v;
        } else {
            n = -1;
        }
        if (n < 0) {
            fprintf(stderr, "mucdeskctl: webhook-add: bad option %s%s%s (see "
                            "mucdeskctl(8))\n",
                    opt, v ? " " : "", v ? v : "");
            return CTL_USAGE;
        }
    }
    int id;
    char secret[WEBHOOK_SECRET_MAX + 1], err[512];
    int rc = webhook_admin_add(conn, &e, &id, secret, err, sizeof err);
    if (rc != WEBHOOK_ADMIN_OK)
        return db_status(rc, err);
    printf("id %d\nsecret %s\n", id, secret);
    return CTL_OK;
}

static int cmd_list(PGconn *conn, int argc, int i)
{
    if (i != argc)
        return usage_of("webhook-list");
    struct webhook_endpoint_info *list;
    size_t n;
    char err[512];
    int rc = webhook_admin_list(conn, &list, &n, err, sizeof err);
    if (rc != WEBHOOK_ADMIN_OK)
        return db_status(rc, err);
    for (size_t k = 0; k < n; k++) {
        const struct webhook_endpoint_info *w = &list[k];
        printf("%d\t%s\t%s\t%s\t%s\t%ld\t%ld\t%ld\t%d\t%s\t%s\n", w->id,
               w->url, w->events, w->queues ? w->queues : "*",
               w->paused ? "paused" : "active", w->pending, w->dead,
               w->delivered, w->failures, dash(w->last_success_at),
               dash(w->last_error));
    }
    webhook_endpoint_info_free(list, n);
    return CTL_OK;
}

static int cmd_dead(PGconn *conn, int argc, char **argv, int i)
{
    int id = 0;
    if (i + 1 < argc || (i < argc && webhook_parse_id(argv[i], &id) < 0))
        return usage_of("webhook-dead [ID]");
    struct webhook_dead_row *rows;
    size_t n;
    char err[512];
    int rc = webhook_admin_dead(conn, id, WEBHOOK_DEAD_LIMIT, &rows, &n, err,
                                sizeof err);
    if (rc != WEBHOOK_ADMIN_OK)
        return db_status(rc, err);
    for (size_t k = 0; k < n; k++) {
        const struct webhook_dead_row *r = &rows[k];
        char ticket[24] = "-", status[16] = "-";
        if (r->ticket_id)
            snprintf(ticket, sizeof ticket, "%lld", (long long)r->ticket_id);
        if (r->last_status)
            snprintf(status, sizeof status, "%d", r->last_status);
        printf("%lld\t%d\t%s\t%s\t%d\t%s\t%s\t%s\n", (long long)r->id,
               r->endpoint_id, r->event, ticket, r->attempts, status,
               r->created_at, dash(r->last_error));
    }
    webhook_dead_rows_free(rows, n);
    return CTL_OK;
}

/* The commands on one endpoint. */
static int cmd_one(PGconn *conn, const char *command, int argc, char **argv,
                   int i)
{
    bool replay = strcmp(command, "webhook-replay") == 0;
    const char *since = NULL;
    int id;
    if (replay && i + 3 == argc && strcmp(argv[i + 1], "--since") == 0)
        since = argv[i + 2];
    else if (i + 1 != argc && replay)
        return usage_of("webhook-replay ID [--since TIME]");
    else if (i + 1 != argc) {
        fprintf(stderr, "usage: mucdeskctl -c FILE %s ID\n", command);
        return CTL_USAGE;
    }
    if (webhook_parse_id(argv[i], &id) < 0) {
        fprintf(stderr, "mucdeskctl: %s: not an endpoint id: %s\n", command,
                argv[i]);
        return CTL_USAGE;
    }
    char err[512];
    int rc;
    if (strcmp(command, "webhook-test") == 0) {
        int64_t outbox;
        char delivery[37];
        rc = webhook_admin_test(conn, id, &outbox, delivery, err, sizeof err);
        if (rc == WEBHOOK_ADMIN_OK)
            printf("webhook %d: test event %lld queued (delivery %s)\n", id,
                   (long long)outbox, delivery);
    } else if (strcmp(command, "webhook-pause") == 0 ||
               strcmp(command, "webhook-resume") == 0) {
        bool pause = strcmp(command, "webhook-pause") == 0, changed;
        rc = pause ? webhook_admin_pause(conn, id, &changed, err, sizeof err)
                   : webhook_admin_resume(conn, id, &changed, err,
                                          sizeof err);
        if (rc == WEBHOOK_ADMIN_OK)
            printf("webhook %d: %s%s\n", id, changed ? "" : "already ",
                   pause ? "paused" : "active");
    } else if (replay) {
        long n;
        rc = webhook_admin_replay(conn, id, since, &n, err, sizeof err);
        if (rc == WEBHOOK_ADMIN_OK)
            printf("webhook %d: %ld event(s) to send again\n", id, n);
    } else {
        long n;
        rc = webhook_admin_remove(conn, id, &n, err, sizeof err);
        if (rc == WEBHOOK_ADMIN_OK)
            printf("webhook %d: removed (%ld event(s) not delivered)\n", id,
                   n);
    }
    return db_status(rc, err);
}

static const char *const commands[] = {
    "webhook-add",    "webhook-list",   "webhook-test",   "webhook-pause",
    "webhook-resume", "webhook-replay", "webhook-remove", "webhook-dead",
    NULL};

bool ctl_is_webhook_command(const char *command)
{
    for (size_t k = 0; commands[k]; k++)
        if (strcmp(command, commands[k]) == 0)
            return true;
    return false;
}

int ctl_webhooks(PGconn *conn, const char *command, int argc, char **argv,
                 int i)
{
    if (strcmp(command, "webhook-add") == 0)
        return cmd_add(conn, argc, argv, i);
    if (strcmp(command, "webhook-list") == 0)
        return cmd_list(conn, argc, i);
    if (strcmp(command, "webhook-dead") == 0)
        return cmd_dead(conn, argc, argv, i);
    if (strcmp(command, "webhook-test") == 0 ||
        strcmp(command, "webhook-pause") == 0 ||
        strcmp(command, "webhook-resume") == 0 ||
        strcmp(command, "webhook-replay") == 0 ||
        strcmp(command, "webhook-remove") == 0)
        return cmd_one(conn, command, argc, argv, i);
    fprintf(stderr, "mucdeskctl: unknown command '%s'\n", command);
    return CTL_USAGE;
}
