/* Socket addresses written as text: "ADDRESS:PORT" with an IP literal
 * ("127.0.0.1:9100", "[::1]:9100").  No DNS: mucdesk never resolves
 * names on its threads (ARCHITECTURE.md). */
#ifndef MUCDESK_CORE_NETADDR_H
#define MUCDESK_CORE_NETADDR_H

#include <sys/socket.h>

/* Parses text into *out (an AF_INET or AF_INET6 address) and *len.  The
 * port must be 1-65535.  0, or -1 if the text is not such an address. */
int netaddr_parse(const char *text, struct sockaddr_storage *out,
                  socklen_t *len);

#endif
