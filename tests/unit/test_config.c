/* Unit tests: the configuration file parser and validator. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Lines up to 8191 characters are whole lines (an admins list of a dozen
 * JIDs used to be split at 200 and reported as a syntax error on a line
 * the file did not have: found by tests/fuzz); a longer one is named. */
static void test_long_lines(void **state)
{
    struct config cfg;
    struct config_error err;
    (void)state;
    char admins[2000] = "";
    for (int i = 0; i < 40; i++)
        snprintf(admins + strlen(admins), sizeof admins - strlen(admins),
                 "%sadmin%d@example.org", i ? ", " : "", i);
    char text[4000];
    snprintf(text, sizeof text,
             "[component]\njid = support.localhost\nsecret = x\n"
             "[database]\nconninfo = x\n[service]\nadmins = %s\n"
             "[log]\nlevel = warn\n", admins);
    assert_int_equal(load(text, &cfg, &err), 0);
    assert_int_equal(cfg.service.admin_count, 40);
    assert_string_equal(cfg.service.admins[39], "admin39@example.org");
    assert_int_equal(cfg.log.level, LOG_LEVEL_WARN);
    config_free(&cfg);

    char *big = malloc(10000);
    snprintf(big, 10000, "[component]\nsecret = ");
    size_t n = strlen(big);
    memset(big + n, 'x', 9000);
    snprintf(big + n + 9000, 10000 - n - 9000, "\njid = a.example\n");
    expect_error(big, "2: line longer than 8191 characters");
    free(big);
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
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
