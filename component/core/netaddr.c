#include "build-config.h"

#include "core/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, in_port_t *out)
{
    if (!*s || *s == '+' || *s == '-')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 65535)
        return -1;
    *out = htons((in_port_t)v);
    return 0;
}

int netaddr_parse(const char *text, struct sockaddr_storage *out,
                  socklen_t *len)
{
    char host[64];
    const char *port;
    memset(out, 0, sizeof *out);
    if (!text)
        return -1;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof host)
            return -1;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port = close + 2;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        a->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1 ||
            parse_port(port, &a->sin6_port) < 0)
            return -1;
        *len = sizeof *a;
        return 0;
    }
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    port = colon + 1;
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1 ||
        parse_port(port, &a->sin_port) < 0)
        return -1;
    *len = sizeof *a;
    return 0;
}
