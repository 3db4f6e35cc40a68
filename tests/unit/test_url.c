/*
 * URLs: scheme, masking (no part of a password may ever show), and the
 * {tenant} placeholder.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "url.h"
#include "mig/secret.h"

static void expect_mask(const char *url, const char *want)
{
    char *got = mig_url_mask(url);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "\nmask(%s) = %s, want %s\n", url ? url : "NULL", got, want);
        CU_FAIL("mask");
    }
    free(got);
}

/* The masked URL must hold no piece of the secret of three bytes or more. */
static void expect_hidden(const char *url, const char *secret)
{
    char *got = mig_url_mask(url);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    size_t n = strlen(secret);
    for (size_t i = 0; i + 3 <= n; i++) {
        if (strstr(got, (char[4]){ secret[i], secret[i + 1], secret[i + 2], 0 }) != NULL) {
            fprintf(stderr, "\nmask(%s) = %s shows part of \"%s\"\n", url, got, secret);
            CU_FAIL("leak");
            break;
        }
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "***"));
    free(got);
}

static void expect_scheme(const char *url, const char *want)
{
    char buf[32];
    int rc = mig_url_scheme(url, buf, sizeof buf);
    if (want == NULL) {
        CU_ASSERT_EQUAL(rc, -1);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(buf, want);
}

static void test_url__finds_the_scheme(void)
{
    expect_scheme("postgresql://u@h/db", "postgresql");
    expect_scheme("postgres://h/db", "postgres");
    expect_scheme("PostgreSQL://h/db", "postgresql");
    expect_scheme("postgresql+psycopg2://u:p@h/db", "postgresql");
    expect_scheme("mysql+pymysql://u@h/db", "mysql");
    expect_scheme("mariadb://u@h/db", "mariadb");
    expect_scheme("sqlite:///abs/path.db", "sqlite");
    expect_scheme("sqlite:rel/path.db", "sqlite");
    expect_scheme("host=localhost dbname=app", NULL);
    expect_scheme("dbname=app", NULL);
    expect_scheme("", NULL);
    expect_scheme("://nothing", NULL);
    expect_scheme("+x://h", NULL);
    char small[4];
    CU_ASSERT_EQUAL(mig_url_scheme("postgresql://h", small, sizeof small), -1);
    CU_ASSERT_EQUAL(mig_url_scheme(NULL, small, sizeof small), -1);
}

static void test_url__masks_the_password_of_a_url(void)
{
    expect_mask("postgresql://app:secret@db/app", "postgresql://app:***@db/app");
    expect_mask("postgres://app:secret@db:5432/app?sslmode=require",
                "postgres://app:***@db:5432/app?sslmode=require");
    expect_mask("mysql://root:hunter2@127.0.0.1:3306/shop", "mysql://root:***@127.0.0.1:3306/shop");
    expect_mask("mariadb://root:pw@localhost/shop?socket=/run/mysqld/mysqld.sock",
                "mariadb://root:***@localhost/shop?socket=/run/mysqld/mysqld.sock");
    expect_mask("postgresql+psycopg2://app:secret@db/app", "postgresql+psycopg2://app:***@db/app");
    expect_mask("postgresql://app:@db/app", "postgresql://app:***@db/app");
    expect_mask("postgresql://{tenant}:secret@db/{tenant}", "postgresql://{tenant}:***@db/{tenant}");
}

static void test_url__hides_passwords_holding_at_colon_and_slash(void)
{
    expect_mask("postgresql://app:p@ss@db/app", "postgresql://app:***@db/app");
    expect_mask("postgresql://app:a:b:c@db/app", "postgresql://app:***@db/app");
    expect_mask("postgresql://app:pa/ss@db/app", "postgresql://app:***@db/app");
    expect_mask("mysql://root:x@y:z/w?q#r@host:3306/db", "mysql://root:***@host:3306/db");
    expect_hidden("postgresql://app:S3cr@t/pa:ss?w#rd@db/app", "S3cr@t/pa:ss?w#rd");
    expect_hidden("mysql://me@corp:Pa55@@word@db/app", "Pa55@@word");
    expect_hidden("postgresql://app:%40encoded%2F@db/app", "%40encoded%2F");
    /* not a URL, but it still must not show the password */
    expect_mask("app:secret@db/app", "app:***@db/app");
    expect_mask("sqlite:data/a@b.db", "sqlite:data/a@b.db");
}

static void test_url__leaves_urls_without_password_alone(void)
{
    expect_mask("postgresql://app@db/app", "postgresql://app@db/app");
    expect_mask("postgresql://db/app", "postgresql://db/app");
    expect_mask("postgresql://db:5432/app", "postgresql://db:5432/app");
    expect_mask("postgresql:///app?host=/run/postgresql", "postgresql:///app?host=/run/postgresql");
    expect_mask("mysql://localhost/shop", "mysql://localhost/shop");
    expect_mask("sqlite:///var/lib/app.db", "sqlite:///var/lib/app.db");
    expect_mask("sqlite:///data/a@b:c.db", "sqlite:///data/a@b:c.db");
    expect_mask("sqlite:rel/app.db", "sqlite:rel/app.db");
    expect_mask("", "");
    expect_mask(NULL, "(none)");
}

static void test_url__masks_password_query_parameters(void)
{
    expect_mask("postgresql://db/app?user=app&password=secret&sslmode=require",
                "postgresql://db/app?user=app&password=***&sslmode=require");
    expect_mask("mysql://db/shop?PASSWORD=secret", "mysql://db/shop?PASSWORD=***");
    expect_mask("postgresql://u:p@db/app?sslpassword=keypw", "postgresql://u:***@db/app?sslpassword=***");
    expect_mask("sqlite:app.db?password=x", "sqlite:app.db?password=***");
    expect_mask("postgresql://db/app?passwordless=1", "postgresql://db/app?passwordless=1");
}

static void test_url__masks_libpq_keyword_strings(void)
{
    expect_mask("host=db dbname=app user=app password=secret", "host=db dbname=app user=app password=***");
    expect_mask("password=secret host=db", "password=*** host=db");
    expect_mask("host=db password = secret port=5432", "host=db password = *** port=5432");
    expect_mask("host=db password='se cret' port=5432", "host=db password=*** port=5432");
    expect_mask("host=db password='it\\'s here' port=5432", "host=db password=*** port=5432");
    expect_mask("host=db password=a\\ b port=5432", "host=db password=*** port=5432");
    expect_mask("host=db application_name='password=x' dbname=app",
                "host=db application_name='password=x' dbname=app");
    expect_mask("host=db dbname=app", "host=db dbname=app");
    expect_hidden("host=db password='unterminated secret", "unterminated secret");
    expect_mask("host=db password", "host=db ***");
    expect_mask("host=db oops dbname=x", "host=db oops dbname=x");
}

static void test_url__masks_into_a_fixed_buffer(void)
{
    char buf[64];
    mig_url_mask_buf("postgresql://app:secret@db/app", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "postgresql://app:***@db/app");
    char tiny[20];
    mig_url_mask_buf("postgresql://app:secret@db/app", tiny, sizeof tiny);
    CU_ASSERT_STRING_EQUAL(tiny, "postgresql://app:**");
    mig_url_mask_buf(NULL, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "(none)");
    mig_url_mask_buf("x", buf, 0); /* must not write */
}

static void expect_scrub(const char *url, const char *msg, const char *want)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", msg);
    mig_secret_scrub(buf, sizeof buf, url);
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "\nscrub(%s, %s) = %s, want %s\n", url, msg, buf, want);
        CU_FAIL("scrub");
    }
}

/* Every piece of the password goes, however a driver split the URL. */
static void test_url__scrubs_every_piece_of_a_password(void)
{
    expect_scrub("postgresql://postgres:Zx9SECRET/abc@127.0.0.1:1/x",
                 "could not connect to postgres:Zx9SECRET: invalid integer value \"Zx9SECRET\"",
                 "could not connect to postgres:***: invalid integer value \"***\"");
    /* a one-letter piece only as a whole word: "translate" stays */
    expect_scrub("postgresql://postgres:a@Zx9SECRET@127.0.0.1:1/x",
                 "could not translate host name \"Zx9SECRET@127.0.0.1\" (a)",
                 "could not translate host name \"***@127.0.0.1\" (***)");
    expect_scrub("host=h port=1 passwd=Zx9SECRET", "bad string host=h port=1 passwd=Zx9SECRET",
                 "bad string host=h port=1 passwd=***");
    expect_scrub("host=h pwd='a b Zx9SECRET'", "pwd is 'a b Zx9SECRET'", "pwd is ***");
    expect_scrub("mysql://u:p%40ssword@h/x", "user u password p@ssword", "user u *** ***");
    expect_scrub("sqlite:///x.db?sslpassword=Zx9SECRET", "sqlite:///x.db?sslpassword=Zx9SECRET: no",
                 "sqlite:///x.db?sslpassword=***: no");
}

/*
 * A piece cut short by the server (PostgreSQL keeps 63 bytes of a database
 * name) is hidden too; short words that merely start a piece stay.
 */
static void test_url__scrubs_a_piece_cut_short(void)
{
    expect_scrub("postgresql://127.0.0.1:5432/xxxx/Zx9SECRETLONG@h:5432/x?user=u",
                 "database \"xxxx/Zx9SEC\" does not exist", "database \"***/***\" does not exist");
    expect_scrub("postgresql://u:Zx9SECRETLONG@h/x", "Zx9S", "***");
    expect_scrub("postgresql://u:Zx9SECRETLONG@h/x", "Zx9 is here", "Zx9 is here");
}

/* More pieces than the scrubber holds: the message is withheld, not half-scrubbed. */
static void test_url__withholds_a_message_when_pieces_overflow(void)
{
    char url[1024] = "postgresql://u:";
    for (int i = 0; i < 80; i++)
        snprintf(url + strlen(url), sizeof url - strlen(url), "pc%03d/", i);
    strcat(url, "Zx9SECRET@h/x");
    expect_scrub(url, "no database pc079/Zx9SECRET",
                 "(message withheld: the password has too many pieces to hide)");
}

/* A password that is what the mask prints is no loop and no growth. */
static void test_url__scrubs_a_password_of_stars(void)
{
    expect_scrub("postgresql://app:***@h/x?bogus=1", "bad postgresql://app:***@h/x?bogus=1",
                 "bad postgresql://app:***@h/x?bogus=1");
    expect_scrub("postgresql://u:*@h*st/db", "no host h*st", "no host h*st");
    expect_scrub("sqlite:///x.db?password=**", "x **", "x **");
    char buf[8] = "abcdefg";
    mig_secret_scrub_value(buf, sizeof buf, "*");
    CU_ASSERT_STRING_EQUAL(buf, "abcdefg");
}

static void test_url__replaces_the_tenant_placeholder(void)
{
    CU_ASSERT(mig_url_has_tenant("postgresql://db/app?options=-csearch_path%3D{tenant}"));
    CU_ASSERT(!mig_url_has_tenant("postgresql://db/app"));
    CU_ASSERT(!mig_url_has_tenant(NULL));
    char *u = mig_url_with_tenant("sqlite:///data/{tenant}.db", "acme");
    CU_ASSERT_STRING_EQUAL(u, "sqlite:///data/acme.db");
    free(u);
    u = mig_url_with_tenant("mysql://{tenant}@db/{tenant}", "globex");
    CU_ASSERT_STRING_EQUAL(u, "mysql://globex@db/globex");
    free(u);
    u = mig_url_with_tenant("postgresql://db/app", "acme");
    CU_ASSERT_STRING_EQUAL(u, "postgresql://db/app");
    free(u);
    CU_ASSERT_PTR_NULL(mig_url_with_tenant(NULL, "x"));
}

static CU_TestInfo tests[] = {
    { "finds the scheme", test_url__finds_the_scheme },
    { "masks the password of a URL", test_url__masks_the_password_of_a_url },
    { "hides passwords holding @, : and /", test_url__hides_passwords_holding_at_colon_and_slash },
    { "leaves URLs without password alone", test_url__leaves_urls_without_password_alone },
    { "masks password query parameters", test_url__masks_password_query_parameters },
    { "masks libpq keyword strings", test_url__masks_libpq_keyword_strings },
    { "masks into a fixed buffer", test_url__masks_into_a_fixed_buffer },
    { "scrubs every piece of a password", test_url__scrubs_every_piece_of_a_password },
    { "scrubs a password of stars", test_url__scrubs_a_password_of_stars },
    { "scrubs a piece cut short", test_url__scrubs_a_piece_cut_short },
    { "withholds a message when pieces overflow", test_url__withholds_a_message_when_pieces_overflow },
    { "replaces the tenant placeholder", test_url__replaces_the_tenant_placeholder },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("url", tests)
