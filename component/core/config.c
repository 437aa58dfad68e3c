#include "build-config.h"

#include "core/config.h"
#include "core/jid.h"
#include "core/utf8.h"
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- the schema: every key mucdesk understands ------------------------- */

enum key_type {
    KEY_STRING,     /* char *, any non-empty text */
    KEY_INT,        /* int within [min, max] */
    KEY_LOG_LEVEL,  /* enum log_level */
    KEY_DURABILITY, /* enum config_durability */
    KEY_HA_MODE,    /* enum config_ha_mode */
    KEY_DOMAIN,     /* char *, a JID with a domain part only */
    KEY_IP,         /* char *, an IPv4 or IPv6 literal */
    KEY_JID_LIST,   /* char **, bare JIDs separated by commas or spaces */
    KEY_LISTEN,     /* char *, "ADDRESS:PORT" with an IP literal */
    KEY_URL,        /* char *, an http:// or https:// URL */
};

struct key_spec {
    const char *section;
    const char *key;
    enum key_type type;
    size_t offset;
    bool required;
    const char *default_value; /* parsed like a value from the file */
    long min, max;             /* for KEY_INT */
};

#define FIELD(f) offsetof(struct config, f)

static const struct key_spec schema[] = {
    {"component", "jid", KEY_DOMAIN, FIELD(component.jid), true, NULL, 0, 0},
    {"component", "secret", KEY_STRING, FIELD(component.secret), true, NULL, 0, 0},
    {"component", "host", KEY_IP, FIELD(component.host), false, "127.0.0.1", 0, 0},
    {"component", "port", KEY_INT, FIELD(component.port), false, "5347", 1, 65535},
    {"component", "reconnect_max", KEY_INT, FIELD(component.reconnect_max_s), false, "30", 1, 3600},

    {"database", "conninfo", KEY_STRING, FIELD(database.conninfo), true, NULL, 0, 0},
    {"database", "connect_timeout", KEY_INT, FIELD(database.connect_timeout_s), false, "5", 1, 300},
    {"database", "statement_timeout", KEY_INT, FIELD(database.statement_timeout_ms), false, "30000", 100, 3600000},
    {"database", "durability", KEY_DURABILITY, FIELD(database.durability), false, "journal", 0, 0},
    {"database", "queue_memory", KEY_INT, FIELD(database.queue_memory_mb), false, "64", 1, 65536},
    {"database", "journal_segment_size", KEY_INT, FIELD(database.journal_segment_mb), false, "64", 1, 1024},
    {"database", "query_timeout", KEY_INT, FIELD(database.query_timeout_ms), false, "10000", 100, 600000},

    /* 1836409700 is "mucd" in ASCII: a key other software is unlikely to
     * take.  The lease's server-side timeouts derive from lease_timeout
     * (store/lease.c). */
    {"ha", "mode", KEY_HA_MODE, FIELD(ha.mode), false, "standalone", 0, 0},
    {"ha", "lock_key", KEY_INT, FIELD(ha.lock_key), false, "1836409700", INT_MIN, INT_MAX},
    {"ha", "lease_timeout", KEY_INT, FIELD(ha.lease_ms), false, "2000", 500, 60000},
    {"ha", "poll_interval", KEY_INT, FIELD(ha.poll_ms), false, "250", 50, 60000},

    {"service", "name", KEY_STRING, FIELD(service.name), false, "mucdesk support", 0, 0},
    {"service", "admins", KEY_JID_LIST, FIELD(service.admins), true, NULL, 0, 0},
    {"service", "state_dir", KEY_STRING, FIELD(service.state_dir), false, "/var/lib/mucdesk", 0, 0},
    {"service", "plugin_dir", KEY_STRING, FIELD(service.plugin_dir), false, PKGLIBDIR, 0, 0},
    {"service", "mucdeskctl", KEY_STRING, FIELD(service.mucdeskctl), false, BINDIR "/mucdeskctl", 0, 0},

    {"desk", "customer_grace", KEY_INT, FIELD(desk.customer_grace_s), false, "30", 0, 86400},
    {"desk", "decline_skip", KEY_INT, FIELD(desk.decline_skip_s), false, "20", 0, 3600},
    {"desk", "status_interval", KEY_INT, FIELD(desk.status_interval_s), false, "15", 1, 3600},
    {"desk", "reannounce_after", KEY_INT, FIELD(desk.reannounce_s), false, "60", 1, 86400},
    {"desk", "reload_interval", KEY_INT, FIELD(desk.reload_interval_s), false, "5", 1, 3600},
    {"desk", "closed_room_hours", KEY_INT, FIELD(desk.closed_room_hours), false, "24", 0, 8760},
    {"desk", "command_timeout", KEY_INT, FIELD(desk.command_timeout_s), false, "600", 10, 86400},
    {"desk", "new_tickets_per_minute", KEY_INT, FIELD(desk.new_tickets_per_minute), false, "600", 0, 1000000},
    {"desk", "unjoined_timeout", KEY_INT, FIELD(desk.unjoined_timeout_s), false, "300", 5, 86400},
    {"desk", "reannounce_max", KEY_INT, FIELD(desk.reannounce_max), false, "5", 0, 1000},
    {"desk", "jid_tickets_per_hour", KEY_INT, FIELD(desk.jid_tickets_per_hour), false, "10", 0, 1000000},
    {"desk", "domain_tickets_per_minute", KEY_INT, FIELD(desk.domain_tickets_per_minute), false, "30", 0, 1000000},
    {"desk", "domain_unjoined_max", KEY_INT, FIELD(desk.domain_unjoined_max), false, "20", 0, 1000000},
    {"desk", "jid_ratings_per_hour", KEY_INT, FIELD(desk.jid_ratings_per_hour), false, "10", 0, 1000000},
    {"desk", "domain_ratings_per_minute", KEY_INT, FIELD(desk.domain_ratings_per_minute), false, "60", 0, 1000000},
    {"desk", "command_sessions_per_jid", KEY_INT, FIELD(desk.command_sessions_per_jid), false, "5", 1, 10000},
    {"desk", "command_sessions_per_domain", KEY_INT, FIELD(desk.command_sessions_per_domain), false, "500", 1, 1000000},
    {"desk", "command_sessions_max", KEY_INT, FIELD(desk.command_sessions_max), false, "10000", 1, 10000000},
    {"desk", "plugins", KEY_STRING, FIELD(desk.plugins), false, "ratings", 0, 0},

    {"mail", "from", KEY_STRING, FIELD(mail.from), false, NULL, 0, 0},
    {"mail", "sendmail", KEY_STRING, FIELD(mail.sendmail), false, "/usr/sbin/sendmail", 0, 0},
    {"mail", "timeout", KEY_INT, FIELD(mail.timeout_s), false, "60", 1, 3600},
    {"mail", "retry_interval", KEY_INT, FIELD(mail.retry_s), false, "60", 1, 86400},
    {"mail", "max_attempts", KEY_INT, FIELD(mail.max_attempts), false, "8", 1, 100},
    {"mail", "in_queue", KEY_STRING, FIELD(mail.in_queue), false, NULL, 0, 0},

    {"widget", "script_url", KEY_STRING, FIELD(widget.script_url), false, NULL, 0, 0},
    {"widget", "websocket_url", KEY_STRING, FIELD(widget.websocket_url), false, NULL, 0, 0},
    {"widget", "anonymous_domain", KEY_STRING, FIELD(widget.anonymous_domain), false, NULL, 0, 0},

    {"retention", "closed_ticket_days", KEY_INT, FIELD(retention.closed_ticket_days), false, "0", 0, 36500},
    {"retention", "personal_data_days", KEY_INT, FIELD(retention.personal_data_days), false, "0", 0, 36500},
    {"retention", "batch_size", KEY_INT, FIELD(retention.batch_size), false, "500", 1, 100000},
    {"retention", "interval", KEY_INT, FIELD(retention.interval_s), false, "3600", 1, 604800},

    {"log", "level", KEY_LOG_LEVEL, FIELD(log.level), false, "info", 0, 0},
    {"log", "file", KEY_STRING, FIELD(log.file), false, NULL, 0, 0},

    {"http", "listen", KEY_LISTEN, FIELD(http.listen), false, NULL, 0, 0},
    {"http", "public_url", KEY_URL, FIELD(http.public_url), false, NULL, 0, 0},
    {"http", "max_connections", KEY_INT, FIELD(http.max_connections), false, "64", 1, 10000},
    {"http", "max_connections_per_ip", KEY_INT, FIELD(http.max_connections_per_ip), false, "16", 1, 10000},
    {"http", "timeout", KEY_INT, FIELD(http.timeout_s), false, "10", 1, 3600},

    /* XEP-0363 file uploads, on [http] public_url (upload/upload.c). */
    {"upload", "dir", KEY_STRING, FIELD(upload.dir), false, NULL, 0, 0},
    {"upload", "max_file_size", KEY_INT, FIELD(upload.max_file_size), false, "10485760", 1, INT_MAX},
    {"upload", "max_ticket_bytes", KEY_INT, FIELD(upload.max_ticket_bytes), false, "52428800", 1, INT_MAX},
    {"upload", "types", KEY_STRING, FIELD(upload.types), false,
     "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain", 0, 0},
    {"upload", "slot_timeout", KEY_INT, FIELD(upload.slot_timeout_s), false, "300", 10, 86400},
    {"upload", "put_timeout", KEY_INT, FIELD(upload.put_timeout_s), false, "600", 5, 86400},
    {"upload", "max_uploads", KEY_INT, FIELD(upload.max_uploads), false, "8", 1, 10000},
    {"upload", "max_bytes_in_flight", KEY_INT, FIELD(upload.max_bytes_in_flight), false, "268435456", 1, INT_MAX},
    {"upload", "sweep_interval", KEY_INT, FIELD(upload.sweep_interval_s), false, "600", 1, 86400},
    {"upload", "scan_command", KEY_STRING, FIELD(upload.scan_command), false, NULL, 0, 0},
    {"upload", "scan_timeout", KEY_INT, FIELD(upload.scan_timeout_s), false, "120", 1, 3600},

    /* Webhooks: the sender's pace (webhook/sender.c). */
    {"webhooks", "enabled", KEY_INT, FIELD(webhooks.enabled), false, "1", 0, 1},
    {"webhooks", "timeout", KEY_INT, FIELD(webhooks.timeout_s), false, "10", 1, 300},
    {"webhooks", "retry_min", KEY_INT, FIELD(webhooks.retry_min_s), false, "1", 1, 3600},
    {"webhooks", "retry_max", KEY_INT, FIELD(webhooks.retry_max_s), false, "600", 1, 86400},
    {"webhooks", "max_attempts", KEY_INT, FIELD(webhooks.max_attempts), false, "30", 1, 1000},
    {"webhooks", "keep_delivered_days", KEY_INT, FIELD(webhooks.keep_delivered_days), false, "7", 0, 3650},

    {"muc", "max_body_size", KEY_INT, FIELD(muc.max_body_bytes), false, "65536", 16, 1048576},
    {"muc", "max_stanza_size", KEY_INT, FIELD(muc.max_stanza_bytes), false, "262144", 1024, 4194304},
    {"muc", "max_rooms", KEY_INT, FIELD(muc.max_rooms), false, "200000", 1, 10000000},
    {"muc", "max_occupants", KEY_INT, FIELD(muc.max_occupants), false, "200", 2, 100000},
    {"muc", "message_rate", KEY_INT, FIELD(muc.message_rate), false, "50", 1, 100000},
    {"muc", "history_size", KEY_INT, FIELD(muc.history_max), false, "50", 0, 10000},
    {"muc", "history_bytes", KEY_INT, FIELD(muc.history_bytes), false, "1024", 0, 16777216},
    {"muc", "archive_by_default", KEY_INT, FIELD(muc.archive_by_default), false, "1", 0, 1},
    {"muc", "mam_queries_per_jid", KEY_INT, FIELD(muc.mam_queries_per_jid), false, "5", 1, 10000},
    {"muc", "mam_queries_per_domain", KEY_INT, FIELD(muc.mam_queries_per_domain), false, "50", 1, 1000000},
    {"muc", "mam_queries_max", KEY_INT, FIELD(muc.mam_queries_max), false, "500", 1, 10000000},
};

#define SCHEMA_SIZE (sizeof schema / sizeof schema[0])

/* ---- parsing ------------------------------------------------------------- */

struct parse_state {
    struct config *cfg;
    struct config_error *err;
    const char *path;
    FILE *file;
    char *text;                  /* the line read (getline's buffer) */
    size_t text_cap;
    const char *long_value;      /* the value of a line too long for inih */
    int line;                    /* the line inih is looking at */
    int seen_line[SCHEMA_SIZE];  /* where each key was set; 0 = not yet */
    char current_section[128];
    int section_line[SCHEMA_SIZE]; /* header line of each key's section */
    bool failed;
};

static void set_error(struct parse_state *st, int line, const char *section,
                      const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void set_error(struct parse_state *st, int line, const char *section,
                      const char *key, const char *fmt, ...)
{
    if (st->failed)
        return; /* the first problem is the one worth reading */
    st->failed = true;
    int n = utf8_snprintf(st->err->text, sizeof st->err->text,
                          "%s:%d: [%s] %s: ", st->path, line, section, key);
    if (n < 0 || (size_t)n >= sizeof st->err->text)
        return;
    va_list ap;
    va_start(ap, fmt);
    utf8_vsnprintf(st->err->text + n, sizeof st->err->text - (size_t)n, fmt,
                   ap);
    va_end(ap);
}

static void free_list(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

/* The field (a char *) takes a copy of value. */
static const char *set_copy(void *field, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return "out of memory";
    free(*(char **)field);
    *(char **)field = copy;
    return NULL;
}

/* A list of bare JIDs (the admins): the field (a char **, NULL-terminated)
 * replaced, with its count. */
static const char *store_jid_list(struct config *cfg, void *field,
                                  const char *value)
{
    char *work = strdup(value);
    size_t count = 0, cap = 4;
    char **list = calloc(cap + 1, sizeof *list);
    const char *problem = NULL;
    char *save = NULL;
    if (!work || !list) {
        free(work);
        free(list);
        return "out of memory";
    }
    for (char *tok = strtok_r(work, ", \t", &save); tok && !problem;
         tok = strtok_r(NULL, ", \t", &save)) {
        struct jid j;
        char bare[JID_TEXT_MAX + 1];
        if (jid_parse(tok, &j) < 0 || jid_has_resource(&j) ||
            !jid_has_local(&j)) {
            problem = "must list bare JIDs such as admin@example.org";
            break;
        }
        jid_bare_text(&j, bare, sizeof bare);
        if (count == cap) {
            char **bigger = realloc(list, (cap * 2 + 1) * sizeof *list);
            if (!bigger) {
                problem = "out of memory";
                break;
            }
            list = bigger;
            cap *= 2;
        }
        if (!(list[count] = strdup(bare))) {
            problem = "out of memory";
            break;
        }
        list[++count] = NULL;
    }
    free(work);
    if (!problem && count == 0)
        problem = "must list at least one bare JID";
    if (problem) {
        free_list(list);
        return problem;
    }
    free_list(*(char ***)field);
    *(char ***)field = list;
    cfg->service.admin_count = count;
    return NULL;
}

/* Parses one value into its field.  Returns NULL on success or a static
 * description of what is wrong. */
static const char *store_value(struct config *cfg, const struct key_spec *k,
                               const char *value)
{
    void *field = (char *)cfg + k->offset;

    switch (k->type) {
    case KEY_STRING:
        if (!value[0])
            return "must not be empty";
        return set_copy(field, value);
    case KEY_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < k->min || v > k->max)
            return "must be a whole number in range";
        *(int *)field = (int)v;
        return NULL;
    }
    case KEY_LOG_LEVEL:
        if (log_level_parse(value, (enum log_level *)field) < 0)
            return "must be one of error, warn, info, debug";
        return NULL;
    case KEY_DURABILITY:
        if (strcmp(value, "journal") == 0)
            *(enum config_durability *)field = CONFIG_DURABILITY_JOURNAL;
        else if (strcmp(value, "async") == 0)
            *(enum config_durability *)field = CONFIG_DURABILITY_ASYNC;
        else if (strcmp(value, "database") == 0)
            *(enum config_durability *)field = CONFIG_DURABILITY_DATABASE;
        else
            return "must be journal, async or database";
        return NULL;
    case KEY_HA_MODE:
        if (strcmp(value, "standalone") == 0)
            *(enum config_ha_mode *)field = CONFIG_HA_STANDALONE;
        else if (strcmp(value, "active-standby") == 0)
            *(enum config_ha_mode *)field = CONFIG_HA_ACTIVE_STANDBY;
        else
            return "must be standalone or active-standby";
        return NULL;
    case KEY_DOMAIN: {
        struct jid j;
        if (jid_parse(value, &j) < 0 || jid_has_local(&j) ||
            jid_has_resource(&j))
            return "must be a domain name such as support.example.org";
        return set_copy(field, j.domain);
    }
    case KEY_IP: {
        unsigned char addr[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, value, addr) != 1 &&
            inet_pton(AF_INET6, value, addr) != 1)
            return "must be an IP address (mucdesk does no DNS lookups)";
        return set_copy(field, value);
    }
    case KEY_LISTEN:
    case KEY_URL: {
        struct sockaddr_storage sa;
        socklen_t salen;
        if (k->type == KEY_LISTEN && netaddr_parse(value, &sa, &salen) < 0)
            return "must be ADDRESS:PORT with an IP address, such as "
                   "127.0.0.1:9100 or [::1]:9100";
        if (k->type == KEY_URL && strncmp(value, "http://", 7) != 0 &&
            strncmp(value, "https://", 8) != 0)
            return "must be a URL starting with http:// or https://";
        return set_copy(field, value);
    }
    case KEY_JID_LIST:
        return store_jid_list(cfg, field, value);
    }
    return "unsupported key type";
}

static const struct key_spec *find_key(const char *section, const char *key,
                                       size_t *index)
{
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        if (strcmp(schema[i].section, section) == 0 &&
            strcmp(schema[i].key, key) == 0) {
            *index = i;
            return &schema[i];
        }
    }
    return NULL;
}

static bool section_known(const char *section)
{
    for (size_t i = 0; i < SCHEMA_SIZE; i++)
        if (strcmp(schema[i].section, section) == 0)
            return true;
    return false;
}

static int on_key(void *user, const char *section, const char *name,
                  const char *value)
{
    struct parse_state *st = user;
    size_t i;

    if (st->long_value)
        value = st->long_value;
    if (!section[0]) {
        set_error(st, st->line, "", name,
                  "key outside any section (add a [section] header above it)");
        return 0;
    }
    const struct key_spec *k = find_key(section, name, &i);
    if (!k) {
        if (section_known(section))
            set_error(st, st->line, section, name, "unknown key");
        else
            set_error(st, st->line, section, name, "unknown section [%s]",
                      section);
        return 0;
    }
    if (st->seen_line[i]) {
        set_error(st, st->line, section, name, "given twice (first on line %d)",
                  st->seen_line[i]);
        return 0;
    }
    st->seen_line[i] = st->line;
    const char *problem = store_value(st->cfg, k, value);
    if (problem) {
        if (k->type == KEY_INT)
            set_error(st, st->line, section, name,
                      "'%s' must be a whole number from %ld to %ld", value,
                      k->min, k->max);
        else if (strlen(value) > 80) /* a long list: its start is enough */
            set_error(st, st->line, section, name, "'%.*s...' %s",
                      utf8_prec(value, 80), value, problem);
        else
            set_error(st, st->line, section, name, "'%s' %s", value, problem);
        return 0;
    }
    return 1;
}

/* A `key = value` line too long for inih's buffer, as inih gets it: the key
 * and "=", the value (trimmed as inih trims one) kept in st->long_value for
 * on_key().  Anything else that long (a comment, a broken line) goes on
 * shortened: a comment stays a comment, the rest is the syntax error it
 * was, on its own line. */
static void shorten_long_line(struct parse_state *st, char *str, int num)
{
    char *p = st->text + strspn(st->text, " \t");
    size_t key_len = strcspn(p, "=:");
    if (*p == ';' || *p == '#') {
        snprintf(str, (size_t)num, ";\n");
        return;
    }
    if (!p[key_len] || key_len + 3 > (size_t)num) {
        snprintf(str, (size_t)num, "%.*s\n", utf8_prec(p, num - 2), p);
        return;
    }
    char *value = p + key_len + 1;
    value += strspn(value, " \t");
    size_t n = strlen(value);
    while (n && strchr(" \t\r\n", value[n - 1]))
        n--;
    value[n] = '\0';
    st->long_value = value;
    /* bytes: cut at the ASCII '=' */
    snprintf(str, (size_t)num, "%.*s=\n", (int)key_len, p);
}

/* The reader inih reads the file through, one line per call (which is how
 * it counts lines).
 *
 * Debian's libinih is built with a 200-byte line buffer (INI_MAX_LINE at
 * its build time: the ini_max_line variable its header declares changes
 * nothing), and split longer lines, reporting the rest as a syntax error on
 * the wrong line: an `admins` list of a dozen JIDs stopped start-up.  So the
 * reader reads whole lines itself (getline), and hands inih one that does
 * not fit shortened (shorten_long_line).
 *
 * inih does not pass line numbers to the handler either; counting here
 * tells the handler exactly which line it is looking at. */
static char *counting_reader(char *str, int num, void *user)
{
    struct parse_state *st = user;
    st->long_value = NULL;
    ssize_t got = getline(&st->text, &st->text_cap, st->file);
    if (got < 0)
        return NULL;
    st->line++;
    if (memchr(st->text, '\0', (size_t)got)) {
        if (!st->failed)
            utf8_snprintf(st->err->text, sizeof st->err->text,
                          "%s:%d: a NUL byte in the line", st->path, st->line);
        st->failed = true;
        snprintf(str, (size_t)num, "\n");
    } else if (got < num) {
        memcpy(str, st->text, (size_t)got + 1);
    } else {
        shorten_long_line(st, str, num);
    }
    char *line = str;

    const char *p = st->text;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        size_t n = end ? (size_t)(end - p - 1) : 0;
        if (n >= sizeof st->current_section)
            n = sizeof st->current_section - 1;
        memcpy(st->current_section, p + 1, n);
        st->current_section[n] = '\0';
        for (size_t i = 0; i < SCHEMA_SIZE; i++)
            if (strcmp(schema[i].section, st->current_section) == 0 &&
                !st->section_line[i])
                st->section_line[i] = st->line;
    }
    return line;
}

static void configure_inih(void)
{
    /* Debian's libinih exposes its options as variables.  We want Python 3
     * configparser behaviour without surprises: no continuation lines (an
     * indented key would silently become part of the previous value), no
     * inline comments (a secret may contain ';').  (Its ini_use_stack and
     * ini_max_line change nothing: long lines are counting_reader's job.) */
    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
}

int config_load(const char *path, struct config *cfg, struct config_error *err)
{
    struct parse_state st;

    memset(cfg, 0, sizeof *cfg);
    memset(&st, 0, sizeof st);
    memset(err, 0, sizeof *err);
    st.cfg = cfg;
    st.err = err;
    st.path = path;

    cfg->path = strdup(path);
    st.file = fopen(path, "r");
    if (!st.file) {
        utf8_snprintf(err->text, sizeof err->text, "%s:0: cannot open: %s",
                      path, strerror(errno));
        config_free(cfg);
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(st.file), &sb) == 0)
        cfg->file_mode = (unsigned int)(sb.st_mode & 07777);
    configure_inih();
    int rc = ini_parse_stream(counting_reader, &st, on_key, &st);
    fclose(st.file);
    free(st.text);
    if (!st.failed && rc > 0)
        utf8_snprintf(err->text, sizeof err->text,
                      "%s:%d: syntax error: expected '[section]' or "
                      "'key = value'",
                      path, rc);
    else if (!st.failed && rc < 0)
        utf8_snprintf(err->text, sizeof err->text, "%s:0: cannot read the file",
                      path);
    if (st.failed || rc != 0) {
        config_free(cfg);
        return -1;
    }

    /* Defaults and required keys.  A missing key is reported at its
     * section's header, or at the end of the file if the section is absent. */
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        const struct key_spec *k = &schema[i];
        if (st.seen_line[i])
            continue;
        if (k->required) {
            if (st.section_line[i])
                set_error(&st, st.section_line[i], k->section, k->key,
                          "required key is missing");
            else
                set_error(&st, st.line, k->section, k->key,
                          "required key is missing (no [%s] section)",
                          k->section);
            break;
        }
        if (k->default_value) {
            const char *problem = store_value(cfg, k, k->default_value);
            if (problem) {
                set_error(&st, 0, k->section, k->key, "bad default: %s",
                          problem);
                break;
            }
        }
    }
    size_t secret_index;
    if (!st.failed && find_key("component", "secret", &secret_index) &&
        strcmp(cfg->component.secret, CONFIG_PLACEHOLDER_SECRET) == 0)
        set_error(&st, st.seen_line[secret_index], "component", "secret",
                  "'%s' is the example's placeholder: set the secret this "
                  "component has in the XMPP server (Prosody: "
                  "component_secret, ejabberd: password)",
                  CONFIG_PLACEHOLDER_SECRET);
    if (st.failed) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        void *field = (char *)cfg + schema[i].offset;
        switch (schema[i].type) {
        case KEY_STRING:
        case KEY_DOMAIN:
        case KEY_IP:
        case KEY_LISTEN:
        case KEY_URL:
            free(*(char **)field);
            *(char **)field = NULL;
            break;
        case KEY_JID_LIST:
            free_list(*(char ***)field);
            *(char ***)field = NULL;
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < cfg->retired_count; i++)
        free(cfg->retired[i]);
    free(cfg->retired);
    cfg->retired = NULL;
    cfg->retired_count = 0;
    free(cfg->path);
    cfg->path = NULL;
}

/* ---- reloading (SIGHUP) ----------------------------------------------------- */

/* What the running daemon reads afresh each time it uses it.  [desk]
 * plugins are loaded once; [http], [component], [database], [service],
 * [muc], [retention] and [widget] are wired into modules at start. */
static bool reloadable(const struct key_spec *k)
{
    if (strcmp(k->section, "desk") == 0)
        return strcmp(k->key, "plugins") != 0;
    if (strcmp(k->section, "mail") == 0)
        return true;
    return strcmp(k->section, "log") == 0 && strcmp(k->key, "level") == 0;
}

static bool same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_value(const struct key_spec *k, const void *a, const void *b)
{
    switch (k->type) {
    case KEY_INT:
        return *(const int *)a == *(const int *)b;
    case KEY_LOG_LEVEL:
        return *(const enum log_level *)a == *(const enum log_level *)b;
    case KEY_DURABILITY:
        return *(const enum config_durability *)a ==
               *(const enum config_durability *)b;
    case KEY_HA_MODE:
        return *(const enum config_ha_mode *)a == *(const enum config_ha_mode *)b;
    case KEY_JID_LIST: {
        char *const *x = *(char **const *)a, *const *y = *(char **const *)b;
        for (; x && y && *x && *y; x++, y++)
            if (strcmp(*x, *y) != 0)
                return false;
        return (!x || !*x) && (!y || !*y);
    }
    case KEY_STRING:
    case KEY_DOMAIN:
    case KEY_IP:
    case KEY_LISTEN:
    case KEY_URL:
        return same_string(*(char *const *)a, *(char *const *)b);
    }
    return false; /* not reached: every type is named above (-Wswitch) */
}

int config_reload(struct config *live, struct config *fresh,
                  config_change_fn report, void *ud)
{
    int taken = 0;
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        const struct key_spec *k = &schema[i];
        void *lf = (char *)live + k->offset, *ff = (char *)fresh + k->offset;
        if (same_value(k, lf, ff))
            continue;
        bool applied = reloadable(k);
        if (applied && k->type == KEY_STRING) {
            char **more = realloc(live->retired, (live->retired_count + 1) *
                                                     sizeof *more);
            if (!more) {
                applied = false; /* no memory to keep the old text alive */
            } else {
                live->retired = more;
                if (*(char **)lf)
                    live->retired[live->retired_count++] = *(char **)lf;
                *(char **)lf = *(char **)ff;
                *(char **)ff = NULL;
            }
        } else if (applied && k->type == KEY_INT) {
            *(int *)lf = *(int *)ff;
        } else if (applied && k->type == KEY_LOG_LEVEL) {
            *(enum log_level *)lf = *(enum log_level *)ff;
        } else {
            applied = false; /* no other type is reloadable */
        }
        if (applied)
            taken++;
        if (report)
            report(ud, k->section, k->key, applied);
    }
    return taken;
}

bool config_open_to_others(const struct config *cfg)
{
    return (cfg->file_mode & 007) != 0;
}

bool config_is_admin(const struct config *cfg, const char *bare_jid)
{
    if (!cfg->service.admins)
        return false;
    for (char **p = cfg->service.admins; *p; p++)
        if (strcmp(*p, bare_jid) == 0)
            return true;
    return false;
}
