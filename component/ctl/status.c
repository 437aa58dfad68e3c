/* mucdeskctl status.  The daemon's live state is only in the daemon: this
 * reads what it exposes for Prometheus and writes the same figures as a
 * few lines of text.  The exposition is our own (core/metrics.c), so the
 * reader here takes exactly that shape: `name{label="value",...} number`
 * lines, comments skipped. */
#include "build-config.h"

#include "ctl/status.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/netaddr.h"

/* A scrape is a few kilobytes; a bound keeps a wrong address harmless. */
#define MAX_BODY (4u << 20)
#define TIMEOUT_S 10

struct sample {
    char *name;
    char *labels;     /* the text between the braces, "" without */
    double value;
};

struct scrape {
    struct sample *v;
    size_t n;
};

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    if (b->len + size * n > MAX_BODY)
        return 0; /* curl fails the transfer */
    buf_append(b, data, size * n);
    return buf_failed(b) ? 0 : size * n;
}

/* The URL to read: a listener on every address is asked on loopback. */
static void metrics_url(const char *listen, char *out, size_t size)
{
    if (strncmp(listen, "0.0.0.0:", 8) == 0)
        snprintf(out, size, "http://127.0.0.1:%s/metrics", listen + 8);
    else if (strncmp(listen, "[::]:", 5) == 0)
        snprintf(out, size, "http://[::1]:%s/metrics", listen + 5);
    else
        snprintf(out, size, "http://%s/metrics", listen);
}

static int fetch(const char *url, struct buf *body, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot start libcurl");
        return -1;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        return -1;
    }
    if (status != 200) {
        snprintf(err, errlen, "HTTP status %ld", status);
        return -1;
    }
    return 0;
}

static int parse(char *text, struct scrape *out)
{
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0])
            continue;
        char *space = strrchr(line, ' ');
        if (!space)
            return -1;
        *space = '\0';
        char *brace = strchr(line, '{');
        char *labels = "";
        if (brace) {
            size_t len = strlen(brace);
            if (len < 2 || brace[len - 1] != '}')
                return -1;
            brace[len - 1] = '\0';
            *brace = '\0';
            labels = brace + 1;
        }
        struct sample *more = realloc(out->v, (out->n + 1) * sizeof *more);
        if (!more)
            return -1;
        out->v = more;
        more[out->n].name = strdup(line);
        more[out->n].labels = strdup(labels);
        more[out->n].value = strtod(space + 1, NULL);
        if (!more[out->n].name || !more[out->n].labels)
            return -1;
        out->n++;
    }
    return 0;
}

static void scrape_free(struct scrape *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].labels);
    }
    free(s->v);
}

/* The value of name with exactly these labels ("" for none), or NAN. */
static double get(const struct scrape *s, const char *name, const char *labels)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0 &&
            strcmp(s->v[i].labels, labels) == 0)
            return s->v[i].value;
    return NAN;
}

static double get1(const struct scrape *s, const char *name, const char *key,
                   const char *value)
{
    char labels[256];
    snprintf(labels, sizeof labels, "%s=\"%s\"", key, value);
    return get(s, name, labels);
}

/* The instance's role ([ha]): the one role the gauge says 1 for, with what
 * it means for whoever reads it during a failover. */
static void print_role(const struct scrape *s)
{
    static const struct {
        const char *role, *meaning;
    } roles[] = {
        {"standalone", "no [ha] lock, serving"},
        {"active", "holds the [ha] lock, serving"},
        {"standby", "waiting for the [ha] lock, not serving"},
        {"fenced", "lost the database, not serving"},
        {"starting", "not serving yet"},
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (get1(s, "mucdesk_instance_role", "role", roles[i].role) == 1) {
            printf("role: %s (%s)\n", roles[i].role, roles[i].meaning);
            return;
        }
    printf("role: unknown\n");
}

/* The queue names, from the waiting gauge's labels (as exposed, escaped:
 * queue names are XMPP local parts, printed as they are). */
static void print_queues(const struct scrape *s)
{
    bool header = false;
    for (size_t i = 0; i < s->n; i++) {
        const struct sample *q = &s->v[i];
        if (strcmp(q->name, "mucdesk_queue_waiting_chats") != 0 ||
            strncmp(q->labels, "queue=\"", 7) != 0)
            continue;
        char name[200];
        /* bytes: the label's value, between ASCII quotes */
        snprintf(name, sizeof name, "%.*s", (int)(strlen(q->labels) - 8),
                 q->labels + 7);
        if (!header) {
            printf("%-20s %8s %8s %10s %7s %7s\n", "queue", "waiting",
                   "longest", "available", "online", "active");
            header = true;
        }
        printf("%-20s %8.0f %7.0fs %10.0f %7.0f %7.0f\n", name, q->value,
               get(s, "mucdesk_queue_longest_wait_seconds", q->labels),
               get(s, "mucdesk_queue_agents_available", q->labels),
               get(s, "mucdesk_queue_agents_online", q->labels),
               get(s, "mucdesk_queue_active_chats", q->labels));
    }
    if (!header)
        printf("no queues\n");
}

static void print_mean(const struct scrape *s, const char *what,
                       const char *hist)
{
    char name[128];
    snprintf(name, sizeof name, "%s_count", hist);
    double count = get(s, name, "");
    snprintf(name, sizeof name, "%s_sum", hist);
    double sum = get(s, name, "");
    if (count > 0)
        printf("%s: %.0f, on average %.1f s\n", what, count, sum / count);
    else
        printf("%s: none yet\n", what);
}

static void print_status(const struct scrape *s, const char *listen)
{
    double started = get(s, "mucdesk_start_time_seconds", "");
    time_t t = isnan(started) ? 0 : (time_t)started;
    char since[32] = "?";
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("mucdesk at %s: %s, running since %s (%.0f s)\n", listen,
           get(s, "mucdesk_ready", "") == 1 ? "ready" : "NOT READY", since,
           difftime(time(NULL), t));
    print_role(s);
    printf("link: %s, %.0f reconnect(s); database: %s, %.0f operation(s) "
           "queued\n",
           get(s, "mucdesk_link_up", "") == 1 ? "up" : "DOWN",
           get(s, "mucdesk_link_reconnects_total", ""),
           get(s, "mucdesk_database_up", "") == 1 ? "up" : "DOWN",
           get(s, "mucdesk_database_queue_depth", ""));
    printf("archive: %.0f record(s) not yet in PostgreSQL (oldest %.0f s), "
           "journal %.1f MiB, %.0f dead letter(s)\n",
           get(s, "mucdesk_archive_unshipped_records", ""),
           get(s, "mucdesk_archive_shipping_lag_seconds", ""),
           get(s, "mucdesk_archive_journal_bytes", "") / 1048576.0,
           get(s, "mucdesk_archive_dead_letters_total", ""));
    print_queues(s);
    const char *m = "mucdesk_chats_ended_total";
    printf("chats: %.0f created, %.0f requeued; ended: %.0f resolved, %.0f "
           "in progress, %.0f queued, %.0f abandoned\n",
           get(s, "mucdesk_chats_created_total", ""),
           get(s, "mucdesk_chats_requeued_total", ""),
           get1(s, m, "outcome", "resolved"), get1(s, m, "outcome", "inprogress"),
           get1(s, m, "outcome", "queued"), get1(s, m, "outcome", "abandoned"));
    printf("offers: %.0f made, %.0f declined, %.0f expired\n",
           get(s, "mucdesk_offers_made_total", ""),
           get(s, "mucdesk_offers_declined_total", ""),
           get(s, "mucdesk_offers_expired_total", ""));
    print_mean(s, "waits", "mucdesk_chat_wait_seconds");
    print_mean(s, "first responses", "mucdesk_chat_first_response_seconds");
    printf("messages: %.0f groupchat, %.0f private; %.0f MAM query(ies); "
           "rate-limited: %.0f (message_rate), %.0f (new_tickets)\n",
           get1(s, "mucdesk_messages_total", "type", "groupchat"),
           get1(s, "mucdesk_messages_total", "type", "private"),
           get(s, "mucdesk_mam_queries_total", ""),
           get1(s, "mucdesk_rate_limited_total", "limit", "message_rate"),
           get1(s, "mucdesk_rate_limited_total", "limit", "new_tickets"));
}

int ctl_status(const struct config *cfg)
{
    if (!cfg->http.listen) {
        fprintf(stderr,
                "mucdeskctl: %s has no [http] listen: the daemon has no HTTP "
                "listener, so its status cannot be read (set listen = "
                "127.0.0.1:9100, say, and restart it)\n",
                cfg->path);
        return 1;
    }
    char url[300], err[CURL_ERROR_SIZE + 64];
    metrics_url(cfg->http.listen, url, sizeof url);
    struct buf body = BUF_INIT;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = fetch(url, &body, err, sizeof err);
    curl_global_cleanup();
    if (rc < 0) {
        fprintf(stderr, "mucdeskctl: cannot read %s (is mucdesk running?): %s\n",
                url, err);
        buf_free(&body);
        return 1;
    }
    struct scrape s = {NULL, 0};
    char *text = buf_steal(&body);
    if (!text || parse(text, &s) < 0) {
        fprintf(stderr, "mucdeskctl: %s is not mucdesk's metrics\n", url);
        free(text);
        scrape_free(&s);
        return 1;
    }
    print_status(&s, cfg->http.listen);
    free(text);
    scrape_free(&s);
    return 0;
}
