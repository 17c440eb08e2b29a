/*
 * fuzz_idx.c: libFuzzer target for the IDX loader. An input is
 *   byte 0: the digit to select; bytes 1-2: length L of the images file (mod the rest);
 *   then L bytes of images file and the rest as the labels file (raw or gzip).
 * Replay a corpus without fuzzing: fuzz_idx corpus/idx/FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idx.h"

static char images_path[64], labels_path[64];

static void put(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (len && fwrite(data, 1, len, f) != len) abort();
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(images_path, sizeof images_path, "/tmp/fuzz_idx_%d_images", (int)getpid());
    snprintf(labels_path, sizeof labels_path, "/tmp/fuzz_idx_%d_labels", (int)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    int digit = data[0];
    size_t rest = size - 3, len = rest ? ((size_t)data[1] << 8 | data[2]) % (rest + 1) : 0;
    put(images_path, data + 3, len);
    put(labels_path, data + 3 + len, rest - len);
    idx_images img;
    err_buf err = {{0}};
    if (idx_load_digit(images_path, labels_path, digit, &img, &err) == 0) {
        /* The contract on success: n images of rows x cols, all with the label. */
        if (img.n < 1 || img.rows < 1 || img.cols < 1 || img.n > img.total) abort();
        volatile uint8_t sink = img.pixels[(size_t)img.n * img.rows * img.cols - 1];
        (void)sink;
        idx_free(&img);
    } else if (err.msg[0] == '\0' || img.pixels) {
        abort(); /* every failure must explain itself and leave nothing allocated */
    }
    return 0;
}
