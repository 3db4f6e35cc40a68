/*
 * Shared scaffolding for the CUnit test programs: each test_<module>.c
 * lists its tests in a CU_TestInfo array and ends with MIG_UNIT_MAIN.
 */
#ifndef MIG_UNIT_H
#define MIG_UNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>

#include "mig/mig.h"

/* Assert a libmig call succeeds; on failure print the context's error. */
#define MIG_PASS(ctx, expr)                                                                             \
    do {                                                                                                \
        int rc__ = (expr);                                                                              \
        if (rc__ != 0)                                                                                  \
            fprintf(stderr, "\n%s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #expr, rc__,                 \
                    mig_last_error(ctx)->message);                                                      \
        CU_ASSERT_EQUAL_FATAL(rc__, 0);                                                                 \
    } while (0)

/* Assert a libmig call fails with code, and its message contains needle. */
#define MIG_FAILS(ctx, expr, code, needle)                                                              \
    do {                                                                                                \
        int rc__ = (expr);                                                                              \
        CU_ASSERT_EQUAL(rc__, (code));                                                                  \
        if (rc__ != 0 && (needle) != NULL && strstr(mig_last_error(ctx)->message, (needle)) == NULL) {  \
            fprintf(stderr, "\n%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,               \
                    mig_last_error(ctx)->message, (needle));                                            \
            CU_FAIL("error message");                                                                   \
        }                                                                                               \
    } while (0)

#define MIG_UNIT_MAIN(suite_name, tests)                                                                \
    int main(void)                                                                                      \
    {                                                                                                   \
        CU_SuiteInfo suites[] = {                                                                       \
            { .pName = (suite_name), .pTests = (tests) },                                               \
            CU_SUITE_INFO_NULL,                                                                         \
        };                                                                                              \
        if (CU_initialize_registry() != CUE_SUCCESS)                                                    \
            return 1;                                                                                   \
        if (CU_register_suites(suites) != CUE_SUCCESS) {                                                \
            CU_cleanup_registry();                                                                      \
            return 1;                                                                                   \
        }                                                                                               \
        CU_basic_set_mode(CU_BRM_VERBOSE);                                                              \
        CU_basic_run_tests();                                                                           \
        unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();                \
        CU_cleanup_registry();                                                                          \
        return failed ? 1 : 0;                                                                          \
    }

#endif
