/* classify.c: classify 8×8 digits with a network exported by symnet — no Python, no symnet.
 *
 *   cc -O2 -I build -DMODEL_HEADER='"digits.h"' -DPREFIX=digits -DMACROS=DIGITS \
 *      classify.c build/digits.o -lm -o classify
 *   ./classify images.f32 labels.u8
 *
 * images.f32: float32 images, 64 (or 1·8·8) values each; labels.u8: one byte per image. Prints the accuracy.
 * Built with -DWEIGHTS_FILE, it reads the weights from the file named by the third argument instead. The readable
 * C source (build/digits.c, from export_digits.py --c-source) builds in place of build/digits.o, same header.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include MODEL_HEADER

#define JOIN(a, b) a##b
#define NAME(prefix, what) JOIN(prefix, what)
#define FORWARD NAME(PREFIX, _forward)
#define WORKSPACE_BYTES NAME(PREFIX, _workspace_bytes)
typedef NAME(PREFIX, _input_t) input_t;
typedef NAME(PREFIX, _output_t) output_t;

/* A whole file in 64-byte aligned memory (NULL on failure). */
static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    void *data = aligned_alloc(64, (*size + 63) / 64 * 64);
    if (data && fread(data, 1, *size, f) != *size) { free(data); data = NULL; }
    fclose(f);
    return data;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s images.f32 labels.u8 [weights]\n", argv[0]); return 2; }
    size_t image_bytes, label_bytes;
    input_t *images = read_file(argv[1], &image_bytes);
    uint8_t *labels = read_file(argv[2], &label_bytes);
    if (!images || !labels) { fprintf(stderr, "cannot read the data\n"); return 2; }
    int64_t count = (int64_t)label_bytes;
    const size_t per_image = image_bytes / sizeof(input_t) / (size_t)count;
    /* a fixed-batch export runs batch by batch; any other takes the whole set at once */
    const int64_t batch = NAME(MACROS, _BATCH) ? NAME(MACROS, _BATCH) : count;
    output_t *scores = malloc(sizeof(output_t) * 10 * (size_t)batch);
    void *workspace = aligned_alloc(64, (WORKSPACE_BYTES(batch) + 63) / 64 * 64 + 64);
#ifdef WEIGHTS_FILE
    size_t weight_bytes;
    void *weights = argc > 3 ? read_file(argv[3], &weight_bytes) : NULL;
#endif
    int64_t right = 0, done = 0;
    for (int64_t start = 0; start + batch <= count; start += batch) {
#ifdef WEIGHTS_FILE
        int status = FORWARD(weights, images + start * per_image, scores, batch, workspace);
#else
        int status = FORWARD(images + start * per_image, scores, batch, workspace);
#endif
        if (status) { fprintf(stderr, "forward failed: status %d\n", status); return 1; }
        for (int64_t i = 0; i < batch; i++) {
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (scores[i * 10 + c] > scores[i * 10 + best]) best = c;
            right += best == labels[start + i];
        }
        done += batch;
    }
    printf("accuracy %.4f (%lld of %lld images)\n", (double)right / (double)done, (long long)right,
           (long long)done);
    return 0;
}
