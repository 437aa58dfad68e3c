/* Includes cmocka the way its header requires (these first). */
#ifndef MUCDESK_TESTS_CMOCKA_PRELUDE_H
#define MUCDESK_TESTS_CMOCKA_PRELUDE_H
#include "build-config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
