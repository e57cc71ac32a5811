/* e5.h - blazing-fast CPU inference for multilingual-e5-small (4-bit, pure C) */
#ifndef E5_H
#define E5_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct e5_model e5_model;

/* Load the packed 4-bit model produced by convert.py. Returns NULL on error. */
e5_model *e5_load(const char *path);
/* Load a model from an in-memory image (e.g. embedded in the binary). The
 * buffer must outlive the model; it is not copied or freed. */
e5_model *e5_load_mem(const void *data, size_t size);
void      e5_free(e5_model *m);

/* Token count (incl. specials) for usage reporting. */
int e5_token_count(e5_model *m, const char *text, int is_query);

/* Embedding dimension (384). */
int       e5_dim(const e5_model *m);

/* Embed one text. `is_query` selects the "query: " (1) or "passage: " (0)
 * prefix described in the model card. `out` must hold e5_dim() floats; it is
 * filled with the L2-normalized sentence embedding. Returns 0 on success.
 * Internally parallelized across CPU cores (low latency for a single text). */
int e5_embed(e5_model *m, const char *text, int is_query, float *out);

/* Embed `n` texts at once, writing n*e5_dim() floats (row-major) into `out`.
 * Parallelized across texts for maximum throughput. Returns 0 on success. */
int e5_embed_batch(e5_model *m, const char **texts, int n, int is_query,
                   float *out);

/* --- sparse "latent terms" via a trained TopK sparse autoencoder (SAE) -----
 * Load a sparse head (sae.bin from sae_train.py); then e5_embed_sparse maps the
 * encoder's token hidden states through the SAE and max-pools over tokens into
 * a high-dimensional sparse vector for hybrid (dense + sparse) retrieval. */

/* Attach a sparse head from sae.bin. Returns 0 on success. */
int e5_load_sae(e5_model *m, const char *path);

/* Number of sparse features (SAE latent dimension), or 0 if no SAE is loaded. */
int e5_sparse_dim(const e5_model *m);

/* Top-k sparse vector for `text`. Requires e5_load_sae. `out_idx`/`out_val`
 * must hold `top_k` entries; returns the number of nonzeros (<= top_k), sorted
 * by weight descending, or -1 if no SAE is loaded. Sparse uses the raw text
 * (no query:/passage: prefix); the same recipe is used for queries and docs. */
int e5_embed_sparse(e5_model *m, const char *text, int top_k,
                    int32_t *out_idx, float *out_val);

/* qa addition: embed n texts as e5_embed_batch does (out: n*e5_dim() floats) and, from the same
 * forward pass, one mean-pooled, L2-normalised vector per segment (seg_out: sum(nseg)*e5_dim()).
 * Segment s of text i starts at byte starts[sum(nseg[:i]) + s] of texts[i] and ends where the next
 * one starts (the last at the text's end). local_layers > 0: the segments are pooled from a second
 * run of the last local_layers layers with each segment's attention kept to itself and the window's
 * [CLS] and prefix. Returns 0 on success. */
int e5_embed_segments(e5_model *m, const char **texts, int n, const int *nseg,
                      const int *starts, int is_query, int local_layers, float *out, float *seg_out);

/* qa addition: "local first, then split": the first local_first layers shared by each text and its
 * segments, every segment's tokens attending only to themselves and their own copy of the window's
 * [CLS], prefix and [SEP]; then the text's rows go on with global attention (out), a copy of each
 * segment's rows still local (seg_out). Segments, out and seg_out as e5_embed_segments. flags: 1 =
 * SPLIT_STANDALONE (a segment's rows take the positions they have alone), 2 = SPLIT_POOL_SPECIALS
 * (its [CLS]/prefix/[SEP] copies pooled into its vector). local_first 0: the separate way in one
 * call. Returns 0 on success. */
#define SPLIT_STANDALONE 1
#define SPLIT_POOL_SPECIALS 2
int e5_embed_split(e5_model *m, const char **texts, int n, const int *nseg, const int *starts,
                   int is_query, int local_first, int flags, float *out, float *seg_out);

/* qa addition: a model whose encoder layers come partly from an overlay file (format E5O1, spec in
 * e5_overlay.c: magic "E5O1", u32 version 1, u32 count, E5S1-style directory of name, dtype (0 f32,
 * 1 Q4_0, 2 Q8_0), element count, offset, nbytes; data 32-byte aligned; layer tensors only, each with
 * the base's element count). The result shares the base's tokenizer, embeddings, other layers and SAE
 * (nothing of the base is copied but its small layer table) and works with every entry point above.
 * The base must outlive it; e5_free(overlay) leaves the base usable. NULL on error, then
 * e5_overlay_error() says why (per thread). */
e5_model  *e5_load_overlay(const e5_model *base, const char *path);
const char *e5_overlay_error(void);

#ifdef __cplusplus
}
#endif
#endif /* E5_H */
