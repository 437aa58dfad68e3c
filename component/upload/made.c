/* Files the desk makes (a transcript as PDF), kept as uploads are: the
 * upload service lends the desk a store (desk/files.h, struct
 * desk_file_store).  The desk writes TOKEN.part where reserve() says,
 * describe() hashes it and writes TOKEN.meta and the `file` event's text,
 * and once the event is in PostgreSQL finish() renames it to TOKEN: from
 * then on the GET route serves it and the sweep deletes it with its
 * event, as any upload. */
#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "desk/files.h"
#include "upload/upload_impl.h"

static int reserve(void *ud, int64_t ticket, char token[DESK_FILE_TOKEN_SIZE],
                   char path[DESK_FILE_PATH_SIZE])
{
    struct upload *u = ud;
    char dir[UPLOAD_PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/%" PRId64, u->dir, ticket);
    if (n < 0 || (size_t)n >= sizeof dir ||
        (mkdir(u->dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) < 0 && errno != EEXIST) ||
        upload_token_new(token) < 0 ||
        upload_file_path(u, ticket, token, ".part", path, DESK_FILE_PATH_SIZE) < 0)
        return -1;
    return 0;
}

/* SHA-256 (hex) and size of a file.  0 or -1. */
static int digest(const char *path, char sha[65], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 ? 0 : -1;
    unsigned char chunk[65536];
    ssize_t r = 0;
    *size = 0;
    while (rc == 0 && (r = read(fd, chunk, sizeof chunk)) > 0) {
        if (EVP_DigestUpdate(ctx, chunk, (size_t)r) != 1)
            rc = -1;
        *size += (uint64_t)r;
    }
    if (r < 0)
        rc = -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &len) != 1)
        rc = -1;
    EVP_MD_CTX_free(ctx);
    close(fd);
    for (unsigned i = 0; rc == 0 && i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", md[i]);
    return rc;
}

static int describe(void *ud, int64_t ticket, const char *token,
                    const char *name, const char *type, char **stanza_id,
                    char **body, char **payload, char **url)
{
    struct upload *u = ud;
    *stanza_id = *body = *payload = *url = NULL;
    char part[UPLOAD_PATH_MAX], meta[UPLOAD_PATH_MAX], sha[65];
    uint64_t size;
    if (upload_file_path(u, ticket, token, ".part", part, sizeof part) < 0 ||
        upload_file_path(u, ticket, token, ".meta", meta, sizeof meta) < 0 ||
        digest(part, sha, &size) < 0 || size == 0 ||
        upload_meta_write(meta, type, name) < 0)
        return -1;
    char id[UPLOAD_EVENT_ID_SIZE];
    upload_event_id(token, id);
    struct buf b = BUF_INIT, p = BUF_INIT, l = BUF_INIT;
    upload_url(&l, u->public_url, ticket, token, name);
    upload_event_text(&b, &p, name, type, size, sha, buf_cstr(&l));
    if (buf_failed(&b) || buf_failed(&p) || buf_failed(&l) ||
        !(*stanza_id = strdup(id))) {
        buf_free(&b);
        buf_free(&p);
        buf_free(&l);
        return -1;
    }
    *body = buf_steal(&b);
    *payload = buf_steal(&p);
    *url = buf_steal(&l);
    return 0;
}

static void finish(void *ud, int64_t ticket, const char *token, bool keep)
{
    struct upload *u = ud;
    char part[UPLOAD_PATH_MAX], final[UPLOAD_PATH_MAX], dir[UPLOAD_PATH_MAX];
    if (!keep || upload_file_path(u, ticket, token, ".part", part, sizeof part) < 0 ||
        upload_file_path(u, ticket, token, "", final, sizeof final) < 0 ||
        rename(part, final) < 0) {
        upload_delete(u, ticket, token);
        return;
    }
    snprintf(dir, sizeof dir, "%s/%" PRId64, u->dir, ticket);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    upload_forget_ticket_use(u, ticket); /* counted again when needed */
}

void upload_lend_store(struct upload *u)
{
    const struct desk_file_store store = {reserve, describe, finish, u};
    desk_files_set_store(u->desk, &store);
}
