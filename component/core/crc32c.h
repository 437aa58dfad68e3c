/* CRC-32C (Castagnoli), the checksum of journal records.
 *
 * Hand-written because none of mucdesk's libraries exports it (zlib's crc32
 * is the weaker IEEE polynomial, OpenSSL has none): a table-driven
 * slicing-by-8 version, and the SSE 4.2 instruction where the CPU has it. */
#ifndef MUCDESK_CORE_CRC32C_H
#define MUCDESK_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: start with crc = 0; crc32c(crc32c(0, a), b) equals the
 * CRC of a followed by b.  Thread-safe. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
