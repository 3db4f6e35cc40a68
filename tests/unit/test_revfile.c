/*
 * Revision files: header parsing and its errors, reading only the header
 * from disk, body sections with their line numbers, and the checksum.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "revfile.h"
#include "unit.h"

static mig_ctx *ctx;
static char tmpdir[] = "/tmp/mig_test_revfile_XXXXXX";

static void setup(void)
{
    if (ctx == NULL) {
        CU_ASSERT_FATAL(mig_ctx_new_empty(&ctx) == 0);
        CU_ASSERT_FATAL(mkdtemp(tmpdir) != NULL);
    }
}

/* Write a file under the test folder; returns its path (caller frees). */
static char *write_file(const char *name, const char *data, size_t len)
{
    setup();
    char *path = mig_aprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
    fclose(f);
    return path;
}

/* Parse a header held in memory under a file name. */
static int parse(mig_rev *rev, const char *name, const char *text)
{
    setup();
    return mig_revfile_parse_header(rev, ctx, name, text, strlen(text), 0);
}

static void test_revfile__parses_every_header_key(void)
{
    mig_rev r;
    MIG_PASS(ctx, parse(&r, "v/1f0e2d3c4b5a_add_users.sql",
                        "-- mig:revision 1f0e2d3c4b5a\n"
                        "-- mig:down_revision 9e8d7c6b5a40\n"
                        "-- mig:message add users table\n"
                        "-- mig:create_date 2026-11-26 06:00:00\n"
                        "-- mig:branch_labels accounts, billing-v2\n"
                        "-- mig:depends_on 7a7a 8b8b\n"
                        "-- mig:transaction false\n"
                        "-- a plain comment\n"
                        "\n"
                        "-- mig:upgrade\n"
                        "CREATE TABLE users (id integer);\n"));
    CU_ASSERT_STRING_EQUAL(r.id, "1f0e2d3c4b5a");
    CU_ASSERT_STRING_EQUAL(r.path, "v/1f0e2d3c4b5a_add_users.sql");
    CU_ASSERT_EQUAL(r.down.n, 1);
    CU_ASSERT_STRING_EQUAL(r.down.v[0], "9e8d7c6b5a40");
    CU_ASSERT_STRING_EQUAL(r.message, "add users table");
    CU_ASSERT_STRING_EQUAL(r.create_date, "2026-11-26 06:00:00");
    CU_ASSERT_EQUAL(mig_strs_count(r.labels), 2);
    CU_ASSERT_STRING_EQUAL(r.labels[0], "accounts");
    CU_ASSERT_STRING_EQUAL(r.labels[1], "billing-v2");
    CU_ASSERT_EQUAL(mig_strs_count(r.depends), 2);
    CU_ASSERT_STRING_EQUAL(r.depends[1], "8b8b");
    CU_ASSERT_EQUAL(r.transactional, 0);
    CU_ASSERT_EQUAL(r.is_lua, 0);
    CU_ASSERT_EQUAL(r.header_lines, 9);
    mig_rev_release(&r);
}

static void test_revfile__defaults_when_optional_keys_are_absent(void)
{
    mig_rev r;
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n"));
    CU_ASSERT_STRING_EQUAL(r.message, "");
    CU_ASSERT_STRING_EQUAL(r.create_date, "");
    CU_ASSERT_EQUAL(r.down.n, 0);
    CU_ASSERT_PTR_NULL(r.labels);
    CU_ASSERT_PTR_NULL(r.depends);
    CU_ASSERT_EQUAL(r.transactional, 1);
    CU_ASSERT_EQUAL(r.header_lines, 1);
    mig_rev_release(&r);
}

static void test_revfile__reads_none_and_lists_of_down_revisions(void)
{
    mig_rev r;
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:down_revision none\n"));
    CU_ASSERT_EQUAL(r.down.n, 0);
    mig_rev_release(&r);
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:down_revision NONE\n"));
    CU_ASSERT_EQUAL(r.down.n, 0);
    mig_rev_release(&r);
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:down_revision  a1,b2 , c3  d4\r\n"));
    CU_ASSERT_EQUAL(r.down.n, 4);
    CU_ASSERT_STRING_EQUAL(r.down.v[0], "a1");
    CU_ASSERT_STRING_EQUAL(r.down.v[1], "b2");
    CU_ASSERT_STRING_EQUAL(r.down.v[2], "c3");
    CU_ASSERT_STRING_EQUAL(r.down.v[3], "d4");
    mig_rev_release(&r);
}

static void test_revfile__ends_a_lua_header_at_the_first_code_line(void)
{
    mig_rev r;
    MIG_PASS(ctx, parse(&r, "3c9a_backfill.lua",
                        "-- mig:revision 3c9a\n"
                        "-- mig:message backfill\n"
                        "return {\n"
                        "-- mig:bogus is not header any more\n"
                        "}\n"));
    CU_ASSERT_EQUAL(r.is_lua, 1);
    CU_ASSERT_STRING_EQUAL(r.message, "backfill");
    CU_ASSERT_EQUAL(r.header_lines, 2);
    mig_rev_release(&r);
}

static void test_revfile__skips_a_byte_order_mark(void)
{
    mig_rev r;
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "\xEF\xBB\xBF-- mig:revision abc\n"));
    CU_ASSERT_STRING_EQUAL(r.id, "abc");
    mig_rev_release(&r);
}

static void test_revfile__loads_a_body_after_a_byte_order_mark(void)
{
    static const char text[] = "\xEF\xBB\xBF-- mig:revision bom\n-- mig:upgrade\nSELECT 1;\n";
    char *path = write_file("bom_x.sql", text, sizeof text - 1);
    mig_rev r;
    mig_revbody body;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    MIG_PASS(ctx, mig_revfile_load_body(&body, ctx, &r));
    CU_ASSERT_EQUAL(body.up_line, 3);
    CU_ASSERT_NSTRING_EQUAL(body.data + body.up_off, "SELECT 1;\n", body.up_len);
    mig_revbody_release(&body);
    mig_rev_release(&r);
    free(path);
}

static void test_revfile__ignores_keys_after_the_header(void)
{
    mig_rev r;
    MIG_PASS(ctx, parse(&r, "abc_x.sql",
                        "-- mig:revision abc\n-- mig:upgrade\n-- mig:revision other\n"
                        "-- mig:nonsense\n"));
    CU_ASSERT_STRING_EQUAL(r.id, "abc");
    CU_ASSERT_EQUAL(r.header_lines, 1);
    mig_rev_release(&r);
}

static void test_revfile__rejects_an_empty_file(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", ""), MIG_EREVFILE, "abc_x.sql:1: empty file");
}

static void test_revfile__rejects_a_nul_byte(void)
{
    mig_rev r;
    setup();
    static const char data[] = "-- mig:revision abc\n-- mig:message a\0b\n";
    MIG_FAILS(ctx, mig_revfile_parse_header(&r, ctx, "abc_x.sql", data, sizeof data - 1, 0),
              MIG_EREVFILE, "abc_x.sql:2: NUL byte");
}

static void test_revfile__rejects_invalid_utf8_in_the_header(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n\n-- mig:message caf\xE9\n"),
              MIG_EREVFILE, "abc_x.sql:3: invalid UTF-8");
    /* overlong encoding of '/' and a lone surrogate */
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- \xC0\xAF\n"), MIG_EREVFILE,
              ":2: invalid UTF-8");
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- \xED\xA0\x80\n-- mig:revision abc\n"), MIG_EREVFILE,
              ":1: invalid UTF-8");
    MIG_PASS(ctx, parse(&r, "abc_x.sql",
                        "-- mig:revision abc\n-- mig:message caf\xC3\xA9 \xF0\x9F\x9A\x80\n"));
    CU_ASSERT_STRING_EQUAL(r.message, "caf\xC3\xA9 \xF0\x9F\x9A\x80");
    mig_rev_release(&r);
}

static void test_revfile__rejects_an_unknown_key(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:down_revisions x\n"),
              MIG_EREVFILE, "abc_x.sql:2: unknown key 'mig:down_revisions'");
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:\n"), MIG_EREVFILE, "abc_x.sql:2:");
}

static void test_revfile__rejects_a_key_without_value(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:message   \n"), MIG_EREVFILE,
              "abc_x.sql:2: 'mig:message' has no value");
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision\n"), MIG_EREVFILE,
              "abc_x.sql:1: 'mig:revision' has no value");
}

static void test_revfile__rejects_an_invalid_id(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "ab-c_x.sql", "-- mig:revision ab-c\n"), MIG_EREVFILE,
              "ab-c_x.sql:1: invalid revision id 'ab-c'");
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:down_revision ok, b@d\n"),
              MIG_EREVFILE, "abc_x.sql:2: invalid down_revision id 'b@d'");
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:branch_labels a@b\n"),
              MIG_EREVFILE, "abc_x.sql:2: invalid branch label 'a@b'");
    char long_id[80];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    char *text = mig_aprintf("-- mig:revision %s\n", long_id);
    char *name = mig_aprintf("%s_x.sql", long_id);
    MIG_FAILS(ctx, parse(&r, name, text), MIG_EREVFILE, "invalid revision id");
    free(text);
    free(name);
}

static void test_revfile__rejects_a_missing_revision_line(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:message hi\n\n-- mig:upgrade\nSELECT 1;\n"),
              MIG_EREVFILE, "abc_x.sql:1: no '-- mig:revision ID' line");
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "SELECT 1;\n-- mig:revision abc\n"), MIG_EREVFILE,
              "no '-- mig:revision ID' line");
}

static void test_revfile__rejects_a_duplicate_key(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:message a\n-- mig:message b\n"),
              MIG_EREVFILE, "abc_x.sql:3: duplicate key 'mig:message' (first at line 2)");
}

static void test_revfile__rejects_an_id_that_does_not_match_the_file_name(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "versions/abd_x.sql", "\n-- mig:revision abc\n"), MIG_EREVFILE,
              "versions/abd_x.sql:2: revision 'abc' does not match the file name");
    /* a longer id sharing the prefix is not a match either */
    MIG_FAILS(ctx, parse(&r, "versions/abcd_x.sql", "-- mig:revision abc\n"), MIG_EREVFILE,
              "does not match the file name");
    MIG_PASS(ctx, parse(&r, "versions/abc.sql", "-- mig:revision abc\n"));
    mig_rev_release(&r);
}

static void test_revfile__rejects_a_bad_transaction_value(void)
{
    mig_rev r;
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:transaction no\n"), MIG_EREVFILE,
              "abc_x.sql:2: 'mig:transaction' must be true or false");
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:transaction true\n"));
    CU_ASSERT_EQUAL(r.transactional, 1);
    mig_rev_release(&r);
}

static void test_revfile__reads_the_phase(void)
{
    mig_rev r;
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:phase contract\n"));
    CU_ASSERT_EQUAL(r.contract, 1);
    CU_ASSERT_STRING_EQUAL(mig_rev_phase(&r), "contract");
    mig_rev_release(&r);
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:phase expand\n"));
    CU_ASSERT_EQUAL(r.contract, 0);
    mig_rev_release(&r);
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n"));
    CU_ASSERT_STRING_EQUAL(mig_rev_phase(&r), "expand");
    mig_rev_release(&r);
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n\n-- mig:phase contracts\n"),
              MIG_EREVFILE, "abc_x.sql:3: 'mig:phase' must be expand or contract, not 'contracts'");
    MIG_FAILS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:phase\n"), MIG_EREVFILE,
              "abc_x.sql:2: 'mig:phase' has no value");
}

static void test_revfile__reads_time_limits_and_retries(void)
{
    mig_rev r;
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n"));
    CU_ASSERT_EQUAL(r.lock_timeout_ms, -1);
    CU_ASSERT_EQUAL(r.statement_timeout_ms, -1);
    CU_ASSERT_EQUAL(r.retries, -1);
    mig_rev_release(&r);
    MIG_PASS(ctx, parse(&r, "abc_x.sql",
                        "-- mig:revision abc\n-- mig:lock_timeout 500ms\n"
                        "-- mig:statement_timeout 10min\n-- mig:retries 3\n"));
    CU_ASSERT_EQUAL(r.lock_timeout_ms, 500);
    CU_ASSERT_EQUAL(r.statement_timeout_ms, 600000);
    CU_ASSERT_EQUAL(r.retries, 3);
    mig_rev_release(&r);
    MIG_PASS(ctx, parse(&r, "abc_x.sql",
                        "-- mig:revision abc\n-- mig:lock_timeout 5\n-- mig:statement_timeout 0\n"
                        "-- mig:retries 0\n"));
    CU_ASSERT_EQUAL(r.lock_timeout_ms, 5000);
    CU_ASSERT_EQUAL(r.statement_timeout_ms, 0);
    CU_ASSERT_EQUAL(r.retries, 0);
    mig_rev_release(&r);
}

static void test_revfile__rejects_bad_time_limits_and_retries(void)
{
    static const char *const bad[] = {
        "lock_timeout fast",
        "lock_timeout -5s",
        "lock_timeout 1.5s",
        "lock_timeout 5 s",
        "lock_timeout 5S",
        "lock_timeout 2147484s",
        "statement_timeout 99999999999999999999999min",
        "statement_timeout 1h",
        "statement_timeout ms",
    };
    mig_rev r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *text = mig_aprintf("-- mig:revision abc\n-- mig:%s\n", bad[i]);
        MIG_FAILS(ctx, parse(&r, "abc_x.sql", text), MIG_EREVFILE, "abc_x.sql:2: 'mig:");
        CU_ASSERT_PTR_NOT_NULL(strstr(mig_last_error(ctx)->message, "takes a duration"));
        free(text);
    }
    static const char *const bad_retries[] = { "retries three", "retries -1", "retries 101",
                                               "retries 99999999999999999999", "retries 2x" };
    for (size_t i = 0; i < sizeof bad_retries / sizeof bad_retries[0]; i++) {
        char *text = mig_aprintf("-- mig:revision abc\n-- mig:%s\n", bad_retries[i]);
        MIG_FAILS(ctx, parse(&r, "abc_x.sql", text), MIG_EREVFILE,
                  "abc_x.sql:2: 'mig:retries' takes a whole number from 0 to 100");
        free(text);
    }
    /* the largest the databases take still parses */
    MIG_PASS(ctx, parse(&r, "abc_x.sql", "-- mig:revision abc\n-- mig:lock_timeout 2147483647ms\n"));
    CU_ASSERT_EQUAL(r.lock_timeout_ms, 2147483647LL);
    mig_rev_release(&r);
}

static void test_revfile__asks_for_more_when_the_data_is_cut_in_the_header(void)
{
    mig_rev r;
    setup();
    const char *text = "-- mig:revision abc\n-- mig:mess";
    MIG_FAILS(ctx, mig_revfile_parse_header(&r, ctx, "abc_x.sql", text, strlen(text), 1), MIG_EREVFILE,
              "header continues");
    text = "-- mig:revision abc\nSELECT";
    MIG_PASS(ctx, mig_revfile_parse_header(&r, ctx, "abc_x.sql", text, strlen(text), 1));
    mig_rev_release(&r);
}

static void test_revfile__reads_a_header_longer_than_the_first_block(void)
{
    mig_buf b = MIG_BUF_INIT;
    mig_buf_puts(&b, "-- mig:revision longhdr\n");
    for (int i = 0; i < 400; i++)
        mig_buf_printf(&b, "-- comment line %d to push the header past one block\n", i);
    mig_buf_puts(&b, "-- mig:message found at the end\n-- mig:upgrade\nSELECT 1;\n");
    char *path = write_file("longhdr_x.sql", b.ptr, b.len);
    mig_rev r;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    CU_ASSERT_STRING_EQUAL(r.message, "found at the end");
    CU_ASSERT_EQUAL(r.header_lines, 402);
    mig_rev_release(&r);
    free(path);
    mig_buf_release(&b);
}

static void test_revfile__reads_only_the_header_from_disk(void)
{
    /* a NUL deep in the body is not seen by the header reader, only by the body loader */
    mig_buf b = MIG_BUF_INIT;
    mig_buf_puts(&b, "-- mig:revision onlyhdr\n-- mig:upgrade\n");
    for (int i = 0; i < 20000; i++)
        mig_buf_puts(&b, "SELECT 1;\n");
    mig_buf_put(&b, "\0", 1);
    char *path = write_file("onlyhdr_x.sql", b.ptr, b.len);
    mig_rev r;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    CU_ASSERT_STRING_EQUAL(r.id, "onlyhdr");
    mig_revbody body;
    MIG_FAILS(ctx, mig_revfile_load_body(&body, ctx, &r), MIG_EREVFILE, "onlyhdr_x.sql:20003: NUL byte");
    mig_rev_release(&r);
    free(path);
    mig_buf_release(&b);
}

static void test_revfile__reports_an_unreadable_file(void)
{
    mig_rev r;
    setup();
    MIG_FAILS(ctx, mig_revfile_read_header(&r, ctx, "/nonexistent/abc_x.sql", 0), MIG_EREVFILE,
              "/nonexistent/abc_x.sql: cannot open");
}

static void test_revfile__reads_an_empty_file_from_disk_as_an_error(void)
{
    char *path = write_file("empty_x.sql", "", 0);
    mig_rev r;
    MIG_FAILS(ctx, mig_revfile_read_header(&r, ctx, path, 0), MIG_EREVFILE, ":1: empty file");
    free(path);
}

static const char sections_sql[] = "-- mig:revision sect\n"        /* 1 */
                                   "-- mig:message two sections\n" /* 2 */
                                   "\n"                            /* 3 */
                                   "-- mig:upgrade\n"              /* 4 */
                                   "CREATE TABLE t (id int);\n"    /* 5 */
                                   "INSERT INTO t VALUES (1);\n"   /* 6 */
                                   "\n"                            /* 7 */
                                   "-- mig:downgrade\n"            /* 8 */
                                   "DROP TABLE t;\n";              /* 9 */

static void test_revfile__loads_the_sections_with_their_lines(void)
{
    char *path = write_file("sect_x.sql", sections_sql, sizeof sections_sql - 1);
    mig_rev r;
    mig_revbody body;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    MIG_PASS(ctx, mig_revfile_load_body(&body, ctx, &r));
    CU_ASSERT_EQUAL(body.len, sizeof sections_sql - 1);
    CU_ASSERT_EQUAL(body.has_upgrade, 1);
    CU_ASSERT_EQUAL(body.up_line, 5);
    CU_ASSERT_EQUAL(body.up_len, strlen("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n\n"));
    CU_ASSERT_NSTRING_EQUAL(body.data + body.up_off, "CREATE TABLE t", 14);
    CU_ASSERT_EQUAL(body.has_downgrade, 1);
    CU_ASSERT_EQUAL(body.down_line, 9);
    CU_ASSERT_EQUAL(body.down_len, strlen("DROP TABLE t;\n"));
    CU_ASSERT_NSTRING_EQUAL(body.data + body.down_off, "DROP TABLE t;\n", body.down_len);
    char sum[65];
    mig_sha256_hex(sections_sql, sizeof sections_sql - 1, sum);
    CU_ASSERT_STRING_EQUAL(body.checksum, sum);
    mig_revbody_release(&body);
    mig_rev_release(&r);
    free(path);
}

static void test_revfile__loads_downgrade_first_and_empty_sections(void)
{
    static const char text[] = "-- mig:revision order\n-- mig:downgrade\nDROP TABLE t;\n"
                               "-- mig:upgrade\n";
    char *path = write_file("order_x.sql", text, sizeof text - 1);
    mig_rev r;
    mig_revbody body;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    MIG_PASS(ctx, mig_revfile_load_body(&body, ctx, &r));
    CU_ASSERT_EQUAL(body.down_line, 3);
    CU_ASSERT_EQUAL(body.down_len, strlen("DROP TABLE t;\n"));
    CU_ASSERT_EQUAL(body.has_upgrade, 1);
    CU_ASSERT_EQUAL(body.up_len, 0);
    CU_ASSERT_EQUAL(body.up_line, 5);
    mig_revbody_release(&body);
    mig_rev_release(&r);
    free(path);
}

static void test_revfile__notes_a_missing_downgrade(void)
{
    static const char text[] = "-- mig:revision nodown\n-- mig:upgrade\nSELECT 1;";
    char *path = write_file("nodown_x.sql", text, sizeof text - 1);
    mig_rev r;
    mig_revbody body;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    MIG_PASS(ctx, mig_revfile_load_body(&body, ctx, &r));
    CU_ASSERT_EQUAL(body.has_upgrade, 1);
    CU_ASSERT_EQUAL(body.has_downgrade, 0);
    CU_ASSERT_EQUAL(body.up_len, strlen("SELECT 1;"));
    mig_revbody_release(&body);
    mig_rev_release(&r);
    free(path);
}

static void test_revfile__rejects_a_second_section_of_a_kind(void)
{
    static const char text[] = "-- mig:revision dup\n-- mig:upgrade\nSELECT 1;\n"
                               "-- mig:downgrade\n\n-- mig:upgrade\nSELECT 2;\n";
    char *path = write_file("dup_x.sql", text, sizeof text - 1);
    mig_rev r;
    mig_revbody body;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    MIG_FAILS(ctx, mig_revfile_load_body(&body, ctx, &r), MIG_EREVFILE,
              "dup_x.sql:6: second '-- mig:upgrade' section (first at line 2)");
    mig_rev_release(&r);
    free(path);
}

static void test_revfile__rejects_invalid_utf8_in_the_body(void)
{
    static const char text[] = "-- mig:revision badutf\n-- mig:upgrade\nSELECT 1;\n"
                               "SELECT '\xFF';\n";
    char *path = write_file("badutf_x.sql", text, sizeof text - 1);
    mig_rev r;
    mig_revbody body;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    MIG_FAILS(ctx, mig_revfile_load_body(&body, ctx, &r), MIG_EREVFILE, "badutf_x.sql:4: invalid UTF-8");
    mig_rev_release(&r);
    free(path);
}

static void test_revfile__rejects_a_statement_outside_a_section(void)
{
    static const char text[] = "-- mig:revision outside\n\nCREATE TABLE t (id int);\n";
    char *path = write_file("outside_x.sql", text, sizeof text - 1);
    mig_rev r;
    mig_revbody body;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 0));
    MIG_FAILS(ctx, mig_revfile_load_body(&body, ctx, &r), MIG_EREVFILE,
              "outside_x.sql:3: statement outside a section");
    mig_rev_release(&r);
    free(path);
}

static void test_revfile__loads_a_lua_body_whole(void)
{
    static const char text[] = "-- mig:revision luarev\n-- mig:upgrade\nreturn {}\n";
    char *path = write_file("luarev_x.lua", text, sizeof text - 1);
    mig_rev r;
    mig_revbody body;
    MIG_PASS(ctx, mig_revfile_read_header(&r, ctx, path, 1));
    CU_ASSERT_EQUAL(r.is_lua, 1);
    MIG_PASS(ctx, mig_revfile_load_body(&body, ctx, &r));
    CU_ASSERT_EQUAL(body.has_upgrade, 1);
    CU_ASSERT_EQUAL(body.up_off, 0);
    CU_ASSERT_EQUAL(body.up_len, sizeof text - 1);
    CU_ASSERT_EQUAL(body.has_downgrade, 0);
    CU_ASSERT_STRING_EQUAL(body.data, text);
    mig_revbody_release(&body);
    mig_rev_release(&r);
    free(path);
}

static void test_revfile__hashes_with_sha256(void)
{
    char sum[65];
    mig_sha256_hex("abc", 3, sum);
    CU_ASSERT_STRING_EQUAL(sum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    mig_sha256_hex("", 0, sum);
    CU_ASSERT_STRING_EQUAL(sum, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_revfile__validates_ids(void)
{
    CU_ASSERT_TRUE(mig_rev_id_valid("1f0e2d3c4b5a"));
    CU_ASSERT_TRUE(mig_rev_id_valid("Add_Users_2"));
    CU_ASSERT_FALSE(mig_rev_id_valid(""));
    CU_ASSERT_FALSE(mig_rev_id_valid(NULL));
    CU_ASSERT_FALSE(mig_rev_id_valid("a-b"));
    CU_ASSERT_FALSE(mig_rev_id_valid("a b"));
    CU_ASSERT_FALSE(mig_rev_id_valid("head"));
    CU_ASSERT_FALSE(mig_rev_id_valid("base"));
    CU_ASSERT_TRUE(mig_rev_id_valid("heads_up"));
    char id[70];
    memset(id, '7', 64);
    id[64] = '\0';
    CU_ASSERT_TRUE(mig_rev_id_valid(id));
    id[64] = '7';
    id[65] = '\0';
    CU_ASSERT_FALSE(mig_rev_id_valid(id));
}

static void test_revfile__cleans_up(void)
{
    char *cmd = mig_aprintf("rm -rf '%s'", tmpdir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    free(cmd);
    mig_ctx_free(ctx);
    ctx = NULL;
}

static CU_TestInfo tests[] = {
    { "parses every header key", test_revfile__parses_every_header_key },
    { "defaults when optional keys are absent", test_revfile__defaults_when_optional_keys_are_absent },
    { "reads none and lists of down revisions", test_revfile__reads_none_and_lists_of_down_revisions },
    { "ends a lua header at the first code line", test_revfile__ends_a_lua_header_at_the_first_code_line },
    { "skips a byte order mark", test_revfile__skips_a_byte_order_mark },
    { "loads a body after a byte order mark", test_revfile__loads_a_body_after_a_byte_order_mark },
    { "ignores keys after the header", test_revfile__ignores_keys_after_the_header },
    { "rejects an empty file", test_revfile__rejects_an_empty_file },
    { "rejects a nul byte", test_revfile__rejects_a_nul_byte },
    { "rejects invalid utf8 in the header", test_revfile__rejects_invalid_utf8_in_the_header },
    { "rejects an unknown key", test_revfile__rejects_an_unknown_key },
    { "rejects a key without value", test_revfile__rejects_a_key_without_value },
    { "rejects an invalid id", test_revfile__rejects_an_invalid_id },
    { "rejects a missing revision line", test_revfile__rejects_a_missing_revision_line },
    { "rejects a duplicate key", test_revfile__rejects_a_duplicate_key },
    { "rejects an id that does not match the file name",
      test_revfile__rejects_an_id_that_does_not_match_the_file_name },
    { "rejects a bad transaction value", test_revfile__rejects_a_bad_transaction_value },
    { "reads the phase", test_revfile__reads_the_phase },
    { "reads time limits and retries", test_revfile__reads_time_limits_and_retries },
    { "rejects bad time limits and retries", test_revfile__rejects_bad_time_limits_and_retries },
    { "asks for more when the data is cut in the header",
      test_revfile__asks_for_more_when_the_data_is_cut_in_the_header },
    { "reads a header longer than the first block",
      test_revfile__reads_a_header_longer_than_the_first_block },
    { "reads only the header from disk", test_revfile__reads_only_the_header_from_disk },
    { "reports an unreadable file", test_revfile__reports_an_unreadable_file },
    { "reads an empty file from disk as an error",
      test_revfile__reads_an_empty_file_from_disk_as_an_error },
    { "loads the sections with their lines", test_revfile__loads_the_sections_with_their_lines },
    { "loads downgrade first and empty sections", test_revfile__loads_downgrade_first_and_empty_sections },
    { "notes a missing downgrade", test_revfile__notes_a_missing_downgrade },
    { "rejects a second section of a kind", test_revfile__rejects_a_second_section_of_a_kind },
    { "rejects invalid utf8 in the body", test_revfile__rejects_invalid_utf8_in_the_body },
    { "rejects a statement outside a section", test_revfile__rejects_a_statement_outside_a_section },
    { "loads a lua body whole", test_revfile__loads_a_lua_body_whole },
    { "hashes with sha256", test_revfile__hashes_with_sha256 },
    { "validates ids", test_revfile__validates_ids },
    { "cleans up", test_revfile__cleans_up },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("revfile", tests)
