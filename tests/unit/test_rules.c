/*
 * The revision rules shared by `mig check` and `mig lint` (rules.c):
 * MIG001 empty-downgrade and MIG002 destructive-downgrade, on downgrade
 * sections of each dialect. Each text is a heap copy with no terminator
 * past the section, so a read beyond it is caught by the address sanitizer.
 */
#include <stdlib.h>
#include <string.h>

#include "revfile.h"
#include "rules.h"
#include "unit.h"

static const mig_dialect pg = { .ident_quote = '"', .dollar_quotes = 1 };
static const mig_dialect my = { .ident_quote = '`', .backslash_escapes = 1, .hash_comments = 1 };

/* 1-based index of the destructive statement in a downgrade section, 0 if none. */
static size_t destructive(const mig_dialect *d, const char *down)
{
    mig_revbody b;
    memset(&b, 0, sizeof b);
    b.len = strlen(down);
    b.data = malloc(b.len ? b.len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
    memcpy(b.data, down, b.len);
    b.has_downgrade = 1;
    b.down_off = 0;
    b.down_len = b.len;
    size_t off = 0, hit = mig_rule_destructive_downgrade_hits(&b, d, &off);
    if (hit)
        CU_ASSERT(off < b.len);
    free(b.data);
    return hit;
}

static void test_drops(void)
{
    CU_ASSERT_EQUAL(destructive(&pg, "DROP TABLE users;"), 1);
    CU_ASSERT_EQUAL(destructive(&pg, "drop table if exists users;"), 1);
    CU_ASSERT_EQUAL(destructive(&pg, "DROP INDEX a;\nTRUNCATE t;"), 2);
    CU_ASSERT_EQUAL(destructive(&pg, "-- undo\nDELETE FROM settings WHERE k = 'x';"), 1);
    CU_ASSERT_EQUAL(destructive(&pg, "ALTER TABLE t DROP COLUMN c;"), 1);
    CU_ASSERT_EQUAL(destructive(&my, "ALTER TABLE `t` ADD INDEX i (a), DROP c;"), 1);
    CU_ASSERT_EQUAL(destructive(&pg, "ALTER TABLE t DROP COLUMN IF EXISTS c"), 1);
}

static void test_not_drops(void)
{
    CU_ASSERT_EQUAL(destructive(&pg, ""), 0);
    CU_ASSERT_EQUAL(destructive(&pg, "DROP INDEX users_email;"), 0);
    CU_ASSERT_EQUAL(destructive(&pg, "ALTER TABLE t DROP CONSTRAINT c;"), 0);
    CU_ASSERT_EQUAL(destructive(&pg, "ALTER TABLE t ALTER COLUMN c DROP DEFAULT;"), 0);
    CU_ASSERT_EQUAL(destructive(&pg, "ALTER TABLE t ALTER COLUMN c DROP NOT NULL;"), 0);
    CU_ASSERT_EQUAL(destructive(&my, "ALTER TABLE t DROP INDEX i, DROP FOREIGN KEY f;"), 0);
    CU_ASSERT_EQUAL(destructive(&my, "ALTER TABLE t DROP PRIMARY KEY;"), 0);
    CU_ASSERT_EQUAL(destructive(&pg, "-- DROP TABLE users;\nSELECT 1;"), 0);
    CU_ASSERT_EQUAL(destructive(&pg, "UPDATE t SET dropped = true;"), 0);
    CU_ASSERT_EQUAL(destructive(&pg, "CREATE TABLE droptable (id int);"), 0);
}

static void test_no_section(void)
{
    mig_revbody b;
    memset(&b, 0, sizeof b);
    size_t off = 0;
    CU_ASSERT_EQUAL(mig_rule_destructive_downgrade_hits(&b, &pg, &off), 0);
}

static void test_ids_stable(void)
{
    CU_ASSERT_STRING_EQUAL(mig_rule_empty_downgrade.id, "MIG001");
    CU_ASSERT_STRING_EQUAL(mig_rule_destructive_downgrade.id, "MIG002");
    CU_ASSERT_STRING_EQUAL(mig_rule_destructive_downgrade.name, "destructive-downgrade");
    CU_ASSERT_STRING_EQUAL(mig_rule_lua_not_analysed.id, "MIG003");
}

static CU_TestInfo tests[] = {
    { "destructive downgrades", test_drops },
    { "harmless downgrades", test_not_drops },
    { "no downgrade section", test_no_section },
    { "rule ids are stable", test_ids_stable },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("rules", tests)
