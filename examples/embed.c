/*
 * An application that migrates its own database at start-up, the
 * equivalent of `mig upgrade head`, through the public API only.
 *
 *     embed CONFIG_PATH [URL]
 */
#include <stdio.h>

#include <mig/mig.h>

static void on_step(void *payload, const mig_step_report *step)
{
    int *count = payload;
    (*count)++;
    printf("applied %s (%s)\n", step->revision, step->message);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIG_PATH [URL]\n", argv[0]);
        return 2;
    }
    mig_options o = MIG_OPTIONS_INIT;
    o.config_path = argv[1];
    o.url = argc > 2 ? argv[2] : NULL;
    o.quiet = 1;

    mig_ctx *ctx = NULL;
    int steps = 0;
    int rc = mig_ctx_new(&ctx, &o);
    if (rc == 0) {
        mig_set_step_callback(ctx, on_step, &steps);
        rc = mig_upgrade(ctx, "head", 0);
    }
    if (rc != 0)
        fprintf(stderr, "embed: %s\n", mig_last_error(ctx)->message);
    else
        printf("database is current (%d step%s)\n", steps, steps == 1 ? "" : "s");
    mig_ctx_free(ctx);
    return mig_exit_status(rc);
}
