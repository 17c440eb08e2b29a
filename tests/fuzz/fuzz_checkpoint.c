/*
 * fuzz_checkpoint.c: libFuzzer target for the checkpoint reader, on the bytes of
 * a file, read into a tiny model (Z 2, Hg 3, Hd 2, X 4) as --resume would.
 *
 * By default inputs go through the header and crc32 gate, as in real use: a
 * mutated file must be refused with a message. With FUZZ_RESEAL=1 each input's
 * header is recomputed first so that the bytes reach libhdf5's parser; that
 * explores HDF5 itself, which is not hardened against malformed files (see
 * tests/fuzz/README.md), so it is not part of the test suite.
 * Replay files without fuzzing: fuzz_checkpoint corpus/checkpoint/FILE...
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checkpoint.h"
#include "h5util.h"

static gan model;
static int reseal;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    h5_init();
    reseal = getenv("FUZZ_RESEAL") && strcmp(getenv("FUZZ_RESEAL"), "1") == 0;
    const gan_hparams hp = {.noise_dim = 2, .g_hidden = 3, .d_hidden = 2, .image_size = 4,
                            .leaky_alpha = 0.01f, .adam = {1e-3, 0.9, 0.999, 1e-8}};
    gan_init(&model, &hp, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *bytes = malloc(size ? size : 1);
    memcpy(bytes, data, size);
    if (reseal && size > CHECKPOINT_HEADER_BYTES) {
        char header[CHECKPOINT_HEADER_BYTES] = {0};
        unsigned long crc = crc32(0L, bytes + CHECKPOINT_HEADER_BYTES, (uInt)(size - CHECKPOINT_HEADER_BYTES));
        snprintf(header, sizeof header, "%sformat %d\nhdf5 bytes %zu\ncrc32 %08lx\n", CHECKPOINT_MAGIC,
                 CHECKPOINT_FORMAT_VERSION, size - CHECKPOINT_HEADER_BYTES, crc);
        memcpy(bytes, header, sizeof header);
    }
    checkpoint_info info;
    err_buf err = {{0}};
    if (checkpoint_read_image(bytes, size, "fuzz.h5", &model, &info, &err) == 0) {
        /* The contract on success: finite weights, a consistent per-rank state. */
        for (size_t i = 0; i < model.g.n_params; i++)
            if (!isfinite(model.g.params[i]) || model.g.v[i] < 0) abort();
        if (info.world_size < 1 || info.state.world != info.world_size || info.step < 0) abort();
        run_state_free(&info.state);
        free(info.ema);
    } else if (err.msg[0] == '\0') {
        abort(); /* every refusal must explain itself */
    }
    /* Every HDF5 object the reader opened must be closed again, on every path. */
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) {
        fprintf(stderr, "checkpoint_read left %zd HDF5 objects open\n", H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
        abort();
    }
    free(bytes);
    return 0;
}
