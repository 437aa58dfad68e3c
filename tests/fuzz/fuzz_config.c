/* Fuzz target: the configuration file (core/config.c over libinih).
 *
 * The input is the file.  A file that loads must give a configuration the
 * daemon can use (required keys set, bare JIDs for admins, numbers in
 * their ranges); a file that does not must give one line naming the file
 * and a line that exists ("FILE:LINE: ..."), as mucdesk.conf(5) says. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/mucdesk-fuzz-config-%ld.conf", dir,
             (long)getpid());
    return 0;
}

static void check_loaded(const struct config *cfg)
{
    if (!cfg->component.jid || !*cfg->component.jid || strchr(cfg->component.jid, '@') ||
        strchr(cfg->component.jid, '/'))
        fuzz_fail("[component] jid '%s' is no domain", cfg->component.jid);
    if (!cfg->component.secret || !cfg->database.conninfo)
        fuzz_fail("a required key is missing yet the file loaded");
    if (!cfg->service.admins || cfg->service.admin_count == 0)
        fuzz_fail("no admins yet the file loaded");
    size_t n = 0;
    for (char **a = cfg->service.admins; *a; a++, n++)
        if (!strchr(*a, '@') || strchr(*a, '/'))
            fuzz_fail("admin '%s' is not a bare JID", *a);
    if (n != cfg->service.admin_count)
        fuzz_fail("admin_count %zu, %zu admins listed", cfg->service.admin_count, n);
    if (cfg->component.port < 1 || cfg->component.port > 65535 ||
        cfg->muc.max_body_bytes < 16 || cfg->muc.max_occupants < 2 ||
        cfg->desk.status_interval_s < 1 || cfg->desk.reload_interval_s < 1 ||
        cfg->desk.command_timeout_s < 10)
        fuzz_fail("a number out of its range was accepted");
    if (!cfg->service.state_dir || !cfg->service.plugin_dir || !cfg->desk.plugins)
        fuzz_fail("a default was not applied");
}

static void check_error(const char *err, const uint8_t *data, size_t size)
{
    size_t plen = strlen(path);
    if (strncmp(err, path, plen) != 0 || err[plen] != ':')
        fuzz_fail("the error does not start with the file name: %s", err);
    char *end;
    long line = strtol(err + plen + 1, &end, 10);
    if (end == err + plen + 1 || *end != ':')
        fuzz_fail("the error does not name a line: %s", err);
    long lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (size && data[size - 1] != '\n')
        lines++;
    if (line < 0 || line > lines)
        fuzz_fail("the error names line %ld of a file of %ld line(s): %s",
                  line, lines, err);
    if (strchr(err, '\n'))
        fuzz_fail("the error is not one line: %s", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_set_input(data, size);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fuzz_fail("cannot write %s", path);
    struct config cfg;
    struct config_error err;
    if (config_load(path, &cfg, &err) == 0) {
        check_loaded(&cfg);
        config_free(&cfg);
    } else {
        check_error(err.text, data, size);
    }
    unlink(path);
    fuzz_set_input(NULL, 0);
    return 0;
}
