/* Unit tests: the configuration file parser and validator. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"

static const char *const minimal =
    "[component]\n"
    "jid = support.localhost\n"
    "secret = changeme\n"
    "\n"
    "[database]\n"
    "conninfo = host=/run/postgresql dbname=mucdesk\n"
    "\n"
    "[service]\n"
    "admins = admin@localhost\n";

static char path[64];

static void write_file(const char *text)
{
    strcpy(path, "/tmp/mucdesk-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int load(const char *text, struct config *cfg, struct config_error *err)
{
    write_file(text);
    int rc = config_load(path, cfg, err);
    unlink(path);
    return rc;
}

/* Expects failure with a message "PATH:<suffix>". */
static void expect_error(const char *text, const char *suffix)
{
    struct config cfg;
    struct config_error err;
    assert_int_equal(load(text, &cfg, &err), -1);
    char expected[1200];
    snprintf(expected, sizeof expected, "%s:%s", path, suffix);
    assert_string_equal(err.text, expected);
}

static void test_minimal_file_gets_defaults(void **state)
{
    struct config cfg;
    struct config_error err;
    (void)state;
    assert_int_equal(load(minimal, &cfg, &err), 0);
    assert_string_equal(cfg.component.jid, "support.localhost");
    assert_string_equal(cfg.component.secret, "changeme");
    assert_string_equal(cfg.component.host, "127.0.0.1");
    assert_int_equal(cfg.component.port, 5347);
    assert_string_equal(cfg.database.conninfo,
                        "host=/run/postgresql dbname=mucdesk");
    assert_int_equal(cfg.service.admin_count, 1);
    assert_string_equal(cfg.service.admins[0], "admin@localhost");
    assert_null(cfg.service.admins[1]);
    assert_int_equal(cfg.log.level, LOG_LEVEL_INFO);
    assert_null(cfg.log.file);
    assert_int_equal(cfg.database.durability, CONFIG_DURABILITY_JOURNAL);
    assert_int_equal(cfg.muc.max_body_bytes, 65536);
    config_free(&cfg);
}

static void test_values_are_normalised(void **state)
{
    struct config cfg;
    struct config_error err;
    (void)state;
    const char *text =
        "[component]\njid = Support.LocalHost\nsecret = a;b#c\n"
        "host = ::1\nport = 15347\n"
        "[database]\nconninfo = dbname=x\ndurability = async\n"
        "[service]\nadmins = Admin@LocalHost, boss@example.org  ops@example.org\n"
        "[log]\nlevel = debug\n";
    assert_int_equal(load(text, &cfg, &err), 0);
    assert_string_equal(cfg.component.jid, "support.localhost");
    /* No inline comments: a secret may contain ; and #. */
    assert_string_equal(cfg.component.secret, "a;b#c");
    assert_string_equal(cfg.component.host, "::1");
    assert_int_equal(cfg.component.port, 15347);
    assert_int_equal(cfg.database.durability, CONFIG_DURABILITY_ASYNC);
    assert_int_equal(cfg.service.admin_count, 3);
    assert_true(config_is_admin(&cfg, "admin@localhost"));
    assert_true(config_is_admin(&cfg, "ops@example.org"));
    assert_false(config_is_admin(&cfg, "someone@localhost"));
    assert_int_equal(cfg.log.level, LOG_LEVEL_DEBUG);
    config_free(&cfg);
}

static void test_ha_section(void **state)
{
    struct config cfg;
    struct config_error err;
    char text[768];
    (void)state;
    assert_int_equal(load(minimal, &cfg, &err), 0);
    assert_int_equal(cfg.ha.mode, CONFIG_HA_STANDALONE);
    assert_int_equal(cfg.ha.lock_key, 1836409700);
    assert_int_equal(cfg.ha.lease_ms, 2000);
    assert_int_equal(cfg.ha.poll_ms, 250);
    config_free(&cfg);
    snprintf(text, sizeof text, "%s[ha]\nmode = active-standby\nlock_key = -7\n"
             "lease_timeout = 5000\npoll_interval = 100\n", minimal);
    assert_int_equal(load(text, &cfg, &err), 0);
    assert_int_equal(cfg.ha.mode, CONFIG_HA_ACTIVE_STANDBY);
    assert_int_equal(cfg.ha.lock_key, -7);
    assert_int_equal(cfg.ha.lease_ms, 5000);
    assert_int_equal(cfg.ha.poll_ms, 100);
    config_free(&cfg);
    snprintf(text, sizeof text, "%s[ha]\nmode = primary\n", minimal);
    expect_error(text, "11: [ha] mode: 'primary' must be standalone or "
                 "active-standby");
    snprintf(text, sizeof text, "%s[ha]\nlease_timeout = 100\n", minimal);
    expect_error(text, "11: [ha] lease_timeout: '100' must be a whole number "
                 "from 500 to 60000");
}

static void test_durability_database(void **state)
{
    struct config cfg;
    struct config_error err;
    (void)state;
    const char *text =
        "[component]\njid = support.localhost\nsecret = s\n"
        "[database]\nconninfo = dbname=x\ndurability = database\n"
        "[service]\nadmins = a@b\n";
    assert_int_equal(load(text, &cfg, &err), 0);
    assert_int_equal(cfg.database.durability, CONFIG_DURABILITY_DATABASE);
    config_free(&cfg);
    expect_error("[component]\njid = support.localhost\nsecret = s\n"
                 "[database]\nconninfo = dbname=x\ndurability = disk\n"
                 "[service]\nadmins = a@b\n",
                 "6: [database] durability: 'disk' must be journal, async or "
                 "database");
}

static void test_missing_key_names_section_line(void **state)
{
    (void)state;
    expect_error("[component]\njid = support.localhost\n"
                 "[database]\nconninfo = dbname=x\n"
                 "[service]\nadmins = a@b\n",
                 "1: [component] secret: required key is missing");
}

static void test_missing_section(void **state)
{
    (void)state;
    expect_error("[component]\njid = support.localhost\nsecret = x\n"
                 "[service]\nadmins = a@b\n",
                 "5: [database] conninfo: required key is missing (no "
                 "[database] section)");
}

static void test_unknown_key_is_an_error(void **state)
{
    char text[512];
    (void)state;
    snprintf(text, sizeof text, "%s[log]\nlevl = debug\n", minimal);
    expect_error(text, "11: [log] levl: unknown key");
}

static void test_unknown_section_is_an_error(void **state)
{
    char text[512];
    (void)state;
    snprintf(text, sizeof text, "%s[logging]\nlevel = debug\n", minimal);
    expect_error(text, "11: [logging] level: unknown section [logging]");
}

static void test_bad_values(void **state)
{
    char text[512];
    (void)state;
    snprintf(text, sizeof text, "%s[log]\nlevel = loud\n", minimal);
    expect_error(text,
                 "11: [log] level: 'loud' must be one of error, warn, info, debug");

    expect_error("[component]\njid = support.localhost\nsecret = x\nport = 70000\n",
                 "4: [component] port: '70000' must be a whole number from 1 "
                 "to 65535");
    expect_error("[component]\njid = user@support.localhost\n",
                 "2: [component] jid: 'user@support.localhost' must be a "
                 "domain name such as support.example.org");
    expect_error("[component]\nhost = localhost\n",
                 "2: [component] host: 'localhost' must be an IP address "
                 "(mucdesk does no DNS lookups)");
    expect_error("[service]\nadmins = admin@localhost/phone\n",
                 "2: [service] admins: 'admin@localhost/phone' must list bare "
                 "JIDs such as admin@example.org");
    expect_error("[component]\nsecret =\n",
                 "2: [component] secret: '' must not be empty");
}

static void test_duplicate_key(void **state)
{
    (void)state;
    expect_error("[component]\njid = a.example\n\njid = b.example\n",
                 "4: [component] jid: given twice (first on line 2)");
}

static void test_syntax_error_and_key_outside_section(void **state)
{
    (void)state;
    expect_error("[component]\njid = a.example\nthis line has no equals\n",
                 "3: syntax error: expected '[section]' or 'key = value'");
    expect_error("jid = a.example\n",
                 "1: [] jid: key outside any section (add a [section] header "
                 "above it)");
}

static void test_indented_lines_are_keys_not_continuations(void **state)
{
    struct config cfg;
    struct config_error err;
    (void)state;
    const char *text = "[component]\n  jid = support.localhost\n"
                       "  secret = s\n[database]\n  conninfo = dbname=x\n"
                       "[service]\n  admins = a@b\n";
    assert_int_equal(load(text, &cfg, &err), 0);
    assert_string_equal(cfg.component.secret, "s");
    config_free(&cfg);
}

/* Lines longer than inih's 200-byte buffer: a 2,000-character admins list
 * (and a long secret, a long comment) load whole, and an error after them
 * is reported on its own line. */
static void test_long_lines(void **state)
{
    struct config cfg;
    struct config_error err;
    (void)state;
    struct buf text = BUF_INIT, admins = BUF_INIT;
    for (int i = 0; admins.len < 2000; i++)
        buf_printf(&admins, "%sagent%03d@support-staff.example.org",
                   i ? ", " : "", i);
    buf_printf(&text, "[component]\njid = support.localhost\nsecret = ");
    for (int i = 0; i < 500; i++)
        buf_append_char(&text, (char)('a' + i % 26));
    buf_printf(&text, "\n; %0600d\n[database]\nconninfo = dbname=x\n"
                      "[service]\nadmins  =   %s   \n", 0, buf_cstr(&admins));
    assert_int_equal(load(buf_cstr(&text), &cfg, &err), 0);
    assert_int_equal(strlen(cfg.component.secret), 500);
    size_t n = 0;
    while (cfg.service.admins[n])
        n++;
    assert_true(n >= 50);
    assert_string_equal(cfg.service.admins[0], "agent000@support-staff.example.org");
    assert_true(config_is_admin(&cfg, "agent049@support-staff.example.org"));
    config_free(&cfg);

    /* A bad value on the long line, and a bad line after it: each is named
     * by its own line number. */
    buf_reset(&text);
    buf_printf(&text, "[component]\njid = a.example\nsecret = s\n[database]\n"
                      "conninfo = x\n[service]\nadmins = %s, not a jid\n",
               buf_cstr(&admins));
    struct config c2;
    assert_int_equal(load(buf_cstr(&text), &c2, &err), -1);
    assert_non_null(strstr(err.text, ":7: [service] admins: '"));
    assert_non_null(strstr(err.text, "...' must list bare JIDs"));
    buf_reset(&text);
    buf_printf(&text, "[component]\njid = a.example\nsecret = %s\nno equals here\n",
               buf_cstr(&admins));
    expect_error(buf_cstr(&text),
                 "4: syntax error: expected '[section]' or 'key = value'");
    /* A long line without a key at all. */
    buf_reset(&text);
    buf_printf(&text, "[component]\n%s\n", buf_cstr(&admins));
    expect_error(buf_cstr(&text),
                 "2: syntax error: expected '[section]' or 'key = value'");
    buf_free(&text);
    buf_free(&admins);

    /* A NUL byte hid the rest of its line from the INI reader. */
    static const char nul[] = "[component]\njid = a.example\nsecret = s\0ecret\n";
    strcpy(path, "/tmp/mucdesk-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, nul, sizeof nul - 1), (ssize_t)(sizeof nul - 1));
    close(fd);
    struct config c3;
    assert_int_equal(config_load(path, &c3, &err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:3: a NUL byte in the line", path);
    assert_string_equal(err.text, want);
    unlink(path);
}

static void test_missing_file(void **state)
{
    struct config cfg;
    struct config_error err;
    (void)state;
    assert_int_equal(config_load("/nonexistent/mucdesk.conf", &cfg, &err), -1);
    assert_string_equal(err.text, "/nonexistent/mucdesk.conf:0: cannot open: "
                                  "No such file or directory");
}

/* The file holds the component secret: mucdesk keeps its mode so that the
 * daemon can warn when others may read it (0640 root:_mucdesk in the
 * Debian package is fine; 0644 is not). */
static void test_file_mode_is_recorded(void **state)
{
    static const struct {
        mode_t mode;
        bool open;
    } cases[] = {{0600, false}, {0640, false}, {0660, false}, {0644, true},
                 {0604, true},  {0602, true},  {0601, true}, {0777, true}};
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config cfg;
        struct config_error err;
        write_file(minimal);
        assert_int_equal(chmod(path, cases[i].mode), 0);
        int rc = config_load(path, &cfg, &err);
        unlink(path);
        assert_int_equal(rc, 0);
        assert_int_equal(cfg.file_mode, (unsigned int)cases[i].mode);
        assert_int_equal(config_open_to_others(&cfg), cases[i].open);
        config_free(&cfg);
    }
}

/* The examples mucdesk ships (the package's conffile, the Prosody and
 * ejabberd snippets) share one placeholder secret; a file that still has
 * it must not start a daemon anyone could impersonate. */
static void test_placeholder_secret_is_refused(void **state)
{
    (void)state;
    expect_error("[component]\njid = support.example.org\n"
                 "secret = change this secret\n"
                 "[database]\nconninfo = dbname=x\n"
                 "[service]\nadmins = a@b\n",
                 "3: [component] secret: 'change this secret' is the "
                 "example's placeholder: set the secret this component has "
                 "in the XMPP server (Prosody: component_secret, ejabberd: "
                 "password)");
    /* Only the exact placeholder: a real secret that contains it is fine. */
    struct config cfg;
    struct config_error err;
    assert_int_equal(load("[component]\njid = a.example\n"
                          "secret = change this secret!\n"
                          "[database]\nconninfo = dbname=x\n"
                          "[service]\nadmins = a@b\n",
                          &cfg, &err),
                     0);
    config_free(&cfg);
}

static void test_http_keys(void **state)
{
    struct config cfg;
    struct config_error err;
    char text[1024];
    (void)state;
    assert_int_equal(load(minimal, &cfg, &err), 0);
    assert_null(cfg.http.listen); /* off unless set */
    assert_null(cfg.http.public_url);
    assert_int_equal(cfg.http.max_connections, 64);
    assert_int_equal(cfg.http.max_connections_per_ip, 16);
    assert_int_equal(cfg.http.timeout_s, 10);
    config_free(&cfg);
    snprintf(text, sizeof text, "%s[http]\nlisten = [::1]:9100\n"
             "public_url = https://support.example.org/files\n", minimal);
    assert_int_equal(load(text, &cfg, &err), 0);
    assert_string_equal(cfg.http.listen, "[::1]:9100");
    assert_string_equal(cfg.http.public_url, "https://support.example.org/files");
    config_free(&cfg);
    static const char *const bad[] = {"localhost:9100", "127.0.0.1", "1.2.3.4:0",
                                      "1.2.3.4:65536", "[::1]9100", ":9100",
                                      "1.2.3.4:+80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s[http]\nlisten = %s\n", minimal, bad[i]);
        char suffix[256];
        snprintf(suffix, sizeof suffix,
                 "11: [http] listen: '%s' must be ADDRESS:PORT with an IP "
                 "address, such as 127.0.0.1:9100 or [::1]:9100", bad[i]);
        expect_error(text, suffix);
    }
    snprintf(text, sizeof text, "%s[http]\npublic_url = ftp://x\n", minimal);
    expect_error(text, "11: [http] public_url: 'ftp://x' must be a URL "
                       "starting with http:// or https://");
}

struct changes {
    char lines[16][80];
    int n;
};

static void record(void *ud, const char *section, const char *key, bool applied)
{
    struct changes *ch = ud;
    snprintf(ch->lines[ch->n++], sizeof ch->lines[0], "%s %s.%s",
             applied ? "applied" : "restart", section, key);
}

static void test_reload_takes_what_may_change(void **state)
{
    struct config live, fresh;
    struct config_error err;
    char text[1024];
    (void)state;
    snprintf(text, sizeof text, "%s[desk]\ndecline_skip = 5\n[mail]\n"
             "sendmail = /bin/true\n", minimal);
    assert_int_equal(load(text, &live, &err), 0);
    const char *old_sendmail = live.mail.sendmail;
    /* The same file: nothing changes. */
    assert_int_equal(load(text, &fresh, &err), 0);
    struct changes ch = {.n = 0};
    assert_int_equal(config_reload(&live, &fresh, record, &ch), 0);
    assert_int_equal(ch.n, 0);
    config_free(&fresh);

    snprintf(text, sizeof text,
             "[component]\njid = support.localhost\nsecret = changeme\n"
             "port = 5348\n[database]\nconninfo = host=/run/postgresql "
             "dbname=mucdesk\n[service]\nadmins = admin@localhost, b@x\n"
             "[desk]\ndecline_skip = 7\nplugins = none\n"
             "[mail]\nsendmail = /bin/false\nfrom = desk@x\n"
             "[log]\nlevel = debug\n[http]\nlisten = 127.0.0.1:9100\n");
    assert_int_equal(load(text, &fresh, &err), 0);
    assert_int_equal(config_reload(&live, &fresh, record, &ch), 4);
    /* In schema order, one line per key that differs. */
    const char *expected[] = {
        "restart component.port", "restart service.admins",
        "applied desk.decline_skip", "restart desk.plugins",
        "applied mail.from", "applied mail.sendmail", "applied log.level",
        "restart http.listen"};
    assert_int_equal(ch.n, 8);
    for (int i = 0; i < ch.n; i++)
        assert_string_equal(ch.lines[i], expected[i]);
    assert_int_equal(live.desk.decline_skip_s, 7);
    assert_string_equal(live.mail.sendmail, "/bin/false");
    assert_string_equal(live.mail.from, "desk@x");
    assert_int_equal(live.log.level, LOG_LEVEL_DEBUG);
    /* What needs a restart stays as it runs. */
    assert_int_equal(live.component.port, 5347);
    assert_string_equal(live.desk.plugins, "ratings");
    assert_null(live.http.listen);
    assert_int_equal(live.service.admin_count, 1);
    /* The replaced text is still readable by whoever borrowed it. */
    assert_string_equal(old_sendmail, "/bin/true");
    config_free(&fresh);
    config_free(&live);
}

/* Every key type compares on reload: [ha] mode (an enum) was compared as a
 * string pointer and crashed the daemon on any SIGHUP with [ha] set. */
static void test_reload_compares_every_key_type(void **state)
{
    struct config live, fresh;
    struct config_error err;
    char text[1024];
    (void)state;
    snprintf(text, sizeof text, "%s[ha]\nmode = active-standby\n[database]\n"
             "durability = database\n", minimal);
    assert_int_equal(load(text, &live, &err), 0);
    assert_int_equal(load(text, &fresh, &err), 0);
    struct changes ch = {.n = 0};
    assert_int_equal(config_reload(&live, &fresh, record, &ch), 0);
    assert_int_equal(ch.n, 0);
    config_free(&fresh);
    snprintf(text, sizeof text, "%s[ha]\nmode = standalone\n", minimal);
    assert_int_equal(load(text, &fresh, &err), 0);
    assert_int_equal(config_reload(&live, &fresh, record, &ch), 0);
    assert_int_equal(ch.n, 2);
    assert_string_equal(ch.lines[0], "restart database.durability");
    assert_string_equal(ch.lines[1], "restart ha.mode");
    assert_int_equal(live.ha.mode, CONFIG_HA_ACTIVE_STANDBY);
    config_free(&fresh);
    config_free(&live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_file_gets_defaults),
        cmocka_unit_test(test_values_are_normalised),
        cmocka_unit_test(test_missing_key_names_section_line),
        cmocka_unit_test(test_missing_section),
        cmocka_unit_test(test_unknown_key_is_an_error),
        cmocka_unit_test(test_unknown_section_is_an_error),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_syntax_error_and_key_outside_section),
        cmocka_unit_test(test_indented_lines_are_keys_not_continuations),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_ha_section),
        cmocka_unit_test(test_durability_database),
        cmocka_unit_test(test_file_mode_is_recorded),
        cmocka_unit_test(test_placeholder_secret_is_refused),
        cmocka_unit_test(test_http_keys),
        cmocka_unit_test(test_reload_takes_what_may_change),
        cmocka_unit_test(test_reload_compares_every_key_type),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
