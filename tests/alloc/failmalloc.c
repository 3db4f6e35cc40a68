/*
 * Allocation-failure shim, preloaded into mig (LD_PRELOAD): counts every
 * malloc, calloc, realloc, strdup and strndup made once main() has started
 * and makes the Nth one fail, as SQLite's test harness does, so each error
 * path behind an allocation runs once.
 *
 *   MIG_ALLOC_FAIL=N      fail allocation number N (1-based); 0 or unset: none
 *   MIG_ALLOC_PERSIST=1   fail every allocation from N on, not just the Nth
 *   MIG_ALLOC_REPORT=PATH write "failed N" when the failure is injected and
 *                         "allocs COUNT" at exit, so the runner knows when a
 *                         run went through without reaching N
 *   MIG_ALLOC_SPARE=A:B   never fail (nor count) an allocation called from
 *                         an object whose path contains A or B; for an
 *                         entry stack=NAME, one with such an object among
 *                         the callers of its caller
 *   MIG_ALLOC_TRACE=1     print a backtrace on stderr where the failure hits
 *
 * libcrypto is spared by the runner: OpenSSL 3.0 dereferences a NULL lock
 * when an allocation fails inside its lazy initialisation, a crash no caller
 * can prevent (docs/reliability.md).
 *
 * The real functions come from the next object in line (RTLD_NEXT): libc's,
 * or AddressSanitizer's in a sanitizer build, which then still sees every
 * block and reports leaks. Allocations before main() (the loader, library
 * constructors) are not counted: they are not mig's to handle.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;

static int armed;
static unsigned long count;
static unsigned long fail_at;
static int persist;
static const char *report;
static const char *spare;
static int trace;

/* dlsym() may itself calloc before the real functions are known */
static char boot[8192];
static size_t boot_used;

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot)
        return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p;
}

static int is_boot(const void *p)
{
    return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static void resolve(void)
{
    static int resolving;
    if (real_malloc || resolving)
        return;
    resolving = 1;
    real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
    real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
    real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
    real_free = (free_fn)dlsym(RTLD_NEXT, "free");
    resolving = 0;
}

static void say(const char *fmt, unsigned long n)
{
    if (report == NULL)
        return;
    int fd = open(report, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return;
    char line[64];
    int len = snprintf(line, sizeof line, fmt, n);
    if (len > 0 && write(fd, line, (size_t)len) < 0) {
        /* nothing to do: the runner sees no report */
    }
    close(fd);
}

/* Is the code at address `caller` in a spared object? (uncached) */
static int spared_lookup(const void *caller)
{
    Dl_info info;
    if (!dladdr(caller, &info) || info.dli_fname == NULL)
        return 0;
    const char *p = spare;
    while (*p) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char name[256];
        if (n > 0 && n < sizeof name) {
            memcpy(name, p, n);
            name[n] = '\0';
            if (strncmp(name, "stack=", 6) == 0)
                ; /* see spared_stack */
            else if (strstr(info.dli_fname, name))
                return 1;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* Is any of the first frames of the current stack in an object named by a stack=NAME entry? */
static int spared_stack(void)
{
    static int has_stack = -1;
    if (has_stack < 0)
        has_stack = spare && strstr(spare, "stack=") != NULL;
    if (!has_stack)
        return 0;
    void *frames[10];
    int n = backtrace(frames, 10);
    for (int i = 2; i < n; i++) {
        Dl_info info;
        if (!dladdr(frames[i], &info) || info.dli_fname == NULL)
            continue;
        for (const char *p = strstr(spare, "stack="); p; p = strstr(p + 1, "stack=")) {
            const char *name = p + 6;
            size_t len = strcspn(name, ":");
            char buf[128];
            if (len == 0 || len >= sizeof buf)
                continue;
            memcpy(buf, name, len);
            buf[len] = '\0';
            if (strstr(info.dli_fname, buf))
                return 1;
        }
    }
    return 0;
}

/* The same, remembered per call site: dladdr is slow and sites are few. */
static int spared(const void *caller)
{
    static struct {
        const void *addr;
        int spared;
    } seen[8192];
    if (spare == NULL || *spare == '\0')
        return 0;
    size_t h = ((size_t)caller >> 2) % (sizeof seen / sizeof *seen);
    for (size_t i = 0; i < sizeof seen / sizeof *seen; i++) {
        size_t k = (h + i) % (sizeof seen / sizeof *seen);
        if (seen[k].addr == caller)
            return seen[k].spared;
        if (seen[k].addr == NULL) {
            seen[k].addr = caller;
            seen[k].spared = spared_lookup(caller);
            return seen[k].spared;
        }
    }
    return spared_lookup(caller);
}

/* Should this allocation, called from `caller`, fail? Counts it. */
static int should_fail(const void *caller)
{
    if (!armed)
        return 0;
    armed = 0; /* dladdr and backtrace may allocate */
    int fail = 0;
    if (!spared(caller) && !spared_stack()) {
        count++;
        if (fail_at != 0 && (count == fail_at || (persist && count > fail_at)))
            fail = 1;
        if (fail && count == fail_at) {
            say("failed %lu\n", count);
            if (trace) {
                void *frames[32];
                int n = backtrace(frames, 32);
                backtrace_symbols_fd(frames, n, 2);
            }
        }
    }
    armed = 1;
    if (fail)
        errno = ENOMEM; /* as libc's allocator does: glibc asserts it in places */
    return fail;
}

void *malloc(size_t n)
{
    resolve();
    if (real_malloc == NULL)
        return boot_alloc(n);
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return real_malloc(n);
}

void *calloc(size_t m, size_t n)
{
    resolve();
    if (real_calloc == NULL) {
        if (n && m > (size_t)-1 / n)
            return NULL;
        return boot_alloc(m * n); /* static: already zero */
    }
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return real_calloc(m, n);
}

void *realloc(void *p, size_t n)
{
    resolve();
    if (is_boot(p)) {
        void *q = malloc(n);
        if (q)
            memcpy(q, p, n); /* boot blocks are few and large enough */
        return q;
    }
    if (n != 0 && should_fail(__builtin_return_address(0)))
        return NULL;
    return real_realloc(p, n);
}

void free(void *p)
{
    if (p == NULL || is_boot(p))
        return;
    resolve();
    real_free(p);
}

char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    resolve();
    char *d = should_fail(__builtin_return_address(0)) ? NULL : real_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

char *strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    resolve();
    char *d = should_fail(__builtin_return_address(0)) ? NULL : real_malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void at_exit(void)
{
    armed = 0;
    say("allocs %lu\n", count);
}

/* Arm the counter when main() starts, not before. */
typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);
static main_fn real_main;

static int counted_main(int argc, char **argv, char **envp)
{
    const char *v = getenv("MIG_ALLOC_FAIL");
    fail_at = v ? strtoul(v, NULL, 10) : 0;
    v = getenv("MIG_ALLOC_PERSIST");
    persist = v && *v == '1';
    report = getenv("MIG_ALLOC_REPORT");
    spare = getenv("MIG_ALLOC_SPARE");
    v = getenv("MIG_ALLOC_TRACE");
    trace = v && *v == '1';
    atexit(at_exit);
    armed = 1;
    return real_main(argc, argv, envp);
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end)
{
    start_fn real_start = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return real_start(counted_main, argc, argv, init, fini, rtld_fini, stack_end);
}
