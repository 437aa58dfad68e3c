/* A transcript as PDF for staff (see transcript_pdf.h).
 *
 * mucdeskctl draws it ([service] mucdeskctl; `transcript N --pdf -o
 * PATH`, reading the same configuration and database), so the daemon
 * links no cairo or pango and a bad render cannot take it down.  The child
 * is spawned with posix_spawn and reaped by a timer polling waitpid, as
 * the mailer and the scan hook do: the loop never waits.  Its output is a
 * file of the ticket in the upload store (desk_file_store): a staff-only
 * `file` event is written to PostgreSQL first, then the file is served,
 * and the sweep deletes it with that event (retention, purge-customer).
 * At most PDF_AT_ONCE renders run; each gets PDF_TIMEOUT_MS. */
#include "build-config.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/dbops.h"
#include "desk/directory.h"
#include "desk/files.h"
#include "desk/state.h"
#include "desk/transcript_pdf.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/xml.h"

#define LOG "desk"
#define PDF_AT_ONCE 2
#define PDF_TIMEOUT_MS 60000
#define REAP_MS 50

extern char **environ;

struct pdf_job {
    struct pdf_job *next;         /* d->pdf_jobs */
    struct desk *desk;
    struct adhoc_reply *reply;
    int64_t ticket;
    char asker[JID_TEXT_MAX + 1];
    char token[DESK_FILE_TOKEN_SIZE];
    char path[DESK_FILE_PATH_SIZE];
    char name[64];
    pid_t pid;
    uint64_t deadline_ms;
    struct loop_timer *reap_timer;
    char *stanza_id, *body, *payload, *url;
};

int desk_transcript_pdf_check(struct desk *d, struct xerr *err)
{
    if (!d->has_file_store) {
        xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED,
                 "PDF transcripts need [http] public_url (files are served "
                 "there); use mucdeskctl transcript --pdf");
        return -1;
    }
    if (d->pdf_running >= PDF_AT_ONCE) {
        xerr_set(err, XERR_RESOURCE_CONSTRAINT,
                 "Other transcripts are being drawn; try again shortly");
        return -1;
    }
    return 0;
}

static void job_end(struct pdf_job *j)
{
    for (struct pdf_job **p = &j->desk->pdf_jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    j->desk->pdf_running--;
    free(j->stanza_id);
    free(j->body);
    free(j->payload);
    free(j->url);
    free(j);
}

static void fail(struct pdf_job *j, const char *why)
{
    struct xerr err;
    xerr_set(&err, XERR_INTERNAL_SERVER_ERROR, "%s", why);
    adhoc_fail(j->reply, &err);
    if (j->token[0])
        j->desk->file_store.finish(j->desk->file_store.ud, j->ticket, j->token,
                                   false);
    job_end(j);
}

/* ---- the event (DB thread), then the answer ------------------------------------------ */

static int event_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct pdf_job *j = ud;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)j->ticket);
    const char *p[] = {id, j->asker, j->body, j->stanza_id, j->payload};
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO ticket_events (ticket_id, kind, actor_jid, body,"
        " stanza_id, staff_only, payload) VALUES ($1::bigint, 'file', $2,"
        " $3, $4, true, $5)",
        5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return desk_db_error(conn, res, err, errlen);
    PQclear(res);
    return DESK_DB_OK;
}

static void event_after(struct desk *d, void *ud, int rc, const char *errtext)
{
    struct pdf_job *j = ud;
    if (rc != DESK_DB_OK) {
        log_warn(LOG, "ticket %lld: the PDF's event: %s", (long long)j->ticket,
                 errtext);
        fail(j, "The database is not reachable; try again later");
        return;
    }
    d->file_store.finish(d->file_store.ud, j->ticket, j->token, true);
    log_info(LOG, "ticket %lld: transcript PDF drawn for %s",
             (long long)j->ticket, j->asker);
    struct buf *out = adhoc_reply_payload(j->reply);
    buf_append_str(out, "<note type='info'>");
    xml_text(out, "Transcript PDF: ");
    xml_text(out, j->url);
    buf_append_str(out, "</note>");
    form_open(out, "result", NULL, "Transcript as PDF", NULL);
    form_add(out, "url", "text-single", "Link", j->url);
    form_close(out);
    adhoc_finish(j->reply);
    job_end(j);
}

/* ---- the child ------------------------------------------------------------------------ */

static void drawn(struct pdf_job *j)
{
    struct desk *d = j->desk;
    if (d->file_store.describe(d->file_store.ud, j->ticket, j->token, j->name,
                               "application/pdf", &j->stanza_id, &j->body,
                               &j->payload, &j->url) < 0) {
        fail(j, "The PDF could not be stored");
        return;
    }
    if (desk_db_submit(d, event_run, event_after, j, DESK_DB_TIMEOUT_MS) < 0)
        fail(j, "Out of memory; try again later");
}

static void reap(void *ud)
{
    struct pdf_job *j = ud;
    j->reap_timer = NULL;
    int status;
    pid_t r = waitpid(j->pid, &status, WNOHANG);
    if (r == 0) {
        if (loop_now(j->desk->loop) >= j->deadline_ms) {
            kill(j->pid, SIGKILL);
            waitpid(j->pid, &status, 0);
            log_warn(LOG, "ticket %lld: mucdeskctl took too long to draw the "
                          "PDF: killed",
                     (long long)j->ticket);
            fail(j, "Drawing the PDF took too long");
            return;
        }
        j->reap_timer = loop_timer_add(j->desk->loop, REAP_MS, reap, j, NULL);
        if (!j->reap_timer) {
            kill(j->pid, SIGKILL);
            waitpid(j->pid, &status, 0);
            fail(j, "Out of memory; try again later");
        }
        return;
    }
    if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        log_warn(LOG, "ticket %lld: %s could not draw the PDF (%s %d)",
                 (long long)j->ticket, j->desk->cfg->service.mucdeskctl,
                 r >= 0 && WIFEXITED(status) ? "exit status" : "signal",
                 r >= 0 && WIFEXITED(status) ? WEXITSTATUS(status)
                 : r >= 0                     ? WTERMSIG(status)
                                              : -1);
        fail(j, "The PDF could not be drawn");
        return;
    }
    drawn(j);
}

void desk_transcript_pdf_start(struct desk *d, struct adhoc_reply *r,
                               int64_t ticket, const char *asker)
{
    struct pdf_job *j = calloc(1, sizeof *j);
    if (!j) {
        struct xerr err;
        xerr_set(&err, XERR_RESOURCE_CONSTRAINT, "Try again later");
        adhoc_fail(r, &err);
        return;
    }
    d->pdf_running++;
    j->next = d->pdf_jobs;
    d->pdf_jobs = j;
    j->desk = d;
    j->reply = r;
    j->ticket = ticket;
    utf8_snprintf(j->asker, sizeof j->asker, "%s", asker);
    snprintf(j->name, sizeof j->name, "ticket-%lld.pdf", (long long)ticket);
    if (d->file_store.reserve(d->file_store.ud, ticket, j->token, j->path) < 0) {
        j->token[0] = '\0';
        fail(j, "The PDF could not be stored");
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)ticket);
    char *argv[] = {d->cfg->service.mucdeskctl, (char *)"-c", d->cfg->path,
                    (char *)"transcript", id, (char *)"--pdf", (char *)"-o",
                    j->path, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    /* Nothing of ours (sockets, the journal) reaches the program. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    int rc = posix_spawn(&j->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        log_warn(LOG, "cannot run %s: %s", argv[0], strerror(rc));
        fail(j, "The PDF could not be drawn");
        return;
    }
    j->deadline_ms = loop_now(d->loop) + PDF_TIMEOUT_MS;
    j->reap_timer = loop_timer_add(d->loop, REAP_MS, reap, j, NULL);
    if (!j->reap_timer) {
        kill(j->pid, SIGKILL);
        waitpid(j->pid, NULL, 0);
        fail(j, "Out of memory; try again later");
    }
}

void desk_transcript_pdf_stop(struct desk *d)
{
    /* Drawing: the child goes, the asker is told.  A job whose event is
     * on the DB thread is the store's to finish (it stops first). */
    struct pdf_job *j = d->pdf_jobs;
    while (j) {
        struct pdf_job *next = j->next;
        if (j->reap_timer) {
            loop_timer_cancel(d->loop, j->reap_timer);
            j->reap_timer = NULL;
            kill(j->pid, SIGKILL);
            waitpid(j->pid, NULL, 0);
            fail(j, "The service is stopping; try again later");
        }
        j = next;
    }
}
