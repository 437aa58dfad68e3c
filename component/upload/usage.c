/* A ticket's files on disk (upload_impl.h): their paths, the bytes they
 * take (u->tickets, read from the directory once), and deleting one.
 * Below upload.c, sweep.c, scan.c and made.c, which all use it. */
#include "build-config.h"

#include "upload/upload_impl.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int upload_ticket_dir(const struct upload *u, int64_t ticket, char *out,
                      size_t size)
{
    int n = snprintf(out, size, "%s/%" PRId64, u->dir, ticket);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int upload_file_path(const struct upload *u, int64_t ticket, const char *token,
                     const char *suffix, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%" PRId64 "/%s%s", u->dir, ticket, token,
                     suffix);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Bytes the ticket's stored files take: read from its directory the first
 * time it is needed, then kept up to date. */
struct upload_ticket *upload_ticket_use(struct upload *u, int64_t ticket)
{
    struct upload_ticket *t = NULL;
    HASH_FIND(hh, u->tickets, &ticket, sizeof ticket, t);
    if (t)
        return t;
    if (!(t = calloc(1, sizeof *t)))
        return NULL;
    t->ticket = ticket;
    char path[UPLOAD_PATH_MAX];
    DIR *d = upload_ticket_dir(u, ticket, path, sizeof path) == 0 ? opendir(path)
                                                           : NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".meta"))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
            t->stored += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    HASH_ADD(hh, u->tickets, ticket, sizeof t->ticket, t);
    return t;
}

void upload_forget_ticket_use(struct upload *u, int64_t ticket)
{
    struct upload_ticket *t = NULL;
    HASH_FIND(hh, u->tickets, &ticket, sizeof ticket, t);
    if (t && t->reserved == 0) {
        HASH_DEL(u->tickets, t);
        free(t);
    }
}

void upload_delete(struct upload *u, int64_t ticket, const char *token)
{
    static const char *const suffixes[] = {"", ".held", ".meta", ".part"};
    char path[UPLOAD_PATH_MAX];
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
        if (upload_file_path(u, ticket, token, suffixes[i], path,
                             sizeof path) == 0)
            unlink(path);
    upload_forget_ticket_use(u, ticket);
}

void upload_tickets_free(struct upload *u)
{
    struct upload_ticket *t, *tmp;
    HASH_ITER(hh, u->tickets, t, tmp) {
        HASH_DEL(u->tickets, t);
        free(t);
    }
}
