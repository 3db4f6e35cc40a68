/*
 * mig.ini: lookup order, parsing through inih, known sections and keys,
 * and expansion on use. Fixtures live in tests/fixtures/config/.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctx.h"
#include "unit.h"

#define FIX MIG_TEST_FIXTURES "/config"

static mig_ctx *ctx;
static char saved_cwd[PATH_MAX];

/* Each test starts with a fresh context, no $MIG_CONFIG and the cwd it found. */
static void setup(void)
{
    CU_ASSERT_EQUAL_FATAL(mig_ctx_new_empty(&ctx), 0);
    unsetenv("MIG_CONFIG");
    unsetenv("MIG_TEST_DB_URL");
    unsetenv("MIG_TEST_UNSET_VARIABLE");
    if (saved_cwd[0] == '\0')
        CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(saved_cwd, sizeof saved_cwd));
}

static void teardown(void)
{
    mig_ctx_free(ctx);
    ctx = NULL;
    unsetenv("MIG_CONFIG");
    CU_ASSERT_EQUAL(chdir(saved_cwd), 0);
}

/* The expanded value, or NULL (the test fails when expansion fails). */
static char *get(const mig_config *cfg, const char *section, const char *key)
{
    char *v = NULL;
    int rc = mig_config_get(cfg, ctx, section, key, &v);
    if (rc != 0)
        fprintf(stderr, "\n[%s] %s: %s\n", section, key, mig_last_error(ctx)->message);
    CU_ASSERT_EQUAL(rc, 0);
    return v;
}

static void assert_value(const mig_config *cfg, const char *section, const char *key, const char *want)
{
    char *v = get(cfg, section, key);
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v && strcmp(v, want) != 0) {
        fprintf(stderr, "\n[%s] %s = \"%s\", want \"%s\"\n", section, key, v, want);
        CU_FAIL("value");
    }
    free(v);
}

static int load(mig_config **cfg, const char *path)
{
    setup();
    return mig_config_load(cfg, ctx, path, 1);
}

static void assert_hint(const char *needle)
{
    const char *h = mig_last_error(ctx)->hint;
    if (strstr(h, needle) == NULL) {
        fprintf(stderr, "\nhint \"%s\" lacks \"%s\"\n", h, needle);
        CU_FAIL("hint");
    }
}

/* ------------------------------------------------------------------ */

static void test_config__reads_every_section_of_the_spec_example(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    CU_ASSERT_STRING_EQUAL(mig_config_path(cfg), FIX "/full.ini");
    assert_value(cfg, "mig", "script_location", "migrations");
    assert_value(cfg, "mig", "driver", "postgres");
    assert_value(cfg, "hooks", "scripts", "hooks/audit.lua");
    assert_value(cfg, "post_write_hooks", "pgfmt.options", "-i REVISION_SCRIPT_FILENAME");
    assert_value(cfg, "tenants", "list", "acme, globex");
    assert_value(cfg, "autogenerate", "target", "schema.sql");
    CU_ASSERT(mig_config_has_section(cfg, "tenants"));
    CU_ASSERT(!mig_config_has_section(cfg, "nothing"));
    char *v = NULL;
    MIG_PASS(ctx, mig_config_get(cfg, ctx, "mig", "no_such_key", &v));
    CU_ASSERT_PTR_NULL(v);
    mig_config_free(cfg);
    teardown();
}

static void test_config__keeps_semicolons_and_hashes_inside_values(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    assert_value(cfg, "mig", "on_connect", "SET a = 1 ; SET b = 2; # still the value");
    mig_config_free(cfg);
    teardown();
}

static void test_config__keeps_raw_values_with_their_lines(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    int line = 0;
    const char *raw = mig_config_raw(cfg, "mig", "driver_path", &line);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    CU_ASSERT_STRING_EQUAL(raw, "${MIG_TEST_UNSET_VARIABLE}/drivers");
    CU_ASSERT_EQUAL(line, 12);
    CU_ASSERT_PTR_NULL(mig_config_raw(cfg, "mig", "absent", &line));
    CU_ASSERT_EQUAL(line, 0);
    mig_config_free(cfg);
    teardown();
}

static void test_config__joins_indented_lines_to_the_value_above(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    int line = 0;
    const char *raw = mig_config_raw(cfg, "tenants", "query", &line);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    CU_ASSERT_STRING_EQUAL(raw, "SELECT schema_name FROM tenants;\n-- a continuation line");
    CU_ASSERT_EQUAL(line, 29);
    mig_config_raw(cfg, "tenants", "create_schemas", &line);
    CU_ASSERT_EQUAL(line, 31);
    mig_config_free(cfg);
    teardown();
}

static void test_config__reads_typed_values(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    int b = -1;
    MIG_PASS(ctx, mig_config_get_bool(cfg, ctx, "mig", "transaction_per_migration", 0, &b));
    CU_ASSERT_EQUAL(b, 1);
    MIG_PASS(ctx, mig_config_get_bool(cfg, ctx, "tenants", "create_schemas", 1, &b));
    CU_ASSERT_EQUAL(b, 0);
    MIG_PASS(ctx, mig_config_get_bool(cfg, ctx, "tenants", "search_path", 1, &b));
    CU_ASSERT_EQUAL(b, 1);
    long n = 0;
    MIG_PASS(ctx, mig_config_get_int(cfg, ctx, "tenants", "jobs", 1, &n));
    CU_ASSERT_EQUAL(n, 4);
    MIG_PASS(ctx, mig_config_get_int(cfg, ctx, "mig", "absent", 7, &n));
    CU_ASSERT_EQUAL(n, 7);
    double t = 0;
    MIG_PASS(ctx, mig_config_get_double(cfg, ctx, "mig", "lock_timeout", 300, &t));
    CU_ASSERT_DOUBLE_EQUAL(t, 12.5, 1e-9);
    mig_config_free(cfg);
    teardown();
}

static void test_config__rejects_values_of_the_wrong_type_with_their_line(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/bad_values.ini"));
    int b;
    long n;
    double t;
    MIG_FAILS(ctx, mig_config_get_bool(cfg, ctx, "mig", "transaction_per_migration", 0, &b), MIG_ECONFIG,
              "bad_values.ini:2: [mig] transaction_per_migration: 'maybe' is not a boolean");
    MIG_FAILS(ctx, mig_config_get_double(cfg, ctx, "mig", "lock_timeout", 300, &t), MIG_ECONFIG,
              "bad_values.ini:3:");
    long long ms = 0;
    MIG_FAILS(ctx, mig_config_get_duration_ms(cfg, ctx, "mig", "lock_timeout_ddl", -1, &ms), MIG_ECONFIG,
              "bad_values.ini:4: [mig] lock_timeout_ddl: '5 seconds' is not a duration");
    CU_ASSERT_EQUAL(ms, -1);
    MIG_PASS(ctx, mig_config_get_duration_ms(cfg, ctx, "mig", "absent", -1, &ms));
    CU_ASSERT_EQUAL(ms, -1);
    MIG_FAILS(ctx, mig_config_get_int(cfg, ctx, "tenants", "jobs", 1, &n), MIG_ECONFIG,
              "bad_values.ini:7: [tenants] jobs: 'four' is not a whole number");
    CU_ASSERT_EQUAL(mig_last_error(ctx)->line, 7);
    mig_config_free(cfg);
    teardown();
}

/* ------------------------------------------------------------------ */
/* lookup                                                               */

static void test_config__finds_mig_ini_in_the_current_folder(void)
{
    mig_config *cfg = NULL;
    setup();
    CU_ASSERT_EQUAL_FATAL(chdir(FIX "/lookup"), 0);
    MIG_PASS(ctx, mig_config_load(&cfg, ctx, NULL, 1));
    CU_ASSERT_STRING_EQUAL(mig_config_path(cfg), "mig.ini");
    assert_value(cfg, "mig", "version_table", "from_cwd");
    char real[PATH_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(FIX "/lookup", real));
    CU_ASSERT_STRING_EQUAL(mig_config_dir(cfg), real);
    mig_config_free(cfg);
    teardown();
}

static void test_config__prefers_mig_config_to_the_current_folder(void)
{
    mig_config *cfg = NULL;
    setup();
    CU_ASSERT_EQUAL_FATAL(chdir(FIX "/lookup"), 0);
    setenv("MIG_CONFIG", "env.ini", 1);
    MIG_PASS(ctx, mig_config_load(&cfg, ctx, NULL, 1));
    assert_value(cfg, "mig", "version_table", "from_env");
    mig_config_free(cfg);
    teardown();
}

static void test_config__prefers_the_c_option_to_mig_config(void)
{
    mig_config *cfg = NULL;
    setup();
    CU_ASSERT_EQUAL_FATAL(chdir(FIX "/lookup"), 0);
    setenv("MIG_CONFIG", "env.ini", 1);
    MIG_PASS(ctx, mig_config_load(&cfg, ctx, "explicit.ini", 1));
    assert_value(cfg, "mig", "version_table", "from_explicit");
    mig_config_free(cfg);
    teardown();
}

/*
 * A fresh folder holding .git, so the search for mig.ini above the
 * current folder stops there (the source tree has a mig.ini of its own).
 * Returns its real path (static); the test removes it with rm_tree.
 */
static const char *fresh_repo(void)
{
    static char dir[PATH_MAX];
    char tmpl[] = "/tmp/mig-unit-config.XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpl));
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(tmpl, dir));
    char git[PATH_MAX + 8];
    snprintf(git, sizeof git, "%s/.git", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(git, 0700), 0);
    return dir;
}

static void rm_tree(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_config__finds_mig_ini_in_a_folder_above(void)
{
    mig_config *cfg = NULL;
    setup();
    const char *repo = fresh_repo();
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/mig.ini", repo);
    write_text(path, "[mig]\nversion_table = from_above\nscript_location = db\n");
    snprintf(path, sizeof path, "%s/a", repo);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/a/b", repo);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(chdir(path), 0);
    MIG_PASS(ctx, mig_config_load(&cfg, ctx, NULL, 1));
    CU_ASSERT_STRING_EQUAL(mig_config_path(cfg), "../../mig.ini");
    CU_ASSERT_STRING_EQUAL(mig_config_dir(cfg), repo);
    assert_value(cfg, "mig", "version_table", "from_above");
    mig_config_free(cfg);
    cfg = NULL;
    /* the nearest wins */
    write_text("../mig.ini", "[mig]\nversion_table = nearer\n");
    MIG_PASS(ctx, mig_config_load(&cfg, ctx, NULL, 1));
    CU_ASSERT_STRING_EQUAL(mig_config_path(cfg), "../mig.ini");
    assert_value(cfg, "mig", "version_table", "nearer");
    mig_config_free(cfg);
    teardown();
    rm_tree(repo);
}

static void test_config__stops_at_a_folder_holding_git(void)
{
    mig_config *cfg = NULL;
    setup();
    const char *outer = fresh_repo();
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/mig.ini", outer);
    write_text(path, "[mig]\nversion_table = outside\n");
    snprintf(path, sizeof path, "%s/inner", outer);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/inner/.git", outer);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/inner/sub", outer);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(chdir(path), 0);
    MIG_FAILS(ctx, mig_config_load(&cfg, ctx, NULL, 1), MIG_ECONFIG, "or any folder above it");
    CU_ASSERT_PTR_NULL(cfg);
    teardown();
    rm_tree(outer);
}

static void test_config__runs_without_a_file_when_none_is_required(void)
{
    mig_config *cfg = NULL;
    setup();
    const char *repo = fresh_repo();
    CU_ASSERT_EQUAL_FATAL(chdir(repo), 0); /* no mig.ini here or above */
    MIG_PASS(ctx, mig_config_load(&cfg, ctx, NULL, 0));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(mig_config_path(cfg), "");
    char cwd[PATH_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_STRING_EQUAL(mig_config_dir(cfg), cwd);
    CU_ASSERT_PTR_NULL(mig_config_raw(cfg, "mig", "url", NULL));
    CU_ASSERT_EQUAL(mig_last_error(ctx)->code, 0);
    mig_config_free(cfg);
    teardown();
    rm_tree(repo);
}

static void test_config__requires_mig_ini_when_asked(void)
{
    mig_config *cfg = NULL;
    setup();
    const char *repo = fresh_repo();
    CU_ASSERT_EQUAL_FATAL(chdir(repo), 0);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "no mig.ini in %s or any folder above it", repo);
    MIG_FAILS(ctx, mig_config_load(&cfg, ctx, NULL, 1), MIG_ECONFIG, want);
    CU_ASSERT_PTR_NULL(cfg);
    teardown();
    rm_tree(repo);
}

static void test_config__names_a_missing_file_given_with_c(void)
{
    mig_config *cfg = NULL;
    setup();
    MIG_FAILS(ctx, mig_config_load(&cfg, ctx, FIX "/nowhere.ini", 0), MIG_ECONFIG,
              "cannot read configuration file '" FIX "/nowhere.ini': No such file");
    CU_ASSERT_PTR_NULL(cfg);
    teardown();
}

static void test_config__names_a_missing_file_given_in_mig_config(void)
{
    mig_config *cfg = NULL;
    setup();
    setenv("MIG_CONFIG", "/nonexistent/mig.ini", 1);
    MIG_FAILS(ctx, mig_config_load(&cfg, ctx, NULL, 0), MIG_ECONFIG,
              "'/nonexistent/mig.ini' (from $MIG_CONFIG)");
    CU_ASSERT_PTR_NULL(cfg);
    teardown();
}

/* ------------------------------------------------------------------ */
/* errors at load                                                       */

static void test_config__reports_a_syntax_error_at_its_line(void)
{
    mig_config *cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/syntax.ini"), MIG_ECONFIG, "syntax.ini:4: syntax error");
    CU_ASSERT_EQUAL(mig_last_error(ctx)->line, 4);
    CU_ASSERT_STRING_EQUAL(mig_last_error(ctx)->file, FIX "/syntax.ini");
    CU_ASSERT_PTR_NULL(cfg);
    teardown();
}

static void test_config__suggests_the_key_that_was_meant(void)
{
    mig_config *cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/unknown_key.ini"), MIG_ECONFIG,
              "unknown_key.ini:3: unknown key 'scrpt_location' in [mig] (did you mean 'script_location'?)");
    CU_ASSERT_PTR_NULL(cfg);
    teardown();
}

static void test_config__suggests_the_section_that_was_meant(void)
{
    mig_config *cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/unknown_section.ini"), MIG_ECONFIG,
              "unknown_section.ini:4: unknown section '[tenant]' (did you mean '[tenants]'?)");
    teardown();
}

static void test_config__rejects_an_unknown_empty_section(void)
{
    mig_config *cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/unknown_empty_section.ini"), MIG_ECONFIG,
              "unknown_empty_section.ini:4: unknown section '[loggers]'");
    assert_hint("known sections");
    teardown();
}

static void test_config__says_where_a_misplaced_key_belongs(void)
{
    mig_config *cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/misplaced_key.ini"), MIG_ECONFIG,
              "misplaced_key.ini:2: unknown key 'list' in [mig]");
    assert_hint("'list' belongs in [tenants]");
    teardown();
}

static void test_config__rejects_a_duplicate_key(void)
{
    mig_config *cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/duplicate.ini"), MIG_ECONFIG,
              "duplicate.ini:4: duplicate key 'url' in [mig] (first set at line 2)");
    teardown();
    cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/duplicate_across_sections.ini"), MIG_ECONFIG,
              "duplicate_across_sections.ini:4: duplicate key 'url' in [mig]");
    teardown();
}

static void test_config__rejects_a_key_outside_any_section(void)
{
    mig_config *cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/outside.ini"), MIG_ECONFIG,
              "outside.ini:1: key 'url' is outside any section");
    teardown();
}

static void test_config__takes_any_option_of_a_named_post_write_hook(void)
{
    mig_config *cfg = NULL;
    MIG_FAILS(ctx, load(&cfg, FIX "/hook_options.ini"), MIG_ECONFIG,
              "hook_options.ini:4: unknown key 'hook' in [post_write_hooks] (did you mean 'hooks'?)");
    teardown();
}

static void test_config__reads_crlf_files_long_lines_and_empty_sections(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/crlf.ini"));
    assert_value(cfg, "mig", "on_connect", "PRAGMA foreign_keys = ON;");
    mig_config_free(cfg);
    teardown();

    cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/long_line.ini"));
    char *v = get(cfg, "mig", "on_connect");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(strlen(v), strlen("SELECT ''; SELECT 2") + 5000);
    free(v);
    int line = 0;
    mig_config_raw(cfg, "mig", "url", &line);
    CU_ASSERT_EQUAL(line, 3);
    mig_config_free(cfg);
    teardown();

    cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/empty_section.ini"));
    CU_ASSERT(mig_config_has_section(cfg, "autogenerate"));
    mig_config_free(cfg);
    teardown();
}

/* ------------------------------------------------------------------ */
/* expansion                                                            */

static void test_config__expands_here_to_the_files_folder(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    char real[PATH_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(FIX, real));
    CU_ASSERT_STRING_EQUAL(mig_config_dir(cfg), real);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "sqlite:///%s/app.db", real);
    assert_value(cfg, "mig", "url", want);
    mig_config_free(cfg);
    teardown();
}

static void test_config__prefers_the_variable_to_its_default(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    setenv("MIG_TEST_DB_URL", "postgresql://app@db/app", 1);
    assert_value(cfg, "mig", "url", "postgresql://app@db/app");
    unsetenv("MIG_TEST_DB_URL");
    mig_config_free(cfg);
    teardown();
}

static void test_config__names_an_unset_variable_with_path_and_line(void)
{
    mig_config *cfg = NULL;
    /* loading is fine: the value is only expanded when used */
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    char *v = NULL;
    MIG_FAILS(ctx, mig_config_get(cfg, ctx, "mig", "driver_path", &v), MIG_ECONFIG,
              FIX
              "/full.ini:12: [mig] driver_path: environment variable 'MIG_TEST_UNSET_VARIABLE' is not set");
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_EQUAL(mig_last_error(ctx)->line, 12);
    assert_hint("${MIG_TEST_UNSET_VARIABLE:-default}");
    setenv("MIG_TEST_UNSET_VARIABLE", "/opt", 1);
    assert_value(cfg, "mig", "driver_path", "/opt/drivers");
    mig_config_free(cfg);
    teardown();
}

static void expect(const char *in, const char *want)
{
    char *out = NULL;
    int rc = mig_config_expand(ctx, in, "/proj", "[mig] url", "mig.ini", 3, &out);
    if (rc != 0)
        fprintf(stderr, "\n\"%s\": %s\n", in, mig_last_error(ctx)->message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    if (strcmp(out, want) != 0) {
        fprintf(stderr, "\n\"%s\" -> \"%s\", want \"%s\"\n", in, out, want);
        CU_FAIL("expansion");
    }
    free(out);
}

static void test_config__expands_variables_defaults_and_escapes(void)
{
    setup();
    setenv("MIG_T_SET", "value", 1);
    setenv("MIG_T_EMPTY", "", 1);
    unsetenv("MIG_T_UNSET");
    expect("", "");
    expect("plain", "plain");
    expect("${MIG_T_SET}", "value");
    expect("a${MIG_T_SET}b${MIG_T_SET}", "avaluebvalue");
    expect("${MIG_T_UNSET:-dflt}", "dflt");
    expect("${MIG_T_SET:-dflt}", "value");
    expect("${MIG_T_EMPTY:-dflt}", "dflt"); /* :- also replaces empty */
    expect("${MIG_T_EMPTY-dflt}", "");      /* - only replaces unset */
    expect("${MIG_T_UNSET-dflt}", "dflt");
    expect("${MIG_T_UNSET:-}", "");
    expect("${MIG_T_UNSET:-${MIG_T_SET}}", "value");
    expect("${MIG_T_UNSET:-%(here)s/x}", "/proj/x");
    expect("${MIG_T_UNSET:-a:b@c/d?e}", "a:b@c/d?e");
    expect("%(here)s/versions", "/proj/versions");
    expect("100%% sure", "100% sure");
    expect("50% and $5 and $HOME", "50% and $5 and $HOME");
    expect("DO $$ BEGIN NULL; END $$", "DO $$ BEGIN NULL; END $$");
    unsetenv("MIG_T_SET");
    unsetenv("MIG_T_EMPTY");
    teardown();
}

static void test_config__rejects_malformed_references(void)
{
    setup();
    char *out = NULL;
    MIG_FAILS(ctx, mig_config_expand(ctx, "x ${UNCLOSED", "/", "[mig] url", "mig.ini", 5, &out),
              MIG_ECONFIG, "mig.ini:5: [mig] url: malformed '${UNCLOSED'");
    MIG_FAILS(ctx, mig_config_expand(ctx, "${}", "/", "[mig] url", "mig.ini", 5, &out), MIG_ECONFIG,
              "malformed");
    MIG_FAILS(ctx, mig_config_expand(ctx, "${1X}", "/", "[mig] url", "mig.ini", 5, &out), MIG_ECONFIG,
              "malformed");
    MIG_FAILS(ctx, mig_config_expand(ctx, "${A B}", "/", "[mig] url", "mig.ini", 5, &out), MIG_ECONFIG,
              "malformed");
    unsetenv("MIG_T_UNSET");
    MIG_FAILS(ctx, mig_config_expand(ctx, "${MIG_T_UNSET}", "/", "--url", NULL, 0, &out), MIG_ECONFIG,
              "--url: environment variable 'MIG_T_UNSET' is not set");
    CU_ASSERT_PTR_NULL(out);
    teardown();
}

static void test_config__limits_the_nesting_of_defaults(void)
{
    setup();
    unsetenv("MIG_T_UNSET");
    mig_buf in = MIG_BUF_INIT;
    for (int i = 0; i < 32; i++)
        mig_buf_puts(&in, "${MIG_T_UNSET:-");
    mig_buf_puts(&in, "deep");
    for (int i = 0; i < 32; i++)
        mig_buf_putc(&in, '}');
    expect(mig_buf_cstr(&in), "deep");
    /* one more level is refused before any expansion, naming the file and line */
    mig_buf_clear(&in);
    for (int i = 0; i < 33; i++)
        mig_buf_puts(&in, "${MIG_T_UNSET:-");
    for (int i = 0; i < 33; i++)
        mig_buf_putc(&in, '}');
    char *out = NULL;
    MIG_FAILS(ctx, mig_config_expand(ctx, mig_buf_cstr(&in), "/", "[mig] url", "mig.ini", 7, &out),
              MIG_ECONFIG, "mig.ini:7: [mig] url: ${...} nested more than 32 deep");
    CU_ASSERT_PTR_NULL(out);
    /* siblings are no nesting: 100,000 of them expand */
    mig_buf_clear(&in);
    for (int i = 0; i < 100000; i++)
        mig_buf_puts(&in, "${MIG_T_UNSET:-${MIG_T_UNSET:-x}}");
    MIG_PASS(ctx, mig_config_expand(ctx, mig_buf_cstr(&in), "/", "[mig] url", "mig.ini", 7, &out));
    CU_ASSERT_EQUAL(strlen(out), 100000);
    free(out);
    mig_buf_release(&in);
    teardown();
}

static void test_config__joins_relative_paths_to_the_base(void)
{
    struct {
        const char *base, *rel, *want;
    } cases[] = {
        { "/proj", "migrations", "/proj/migrations" },
        { "/proj/", "migrations", "/proj/migrations" },
        { "/proj", "./migrations", "/proj/migrations" },
        { "/proj", "../shared/x.lua", "/proj/../shared/x.lua" },
        { "/proj", "/abs/path", "/abs/path" },
        { "/proj", ".", "/proj" },
        { "/proj", "", "/proj" },
        { "/", "x", "/x" },
        { NULL, "rel", "rel" },
        { "", "rel", "rel" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = mig_path_join(cases[i].base, cases[i].rel);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        if (strcmp(got, cases[i].want) != 0) {
            fprintf(stderr, "\njoin(%s, %s) = %s, want %s\n", cases[i].base ? cases[i].base : "NULL",
                    cases[i].rel, got, cases[i].want);
            CU_FAIL("join");
        }
        free(got);
    }
    CU_ASSERT_PTR_NULL(mig_path_join("/x", NULL));
}

static int collect(void *payload, const char *key, const char *raw, int line)
{
    (void)raw;
    (void)line;
    mig_buf_printf(payload, "%s ", key);
    return 0;
}

static void test_config__iterates_a_section_in_file_order(void)
{
    mig_config *cfg = NULL;
    MIG_PASS(ctx, load(&cfg, FIX "/full.ini"));
    mig_buf keys = MIG_BUF_INIT;
    MIG_PASS(ctx, mig_config_foreach(cfg, "post_write_hooks", collect, &keys));
    CU_ASSERT_STRING_EQUAL(mig_buf_cstr(&keys),
                           "hooks sqlformat.type sqlformat.script pgfmt.type pgfmt.executable pgfmt.options ");
    mig_buf_release(&keys);
    mig_config_free(cfg);
    teardown();
}

static CU_TestInfo tests[] = {
    { "reads every section of the spec example", test_config__reads_every_section_of_the_spec_example },
    { "keeps semicolons and hashes inside values", test_config__keeps_semicolons_and_hashes_inside_values },
    { "keeps raw values with their lines", test_config__keeps_raw_values_with_their_lines },
    { "joins indented lines to the value above", test_config__joins_indented_lines_to_the_value_above },
    { "reads typed values", test_config__reads_typed_values },
    { "rejects values of the wrong type with their line",
      test_config__rejects_values_of_the_wrong_type_with_their_line },
    { "finds mig.ini in the current folder", test_config__finds_mig_ini_in_the_current_folder },
    { "prefers $MIG_CONFIG to the current folder", test_config__prefers_mig_config_to_the_current_folder },
    { "prefers -c to $MIG_CONFIG", test_config__prefers_the_c_option_to_mig_config },
    { "finds mig.ini in a folder above", test_config__finds_mig_ini_in_a_folder_above },
    { "stops at a folder holding .git", test_config__stops_at_a_folder_holding_git },
    { "runs without a file when none is required", test_config__runs_without_a_file_when_none_is_required },
    { "requires mig.ini when asked", test_config__requires_mig_ini_when_asked },
    { "names a missing file given with -c", test_config__names_a_missing_file_given_with_c },
    { "names a missing file given in $MIG_CONFIG", test_config__names_a_missing_file_given_in_mig_config },
    { "reports a syntax error at its line", test_config__reports_a_syntax_error_at_its_line },
    { "suggests the key that was meant", test_config__suggests_the_key_that_was_meant },
    { "suggests the section that was meant", test_config__suggests_the_section_that_was_meant },
    { "rejects an unknown empty section", test_config__rejects_an_unknown_empty_section },
    { "says where a misplaced key belongs", test_config__says_where_a_misplaced_key_belongs },
    { "rejects a duplicate key", test_config__rejects_a_duplicate_key },
    { "rejects a key outside any section", test_config__rejects_a_key_outside_any_section },
    { "takes any option of a named post-write hook",
      test_config__takes_any_option_of_a_named_post_write_hook },
    { "reads CRLF files, long lines and empty sections",
      test_config__reads_crlf_files_long_lines_and_empty_sections },
    { "expands %(here)s to the file's folder", test_config__expands_here_to_the_files_folder },
    { "prefers the variable to its default", test_config__prefers_the_variable_to_its_default },
    { "names an unset variable with path:LINE", test_config__names_an_unset_variable_with_path_and_line },
    { "expands variables, defaults and escapes", test_config__expands_variables_defaults_and_escapes },
    { "rejects malformed references", test_config__rejects_malformed_references },
    { "limits the nesting of defaults", test_config__limits_the_nesting_of_defaults },
    { "joins relative paths to the base", test_config__joins_relative_paths_to_the_base },
    { "iterates a section in file order", test_config__iterates_a_section_in_file_order },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("config", tests)
