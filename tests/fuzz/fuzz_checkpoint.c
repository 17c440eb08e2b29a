/*
 * fuzz_checkpoint.c: libFuzzer target for the checkpoint reader. Each input is
 * written as a file and read back into a tiny model (Z 2, Hg 3, Hd 2, X 4), as
 * --resume would. Replay a corpus without fuzzing: fuzz_checkpoint corpus/checkpoint/FILE...
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "checkpoint.h"
#include "h5util.h"

static char path[64];
static gan model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    h5_init();
    snprintf(path, sizeof path, "/tmp/fuzz_ckpt_%d.h5", (int)getpid());
    const gan_hparams hp = {.noise_dim = 2, .g_hidden = 3, .d_hidden = 2, .image_size = 4,
                            .leaky_alpha = 0.01f, .adam = {1e-3, 0.9, 0.999, 1e-8}};
    gan_init(&model, &hp, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    checkpoint_info info;
    err_buf err = {{0}};
    if (checkpoint_read(path, &model, &info, &err) == 0) {
        /* The contract on success: finite weights, a consistent per-rank state. */
        for (size_t i = 0; i < model.g.n_params; i++)
            if (!isfinite(model.g.params[i]) || model.g.v[i] < 0) abort();
        if (info.world_size < 1 || info.state.world != info.world_size || info.step < 0) abort();
        run_state_free(&info.state);
    } else if (err.msg[0] == '\0') {
        abort();
    }
    /* Every HDF5 object the reader opened must be closed again, on every path. */
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) {
        fprintf(stderr, "checkpoint_read left %zd HDF5 objects open\n", H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
        abort();
    }
    return 0;
}
