/* The configuration file (mucdesk.conf, INI style; see mucdesk.conf(5)).
 *
 * Every key the daemon understands is described once, in the schema table in
 * config.c: its type, range, default and whether it is required.  Anything
 * else in the file is an error, so a typo never goes unnoticed.  Errors are
 * one line: "FILE:LINE: [section] key: what is wrong". */
#ifndef MUCDESK_CORE_CONFIG_H
#define MUCDESK_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/log.h"

enum config_durability {
    CONFIG_DURABILITY_JOURNAL,  /* shown once fsynced to the local journal */
    CONFIG_DURABILITY_ASYNC,    /* shown at once */
    CONFIG_DURABILITY_DATABASE, /* shown once committed to PostgreSQL */
};

enum config_ha_mode {
    CONFIG_HA_STANDALONE,     /* this process serves, alone */
    CONFIG_HA_ACTIVE_STANDBY, /* the holder of a database lock serves */
};

struct config {
    char *path;
    /* The file's permission bits when it was read (st_mode & 07777): it
     * holds secrets, so main() warns when others may open it. */
    unsigned int file_mode;

    struct {
        char *jid;    /* the component's domain, prepared */
        char *secret;
        char *host;   /* an IP literal: no DNS on the event loop */
        int port;
        int reconnect_max_s;
    } component;

    struct {
        char *conninfo;
        int connect_timeout_s;
        int statement_timeout_ms;
        enum config_durability durability;
        int queue_memory_mb;     /* archive records held in memory */
        int journal_segment_mb;  /* size of one journal segment file */
        int query_timeout_ms;    /* archive reads give up after this */
    } database;

    struct {
        enum config_ha_mode mode;
        int lock_key;        /* pg_try_advisory_lock(lock_key) */
        int lease_ms;        /* the lock session unanswered this long: fence */
        int poll_ms;         /* retry pace while the database is out of reach */
    } ha;

    struct {
        char *name;          /* disco identity name */
        char **admins;       /* bare JIDs, prepared, NULL-terminated */
        size_t admin_count;
        char *state_dir;     /* journal and other local state */
        char *plugin_dir;    /* routing strategies and other plugins */
        char *mucdeskctl;    /* run to draw a transcript as PDF */
    } service;

    struct {
        int customer_grace_s;   /* a dropped customer may come back */
        int decline_skip_s;     /* a decliner is not offered the chat again */
        int status_interval_s;  /* queue status refreshed at least this often */
        int reannounce_s;       /* a chat still waiting is announced again */
        int reload_interval_s;  /* queues/agents checked for changes */
        int closed_room_hours;  /* a closed chat's room is kept (MAM, rating) */
        int command_timeout_s;  /* ad-hoc command sessions expire */
        int new_tickets_per_minute; /* service-wide; 0: no limit */
        /* Abuse limits (admin guide, "Abuse and limits"); 0: none. */
        int unjoined_timeout_s;     /* a chat nobody entered ends */
        int reannounce_max;         /* re-announcements of a waiting chat */
        int jid_tickets_per_hour;   /* new tickets per bare JID */
        int domain_tickets_per_minute; /* unentered chats, messages left */
        int domain_unjoined_max;    /* unentered chats per domain at once */
        int jid_ratings_per_hour;
        int domain_ratings_per_minute;
        int command_sessions_per_jid;    /* open ad-hoc sessions */
        int command_sessions_per_domain;
        int command_sessions_max;
        char *plugins;          /* feature plugins to load ("none": none) */
    } desk;

    struct {
        char *from;             /* sender address; NULL: no mail at all */
        char *sendmail;         /* a program with sendmail's -t interface */
        int timeout_s;          /* a sendmail run is killed after this */
        int retry_s;            /* first retry after this, then doubling */
        int max_attempts;       /* then the job is given up (logged) */
        char *in_queue;         /* mail-in: new tickets go here; NULL: replies only */
    } mail;

    struct {
        char *script_url;       /* where sites load mucdesk-widget.js */
        char *websocket_url;    /* the XMPP server's WebSocket endpoint */
        char *anonymous_domain; /* the anonymous host customers log in to */
    } widget;

    struct {
        int closed_ticket_days;  /* events of closed tickets; 0: forever */
        int personal_data_days;  /* customers' personal data; 0: forever */
        int batch_size;          /* rows per background batch */
        int interval_s;          /* between retention runs */
    } retention;

    struct {
        enum log_level level;
        char *file;          /* NULL: stderr */
    } log;

    struct {
        char *listen;            /* "ADDRESS:PORT"; NULL: no listener */
        char *public_url;        /* how clients reach it (a proxy's URL) */
        int max_connections;     /* open at once, all clients */
        int max_connections_per_ip;
        int timeout_s;           /* to send a request; idle limit */
    } http;

    struct {
        char *dir;               /* NULL: [service] state_dir/uploads */
        int max_file_size;       /* bytes, per file */
        int max_ticket_bytes;    /* bytes, all files of one ticket */
        char *types;             /* allowed content types, comma-separated */
        int slot_timeout_s;      /* a slot's PUT must begin within this */
        int put_timeout_s;       /* the PUT's body must arrive within this */
        int max_uploads;         /* PUTs at once */
        int max_bytes_in_flight; /* their declared sizes, summed */
        int sweep_interval_s;    /* files of deleted transcripts go */
        char *scan_command;      /* NULL: none; else run on each file */
        int scan_timeout_s;
    } upload;

    /* Webhook delivery (webhook/sender.c; endpoints live in the database). */
    struct {
        int enabled;             /* 0: no sender (another host sends) */
        int timeout_s;           /* per POST, connecting included */
        int retry_min_s;         /* first wait after a failure */
        int retry_max_s;         /* the longest wait between attempts */
        int max_attempts;        /* refusals; then the event is a dead letter */
        int keep_delivered_days; /* delivered events kept for replay */
    } webhooks;

    struct {
        int max_body_bytes;      /* per message body */
        int max_stanza_bytes;    /* whole stanza, after which it is refused */
        int max_rooms;
        int max_occupants;       /* per room */
        int message_rate;        /* groupchat messages per occupant per 10 s */
        int history_max;         /* messages kept in memory per room */
        int history_bytes;       /* bytes of history kept per room */
        int archive_by_default;  /* 1: new plain rooms are archived */
        int mam_queries_per_jid;     /* archive queries in flight */
        int mam_queries_per_domain;
        int mam_queries_max;
    } muc;

    /* Strings replaced by config_reload(): kept until config_free(), since
     * modules borrow them. */
    char **retired;
    size_t retired_count;
};

/* A fixed buffer: reporting an error allocates nothing. */
struct config_error {
    char text[1024];
};

/* The component secret of the example configurations mucdesk ships (the
 * Debian package's /etc/mucdesk/mucdesk.conf, the Prosody and ejabberd
 * snippets).  A file that still has it is refused: the daemon must not run
 * with a secret anyone can read in the package. */
#define CONFIG_PLACEHOLDER_SECRET "change this secret"

/* Reads and validates `path`.  On success fills *out (free with config_free)
 * and returns 0.  On failure returns -1 and writes the one-line message. */
int config_load(const char *path, struct config *out, struct config_error *err);

void config_free(struct config *cfg);

/* SIGHUP: takes from `fresh` (a file just loaded) what may change while
 * the daemon runs ([log] level, every [desk] key but plugins, every [mail]
 * key) into `live`, and calls `report` for each key whose value differs:
 * applied true if it was taken, false if it needs a restart.  fresh is
 * still freed by the caller.  Returns the number of keys taken. */
typedef void (*config_change_fn)(void *ud, const char *section,
                                 const char *key, bool applied);
int config_reload(struct config *live, struct config *fresh,
                  config_change_fn report, void *ud);

/* True if users other than the file's owner and group may read, write or
 * run the file that was loaded (any of the bits 007 set). */
bool config_open_to_others(const struct config *cfg);

/* True if the bare JID (prepared text) is a configured admin. */
bool config_is_admin(const struct config *cfg, const char *bare_jid);

#endif
