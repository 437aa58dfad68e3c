/* mail-in's attachments, kept as chat files are (upload/stored.h): the
 * same directory, names, capability URL, `file` event and limits
 * ([upload] max_file_size, max_ticket_bytes, types, scan_command), so the
 * daemon serves them on its HTTP listener and its sweep deletes them with
 * their event (retention, purge-customer).
 *
 * The order makes the sweep's rule hold: the bytes go to TOKEN.part (the
 * sweep leaves .part files a day) and are fsynced, and scanned if a scan
 * command is set, before the transaction that adds the events; only after
 * its COMMIT is TOKEN.part renamed to TOKEN.  A failed transaction
 * deletes the parts (the MTA delivers again).  A crash between the COMMIT
 * and the rename leaves an event whose file answers 404: the rare cost of
 * never serving a file the database does not know. */
#include "build-config.h"

#include "ctl/mail_files.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/utf8.h"
#include "upload/stored.h"

extern char **environ;

#define PATH_SIZE 4096

/* Bytes the ticket's kept files take now. */
static uint64_t ticket_bytes(const char *tdir)
{
    uint64_t sum = 0;
    DIR *d = opendir(tdir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strchr(e->d_name, '.'))
            continue; /* .meta, .part: not the data itself */
        char p[PATH_SIZE];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s", tdir, e->d_name) < (int)sizeof p &&
            stat(p, &st) == 0)
            sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

/* A name usable in a header and a path: bad characters become '_', cut to
 * the limit on a character boundary, "attachment" if nothing is left. */
static void clean_name(const char *in, char *out, size_t size)
{
    utf8_snprintf(out, size < UPLOAD_NAME_MAX_BYTES + 1 ? size
                                                        : UPLOAD_NAME_MAX_BYTES + 1,
                  "%s", in);
    for (unsigned char *p = (unsigned char *)out; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\' || *p == '"')
            *p = '_';
    if (!upload_name_ok(out))
        snprintf(out, size, "attachment");
}

static int write_all(const char *path, const unsigned char *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    int rc = fsync(fd);
    return close(fd) < 0 || rc < 0 ? -1 : 0;
}

/* [upload] scan_command as the daemon runs it (upload/scan.c): through
 * /bin/sh -c with the file on standard input and its path as $1, within
 * scan_timeout.  Whether it exited 0. */
static bool scan_passes(const struct config *cfg, const char *path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, path, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"sh", "-c", cfg->upload.scan_command, "mucdesk-scan",
                    (char *)path, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return false;
    struct timespec step = {0, 20 * 1000 * 1000};
    long waited_ms = 0, limit_ms = (long)cfg->upload.scan_timeout_s * 1000;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return false;
        if (waited_ms >= limit_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return false;
        }
        nanosleep(&step, NULL);
        waited_ms += 20;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void not_kept(struct mail_file *f, const char *why)
{
    f->kept = false;
    snprintf(f->why, sizeof f->why, "%s", why);
}

/* One attachment to TOKEN.part (and TOKEN.meta), or why not. */
static void prepare_one(const struct config *cfg, const char *tdir,
                        const char *public_url, uint64_t *used,
                        const struct mailin_attachment *a, struct mail_file *f)
{
    char name[UPLOAD_NAME_MAX_BYTES + 1];
    clean_name(a->name, name, sizeof name);
    if (!upload_type_allowed(cfg->upload.types, a->type))
        return not_kept(f, "its type is not allowed ([upload] types)");
    if (a->size > (uint64_t)cfg->upload.max_file_size)
        return not_kept(f, "larger than [upload] max_file_size");
    if (*used + a->size > (uint64_t)cfg->upload.max_ticket_bytes)
        return not_kept(f, "the ticket's files would exceed [upload] "
                           "max_ticket_bytes");
    if (upload_token_new(f->token) < 0)
        return not_kept(f, "no randomness for its URL");
    int n1 = snprintf(f->part, sizeof f->part, "%s/%s.part", tdir, f->token);
    int n2 = snprintf(f->path, sizeof f->path, "%s/%s", tdir, f->token);
    int n3 = snprintf(f->meta, sizeof f->meta, "%s/%s.meta", tdir, f->token);
    if (n1 >= (int)sizeof f->part || n2 >= (int)sizeof f->path ||
        n3 >= (int)sizeof f->meta)
        return not_kept(f, "the upload directory's path is too long");
    if (write_all(f->part, a->data, a->size) < 0 ||
        upload_meta_write(f->meta, a->type, name) < 0) {
        unlink(f->part);
        unlink(f->meta);
        return not_kept(f, "it could not be written to the upload directory");
    }
    if (cfg->upload.scan_command && !scan_passes(cfg, f->part)) {
        unlink(f->part);
        unlink(f->meta);
        return not_kept(f, "it did not pass the scan ([upload] "
                           "scan_command)");
    }
    f->kept = true;
    *used += a->size;
    upload_event_id(f->token, f->event_id);
    struct buf url = BUF_INIT;
    upload_url(&url, public_url, f->ticket, f->token, name);
    upload_event_text(&f->body, &f->payload, name, a->type, a->size,
                      a->sha256, buf_cstr(&url));
    buf_free(&url);
}

int mail_files_prepare(const struct config *cfg, int64_t ticket,
                       const struct mailin_message *m, struct mail_files *out)
{
    memset(out, 0, sizeof *out);
    if (!m->attachment_count)
        return 0;
    out->files = calloc(m->attachment_count, sizeof *out->files);
    char *dir = upload_dir_of(cfg);
    char *public_url = cfg->http.public_url ? strdup(cfg->http.public_url)
                                            : NULL;
    if (!out->files || !dir || (cfg->http.public_url && !public_url)) {
        free(dir);
        free(public_url);
        free(out->files);
        out->files = NULL;
        return -1;
    }
    size_t plen = public_url ? strlen(public_url) : 0;
    while (plen && public_url[plen - 1] == '/')
        public_url[--plen] = '\0';
    out->count = m->attachment_count;
    char tdir[PATH_SIZE];
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    /* Without a URL to serve them from, nothing is written. */
    bool dir_ok = public_url && snprintf(tdir, sizeof tdir, "%s/%" PRId64, dir, ticket) <
                      (int)sizeof tdir &&
                  (mkdir(dir, 0700) == 0 || errno == EEXIST) &&
                  (mkdir(tdir, 0700) == 0 || errno == EEXIST);
    uint64_t used = dir_ok ? ticket_bytes(tdir) : 0;
    for (size_t i = 0; i < out->count; i++) {
        struct mail_file *f = &out->files[i];
        f->ticket = ticket;
        buf_init(&f->body);
        buf_init(&f->payload);
        if (!public_url)
            not_kept(f, "no [http] public_url to serve it from");
        else if (!dir_ok)
            not_kept(f, "the upload directory cannot be written");
        else
            prepare_one(cfg, tdir, public_url, &used, &m->attachments[i], f);
    }
    snprintf(out->ticket_dir, sizeof out->ticket_dir, "%s", tdir);
    free(dir);
    free(public_url);
    return 0;
}

void mail_files_commit(struct mail_files *mf)
{
    bool any = false;
    for (size_t i = 0; i < mf->count; i++) {
        struct mail_file *f = &mf->files[i];
        if (!f->kept)
            continue;
        if (rename(f->part, f->path) < 0)
            fprintf(stderr, "mucdeskctl: cannot rename %s: %s\n", f->part,
                    strerror(errno));
        any = true;
    }
    if (any) {
        int fd = open(mf->ticket_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
}

void mail_files_abort(struct mail_files *mf)
{
    for (size_t i = 0; i < mf->count; i++)
        if (mf->files[i].kept) {
            unlink(mf->files[i].part);
            unlink(mf->files[i].meta);
        }
}

void mail_files_free(struct mail_files *mf)
{
    for (size_t i = 0; i < mf->count; i++) {
        buf_free(&mf->files[i].body);
        buf_free(&mf->files[i].payload);
    }
    free(mf->files);
    memset(mf, 0, sizeof *mf);
}
