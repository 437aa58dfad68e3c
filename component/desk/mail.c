/* Mail to customers: when a chat ends and the queue says so (or the
 * customer asked on the pre-chat form), a transcript job goes into
 * mail_jobs; ticket-reply puts a reply job there (desk/ticketdb.c); the
 * mailer sends
 * due jobs one at a time through a program with sendmail's -t interface
 * ([mail] sendmail), retrying failures with doubling delays up to
 * [mail] max_attempts, and logs each outcome (ticket numbers only: the
 * address is personal data).
 *
 * Off the event loop: the job is claimed and the message composed on the
 * DB thread (the transcript is read there); the program is started with
 * posix_spawn and fed through a non-blocking pipe the loop watches; its
 * exit is collected by a short timer polling waitpid(WNOHANG), and it is
 * killed after [mail] timeout.  A job whose transcript is not in
 * PostgreSQL yet (the archive ships it a moment later) waits without
 * counting as an attempt.  Several mucdesk instances share the table:
 * claims skip locked rows and hold a job for the timeout. */
#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/utf8.h"
#include "desk/chat.h"
#include "desk/dbops.h"
#include "desk/details.h"
#include "desk/directory.h"
#include "desk/events.h"
#include "desk/mail.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/text.h"
#include "desk/transcript.h"

#define LOG "mail"
#define REAP_MS 20
#define NOT_READY_MS 1000
#define POLL_MAX_MS 60000
#define TRANSCRIPT_MAX_EVENTS 5000

extern char **environ;

struct desk_mailer {
    struct desk *desk;
    bool claiming;                /* a claim is on the DB thread */
    struct loop_timer *poll_timer;
    /* the job being sent */
    int64_t job_id, ticket;
    int attempt;
    bool reply;                   /* a reply, not a transcript */
    pid_t pid;
    int in_fd, err_fd;
    struct buf message;
    size_t written;
    bool write_failed;
    char stderr_text[256];
    size_t stderr_len;
    struct loop_timer *reap_timer;
    uint64_t deadline_ms;
    bool killed;
};

static void poll_soon(struct desk_mailer *m, uint64_t ms);

/* ---- enqueueing --------------------------------------------------------------------- */

struct enqueue_job {
    int64_t ticket;
    char recipient[320];
};

static int enqueue_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct enqueue_job *j = ud;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)j->ticket);
    const char *p[] = {id, j->recipient};
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO mail_jobs (ticket_id, recipient) VALUES ($1::bigint, $2)"
        " ON CONFLICT (ticket_id) WHERE kind = 'transcript' DO NOTHING",
        2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return desk_db_error(conn, res, err, errlen);
    PQclear(res);
    return DESK_DB_OK;
}

static void enqueue_after(struct desk *d, void *ud, int rc, const char *err)
{
    struct enqueue_job *j = ud;
    if (rc == DESK_DB_OK) {
        log_info(LOG, "ticket %lld: transcript mail queued",
                 (long long)j->ticket);
        if (d->mailer)
            poll_soon(d->mailer, 0);
    } else {
        log_error(LOG, "ticket %lld: the transcript mail could not be "
                       "queued: %s",
                  (long long)j->ticket, err);
    }
    free(j);
}

/* A chat ended: its transcript is queued for mail if the queue or the
 * customer wants it. */
static void mail_chat_ended(void *ud, const struct desk_event *ev)
{
    struct desk *d = ud;
    struct desk_chat *c = ev->chat;
    if (!d->cfg->mail.from || !c->customer_email || !c->customer_email[0])
        return;
    struct desk_queue *q = desk_queue_find(d, c->queue);
    char asked[8] = "";
    desk_details_get(c->details, "transcript", asked, sizeof asked);
    if (!(q && q->transcript_email) && strcmp(asked, "1") != 0)
        return;
    /* The form refuses anything else; a ticket from before it did may
     * hold a list, which `sendmail -t` would mail to every name in it. */
    if (!desk_email_ok(c->customer_email)) {
        log_warn(LOG, "ticket %lld: the customer's address is not one "
                      "mailbox: no transcript mail",
                 (long long)c->id);
        return;
    }
    struct enqueue_job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->ticket = c->id;
    utf8_snprintf(j->recipient, sizeof j->recipient, "%s", c->customer_email);
    /* Waits for the database as long as it takes: the chat is over, the
     * mail may come a little later. */
    if (desk_db_submit(d, enqueue_run, enqueue_after, j, 0) < 0)
        free(j);
}

/* ---- claiming (DB thread) --------------------------------------------------------- */

struct claim_job {
    int timeout_s;
    char from[320];
    char service[200];
    /* out */
    int64_t id, ticket;
    int attempt;
    bool reply;
    bool not_ready;
    struct buf message;
};

static const char *job_what(bool reply)
{
    return reply ? "reply" : "transcript";
}

/* The transcript is complete in PostgreSQL once the chat's closing status
 * event is there (the archive ships in order). */
static bool complete(const struct desk_transcript *t)
{
    for (size_t i = t->count; i > 0; i--) {
        const struct desk_event_row *e = &t->events[i - 1];
        if (strcmp(e->kind, "status") == 0 && e->body &&
            strncmp(e->body, "closed:", 7) == 0)
            return true;
    }
    return false;
}

static int out_of_memory(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return DESK_DB_FAILED;
}

/* A reply needs the ticket's fields only. */
static int compose_reply(PGconn *conn, struct claim_job *j, const char *to,
                         const char *text, char *err, size_t errlen)
{
    struct desk_transcript t;
    int rc = desk_db_transcript(conn, j->ticket, 1, &t, err, errlen);
    if (rc == DESK_DB_NOT_FOUND)
        return rc; /* not shipped yet */
    if (rc != DESK_DB_OK)
        return rc;
    desk_mail_compose_reply(&j->message, j->from, to, j->service, &t.ticket,
                            text, j->id, (int64_t)time(NULL));
    desk_transcript_free(&t);
    return buf_failed(&j->message) ? out_of_memory(err, errlen) : DESK_DB_OK;
}

/* The transcript mail, once the whole chat is in PostgreSQL
 * (DESK_DB_NOT_FOUND until then). */
static int compose_transcript(PGconn *conn, struct claim_job *j,
                              const char *to, char *err, size_t errlen)
{
    struct desk_transcript t;
    int rc = desk_db_transcript(conn, j->ticket, TRANSCRIPT_MAX_EVENTS, &t,
                                err, errlen);
    if (rc != DESK_DB_OK)
        return rc;
    if (!complete(&t)) {
        desk_transcript_free(&t);
        return DESK_DB_NOT_FOUND;
    }
    desk_mail_compose(&j->message, j->from, to, j->service, &t,
                      (int64_t)time(NULL));
    desk_transcript_free(&t);
    return buf_failed(&j->message) ? out_of_memory(err, errlen) : DESK_DB_OK;
}

static int claim_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct claim_job *j = ud;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", j->timeout_s + 30);
    const char *p[] = {timeout};
    PGresult *res = PQexecParams(
        conn,
        "UPDATE mail_jobs SET attempts = attempts + 1,"
        " locked_until = now() + make_interval(secs => $1::integer)"
        " WHERE id = (SELECT id FROM mail_jobs WHERE state = 'pending'"
        "  AND next_attempt_at <= now()"
        "  AND (locked_until IS NULL OR locked_until < now())"
        "  ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, ticket_id, recipient, attempts, kind = 'reply', body",
        1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return DESK_DB_OK;
    }
    j->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    j->ticket = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    j->attempt = atoi(PQgetvalue(res, 0, 3));
    j->reply = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    char *to = strdup(PQgetvalue(res, 0, 2));
    char *text = j->reply ? strdup(PQgetvalue(res, 0, 5)) : NULL;
    PQclear(res);
    int rc = !to || (j->reply && !text)
                 ? out_of_memory(err, errlen)
             : j->reply ? compose_reply(conn, j, to, text, err, errlen)
                        : compose_transcript(conn, j, to, err, errlen);
    free(to);
    free(text);
    if (rc == DESK_DB_NOT_FOUND) {
        /* Not shipped yet: put it back, without counting an attempt. */
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)j->id);
        const char *q[] = {id};
        PQclear(PQexecParams(conn,
                             "UPDATE mail_jobs SET attempts = attempts - 1,"
                             " locked_until = NULL WHERE id = $1::bigint",
                             1, NULL, q, NULL, NULL, 0));
        j->not_ready = true;
        return DESK_DB_OK;
    }
    return rc;
}

/* ---- finishing (DB thread) ---------------------------------------------------------- */

struct finish_job {
    int64_t id, ticket;
    int attempt;
    bool reply;
    bool sent;
    char error[300];
    int retry_s, max_attempts;
    bool gave_up;                 /* out */
};

static int finish_run(PGconn *conn, void *ud, char *err, size_t errlen)
{
    struct finish_job *j = ud;
    char id[24], retry[16], max[16];
    snprintf(id, sizeof id, "%lld", (long long)j->id);
    snprintf(retry, sizeof retry, "%d", j->retry_s);
    snprintf(max, sizeof max, "%d", j->max_attempts);
    const char *p[] = {id, retry, max, j->error};
    PGresult *res = PQexecParams(
        conn,
        j->sent ? "UPDATE mail_jobs SET state = 'sent', sent_at = now(),"
                  " locked_until = NULL, last_error = NULL"
                  " WHERE id = $1::bigint RETURNING false"
                : "UPDATE mail_jobs SET state = CASE WHEN attempts >="
                  " $3::integer THEN 'failed' ELSE 'pending' END,"
                  " next_attempt_at = now() + make_interval(secs =>"
                  "  least($2::double precision * 2 ^ (attempts - 1), 86400)),"
                  " locked_until = NULL, last_error = $4"
                  " WHERE id = $1::bigint RETURNING state = 'failed'",
        j->sent ? 1 : 4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    j->gave_up = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return DESK_DB_OK;
}

static void finish_after(struct desk *d, void *ud, int rc, const char *err)
{
    struct finish_job *j = ud;
    const char *what = job_what(j->reply);
    if (rc != DESK_DB_OK)
        log_error(LOG, "ticket %lld: the mail job's outcome could not be "
                       "recorded (it will be tried again): %s",
                  (long long)j->ticket, err);
    else if (j->sent)
        log_info(LOG, "ticket %lld: %s mailed (attempt %d)",
                 (long long)j->ticket, what, j->attempt);
    else if (j->gave_up)
        log_error(LOG, "ticket %lld: %s mail given up after %d attempt(s): %s",
                  (long long)j->ticket, what, j->attempt, j->error);
    else
        log_warn(LOG, "ticket %lld: %s mail attempt %d failed (it will "
                      "be retried): %s",
                 (long long)j->ticket, what, j->attempt, j->error);
    if (d->mailer)
        poll_soon(d->mailer, 0); /* more may be due */
    free(j);
}

/* ---- the sendmail process (XMPP thread, never blocking) ----------------------------- */

static void close_fd(struct desk_mailer *m, int *fd)
{
    if (*fd >= 0) {
        loop_io_remove(m->desk->loop, *fd);
        close(*fd);
        *fd = -1;
    }
}

static void done_sending(struct desk_mailer *m, bool ok, const char *why)
{
    struct desk *d = m->desk;
    close_fd(m, &m->in_fd);
    close_fd(m, &m->err_fd);
    buf_free(&m->message);
    m->pid = 0;
    struct finish_job *j = calloc(1, sizeof *j);
    if (j) {
        j->id = m->job_id;
        j->ticket = m->ticket;
        j->attempt = m->attempt;
        j->reply = m->reply;
        j->sent = ok;
        utf8_snprintf(j->error, sizeof j->error, "%s", ok ? "" : why);
        j->retry_s = d->cfg->mail.retry_s;
        j->max_attempts = d->cfg->mail.max_attempts;
        if (desk_db_submit(d, finish_run, finish_after, j, 0) < 0)
            free(j);
    }
    m->job_id = 0;
    if (!j)
        poll_soon(m, 1000);
}

static void reap(void *ud)
{
    struct desk_mailer *m = ud;
    m->reap_timer = NULL;
    int status;
    pid_t r = waitpid(m->pid, &status, WNOHANG);
    if (r == 0) {
        if (!m->killed && loop_now(m->desk->loop) >= m->deadline_ms) {
            kill(m->pid, SIGKILL);
            m->killed = true;
        }
        m->reap_timer = loop_timer_add(m->desk->loop, REAP_MS, reap, m, NULL);
        return;
    }
    char why[300];
    bool ok = false;
    /* What the program said, on one line, in UTF-8 that PostgreSQL takes
     * (mail_jobs.last_error): its first bytes may end inside a character,
     * and the bytes are anybody's. */
    struct buf said = BUF_INIT;
    utf8_sanitize(&said, m->stderr_text,
                  utf8_trim(m->stderr_text, m->stderr_len));
    const char *said_text = buf_cstr(&said);
    for (char *p = said.data; p && *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    if (r < 0) {
        snprintf(why, sizeof why, "waitpid: %s", strerror(errno));
    } else if (m->killed) {
        snprintf(why, sizeof why, "killed after %d s",
                 m->desk->cfg->mail.timeout_s);
    } else if (WIFSIGNALED(status)) {
        snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
    } else if (WEXITSTATUS(status) != 0) {
        utf8_snprintf(why, sizeof why, "exit status %d%s%.*s",
                      WEXITSTATUS(status), said.len ? ": " : "",
                      utf8_prec(said_text, 200), said_text);
    } else if (m->write_failed || m->written < m->message.len) {
        snprintf(why, sizeof why, "the program did not read the whole "
                                  "message");
    } else {
        ok = true;
        why[0] = '\0';
    }
    buf_free(&said);
    done_sending(m, ok, why);
}

static void on_writable(void *ud, int fd, uint32_t events)
{
    struct desk_mailer *m = ud;
    (void)events;
    while (m->written < m->message.len) {
        ssize_t n = write(fd, m->message.data + m->written,
                          m->message.len - m->written);
        if (n > 0) {
            m->written += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return; /* the loop calls again */
        m->write_failed = true; /* EPIPE: the program stopped reading */
        break;
    }
    /* All written (or never will be): EOF for the program. */
    close_fd(m, &m->in_fd);
}

static void on_stderr(void *ud, int fd, uint32_t events)
{
    struct desk_mailer *m = ud;
    (void)events;
    char chunk[512];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) {
        size_t room = sizeof m->stderr_text - 1 - m->stderr_len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(m->stderr_text + m->stderr_len, chunk, take);
        m->stderr_len += take;
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    close_fd(m, &m->err_fd);
}

static int spawn(struct desk_mailer *m, char *why, size_t size)
{
    struct desk *d = m->desk;
    int in[2] = {-1, -1}, er[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
        snprintf(why, size, "pipe: %s", strerror(errno));
        goto fail;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, er[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    /* Nothing of ours (sockets, the journal) reaches the program, even
     * descriptors opened without O_CLOEXEC by a library. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    char *argv[] = {d->cfg->mail.sendmail, (char *)"-t", (char *)"-i", NULL};
    int rc = posix_spawn(&m->pid, d->cfg->mail.sendmail, &fa, NULL, argv,
                         environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(er[1]);
    in[0] = er[1] = -1;
    if (rc != 0) {
        m->pid = 0;
        utf8_snprintf(why, size, "cannot run %s: %s", d->cfg->mail.sendmail,
                      strerror(rc));
        goto fail;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(er[0], F_SETFL, O_NONBLOCK);
    m->in_fd = in[1];
    m->err_fd = er[0];
    m->written = 0;
    m->write_failed = false;
    m->stderr_len = 0;
    m->killed = false;
    m->deadline_ms = loop_now(d->loop) + (uint64_t)d->cfg->mail.timeout_s * 1000;
    if (loop_io_add(d->loop, m->in_fd, EPOLLOUT, on_writable, m) < 0 ||
        loop_io_add(d->loop, m->err_fd, EPOLLIN, on_stderr, m) < 0) {
        /* Cannot watch: the program gets EOF at once and is reaped. */
        close_fd(m, &m->in_fd);
        m->write_failed = true;
    }
    m->reap_timer = loop_timer_add(d->loop, REAP_MS, reap, m, NULL);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (er[i] >= 0)
            close(er[i]);
    }
    return -1;
}

static void claim_after(struct desk *d, void *ud, int rc, const char *err)
{
    struct claim_job *j = ud;
    struct desk_mailer *m = d->mailer;
    if (m)
        m->claiming = false;
    if (!m || loop_stopping(d->loop)) {
        /* Stopping: a claimed job is retried once its lock expires. */
        buf_free(&j->message);
        free(j);
        return;
    }
    if (rc != DESK_DB_OK) {
        log_warn(LOG, "cannot read the mail jobs: %s", err);
        poll_soon(m, (uint64_t)d->cfg->mail.retry_s * 1000);
    } else if (!j->id) {
        poll_soon(m, (uint64_t)d->cfg->mail.retry_s * 1000);
    } else if (j->not_ready) {
        poll_soon(m, NOT_READY_MS);
    } else {
        m->job_id = j->id;
        m->ticket = j->ticket;
        m->attempt = j->attempt;
        m->reply = j->reply;
        m->message = j->message;
        j->message = (struct buf)BUF_INIT;
        char why[300];
        if (spawn(m, why, sizeof why) < 0)
            done_sending(m, false, why);
    }
    buf_free(&j->message);
    free(j);
}

static void poll_now(void *ud)
{
    struct desk_mailer *m = ud;
    struct desk *d = m->desk;
    m->poll_timer = NULL;
    if (m->claiming || m->job_id || loop_stopping(d->loop))
        return; /* the current job's end polls again */
    struct claim_job *j = calloc(1, sizeof *j);
    if (!j) {
        poll_soon(m, 1000);
        return;
    }
    j->timeout_s = d->cfg->mail.timeout_s;
    utf8_snprintf(j->from, sizeof j->from, "%s", d->cfg->mail.from);
    utf8_snprintf(j->service, sizeof j->service, "%s", d->cfg->service.name);
    m->claiming = true;
    if (desk_db_submit(d, claim_run, claim_after, j, DESK_DB_TIMEOUT_MS) < 0) {
        m->claiming = false;
        free(j);
        poll_soon(m, 1000);
    }
}

static void poll_soon(struct desk_mailer *m, uint64_t ms)
{
    if (ms > POLL_MAX_MS)
        ms = POLL_MAX_MS;
    if (m->poll_timer) {
        if (loop_timer_due(m->poll_timer) <= loop_now(m->desk->loop) + ms)
            return;
        loop_timer_cancel(m->desk->loop, m->poll_timer);
    }
    m->poll_timer = loop_timer_add(m->desk->loop, ms, poll_now, m, NULL);
}

int desk_mail_start(struct desk *d)
{
    if (!d->cfg->mail.from)
        return 0;
    struct desk_mailer *m = calloc(1, sizeof *m);
    if (!m)
        return -1;
    m->desk = d;
    m->in_fd = m->err_fd = -1;
    d->mailer = m;
    log_info(LOG, "transcripts are mailed with %s", d->cfg->mail.sendmail);
    poll_soon(m, 1000);
    return 0;
}

void desk_mail_poke(struct desk *d)
{
    if (d->mailer)
        poll_soon(d->mailer, 0);
}

void desk_mail_free(struct desk *d)
{
    struct desk_mailer *m = d->mailer;
    if (!m)
        return;
    loop_timer_cancel(d->loop, m->poll_timer);
    loop_timer_cancel(d->loop, m->reap_timer);
    if (m->pid > 0) {
        /* The job's lock expires and another run sends it. */
        kill(m->pid, SIGKILL);
        waitpid(m->pid, NULL, 0);
    }
    close_fd(m, &m->in_fd);
    close_fd(m, &m->err_fd);
    buf_free(&m->message);
    free(m);
    d->mailer = NULL;
}

int desk_mail_subscribe(struct desk *d)
{
    return desk_events_subscribe(d, DESK_EV_ENDED, DESK_PRIO_NOTIFY,
                                 mail_chat_ended, d);
}
