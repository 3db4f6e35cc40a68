/*
 * SHA-256 from libcrypto, opened with dlopen on the first hash instead of
 * linked: a process that loads libcrypto at exec pays for mapping and
 * relocating it (about a million instructions, more than sqlite3 spends on
 * a whole `select`) before main, and most commands (`current`, `heads`,
 * `history`, a no-op `upgrade`) never hash. The calls are libcrypto's
 * plain SHA-256 ones, SHA256_Init/Update/Final on a context that is a plain
 * struct on the stack: no EVP algorithm fetch, no context allocated per
 * call (OpenSSL 3's one-shot SHA256() goes through EVP_Q_digest, which
 * does both: 20 M instructions for 1,000 revision files against 11 M
 * here), and a running hash is read by copying its struct.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/opensslv.h>
#include <openssl/sha.h>

#include "revfile.h"

#define STR_(x) #x
#define STR(x)  STR_(x)
/* the soname this build was compiled against, whose struct layout it knows */
#define CRYPTO_SONAME "libcrypto.so." STR(OPENSSL_SHLIB_VERSION)

static struct {
    int (*init)(SHA256_CTX *c);
    int (*update)(SHA256_CTX *c, const void *d, size_t n);
    int (*final)(unsigned char *md, SHA256_CTX *c);
    int ok;
} crypto;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_open(void)
{
    /* never closed: the handle lives as long as the process, as a linked library would */
    void *h = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return;
    /* POSIX: a function pointer goes through the object pointer dlsym returns */
    *(void **)&crypto.init = dlsym(h, "SHA256_Init");
    *(void **)&crypto.update = dlsym(h, "SHA256_Update");
    *(void **)&crypto.final = dlsym(h, "SHA256_Final");
    crypto.ok = crypto.init && crypto.update && crypto.final;
}

static int crypto_ready(void)
{
    pthread_once(&crypto_once, crypto_open);
    return crypto.ok;
}

static void to_hex(const unsigned char md[32], int ok, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    if (!ok) {
        /* libcrypto missing or without SHA-256 is a broken install; never match anything */
        memset(out, '?', 64);
        out[64] = '\0';
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void mig_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;
    int ok = crypto_ready() && crypto.init(&c) && crypto.update(&c, data, len) && crypto.final(md, &c);
    to_hex(md, ok, out);
}

struct mig_sha256 {
    SHA256_CTX c;
    int ok;
};

mig_sha256 *mig_sha256_new(void)
{
    mig_sha256 *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->ok = crypto_ready() && crypto.init(&h->c);
    return h;
}

void mig_sha256_feed(mig_sha256 *h, const void *data, size_t len)
{
    if (h && h->ok)
        h->ok = crypto.update(&h->c, data, len);
}

void mig_sha256_peek_hex(const mig_sha256 *h, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    int ok = 0;
    if (h && h->ok) {
        SHA256_CTX copy = h->c; /* finishing a copy leaves h running */
        ok = crypto.final(md, &copy);
    }
    to_hex(md, ok, out);
}

void mig_sha256_free(mig_sha256 *h)
{
    if (h == NULL)
        return;
    free(h);
}
