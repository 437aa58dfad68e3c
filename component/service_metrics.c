#include "build-config.h"

#include "service_metrics.h"

#include <stdbool.h>

#include "core/metrics.h"
#include "desk/desk.h"
#include "http/server.h"
#include "muc/muc.h"
#include "service.h"
#include "store/archive.h"
#include "store/db.h"
#include "xmpp/link.h"

static const struct service_metrics_sources *sources(void *ud)
{
    return ud;
}

static void collect_build(void *ud, struct metrics_out *out)
{
    (void)ud;
    struct metrics_label l = {"version", PACKAGE_VERSION};
    metrics_sample_u64(out, &l, 1, 1);
}

static void collect_start_time(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, sources(ud)->start_time_s);
}

static bool ready(const struct service_metrics_sources *s)
{
    struct desk_status ds = {.restored = true};
    if (s->desk)
        desk_get_status(s->desk, &ds);
    return link_is_up(s->link) && store_connected(s->store) && ds.restored;
}

static void collect_ready(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, ready(sources(ud)));
}

static void collect_link_up(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, link_is_up(sources(ud)->link));
}

static void collect_reconnects(void *ud, struct metrics_out *out)
{
    const struct link_stats *ls = link_stats(sources(ud)->link);
    /* The first connection is not a reconnection. */
    metrics_sample_u64(out, NULL, 0, ls->connects ? ls->connects - 1 : 0);
}

static void collect_handshake_failures(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0,
                       link_stats(sources(ud)->link)->handshake_failures);
}

static void collect_stanzas_in(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, link_stats(sources(ud)->link)->stanzas_in);
}

static void collect_db_up(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, store_connected(sources(ud)->store));
}

static void collect_db_queue(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, store_queue_depth(sources(ud)->store));
}

enum archive_value { A_BYTES, A_SEGMENTS, A_UNSHIPPED, A_LAG, A_DEAD };

static void collect_archive(const struct service_metrics_sources *s,
                            enum archive_value which, struct metrics_out *out)
{
    struct archive_stats st;
    archive_get_stats(s->archive, &st);
    switch (which) {
    case A_BYTES:
        metrics_sample_u64(out, NULL, 0, st.journal_bytes);
        break;
    case A_SEGMENTS:
        metrics_sample_u64(out, NULL, 0, st.journal_segments);
        break;
    case A_UNSHIPPED:
        metrics_sample_u64(out, NULL, 0,
                           st.appended > st.committed ? st.appended - st.committed
                                                      : 0);
        break;
    case A_LAG:
        metrics_sample(out, NULL, 0, (double)st.unshipped_age_ms / 1000.0);
        break;
    case A_DEAD:
        metrics_sample_u64(out, NULL, 0, st.dead_letters);
        break;
    }
}

#define ARCHIVE_COLLECTOR(fn, which)                                           \
    static void fn(void *ud, struct metrics_out *out)                          \
    {                                                                          \
        collect_archive(sources(ud), which, out);                              \
    }
ARCHIVE_COLLECTOR(collect_journal_bytes, A_BYTES)
ARCHIVE_COLLECTOR(collect_journal_segments, A_SEGMENTS)
ARCHIVE_COLLECTOR(collect_unshipped, A_UNSHIPPED)
ARCHIVE_COLLECTOR(collect_lag, A_LAG)
ARCHIVE_COLLECTOR(collect_dead_letters, A_DEAD)

static void collect_messages(void *ud, struct metrics_out *out)
{
    const struct muc_stats *ms = muc_stats(sources(ud)->muc);
    struct metrics_label g = {"type", "groupchat"}, p = {"type", "private"};
    metrics_sample_u64(out, &g, 1, ms->groupchat);
    metrics_sample_u64(out, &p, 1, ms->private_msgs);
}

static void collect_mam(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, muc_stats(sources(ud)->muc)->mam_queries);
}

static void collect_rate_limited(void *ud, struct metrics_out *out)
{
    const struct service_metrics_sources *s = sources(ud);
    struct metrics_label m = {"limit", "message_rate"};
    metrics_sample_u64(out, &m, 1, muc_stats(s->muc)->rate_limited);
    if (s->desk) {
        struct desk_status ds;
        desk_get_status(s->desk, &ds);
        struct metrics_label t = {"limit", "new_tickets"};
        metrics_sample_u64(out, &t, 1, ds.tickets_refused);
        struct metrics_label p = {"limit", "per_sender"};
        metrics_sample_u64(out, &p, 1, ds.sender_refused);
    }
}

/* One sample per role, 1 for the role this process has now: a standby's
 * scrape says "standby", and an alert can ask that exactly one instance
 * of a set says "active" or "standalone". */
static void collect_role(void *ud, struct metrics_out *out)
{
    enum service_role now = service_role(sources(ud)->service);
    for (int r = SERVICE_STARTING; r <= SERVICE_FENCED; r++) {
        struct metrics_label l = {"role", service_role_name((enum service_role)r)};
        metrics_sample_u64(out, &l, 1, r == (int)now);
    }
}

static void collect_rooms(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, muc_room_count_all(sources(ud)->muc));
}

enum http_value { H_REQUESTS, H_REFUSED, H_TIMEOUTS, H_CONNECTIONS };

static void collect_http(const struct service_metrics_sources *s,
                         enum http_value which, struct metrics_out *out)
{
    struct http_stats st;
    http_server_stats(s->http, &st);
    uint64_t v = which == H_REQUESTS   ? st.requests
                 : which == H_REFUSED  ? st.refused
                 : which == H_TIMEOUTS ? st.timeouts
                                       : st.connections;
    metrics_sample_u64(out, NULL, 0, v);
}

#define HTTP_COLLECTOR(fn, which)                                              \
    static void fn(void *ud, struct metrics_out *out)                          \
    {                                                                          \
        collect_http(sources(ud), which, out);                                 \
    }
HTTP_COLLECTOR(collect_http_requests, H_REQUESTS)
HTTP_COLLECTOR(collect_http_refused, H_REFUSED)
HTTP_COLLECTOR(collect_http_timeouts, H_TIMEOUTS)
HTTP_COLLECTOR(collect_http_connections, H_CONNECTIONS)

int service_metrics_register(struct metrics *m,
                             const struct service_metrics_sources *src)
{
    void *ud = (void *)src; /* only read */
    int rc = 0;
    rc |= metrics_add(m, "mucdesk_build_info", METRICS_GAUGE,
                      "Always 1; the label says which version runs.",
                      collect_build, ud);
    rc |= metrics_add(m, "mucdesk_start_time_seconds", METRICS_GAUGE,
                      "When the daemon started (Unix time).",
                      collect_start_time, ud);
    rc |= metrics_add(m, "mucdesk_ready", METRICS_GAUGE,
                      "1 once the link is up, the database reached and the "
                      "open chats restored, or for a standby once the "
                      "database is reached (what systemd's READY=1 says).",
                      collect_ready, ud);
    rc |= metrics_add(m, "mucdesk_link_up", METRICS_GAUGE,
                      "1 while the component link to the XMPP server is up.",
                      collect_link_up, ud);
    rc |= metrics_add(m, "mucdesk_link_reconnects_total", METRICS_COUNTER,
                      "Times the link came up again after the first time.",
                      collect_reconnects, ud);
    rc |= metrics_add(m, "mucdesk_link_handshake_failures_total",
                      METRICS_COUNTER,
                      "Handshakes the XMPP server refused (a wrong secret).",
                      collect_handshake_failures, ud);
    rc |= metrics_add(m, "mucdesk_link_stanzas_received_total",
                      METRICS_COUNTER, "Stanzas received over the link.",
                      collect_stanzas_in, ud);
    rc |= metrics_add(m, "mucdesk_database_up", METRICS_GAUGE,
                      "1 while the database thread is connected to PostgreSQL.",
                      collect_db_up, ud);
    rc |= metrics_add(m, "mucdesk_database_queue_depth", METRICS_GAUGE,
                      "Database operations submitted and not yet finished.",
                      collect_db_queue, ud);
    rc |= metrics_add(m, "mucdesk_archive_journal_bytes", METRICS_GAUGE,
                      "Bytes in the archive journal's segments on disk.",
                      collect_journal_bytes, ud);
    rc |= metrics_add(m, "mucdesk_archive_journal_segments", METRICS_GAUGE,
                      "Archive journal segment files.",
                      collect_journal_segments, ud);
    rc |= metrics_add(m, "mucdesk_archive_unshipped_records", METRICS_GAUGE,
                      "Archive records not yet in PostgreSQL.",
                      collect_unshipped, ud);
    rc |= metrics_add(m, "mucdesk_archive_shipping_lag_seconds", METRICS_GAUGE,
                      "How long the oldest record not yet in PostgreSQL has "
                      "waited (to the second; 0: none waits).",
                      collect_lag, ud);
    rc |= metrics_add(m, "mucdesk_archive_dead_letters_total", METRICS_COUNTER,
                      "Archive records PostgreSQL can never take (kept in "
                      "the dead-letter file).", collect_dead_letters, ud);
    rc |= metrics_add(m, "mucdesk_messages_total", METRICS_COUNTER,
                      "Occupants' messages with a body sent in rooms "
                      "(groupchat) and delivered privately (private, never "
                      "archived).", collect_messages, ud);
    rc |= metrics_add(m, "mucdesk_mam_queries_total", METRICS_COUNTER,
                      "Message archive (XEP-0313) queries started.",
                      collect_mam, ud);
    rc |= metrics_add(m, "mucdesk_rate_limited_total", METRICS_COUNTER,
                      "Stanzas refused by a rate limit: message_rate ([muc], "
                      "per occupant), new_tickets ([desk] "
                      "new_tickets_per_minute), per_sender (the [desk] "
                      "per-JID and per-domain budgets).",
                      collect_rate_limited, ud);
    if (src->service)
        rc |= metrics_add(m, "mucdesk_instance_role", METRICS_GAUGE,
                          "1 for this process's role: starting, standalone, "
                          "standby (waiting for the [ha] lock), active "
                          "(holds it), fenced.", collect_role, ud);
    rc |= metrics_add(m, "mucdesk_rooms", METRICS_GAUGE,
                      "MUC rooms (queue, session and plain rooms).",
                      collect_rooms, ud);
    if (src->http) {
        rc |= metrics_add(m, "mucdesk_http_requests_total", METRICS_COUNTER,
                          "HTTP requests answered.", collect_http_requests, ud);
        rc |= metrics_add(m, "mucdesk_http_refused_total", METRICS_COUNTER,
                          "HTTP requests answered 4xx/5xx by the listener "
                          "itself (no route, method, body too large).",
                          collect_http_refused, ud);
        rc |= metrics_add(m, "mucdesk_http_timeouts_total", METRICS_COUNTER,
                          "HTTP connections closed for not sending their "
                          "request within [http] timeout.",
                          collect_http_timeouts, ud);
        rc |= metrics_add(m, "mucdesk_http_connections", METRICS_GAUGE,
                          "HTTP connections open now.",
                          collect_http_connections, ud);
    }
    return rc ? -1 : 0;
}

static void on_metrics(void *ud, struct http_request *req)
{
    struct buf b = BUF_INIT;
    metrics_expose(ud, &b);
    http_respond_buf(req, 200, METRICS_CONTENT_TYPE, &b);
    buf_free(&b);
}

int service_metrics_route(struct http_server *http, struct metrics *m)
{
    struct http_route r = {.path = "/metrics", .methods = HTTP_GET,
                           .handler = on_metrics, .ud = m};
    return http_server_route(http, &r);
}
