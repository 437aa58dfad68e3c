/* A stored file's layout and record (see stored.h). */
#include "build-config.h"

#include "upload/stored.h"

#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xmpp/xml.h"

#define NS_OOB "jabber:x:oob"
#define NS_DESK_HINT "urn:mucdesk:0"

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

char *upload_dir_of(const struct config *cfg)
{
    if (cfg->upload.dir)
        return strdup(cfg->upload.dir);
    char *dir;
    return asprintf(&dir, "%s/uploads", cfg->service.state_dir) < 0 ? NULL
                                                                     : dir;
}

int upload_token_new(char out[UPLOAD_TOKEN_SIZE])
{
    unsigned char rnd[UPLOAD_TOKEN_BYTES];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    hex(rnd, sizeof rnd, out);
    return 0;
}

void upload_event_id(const char *token, char out[UPLOAD_EVENT_ID_SIZE])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(token, strlen(token), d, &len, EVP_sha256(), NULL);
    memcpy(out, "file-", 5);
    hex(d, 16, out + 5);
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
void upload_url_encode(struct buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            buf_append_char(out, (char)*p);
        else
            buf_printf(out, "%%%02X", *p);
    }
}

void upload_url(struct buf *out, const char *public_url, int64_t ticket,
                const char *token, const char *name)
{
    buf_append_str(out, public_url);
    buf_printf(out, "/upload/%" PRId64 "/%s/", ticket, token);
    upload_url_encode(out, name);
}

int upload_meta_write(const char *path, const char *type, const char *name)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char text[UPLOAD_NAME_MAX_BYTES + UPLOAD_TYPE_MAX_BYTES + 4];
    int n = snprintf(text, sizeof text, "%s\n%s\n", type, name);
    int rc = n > 0 && (size_t)n < sizeof text &&
                     write(fd, text, (size_t)n) == n
                 ? 0
                 : -1;
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

bool upload_type_allowed(const char *list, const char *type)
{
    size_t n = strlen(type);
    for (const char *p = list; p && *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ')
            end++;
        if ((size_t)(end - p) == n && strncasecmp(p, type, n) == 0)
            return true;
        p = end;
    }
    return false;
}

bool upload_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > UPLOAD_NAME_MAX_BYTES || strcmp(s, ".") == 0 ||
        strcmp(s, "..") == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\' || *p == '"')
            return false;
    return true;
}

void upload_event_text(struct buf *body, struct buf *payload, const char *name,
                       const char *type, uint64_t size, const char *sha,
                       const char *url)
{
    buf_printf(body, "%s (%s, %" PRIu64 " bytes, sha256 %s): %s", name, type,
               size, sha, url);
    buf_append_str(payload, "<x xmlns='" NS_OOB "'><url>");
    xml_text(payload, url);
    buf_append_str(payload, "</url><desc>");
    xml_text(payload, name);
    buf_append_str(payload, "</desc></x><file xmlns='" NS_DESK_HINT "'");
    xml_attr(payload, "name", name);
    buf_printf(payload, " size='%" PRIu64 "'", size);
    xml_attr(payload, "type", type);
    xml_attr(payload, "sha256", sha);
    buf_append_str(payload, "/>");
}
