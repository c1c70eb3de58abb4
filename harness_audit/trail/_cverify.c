/* The compiled verifier core (issue 17): the per-line hot loop of trail verification.
 *
 * One call, ``Scanner.scan(buf, pos, end, last_hash, expect, max_line)``, walks the complete
 * lines of ``buf[pos:end]`` with the GIL released. A line is taken only when this code can
 * decide all of it: it is no longer than ``max_line`` (the trail's line limit: a longer one
 * is the caller's, which reads it as an over-long line wherever it falls), it is the RFC 8785
 * form of a valid event of a known kind (valid UTF-8, integers only, canonical escapes, the
 * kind's own fields and any fields beyond them within the rules of every field: the ``x_``
 * fields of importers and harnesses, issue 28), its ``ts`` and hex fields match their
 * patterns, its leaf hash equals its ``hash``, its ``prev`` is ``last_hash`` and its ``seq``
 * is ``expect``. For such a line the Python path reports nothing, so skipping it there is
 * exact. The first line that is anything else stops the walk; the caller's Python code
 * handles that line (and so every problem report) and calls again after it. The leaves of
 * every line, taken here or pushed by the caller, go into one streaming set of aligned
 * perfect Merkle subtrees (RFC 6962), cut at checkpoint sizes, as ``verify._Pieces`` does.
 *
 * The input is hostile: every read is bounds-checked against the line's end, nothing
 * recurses (the ``model`` object and the ``evidence`` array are parsed by straight-line code,
 * the values of other fields by a loop over a fixed stack of MAX_DEPTH levels), and integers
 * are read at most 16 digits.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

#define MAX_SAFE ((int64_t)9007199254740991LL) /* 2^53 - 1 */

/* --- SHA-256 ---------------------------------------------------------------------------- */

/* Two ways to SHA-256: OpenSSL's low-level SHA256_* calls (they dispatch to the CPU's SHA
   extensions, SHA-NI, or AVX code like EVP does, without EVP's per-call provider overhead,
   which dominates for the short messages here: a 65-byte Merkle node, a ~0.5 KB event), and,
   on an x86 CPU with SHA-NI, the compression function below written with its intrinsics. One
   SHA-NI stream is bound by the latency of its rounds, so the verify loop hashes two events'
   leaves at once (leaf_hash2: the two streams' rounds interleaved; about 1.6x the throughput
   of one stream on this project's machine, issue 28); it also spares the short messages
   OpenSSL's Init/Update/Final bookkeeping. The message is copied, whole, into a block-aligned
   buffer with its padding (a few dozen cycles against ~1,000 for the hash); a leaf longer than
   the buffer takes the OpenSSL path. Tests compare the two ways (use_sha_ni). */

#define LEAF_BUF 8192 /* bytes of a leaf message hashed by the SHA-NI path, padding included */

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>

static int use_ni; /* the CPU has SHA-NI, SSSE3 and SSE4.1, and use_sha_ni() left it on */
static int has_ni;

#define NI __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t SHA_K[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

/* The state as the SHA-NI rounds keep it: s[0] = ABEF, s[1] = CDGH (FIPS 180-4 initial
   values H0..H7 = A..H) */
NI static void ni_init(__m128i s[2])
{
    s[0] = _mm_set_epi32(0x6a09e667, (int)0xbb67ae85, 0x510e527f, (int)0x9b05688c);
    s[1] = _mm_set_epi32(0x3c6ef372, (int)0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
}

/* four rounds with the message words w, and the next four words of the schedule */
#define NI_RND(i, w, S0, S1) do { \
        __m128i m_ = _mm_add_epi32((w), _mm_load_si128((const __m128i *)(const void *)(SHA_K + 4 * (i)))); \
        S1 = _mm_sha256rnds2_epu32(S1, S0, m_); \
        S0 = _mm_sha256rnds2_epu32(S0, S1, _mm_shuffle_epi32(m_, 0x0e)); \
    } while (0)
#define NI_NEXT(w0, w1, w2, w3) \
    _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4)), w3)
#define NI_LOAD(p, i) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)((p) + 16 * (i))), \
    _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL))

/* compress the n 64-byte blocks at p into s */
NI static void ni_blocks(__m128i s[2], const unsigned char *p, size_t n)
{
    for (; n; n--, p += 64) {
        __m128i S0 = s[0], S1 = s[1];
        __m128i w0 = NI_LOAD(p, 0), w1 = NI_LOAD(p, 1), w2 = NI_LOAD(p, 2), w3 = NI_LOAD(p, 3);
        NI_RND(0, w0, S0, S1);
        NI_RND(1, w1, S0, S1);
        NI_RND(2, w2, S0, S1);
        NI_RND(3, w3, S0, S1);
        for (int i = 4; i < 16; i += 4) {
            w0 = NI_NEXT(w0, w1, w2, w3);
            NI_RND(i, w0, S0, S1);
            w1 = NI_NEXT(w1, w2, w3, w0);
            NI_RND(i + 1, w1, S0, S1);
            w2 = NI_NEXT(w2, w3, w0, w1);
            NI_RND(i + 2, w2, S0, S1);
            w3 = NI_NEXT(w3, w0, w1, w2);
            NI_RND(i + 3, w3, S0, S1);
        }
        s[0] = _mm_add_epi32(s[0], S0);
        s[1] = _mm_add_epi32(s[1], S1);
    }
}

/* the n blocks at p into a and the n at q into b, the two streams' rounds interleaved */
NI static void ni_blocks2(__m128i a[2], const unsigned char *p, __m128i b[2],
                          const unsigned char *q, size_t n)
{
    for (; n; n--, p += 64, q += 64) {
        __m128i A0 = a[0], A1 = a[1], B0 = b[0], B1 = b[1];
        __m128i x0 = NI_LOAD(p, 0), x1 = NI_LOAD(p, 1), x2 = NI_LOAD(p, 2), x3 = NI_LOAD(p, 3);
        __m128i y0 = NI_LOAD(q, 0), y1 = NI_LOAD(q, 1), y2 = NI_LOAD(q, 2), y3 = NI_LOAD(q, 3);
        NI_RND(0, x0, A0, A1);
        NI_RND(0, y0, B0, B1);
        NI_RND(1, x1, A0, A1);
        NI_RND(1, y1, B0, B1);
        NI_RND(2, x2, A0, A1);
        NI_RND(2, y2, B0, B1);
        NI_RND(3, x3, A0, A1);
        NI_RND(3, y3, B0, B1);
        for (int i = 4; i < 16; i += 4) {
            x0 = NI_NEXT(x0, x1, x2, x3);
            y0 = NI_NEXT(y0, y1, y2, y3);
            NI_RND(i, x0, A0, A1);
            NI_RND(i, y0, B0, B1);
            x1 = NI_NEXT(x1, x2, x3, x0);
            y1 = NI_NEXT(y1, y2, y3, y0);
            NI_RND(i + 1, x1, A0, A1);
            NI_RND(i + 1, y1, B0, B1);
            x2 = NI_NEXT(x2, x3, x0, x1);
            y2 = NI_NEXT(y2, y3, y0, y1);
            NI_RND(i + 2, x2, A0, A1);
            NI_RND(i + 2, y2, B0, B1);
            x3 = NI_NEXT(x3, x0, x1, x2);
            y3 = NI_NEXT(y3, y0, y1, y2);
            NI_RND(i + 3, x3, A0, A1);
            NI_RND(i + 3, y3, B0, B1);
        }
        a[0] = _mm_add_epi32(a[0], A0);
        a[1] = _mm_add_epi32(a[1], A1);
        b[0] = _mm_add_epi32(b[0], B0);
        b[1] = _mm_add_epi32(b[1], B1);
    }
}

/* the digest: A..H, each big-endian */
NI static void ni_digest(const __m128i s[2], unsigned char out[32])
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i feba = _mm_shuffle_epi32(s[0], 0x1b), dchg = _mm_shuffle_epi32(s[1], 0xb1);
    __m128i abcd = _mm_blend_epi16(feba, dchg, 0xf0), efgh = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128((__m128i *)(void *)out, _mm_shuffle_epi8(abcd, bswap));
    _mm_storeu_si128((__m128i *)(void *)(out + 16), _mm_shuffle_epi8(efgh, bswap));
}

/* the padded leaf message 0x00 || line[:cut] || line[cut + 74:] in m (LEAF_BUF bytes, or 0
   if it does not fit): its number of blocks */
static size_t leaf_message(unsigned char *m, const unsigned char *line, size_t cut, size_t len)
{
    size_t n = 1 + len - 74, blocks = (n + 8) / 64 + 1;
    if (blocks * 64 > LEAF_BUF)
        return 0;
    m[0] = 0;
    memcpy(m + 1, line, cut);
    memcpy(m + 1 + cut, line + cut + 74, len - cut - 74);
    m[n] = 0x80;
    memset(m + n + 1, 0, blocks * 64 - 8 - n - 1);
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        m[blocks * 64 - 1 - i] = (unsigned char)(bits >> (8 * i));
    return blocks;
}

/* a leaf by SHA-NI; 0 if it does not fit the buffer */
static int ni_leaf(const unsigned char *line, size_t cut, size_t len, unsigned char out[32])
{
    unsigned char m[LEAF_BUF] __attribute__((aligned(16)));
    __m128i s[2];
    size_t n = leaf_message(m, line, cut, len);
    if (n == 0)
        return 0;
    ni_init(s);
    ni_blocks(s, m, n);
    ni_digest(s, out);
    return 1;
}
#endif

static void leaf_hash(const unsigned char *line, size_t cut, size_t len, unsigned char out[32])
{
    /* SHA-256(0x00 || line[:cut] || line[cut + 74:]): the event without ,"hash":"<64>" */
#if HAVE_SHA_NI
    if (use_ni && ni_leaf(line, cut, len, out))
        return;
#endif
    SHA256_CTX c;
    static const unsigned char zero = 0;
    SHA256_Init(&c);
    SHA256_Update(&c, &zero, 1);
    SHA256_Update(&c, line, cut);
    SHA256_Update(&c, line + cut + 74, len - cut - 74);
    SHA256_Final(out, &c);
}

/* the leaves of two lines at once: their streams interleaved where both have blocks */
static void leaf_hash2(const unsigned char *l1, size_t cut1, size_t len1, unsigned char out1[32],
                       const unsigned char *l2, size_t cut2, size_t len2, unsigned char out2[32])
{
#if HAVE_SHA_NI
    if (use_ni) {
        unsigned char m1[LEAF_BUF] __attribute__((aligned(16)));
        unsigned char m2[LEAF_BUF] __attribute__((aligned(16)));
        size_t n1 = leaf_message(m1, l1, cut1, len1), n2 = leaf_message(m2, l2, cut2, len2);
        if (n1 && n2) {
            __m128i s1[2], s2[2];
            size_t both = n1 < n2 ? n1 : n2;
            ni_init(s1);
            ni_init(s2);
            ni_blocks2(s1, m1, s2, m2, both);
            ni_blocks(s1, m1 + 64 * both, n1 - both);
            ni_blocks(s2, m2 + 64 * both, n2 - both);
            ni_digest(s1, out1);
            ni_digest(s2, out2);
            return;
        }
    }
#endif
    leaf_hash(l1, cut1, len1, out1);
    leaf_hash(l2, cut2, len2, out2);
}

static void node_hash(const unsigned char *l, const unsigned char *r, unsigned char out[32])
{
#if HAVE_SHA_NI
    if (use_ni) {
        /* 0x01 || l || r, padded: two blocks, the message 65 bytes (520 bits) */
        unsigned char m[128] __attribute__((aligned(16))) = {0};
        __m128i s[2];
        m[0] = 1;
        memcpy(m + 1, l, 32);
        memcpy(m + 33, r, 32);
        m[65] = 0x80;
        m[126] = 0x02;
        m[127] = 0x08;
        ni_init(s);
        ni_blocks(s, m, 2);
        ni_digest(s, out);
        return;
    }
#endif
    /* (not the one-shot SHA256(): in OpenSSL 3 it fetches the digest, under a lock, each
       call) */
    SHA256_CTX c;
    unsigned char buf[65];
    buf[0] = 1;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    SHA256_Init(&c);
    SHA256_Update(&c, buf, sizeof buf);
    SHA256_Final(out, &c);
}

static void sha_ni_detect(void)
{
#if HAVE_SHA_NI
    unsigned a, b, c, d;
    has_ni = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 9)) && (c & (1u << 19)) &&
             __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
    use_ni = has_ni;
#endif
}

static PyObject *use_sha_ni(PyObject *Py_UNUSED(module), PyObject *arg)
{
    /* for tests and benchmarks: turn the SHA-NI path on (if the CPU has it) or off; returns
       whether it is on now. Not while a scan runs in another thread. */
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
#if HAVE_SHA_NI
    use_ni = on && has_ni;
    return PyBool_FromLong(use_ni);
#else
    Py_RETURN_FALSE;
#endif
}

/* --- the event grammar ------------------------------------------------------------------ */

/* The event schema, a third copy: the keys below and the kinds' required and optional fields
 * (KINDS) repeat, for the one purpose of taking a line here or handing it back, the schema
 * whose two other copies are the msgspec structs in harness_audit/trail/events.py (Event,
 * Model and one struct per kind: RunStart ... Error, what the Python verifier decodes with)
 * and schemas/trail-event.schema.json (the published JSON Schema, TRAIL.md). A field or kind
 * added to those two must be added here too: tests/test_trail_core.py
 * (test_the_three_copies_of_the_event_schema_agree) compares the three through ``kinds()``,
 * and the cores on every kind. The structs' ``x_`` markers (x_cost, x_outcome, ...) are not
 * here: they are fields beyond the kind's, whose values the generic rule below decides. */
enum {
    K_AGENT, K_APPROVER, K_ARGS_DIGEST, K_CAP_MICROUSD, K_CHILD, K_CONFIDENCE_BP,
    K_COST_MICROUSD, K_DATA_CLASS, K_DEPTH, K_EFFECT, K_EVIDENCE, K_HASH, K_INPUT_DIGEST,
    K_INPUT_TOKENS, K_KIND, K_MESSAGE, K_MODEL, K_OUTCOME, K_OUTPUT_DIGEST, K_OUTPUT_TOKENS,
    K_PARENT, K_PIPELINE, K_PREV, K_RATIONALE, K_RESOURCE, K_RUN, K_SCOPE, K_SEQ, K_SPAN,
    K_SPENT_MICROUSD, K_SUBJECT, K_TARGET, K_TOOL, K_TS, K_V, K_VERDICT, NKEYS
};

/* sorted by bytes, so a binary search finds a key and the index order is the JCS order */
static const char *const KEYS[NKEYS] = {
    "agent", "approver", "args_digest", "cap_microusd", "child", "confidence_bp",
    "cost_microusd", "data_class", "depth", "effect", "evidence", "hash", "input_digest",
    "input_tokens", "kind", "message", "model", "outcome", "output_digest", "output_tokens",
    "parent", "pipeline", "prev", "rationale", "resource", "run", "scope", "seq", "span",
    "spent_microusd", "subject", "target", "tool", "ts", "v", "verdict",
};

#define B(k) ((uint64_t)1 << (k))
/* the fields of 64 hex digits */
#define HEXKEYS (B(K_PREV) | B(K_HASH) | B(K_INPUT_DIGEST) | B(K_OUTPUT_DIGEST) | B(K_ARGS_DIGEST))
#define COMMON (B(K_V) | B(K_SEQ) | B(K_TS) | B(K_RUN) | B(K_SPAN) | B(K_PARENT) | \
                B(K_AGENT) | B(K_PREV) | B(K_HASH) | B(K_KIND))

/* T_OTHER: any other canonical JSON value within the event rules (a boolean, a negative
   integer, an array or object of another shape): the value of a field beyond the kind's own */
enum { T_STR, T_NULL, T_INT, T_MODEL, T_STRLIST, T_OTHER };

typedef struct {
    const unsigned char *s; /* a string's raw content (between the quotes) */
    size_t n;
    int esc;                /* it has an escape */
    int wide;               /* it has a character beyond ASCII (valid UTF-8) */
    int type;
    int64_t num;
} value_t;

enum {
    RUN_START, RUN_END, MODEL_CALL, TOOL_CALL, DATA_ACCESS, DECISION, VERIFICATION,
    APPROVAL_REQUEST, APPROVAL, SPAWN, BUDGET_CHECK, ERROR_KIND, NKINDS
};

typedef struct {
    const char *name;
    uint64_t required, optional; /* beyond COMMON */
} kind_t;

static const kind_t KINDS[NKINDS] = {
    {"run_start", B(K_PIPELINE), 0},
    {"run_end", B(K_PIPELINE) | B(K_OUTCOME), 0},
    {"model_call", B(K_MODEL) | B(K_INPUT_TOKENS) | B(K_OUTPUT_TOKENS) | B(K_COST_MICROUSD),
     B(K_INPUT_DIGEST) | B(K_OUTPUT_DIGEST)},
    {"tool_call", B(K_TOOL) | B(K_EFFECT) | B(K_SCOPE) | B(K_OUTCOME),
     B(K_TARGET) | B(K_ARGS_DIGEST)},
    {"data_access", B(K_RESOURCE) | B(K_SCOPE) | B(K_DATA_CLASS) | B(K_OUTCOME), 0},
    {"decision", B(K_SUBJECT) | B(K_OUTCOME),
     B(K_RATIONALE) | B(K_EVIDENCE) | B(K_CONFIDENCE_BP)},
    {"verification", B(K_TARGET) | B(K_VERDICT) | B(K_MODEL), B(K_ARGS_DIGEST)},
    {"approval_request", B(K_TARGET) | B(K_APPROVER), B(K_ARGS_DIGEST)},
    {"approval", B(K_TARGET) | B(K_APPROVER) | B(K_VERDICT), B(K_ARGS_DIGEST)},
    {"spawn", B(K_CHILD) | B(K_DEPTH), 0},
    {"budget_check", B(K_SPENT_MICROUSD) | B(K_CAP_MICROUSD) | B(K_OUTCOME), 0},
    {"error", B(K_MESSAGE), 0},
};

static int raw_is_n(const value_t *v, const char *word, size_t n)
{
    return v->type == T_STR && !v->esc && v->n == n && memcmp(v->s, word, n) == 0;
}
#define raw_is(v, word) raw_is_n((v), (word), sizeof(word) - 1)

static size_t KEYLEN[NKEYS], KINDLEN[NKINDS];

/* the kinds by (length + first byte + last byte) mod 32, which tells the twelve apart (one
   compare a line, not a search); kind_linear if a kind added one day does not */
static signed char KINDSLOT[32];
static int kind_linear;

static size_t kind_slot(const unsigned char *s, size_t n)
{
    return (n + s[0] + s[n - 1]) & 31;
}

/* the kind a ``kind`` value names, or -1 */
static int kind_of(const value_t *v)
{
    if (v->type != T_STR || v->n == 0)
        return -1;
    if (!kind_linear) {
        int ki = KINDSLOT[kind_slot(v->s, v->n)];
        return ki >= 0 && raw_is_n(v, KINDS[ki].name, KINDLEN[ki]) ? ki : -1;
    }
    for (int ki = 0; ki < NKINDS; ki++) {
        if (raw_is_n(v, KINDS[ki].name, KINDLEN[ki]))
            return ki;
    }
    return -1;
}

static int FIRSTKEY[256]; /* the first key starting with a byte (NKEYS: none) */

#if defined(__SSE2__)
/* each key as it stands in a line, "<key>" (at most 16 bytes: the longest key has 14), and a
   bit for each of its bytes: the known keys are matched in place, 16 bytes at once */
static unsigned char KEYPAT[NKEYS][16] __attribute__((aligned(16)));
static unsigned KEYBITS[NKEYS];

/* the key after ``last`` at p (at its opening quote), as next_key finds it, when the 16 bytes
   from p are that key and its quotes; -1 otherwise (then parse_key and next_key decide: a
   key beyond the schema's, one with an escape, or one out of order) */
static int known_key(const unsigned char *p, int last)
{
    int k = FIRSTKEY[p[1]] > last ? FIRSTKEY[p[1]] : last + 1;
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    for (; k < NKEYS && (unsigned char)KEYS[k][0] == p[1]; k++) {
        unsigned eq = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(x, _mm_load_si128((const __m128i *)(const void *)KEYPAT[k])));
        if ((eq & KEYBITS[k]) == KEYBITS[k])
            return k;
    }
    return -1;
}
#endif

/* The key after ``last`` (keys must come in JCS order, so the search only moves forward:
   from the first key with the same first byte, at most the few keys that share it); -1 if
   it is none of those (a key the schema does not name, or one repeated or out of order:
   the caller tells which). */
static int next_key(const unsigned char *s, size_t n, int last)
{
    if (n == 0) /* no key is "" */
        return -1;
    int k = FIRSTKEY[s[0]] > last ? FIRSTKEY[s[0]] : last + 1;
    for (; k < NKEYS && (unsigned char)KEYS[k][0] == s[0]; k++) {
        if (KEYLEN[k] == n && memcmp(s, KEYS[k], n) == 0)
            return k;
    }
    return -1;
}

/* printable ASCII and DEL, except " and \ : taken as they are inside a string */
static unsigned char PLAIN[256];
static unsigned char HEXL[256]; /* 0-9 a-f */

static int is_hex_lower(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The length of the UTF-8 sequence at p (its first byte >= 0x80), or 0 if it is not one
   well-formed character (Unicode 15, table 3-7: no overlong forms, no surrogates, nothing
   beyond U+10FFFF, not cut by e): what Python's and msgspec's decoders accept. */
static size_t utf8_len(const unsigned char *p, const unsigned char *e)
{
    unsigned char c = p[0];
    size_t n = (size_t)(e - p);
    unsigned char lo = 0x80, hi = 0xbf;
    size_t k;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < k || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return k;
}

#if defined(__SSE2__)
/* The same rules for a 16-byte block x, without a branch a byte: h has a bit for each
   byte >= 0x80, and those of the first *n bytes are checked (n = s, the bytes before the
   block's first " \ or control character, or 16 without one). Each byte's class is a bit
   mask (a signed compare of x ^ 0x80 is an unsigned one); the continuation bytes must be
   exactly those the lead bytes call for, and the second byte in the narrower range after
   E0, ED, F0 and F4. A sequence cut by the block's end (one cut by s is invalid) is left to
   the next block, which starts at its lead byte: *n is lowered to that byte. 0 if the bytes
   are not valid UTF-8. */
static int utf8_block(__m128i x, unsigned h, unsigned s, unsigned *n)
{
    const __m128i y = _mm_xor_si128(x, _mm_set1_epi8((char)0x80));
#define BELOW(t) \
    ((unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(y, _mm_set1_epi8((char)((t) - 0x80)))) & h)
#define EQUAL(t) ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8((char)(t)))))
    unsigned cont = BELOW(0xc0), c8f = BELOW(0x90), c9f = BELOW(0xa0), c2 = BELOW(0xc2);
    unsigned e0 = BELOW(0xe0), f0 = BELOW(0xf0), f5 = BELOW(0xf5);
    unsigned l2 = e0 & ~c2, l3 = f0 & ~e0, l4 = f5 & ~f0;
    unsigned bad = (h & ~f5) | (c2 & ~cont); /* C0 C1 F5-FF: in no well-formed sequence */
    unsigned m = s, w;
    if (s == 16 && ((l2 >> 15) | (l3 >> 14) | (l4 >> 13)))
        m = 31u - (unsigned)__builtin_clz(l2 | l3 | l4); /* the last lead: cut by the end */
    w = (1u << m) - 1;
    l2 &= w;
    l3 &= w;
    l4 &= w;
    unsigned want = (l2 << 1) | (l3 << 1) | (l3 << 2) | (l4 << 1) | (l4 << 2) | (l4 << 3);
    unsigned err = (want ^ (cont & w)) | (bad & w) |
                   ((EQUAL(0xe0) & w) << 1 & c9f) |         /* E0 80-9F: overlong */
                   ((EQUAL(0xed) & w) << 1 & cont & ~c9f) | /* ED A0-BF: a surrogate */
                   ((EQUAL(0xf0) & w) << 1 & c8f) |         /* F0 80-8F: overlong */
                   ((EQUAL(0xf4) & w) << 1 & cont & ~c8f);  /* F4 90-BF: beyond U+10FFFF */
#undef BELOW
#undef EQUAL
    *n = m;
    return err == 0;
}

/* The length of the text from p (at a byte >= 0x80) that is checked as UTF-8 here: up to
   the first " \ or control character within 16 bytes, or less if a sequence crosses the
   16th byte; 0 if the text is not valid UTF-8. Within 16 bytes of e, one character (no read
   beyond e, and no copy: a library call here would cost every parse_string a heavier
   entry). */
static size_t utf8_run(const unsigned char *p, const unsigned char *e)
{
    if (e - p < 16)
        return utf8_len(p, e);
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* " \ or a control character (x <= 0x1f: max(x, 0x1f) is 0x1f) */
    __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
    unsigned stop = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                  _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                     ctl));
    unsigned s = stop ? (unsigned)__builtin_ctz(stop) : 16, n;
    if (!utf8_block(x, (unsigned)_mm_movemask_epi8(x), s, &n))
        return 0;
    return n;
}
#else
#define utf8_run utf8_len
#endif

#if defined(__SSE2__)
/* a bit for each of the 16 bytes at p that is " \ or a byte < 0x20 or >= 0x80 (a signed
   compare below 0x20 catches both) */
static unsigned stop_mask(const unsigned char *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                             _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                                _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(stop);
}
#endif

/* parse_string from p, after its opening quote (v->s), on */
__attribute__((noinline)) static int string_rest(const unsigned char **pp,
                                                 const unsigned char *p,
                                                 const unsigned char *e, value_t *v)
{
    for (;;) {
#if defined(__SSE2__)
        /* 32 bytes a turn while 32 remain, then 16 */
        while (e - p >= 32) {
            unsigned m = stop_mask(p) | stop_mask(p + 16) << 16;
            if (m) {
                p += __builtin_ctz(m);
                goto stop;
            }
            p += 32;
        }
        while (e - p >= 16) {
            unsigned m = stop_mask(p);
            if (m) {
                p += __builtin_ctz(m);
                break;
            }
            p += 16;
        }
    stop:
#endif
        while (p < e && PLAIN[*p])
            p++;
        if (p >= e)
            return 0;
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c >= 0x80) { /* text beyond ASCII: written as it is, if valid UTF-8 */
            size_t k = utf8_run(p, e);
            if (k == 0)
                return 0;
            v->wide = 1;
            p += k;
            continue;
        }
        if (c != '\\')
            return 0; /* a control character */
        {
            v->esc = 1;
            if (p + 1 >= e)
                return 0;
            unsigned char d = p[1];
            if (d == '"' || d == '\\' || d == 'b' || d == 'f' || d == 'n' || d == 'r' ||
                d == 't') {
                p += 2;
                continue;
            }
            if (d != 'u' || e - p < 6 || p[2] != '0' || p[3] != '0' || (p[4] != '0' &&
                p[4] != '1') || !is_hex_lower(p[5]))
                return 0;
            {
                int x = (p[4] - '0') * 16 + (p[5] <= '9' ? p[5] - '0' : p[5] - 'a' + 10);
                if (x == 8 || x == 9 || x == 10 || x == 12 || x == 13)
                    return 0; /* those have a short form */
            }
            p += 6;
            continue;
        }
    }
    v->n = (size_t)(p - v->s);
    *pp = p + 1;
    return 1;
}

/* A string from *pp (at its opening quote) to its closing quote, accepted only if it is
   valid UTF-8 in the form RFC 8785 (and msgspec's and orjson's encoders) write: printable
   ASCII, DEL and every character beyond ASCII as they are, the two-character escapes for
   " \ \b \f \n \r \t, and \u00xx (lowercase) for the other control characters. Anything
   else returns 0 (undecided here). */
static int parse_string(const unsigned char **pp, const unsigned char *e, value_t *v)
{
    const unsigned char *p = *pp;
    if (p >= e || *p != '"')
        return 0;
    p++;
    v->s = p;
    v->esc = 0;
    v->wide = 0;
    v->type = T_STR;
#if defined(__SSE2__)
    /* Most strings (keys, short values) are ASCII and end within 16 bytes: decided here,
       with few registers; the others in string_rest (not inlined: its heavier entry, the
       registers its loop and UTF-8 check need saved, is not paid for these). */
    if (e - p >= 16) {
        unsigned m = stop_mask(p);
        if (m && p[__builtin_ctz(m)] == '"') {
            p += __builtin_ctz(m);
            v->n = (size_t)(p - v->s);
            *pp = p + 1;
            return 1;
        }
    }
#endif
    return string_rest(pp, p, e, v);
}

/* a non-negative integer in canonical form, at most 16 digits (2^53 - 1 has 16) */
static int parse_uint(const unsigned char **pp, const unsigned char *e, value_t *v)
{
    const unsigned char *p = *pp;
    int64_t x = 0;
    int digits = 0;
    if (p >= e || *p < '0' || *p > '9')
        return 0;
    if (*p == '0') {
        p++;
        if (p < e && *p >= '0' && *p <= '9')
            return 0;
    } else {
        while (p < e && *p >= '0' && *p <= '9') {
            if (++digits > 16)
                return 0;
            x = x * 10 + (*p - '0');
            p++;
        }
    }
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E'))
        return 0;
    v->type = T_INT;
    v->num = x;
    *pp = p;
    return 1;
}

#define lit(pp, e, word) lit_n((pp), (e), (word), sizeof(word) - 1)

static int lit_n(const unsigned char **pp, const unsigned char *e, const char *word, size_t n)
{
    if ((size_t)(e - *pp) < n || memcmp(*pp, word, n) != 0)
        return 0;
    *pp += n;
    return 1;
}

/* {"family":S,"name":S,"provider":S}: the Model struct, keys in JCS order */
static int parse_model(const unsigned char **pp, const unsigned char *e)
{
    value_t s;
    const unsigned char *p = *pp;
    if (!lit(&p, e, "{\"family\":") || !parse_string(&p, e, &s) ||
        !lit(&p, e, ",\"name\":") || !parse_string(&p, e, &s) ||
        !lit(&p, e, ",\"provider\":") || !parse_string(&p, e, &s) || !lit(&p, e, "}"))
        return 0;
    *pp = p;
    return 1;
}

/* [] or [S,S,...] */
static int parse_strlist(const unsigned char **pp, const unsigned char *e)
{
    value_t s;
    const unsigned char *p = *pp;
    if (!lit(&p, e, "["))
        return 0;
    if (p < e && *p == ']') {
        *pp = p + 1;
        return 1;
    }
    for (;;) {
        if (!parse_string(&p, e, &s))
            return 0;
        if (p >= e)
            return 0;
        if (*p == ']')
            break;
        if (*p != ',')
            return 0;
        p++;
    }
    *pp = p + 1;
    return 1;
}

/* --- fields beyond the kind's own (x_ fields) ------------------------------------------ */

/* An event may carry fields beyond its kind's (TRAIL.md section 3; the schema's
 * additionalProperties, "integer_json"): any JSON value made of null, booleans, integers,
 * strings, arrays and objects, under the rules of every field. The Python path takes such an
 * event when it is valid with those fields left out and the whole line is what orjson writes
 * with sorted keys of a value that canonical.is_plain accepts (badline._canonical_with_extras):
 * integers within +-(2^53 - 1) in canonical form, no fractions or exponents, object keys
 * ASCII, sorted and each once, at most MAX_DEPTH (64) levels of arrays and objects counting
 * the event's own. This code takes the same values, except keys with an escape (taken there
 * when sorted by their decoded text: rare, handed back here). Iterative: a fixed stack. */
#define MAX_DEPTH 64

/* an integer in canonical form: -?(0|[1-9][0-9]*), no -0, magnitude at most 2^53 - 1 */
static int parse_int_any(const unsigned char **pp, const unsigned char *e, value_t *v)
{
    const unsigned char *p = *pp;
    int neg = 0;
    if (p < e && *p == '-') {
        neg = 1;
        p++;
    }
    *pp = p;
    if (!parse_uint(pp, e, v) || v->num > MAX_SAFE || (neg && v->num == 0))
        return 0;
    if (neg) {
        v->num = -v->num;
        v->type = T_OTHER;
    }
    return 1;
}

/* a key: a string with no escape, ASCII only (byte order is then JCS's order) */
static int parse_key(const unsigned char **pp, const unsigned char *e, value_t *k)
{
    return parse_string(pp, e, k) && !k->esc && !k->wide;
}

/* a key strictly after the one before it (byte order): sorted, and each once */
static int key_after(const value_t *k, const unsigned char *before, size_t nb)
{
    size_t m = k->n < nb ? k->n : nb;
    int c = memcmp(k->s, before, m);
    return c > 0 || (c == 0 && k->n > nb);
}

/* Any value at *pp, at nesting level ``level`` (1: a member of the event object), accepted
   only if it is canonical and within the rules above; 0 otherwise (undecided here). */
static int parse_any(const unsigned char **pp, const unsigned char *e, int level)
{
    struct {
        int obj;
        const unsigned char *key; /* the last key of an object (NULL before the first) */
        size_t nkey;
    } st[MAX_DEPTH];
    int top = 0; /* open arrays and objects */
    const unsigned char *p = *pp;
    value_t v, k;
value:
    if (p >= e)
        return 0;
    switch (*p) {
    case '"':
        if (!parse_string(&p, e, &v))
            return 0;
        break;
    case 'n':
        if (!lit(&p, e, "null"))
            return 0;
        break;
    case 't':
        if (!lit(&p, e, "true"))
            return 0;
        break;
    case 'f':
        if (!lit(&p, e, "false"))
            return 0;
        break;
    case '[':
    case '{':
        if (level + top >= MAX_DEPTH) /* the event object is level 0 */
            return 0;
        st[top].obj = *p == '{';
        st[top].key = NULL;
        st[top].nkey = 0;
        top++;
        p++;
        if (p < e && *p == (st[top - 1].obj ? '}' : ']')) {
            p++;
            top--;
            break;
        }
        if (st[top - 1].obj)
            goto key;
        goto value;
    default:
        if (!parse_int_any(&p, e, &v))
            return 0;
        break;
    }
    /* after a value: the next member or element, or the end of its container */
    for (;;) {
        if (top == 0) {
            *pp = p;
            return 1;
        }
        if (p >= e)
            return 0;
        if (*p == ',') {
            p++;
            if (st[top - 1].obj)
                goto key;
            goto value;
        }
        if (*p != (st[top - 1].obj ? '}' : ']'))
            return 0;
        p++;
        top--;
    }
key:
    if (!parse_key(&p, e, &k))
        return 0;
    if (st[top - 1].key != NULL && !key_after(&k, st[top - 1].key, st[top - 1].nkey))
        return 0;
    st[top - 1].key = k.s;
    st[top - 1].nkey = k.n;
    if (p >= e || *p != ':')
        return 0;
    p++;
    goto value;
}

#if defined(__SSE2__)
/* the bytes of x within [lo, hi], both ASCII (signed compares: bytes >= 0x80 are outside) */
static __m128i in_range(__m128i x, char lo, char hi)
{
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8((char)(lo - 1))),
                         _mm_cmplt_epi8(x, _mm_set1_epi8((char)(hi + 1))));
}
#endif

static int ts_ok(const value_t *v)
{
    /* ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z\Z */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    const unsigned char *s = v->s;
    size_t n = v->n, i = 0;
    if (v->esc || n < 20 || n > 30)
        return 0;
#if defined(__SSE2__)
    {
        /* the first 16 bytes at once: digits where shape has d, shape's byte elsewhere */
        const unsigned digit_at = 0xdb6f; /* bits 0-3 5 6 8 9 11 12 14 15 */
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
        unsigned d = (unsigned)_mm_movemask_epi8(in_range(x, '0', '9'));
        unsigned eq = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(x, _mm_loadu_si128((const __m128i *)(const void *)shape)));
        if (((d & digit_at) | (eq & ~digit_at & 0xffff)) != 0xffff)
            return 0;
        i = 16;
    }
#endif
    for (; i < 19; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != (unsigned char)shape[i])
            return 0;
    }
    if (n == 20)
        return s[19] == 'Z';
    if (s[19] != '.' || n < 22 || s[n - 1] != 'Z')
        return 0;
    for (i = 20; i < n - 1; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

/* 1 if the 64 bytes at s are lowercase hex digits */
static int hex64_at(const unsigned char *s)
{
#if defined(__SSE2__)
    __m128i ok = _mm_set1_epi8(-1);
    for (size_t i = 0; i < 64; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        ok = _mm_and_si128(ok, _mm_or_si128(in_range(x, '0', '9'), in_range(x, 'a', 'f')));
    }
    return _mm_movemask_epi8(ok) == 0xffff;
#else
    unsigned ok = 1;
    for (size_t i = 0; i < 64; i++) /* no branch a digit: random hex mispredicts */
        ok &= HEXL[s[i]];
    return (int)ok;
#endif
}

static int hex64_ok(const value_t *v)
{
    return v->type == T_STR && !v->esc && v->n == 64 && hex64_at(v->s);
}

typedef struct {
    int64_t seq;
    const unsigned char *prev, *hash; /* 64 hex digits each */
    size_t hash_cut;                  /* offset of the ',' before "hash" */
} event_t;

/* 1 if the line is the canonical form of a valid event with well-formed patterns */
static int check_line(const unsigned char *line, size_t len, event_t *out)
{
    const unsigned char *p = line, *e = line + len;
    value_t vals[NKEYS];
    uint64_t seen = 0;
    int last = -1;
    /* the last key beyond the schema's (s NULL: none since the last known key) */
    value_t extra = {NULL, 0, 0, 0, T_STR, 0};
    if (len < 2 || p[0] != '{' || e[-1] != '}')
        return 0;
    p++;
    for (;;) {
        value_t key;
        const unsigned char *key_at = p;
        int k = -1;
#if defined(__SSE2__)
        if (e - p >= 16 && (k = known_key(p, last)) >= 0) {
            key.s = p + 1;
            key.n = KEYLEN[k];
            p += KEYLEN[k] + 2;
        }
#endif
        if (k < 0) {
            if (!parse_key(&p, e, &key))
                return 0;
            k = next_key(key.s, key.n, last);
        }
        if (p >= e || *p != ':')
            return 0;
        p++;
        if (p >= e)
            return 0;
        if (k < 0) {
            /* a key the schema does not name: after the key before it, any value within the
               rules (the forward search above already put it after the last known key) */
            if (extra.s != NULL ? !key_after(&key, extra.s, extra.n)
                                : last >= 0 && !key_after(&key, (const unsigned char *)KEYS[last],
                                                          KEYLEN[last]))
                return 0;
            extra = key;
            if (!parse_any(&p, e, 1))
                return 0;
        } else {
            if (extra.s != NULL && !key_after(&key, extra.s, extra.n))
                return 0;
            extra.s = NULL;
            last = k;
            seen |= B(k);
            value_t *v = &vals[k];
            if (k == K_HASH) {
                if (key_at == line + 1) /* never first: "agent" is required */
                    return 0;
                out->hash_cut = (size_t)(key_at - 1 - line);
            }
            if (*p == '"' && (B(k) & HEXKEYS) && e - p >= 66 && p[65] == '"' &&
                hex64_at(p + 1)) {
                /* 64 hex digits: the string is those (no escape, nothing to decode) */
                v->s = p + 1;
                v->n = 64;
                v->esc = v->wide = 0;
                v->type = T_STR;
                p += 66;
            } else if (*p == '"') {
                if (!parse_string(&p, e, v))
                    return 0;
            } else if (*p >= '0' && *p <= '9') {
                if (!parse_uint(&p, e, v))
                    return 0;
            } else if (*p == 'n') {
                if (!lit(&p, e, "null"))
                    return 0;
                v->type = T_NULL;
            } else if (*p == '{' && k == K_MODEL && parse_model(&p, e)) {
                v->type = T_MODEL;
            } else if (*p == '[' && k == K_EVIDENCE && parse_strlist(&p, e)) {
                v->type = T_STRLIST;
            } else {
                /* another value: a field beyond this kind's, or the wrong type (below) */
                if (!parse_any(&p, e, 1))
                    return 0;
                v->type = T_OTHER;
            }
        }
        if (p >= e)
            return 0;
        if (*p == '}') {
            if (p + 1 != e)
                return 0;
            break;
        }
        if (*p != ',')
            return 0;
        p++;
    }
    if ((seen & COMMON) != COMMON)
        return 0;
    int ki = kind_of(&vals[K_KIND]);
    if (ki < 0)
        return 0;
    const kind_t *kind = &KINDS[ki];
    uint64_t own = COMMON | kind->required | kind->optional;
    if ((seen & kind->required) != kind->required)
        return 0;
    /* fields the schema names for other kinds only: beyond this kind's, within the rules */
    for (uint64_t rest = seen & ~own; rest; rest &= rest - 1) {
        const value_t *v = &vals[__builtin_ctzll(rest)];
        if (v->type == T_INT && v->num > MAX_SAFE)
            return 0;
    }
    /* the types and values of each field of the kind present */
    for (uint64_t rest = seen & own; rest; rest &= rest - 1) {
        int k = __builtin_ctzll(rest);
        const value_t *v = &vals[k];
        switch (k) {
        case K_V:
            if (v->type != T_INT || v->num != 1)
                return 0;
            break;
        case K_SEQ: case K_INPUT_TOKENS: case K_OUTPUT_TOKENS: case K_COST_MICROUSD:
        case K_DEPTH: case K_SPENT_MICROUSD: case K_CAP_MICROUSD:
            if (v->type != T_INT || v->num > MAX_SAFE)
                return 0;
            break;
        case K_CONFIDENCE_BP:
            if (v->type != T_INT || v->num > 10000)
                return 0;
            break;
        case K_TS:
            if (v->type != T_STR || !ts_ok(v))
                return 0;
            break;
        case K_PREV: case K_HASH: case K_INPUT_DIGEST: case K_OUTPUT_DIGEST:
        case K_ARGS_DIGEST:
            if (!hex64_ok(v))
                return 0;
            break;
        case K_PARENT:
            if (v->type != T_STR && v->type != T_NULL)
                return 0;
            break;
        case K_EVIDENCE:
            if (v->type != T_STRLIST)
                return 0;
            break;
        case K_MODEL:
            if (v->type == T_MODEL)
                break;
            /* verification: "human:<id>" (the pattern ^human:.+$, no escapes to decide) */
            if (ki != VERIFICATION || v->type != T_STR || v->esc || v->n < 7 ||
                memcmp(v->s, "human:", 6) != 0)
                return 0;
            break;
        case K_EFFECT:
            if (!raw_is(v, "read") && !raw_is(v, "write") && !raw_is(v, "destructive") &&
                !raw_is(v, "external") && !raw_is(v, "unknown"))
                return 0;
            break;
        case K_OUTCOME:
            if (ki == TOOL_CALL) {
                if (!raw_is(v, "ok") && !raw_is(v, "error") && !raw_is(v, "denied"))
                    return 0;
            } else if (ki == DATA_ACCESS) {
                if (!raw_is(v, "allowed") && !raw_is(v, "denied"))
                    return 0;
            } else if (ki == BUDGET_CHECK) {
                if (!raw_is(v, "ok") && !raw_is(v, "blocked"))
                    return 0;
            } else if (v->type != T_STR) {
                return 0;
            }
            break;
        case K_VERDICT:
            if (ki == VERIFICATION) {
                if (!raw_is(v, "pass") && !raw_is(v, "fail"))
                    return 0;
            } else if (!raw_is(v, "approved") && !raw_is(v, "rejected")) {
                return 0;
            }
            break;
        default: /* the plain strings */
            if (v->type != T_STR)
                return 0;
            break;
        }
    }
    /* ,"hash":"<64>" then , or } : 74 bytes from the comma */
    if (out->hash_cut + 74 > len)
        return 0;
    out->seq = vals[K_SEQ].num;
    out->prev = vals[K_PREV].s;
    out->hash = vals[K_HASH].s;
    return 1;
}

/* --- the Merkle pieces ------------------------------------------------------------------ */

typedef struct {
    uint64_t first;
    int height;
    unsigned char d[32];
} piece_t;

typedef struct {
    PyObject_HEAD
    uint64_t index; /* the next leaf's global index */
    piece_t stack[72];
    int nstack;
    piece_t *done;
    size_t ndone, capdone;
    uint64_t *cuts;
    size_t ncuts, icut;
    int busy; /* a scan is running without the GIL */
} Scanner;

static int flush_to_done(Scanner *self)
{
    if (self->nstack == 0)
        return 0;
    if (self->ndone + (size_t)self->nstack > self->capdone) {
        size_t cap = (self->capdone ? self->capdone * 2 : 64) + (size_t)self->nstack;
        piece_t *d = PyMem_RawRealloc(self->done, cap * sizeof(piece_t));
        if (d == NULL)
            return -1;
        self->done = d;
        self->capdone = cap;
    }
    memcpy(self->done + self->ndone, self->stack, (size_t)self->nstack * sizeof(piece_t));
    self->ndone += (size_t)self->nstack;
    self->nstack = 0;
    return 0;
}

/* push one leaf; -1 (memory) only when a cut needs the done list to grow */
static int push_leaf(Scanner *self, const unsigned char leaf[32])
{
    while (self->icut < self->ncuts && self->cuts[self->icut] <= self->index) {
        if (self->cuts[self->icut] == self->index && flush_to_done(self) < 0)
            return -1;
        self->icut++;
    }
    uint64_t p = self->index++;
    int h = 0;
    unsigned char d[32];
    memcpy(d, leaf, 32);
    while (self->nstack > 0) {
        piece_t *top = &self->stack[self->nstack - 1];
        if (top->height != h || h >= 63 || top->first % ((uint64_t)2 << h) != 0)
            break;
        node_hash(top->d, d, d);
        p = top->first;
        h++;
        self->nstack--;
    }
    piece_t *t = &self->stack[self->nstack++];
    t->first = p;
    t->height = h;
    memcpy(t->d, d, 32);
    return 0;
}

static void Scanner_dealloc(Scanner *self)
{
    PyMem_RawFree(self->done);
    PyMem_RawFree(self->cuts);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"start_index", "cuts", NULL};
    unsigned long long start;
    PyObject *cuts = NULL, *seq = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "KO", kwlist, &start, &cuts))
        return -1;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the scanner is in use");
        return -1;
    }
    seq = PySequence_Fast(cuts, "cuts must be a sequence of integers");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), i, m = 0;
    uint64_t *c = PyMem_RawMalloc(((size_t)n + 1) * sizeof(uint64_t));
    if (c == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned long long x = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (x == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear(); /* a negative or huge size can never be reached: no cut */
            continue;
        }
        if (x > start)
            c[m++] = x;
    }
    Py_DECREF(seq);
    /* sort (few cuts: insertion sort) */
    for (i = 1; i < m; i++) {
        uint64_t x = c[i];
        Py_ssize_t j = i;
        while (j > 0 && c[j - 1] > x) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
    PyMem_RawFree(self->cuts);
    PyMem_RawFree(self->done);
    self->cuts = c;
    self->ncuts = (size_t)m;
    self->icut = 0;
    self->done = NULL;
    self->ndone = self->capdone = 0;
    self->nstack = 0;
    self->index = start;
    return 0;
}

static PyObject *Scanner_push(Scanner *self, PyObject *arg)
{
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0)
        return NULL;
    if (b.len != 32) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "a leaf is 32 bytes");
        return NULL;
    }
    if (self->busy) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_RuntimeError, "the scanner is in use");
        return NULL;
    }
    int r = push_leaf(self, b.buf);
    PyBuffer_Release(&b);
    if (r < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *Scanner_pieces(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    size_t n = self->ndone + (size_t)self->nstack, i;
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        const piece_t *pc = i < self->ndone ? &self->done[i] : &self->stack[i - self->ndone];
        PyObject *t = Py_BuildValue("(Kiy#)", (unsigned long long)pc->first, pc->height,
                                    (const char *)pc->d, (Py_ssize_t)32);
        if (t == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

static const char HEX[] = "0123456789abcdef";

/* 1 if hex is the 64 lowercase hex digits of the 32-byte digest d */
static int hex_is(const unsigned char *hex, const unsigned char *d)
{
#if defined(__SSE2__)
    /* each byte's two nibbles side by side, then each nibble n as '0' + n (+ 39 if n > 9) */
    const __m128i low = _mm_set1_epi8(15), nine = _mm_set1_epi8(9);
    __m128i same = _mm_set1_epi8(-1);
    for (int i = 0; i < 32; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), low), lo = _mm_and_si128(x, low);
        __m128i pair[2] = {_mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo)};
        for (int j = 0; j < 2; j++) {
            __m128i c = _mm_add_epi8(_mm_add_epi8(pair[j], _mm_set1_epi8('0')),
                                     _mm_and_si128(_mm_cmpgt_epi8(pair[j], nine),
                                                   _mm_set1_epi8('a' - '0' - 10)));
            __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(hex + 2 * i + 16 * j));
            same = _mm_and_si128(same, _mm_cmpeq_epi8(c, h));
        }
    }
    return _mm_movemask_epi8(same) == 0xffff;
#else
    for (int i = 0; i < 32; i++) {
        if (hex[2 * i] != HEX[d[i] >> 4] || hex[2 * i + 1] != HEX[d[i] & 15])
            return 0;
    }
    return 1;
#endif
}

/* 1 if the 64 bytes at a and b are the same (inline: no library call a line) */
static int eq64(const unsigned char *a, const unsigned char *b)
{
#if defined(__SSE2__)
    __m128i same = _mm_set1_epi8(-1);
    for (int i = 0; i < 64; i += 16)
        same = _mm_and_si128(same, _mm_cmpeq_epi8(
                                       _mm_loadu_si128((const __m128i *)(const void *)(a + i)),
                                       _mm_loadu_si128((const __m128i *)(const void *)(b + i))));
    return _mm_movemask_epi8(same) == 0xffff;
#else
    return memcmp(a, b, 64) == 0;
#endif
}

static PyObject *Scanner_scan(Scanner *self, PyObject *args)
{
    Py_buffer b;
    Py_ssize_t pos, end, max_line;
    PyObject *last_obj, *expect_obj;
    if (!PyArg_ParseTuple(args, "y*nnOOn", &b, &pos, &end, &last_obj, &expect_obj, &max_line))
        return NULL;
    if (pos < 0 || end < pos || end > b.len) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "pos and end must lie within the buffer");
        return NULL;
    }
    if (max_line < 0) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "max_line must not be negative");
        return NULL;
    }
    if (self->busy) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_RuntimeError, "the scanner is in use");
        return NULL;
    }
    int overflow = 0;
    long long expect = PyLong_AsLongLongAndOverflow(expect_obj, &overflow);
    if (expect == -1 && PyErr_Occurred()) {
        PyBuffer_Release(&b);
        return NULL;
    }
    unsigned char last[64];
    int have_last = 0;
    if (last_obj != Py_None) {
        if (!PyUnicode_Check(last_obj)) {
            PyBuffer_Release(&b);
            PyErr_SetString(PyExc_TypeError, "last_hash must be a str or None");
            return NULL;
        }
        /* Only 64 ASCII characters can equal a prev this code takes (64 lowercase hex); any
           other text (a lone surrogate from an escape, say, which has no UTF-8 form) is
           nothing to compare with: the next line is the caller's, as the pure core decides
           it. Never an encoding of the text, so never an error (issue 23, item 11). */
        if (PyUnicode_IS_ASCII(last_obj) && PyUnicode_GET_LENGTH(last_obj) == 64) {
            memcpy(last, PyUnicode_DATA(last_obj), 64);
            have_last = 1;
        }
    }
    Py_ssize_t lines = 0;
    int nomem = 0;
    /* nothing to compare the first line with, or a seq beyond any valid one: the caller's */
    if (have_last && !overflow && expect >= 0 && expect <= MAX_SAFE) {
        const unsigned char *buf = b.buf;
        self->busy = 1;
        Py_BEGIN_ALLOW_THREADS
        while (pos < end) {
            const unsigned char *line = buf + pos;
            const unsigned char *nl = memchr(line, '\n', (size_t)(end - pos));
            if (nl == NULL)
                break;
            size_t len = (size_t)(nl - line);
            event_t ev;
            unsigned char leaf[32];
            if (len > (size_t)max_line || !check_line(line, len, &ev) || ev.seq != expect ||
                !eq64(ev.prev, last))
                break;
            /* the next line too, when it is taken as far as its leaf: both leaves at once */
            const unsigned char *line2 = nl + 1, *nl2 = NULL;
            size_t len2 = 0;
            event_t ev2;
            unsigned char leaf2[32];
            if (line2 < buf + end)
                nl2 = memchr(line2, '\n', (size_t)(buf + end - line2));
            if (nl2 != NULL) {
                len2 = (size_t)(nl2 - line2);
                if (len2 > (size_t)max_line || !check_line(line2, len2, &ev2) ||
                    ev2.seq != expect + 1 || !eq64(ev2.prev, ev.hash))
                    nl2 = NULL; /* the loop's next turn stops there */
            }
            if (nl2 != NULL)
                leaf_hash2(line, ev.hash_cut, len, leaf, line2, ev2.hash_cut, len2, leaf2);
            else
                leaf_hash(line, ev.hash_cut, len, leaf);
            if (!hex_is(ev.hash, leaf))
                break;
            if (push_leaf(self, leaf) < 0) {
                nomem = 1;
                break;
            }
            memcpy(last, ev.hash, 64);
            expect++;
            lines++;
            pos += (Py_ssize_t)len + 1;
            if (nl2 == NULL)
                continue;
            if (!hex_is(ev2.hash, leaf2))
                break;
            if (push_leaf(self, leaf2) < 0) {
                nomem = 1;
                break;
            }
            memcpy(last, ev2.hash, 64);
            expect++;
            lines++;
            pos += (Py_ssize_t)len2 + 1;
        }
        Py_END_ALLOW_THREADS
        self->busy = 0;
    }
    PyBuffer_Release(&b);
    if (nomem)
        return PyErr_NoMemory();
    if (lines == 0) {
        return Py_BuildValue("(nnOO)", pos, lines, last_obj, expect_obj);
    }
    return Py_BuildValue("(nns#L)", pos, lines, (const char *)last, (Py_ssize_t)64, expect);
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS,
     "scan(buf, pos, end, last_hash, expect, max_line) -> (pos, lines, last_hash, expect)\n\n"
     "Take the lines of buf[pos:end] that are canonical, valid, intact and at most max_line\n"
     "bytes, without the GIL; stop at the first that is not (or at the first without a\n"
     "newline before end)."},
    {"push", (PyCFunction)Scanner_push, METH_O, "push(leaf): add one 32-byte leaf."},
    {"pieces", (PyCFunction)Scanner_pieces, METH_NOARGS,
     "pieces() -> [(first index, height, digest)]: the aligned perfect subtrees so far."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "harness_audit.trail._cverify.Scanner",
    .tp_doc = PyDoc_STR("Scanner(start_index, cuts): one byte range's chain and Merkle state."),
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static PyObject *check(PyObject *Py_UNUSED(module), PyObject *arg)
{
    /* for tests: would the fast path take this line on its own? (no chain, no seq) */
    Py_buffer b;
    event_t ev;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0)
        return NULL;
    int ok = check_line(b.buf, (size_t)b.len, &ev);
    PyBuffer_Release(&b);
    return PyBool_FromLong(ok);
}

static PyObject *names_of(uint64_t mask)
{
    PyObject *t = PyTuple_New(__builtin_popcountll(mask)), *name;
    Py_ssize_t i = 0;
    if (t == NULL)
        return NULL;
    for (int k = 0; k < NKEYS; k++) {
        if (!(mask & B(k)))
            continue;
        name = PyUnicode_FromString(KEYS[k]);
        if (name == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i++, name);
    }
    return t;
}

static PyObject *kinds(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    /* for tests: this copy of the event schema, to compare with the other two */
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    for (int i = 0; i < NKINDS; i++) {
        PyObject *req = names_of(COMMON | KINDS[i].required), *opt = names_of(KINDS[i].optional);
        PyObject *pair = req && opt ? PyTuple_Pack(2, req, opt) : NULL;
        Py_XDECREF(req);
        Py_XDECREF(opt);
        if (pair == NULL || PyDict_SetItemString(d, KINDS[i].name, pair) < 0) {
            Py_XDECREF(pair);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(pair);
    }
    return d;
}

/* --- tiles (trail publish --tiles): leaves, entry bundles and inner nodes in bulk --------- */

static Py_ssize_t hash_member(const unsigned char *p, size_t len)
{
    /* where the line's first ,"hash":" member of 74 bytes starts, or -1 when it has none
       wholly inside it or its entry (the line without it) is over 65,535 bytes */
    static const char FIELD[] = ",\"hash\":\"";
    const unsigned char *q = p, *e = p + len;
    while ((size_t)(e - q) >= 9) {
        q = memchr(q, ',', (size_t)(e - q));
        if (q == NULL || (size_t)(e - q) < 9)
            return -1;
        if (memcmp(q, FIELD, 9) == 0)
            return (size_t)(e - q) < 74 || len - 74 > 0xFFFF ? -1 : (Py_ssize_t)(q - p);
        q++;
    }
    return -1;
}

static PyObject *tile_window(PyObject *Py_UNUSED(module), PyObject *args)
{
    /* tile_window(buf, a, b, limit) -> (n, leaves, framed, ends) | None: the first n (at most
       limit) complete lines of buf[a:b] (each ending in a newline), read in place, no line
       objects: per line its entry (the line without its first ,"hash":" member of 74 bytes),
       as the 32-byte leaf SHA-256(0x00 || entry) and as the entry bundle's big-endian 16-bit
       length and entry, each concatenated; ends: where each entry ends in framed (native
       uint64). None when one of the n lines has no such member wholly inside it or an entry
       is over 65,535 bytes (the caller's Python reports that line). */
    Py_buffer v;
    Py_ssize_t a, b, limit;
    if (!PyArg_ParseTuple(args, "y*nnn:tile_window", &v, &a, &b, &limit))
        return NULL;
    if (a < 0 || b < a || b > v.len || limit < 0) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "tile_window: 0 <= a <= b <= len(buf), limit >= 0");
        return NULL;
    }
    const unsigned char *base = (const unsigned char *)v.buf;
    /* a line taken is at least 75 bytes (its member and newline): the cuts of at most this many */
    size_t cap = (size_t)(b - a) / 75 + 1;
    if ((size_t)limit < cap)
        cap = (size_t)limit;
    Py_ssize_t *cuts = PyMem_Malloc(sizeof(Py_ssize_t) * (cap ? cap : 1));
    if (cuts == NULL) {
        PyBuffer_Release(&v);
        return PyErr_NoMemory();
    }
    Py_ssize_t n = 0, total = 0;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *p = base + a, *end = base + b;
    while (n < limit && p < end) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        Py_ssize_t cut = hash_member(p, (size_t)(nl - p));
        if (cut < 0 || (size_t)n == cap) {
            bad = 1;
            break;
        }
        cuts[n++] = cut;
        total += (nl - p) - 72;
        p = nl + 1;
    }
    Py_END_ALLOW_THREADS
    PyObject *leaves = NULL, *framed = NULL, *ends = NULL, *r = NULL;
    if (bad) {
        r = Py_NewRef(Py_None);
        goto done;
    }
    leaves = PyBytes_FromStringAndSize(NULL, 32 * n);
    framed = leaves ? PyBytes_FromStringAndSize(NULL, total) : NULL;
    ends = framed ? PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizeof(uint64_t) * n) : NULL;
    if (ends == NULL)
        goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(leaves);
    unsigned char *f0 = (unsigned char *)PyBytes_AS_STRING(framed), *f = f0;
    uint64_t *at = (uint64_t *)PyBytes_AS_STRING(ends);
    /* the buffer is held (v) while the GIL is released: it cannot be resized */
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *p = base + a;
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(base + b - p));
        size_t len = (size_t)(nl - p), cut = (size_t)cuts[i], e = len - 74;
        leaf_hash(p, cut, len, out + 32 * i);
        f[0] = (unsigned char)(e >> 8);
        f[1] = (unsigned char)e;
        memcpy(f + 2, p, cut);
        memcpy(f + 2 + cut, p + cut + 74, len - cut - 74);
        f += 2 + e;
        at[i] = (uint64_t)(f - f0);
        p = nl + 1;
    }
    Py_END_ALLOW_THREADS
    r = Py_BuildValue("nOOO", n, leaves, framed, ends);
done:
    Py_XDECREF(leaves);
    Py_XDECREF(framed);
    Py_XDECREF(ends);
    PyMem_Free(cuts);
    PyBuffer_Release(&v);
    return r;
}

static PyObject *tile_nodes(PyObject *Py_UNUSED(module), PyObject *arg)
{
    /* tile_nodes(level) -> bytes: SHA-256(0x01 || left || right) of each 64-byte pair of
       32-byte hashes of a bytes-like level (a whole number of pairs), concatenated */
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0)
        return NULL;
    if (b.len % 64) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "tile_nodes takes whole pairs of 32-byte hashes");
        return NULL;
    }
    Py_ssize_t n = b.len / 64;
    PyObject *r = PyBytes_FromStringAndSize(NULL, 32 * n);
    if (r != NULL) {
        const unsigned char *p = b.buf;
        unsigned char *out = (unsigned char *)PyBytes_AS_STRING(r);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++)
            node_hash(p + 64 * i, p + 64 * i + 32, out + 32 * i);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&b);
    return r;
}

/* --- sealing (trail import, collect): events to lines in bulk (issue 28, item 5) ---------- */

/* seal_batch(events, start, seq, prev, max_line, scanner) encodes each event dict of
 * events[start:] the way trail/seal.py's seal_event does for a plain one (canonical.is_plain:
 * exact str, int within +-(2^53 - 1), bool, None, exact list, exact dict with ASCII str keys,
 * at most MAX_DEPTH levels): its members with v, seq, prev and hash set (hash of the line
 * without its hash member, SHA-256 of 0x00 and those bytes), span "s<seq>" when missing, keys
 * sorted, compact, strings escaped as orjson writes them. A line is kept only when
 * check_line (the verify loop's test) takes it with that seq and prev and it is at most
 * max_line bytes: a line sealed here is one the C verify loop takes. The first event that is
 * anything else (not plain, no ts, a value the verify loop does not take) stops the batch: the
 * caller's Python (seal_event, the reference) seals it or says why not. Each leaf goes into
 * ``scanner`` (a Scanner, or None). Returns (lines, leaves, last hash): the lines without
 * newline, their 32-byte leaves concatenated, the hash the next event links to. */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} sbuf_t;

static int sb_grow(sbuf_t *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + more)
        cap *= 2;
    unsigned char *p = PyMem_Realloc(b->p, cap);
    if (p == NULL)
        return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}

static int sb_put(sbuf_t *b, const void *s, size_t n)
{
    if (!sb_grow(b, n))
        return 0;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 1;
}

#define SB_LIT(b, s) sb_put((b), (s), sizeof(s) - 1)

/* a string as orjson writes it: " \ and the controls with a short form escaped so, the other
   controls as \u00xx (lowercase), everything else (DEL, text beyond ASCII) as it is */
static int sb_string(sbuf_t *b, const unsigned char *s, size_t n)
{
    if (!sb_grow(b, n + 2))
        return 0;
    b->p[b->n++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && PLAIN[s[j]] | (s[j] >= 0x80))
            j++;
        if (j > i && !sb_put(b, s + i, j - i))
            return 0;
        if (j >= n)
            break;
        unsigned char c = s[j];
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t k = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = HEX[c >> 4];
            esc[5] = HEX[c & 15];
            k = 6;
        }
        if (!sb_put(b, esc, k))
            return 0;
        i = j + 1;
    }
    if (!sb_grow(b, 1))
        return 0;
    b->p[b->n++] = '"';
    return 1;
}

static int sb_int(sbuf_t *b, long long x)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", x);
    return n > 0 && sb_put(b, tmp, (size_t)n);
}

/* the UTF-8 of an exact str; 0 when it has none (a lone surrogate: the caller's) */
static int utf8_of(PyObject *s, const unsigned char **p, Py_ssize_t *n)
{
    if (PyUnicode_IS_ASCII(s)) {
        *p = PyUnicode_DATA(s);
        *n = PyUnicode_GET_LENGTH(s);
        return 1;
    }
    const char *u = PyUnicode_AsUTF8AndSize(s, n);
    if (u == NULL) {
        PyErr_Clear();
        return 0;
    }
    *p = (const unsigned char *)u;
    return 1;
}

typedef struct {
    const unsigned char *k;
    Py_ssize_t n;
    PyObject *v;
    int special; /* the top level's own members: 0 none, else which (below) */
} member_t;

enum { M_NONE, M_V, M_SEQ, M_PREV, M_HASH, M_SPAN };

static int member_cmp(const void *a, const void *b)
{
    const member_t *x = a, *y = b;
    size_t m = (size_t)(x->n < y->n ? x->n : y->n);
    int c = memcmp(x->k, y->k, m);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int sb_value(sbuf_t *b, PyObject *v, int depth);

/* an object's members, sorted, each key an exact ASCII str; -1 memory, 0 not plain */
static int sb_members(sbuf_t *b, member_t *m, Py_ssize_t n, int depth)
{
    qsort(m, (size_t)n, sizeof *m, member_cmp);
    if (!sb_grow(b, 1))
        return -1;
    b->p[b->n++] = '{';
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i && !SB_LIT(b, ","))
            return -1;
        if (!sb_string(b, m[i].k, (size_t)m[i].n) || !SB_LIT(b, ":"))
            return -1;
        int r = sb_value(b, m[i].v, depth + 1);
        if (r <= 0)
            return r;
    }
    if (!SB_LIT(b, "}"))
        return -1;
    return 1;
}

/* 1 written, 0 not plain (the caller's), -1 out of memory */
static int sb_value(sbuf_t *b, PyObject *v, int depth)
{
    if (v == Py_None)
        return SB_LIT(b, "null") ? 1 : -1;
    if (v == Py_True)
        return SB_LIT(b, "true") ? 1 : -1;
    if (v == Py_False)
        return SB_LIT(b, "false") ? 1 : -1;
    if (PyUnicode_CheckExact(v)) {
        const unsigned char *s;
        Py_ssize_t n;
        if (!utf8_of(v, &s, &n))
            return 0;
        return sb_string(b, s, (size_t)n) ? 1 : -1;
    }
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || x > MAX_SAFE || x < -MAX_SAFE)
            return 0;
        return sb_int(b, x) ? 1 : -1;
    }
    /* a container at depth >= MAX_DEPTH (the event is depth 0) is not plain */
    if (depth >= MAX_DEPTH)
        return 0;
    if (PyList_CheckExact(v)) {
        if (!SB_LIT(b, "["))
            return -1;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            if (i && !SB_LIT(b, ","))
                return -1;
            int r = sb_value(b, PyList_GET_ITEM(v, i), depth + 1);
            if (r <= 0)
                return r;
        }
        return SB_LIT(b, "]") ? 1 : -1;
    }
    if (PyDict_CheckExact(v)) {
        Py_ssize_t n = PyDict_GET_SIZE(v), pos = 0, i = 0;
        member_t stackm[16], *m = n <= 16 ? stackm : PyMem_Malloc(sizeof(member_t) * (size_t)n);
        PyObject *k, *x;
        int r = 1;
        if (m == NULL)
            return -1;
        while (PyDict_Next(v, &pos, &k, &x)) {
            if (!PyUnicode_CheckExact(k) || !PyUnicode_IS_ASCII(k)) {
                r = 0;
                break;
            }
            m[i].k = PyUnicode_DATA(k);
            m[i].n = PyUnicode_GET_LENGTH(k);
            m[i].v = x;
            m[i].special = M_NONE;
            i++;
        }
        if (r == 1)
            r = sb_members(b, m, i, depth);
        if (m != stackm)
            PyMem_Free(m);
        return r;
    }
    return 0; /* a float, a tuple, a subclass, anything else: the general form decides */
}

static int key_is(PyObject *k, const char *word)
{
    return PyUnicode_GET_LENGTH(k) == (Py_ssize_t)strlen(word) &&
           memcmp(PyUnicode_DATA(k), word, strlen(word)) == 0;
}

/* One event's line into b (emptied first), its hash into leaf. 1 sealed, 0 the caller's,
   -1 an error set (memory). */
static int seal_one(sbuf_t *b, PyObject *event, long long seq, const unsigned char prev[64],
                    size_t max_line, unsigned char leaf[32], unsigned char hexout[64])
{
    b->n = 0;
    if (!PyDict_CheckExact(event))
        return 0;
    Py_ssize_t n = PyDict_GET_SIZE(event), pos = 0, i = 0;
    member_t stackm[48];
    member_t *m = n + 5 <= 48 ? stackm : PyMem_Malloc(sizeof(member_t) * (size_t)(n + 5));
    PyObject *k, *x;
    int r = 1, has_ts = 0, has_span = 0;
    if (m == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    while (PyDict_Next(event, &pos, &k, &x)) {
        if (!PyUnicode_CheckExact(k) || !PyUnicode_IS_ASCII(k)) {
            r = 0;
            break;
        }
        /* v, seq, prev and hash are the sealing's own (set below) */
        if (key_is(k, "v") || key_is(k, "seq") || key_is(k, "prev") || key_is(k, "hash"))
            continue;
        has_ts |= key_is(k, "ts");
        has_span |= key_is(k, "span");
        m[i].k = PyUnicode_DATA(k);
        m[i].n = PyUnicode_GET_LENGTH(k);
        m[i].v = x;
        m[i].special = M_NONE;
        i++;
    }
    if (r == 1 && !has_ts) /* stamped or refused by the caller */
        r = 0;
    if (r == 1) {
        static const struct { const char *k; int which; } own[] = {
            {"v", M_V}, {"seq", M_SEQ}, {"prev", M_PREV}, {"hash", M_HASH}, {"span", M_SPAN}};
        for (int j = 0; j < 5; j++) {
            if (own[j].which == M_SPAN && has_span)
                continue;
            m[i].k = (const unsigned char *)own[j].k;
            m[i].n = (Py_ssize_t)strlen(own[j].k);
            m[i].v = NULL;
            m[i].special = own[j].which;
            i++;
        }
        qsort(m, (size_t)i, sizeof *m, member_cmp);
    }
    size_t hash_at = 0; /* the offset of "hash" member's opening quote */
    for (Py_ssize_t j = 0; r == 1 && j < i; j++) {
        if (!sb_put(b, j ? "," : "{", 1) || !sb_string(b, m[j].k, (size_t)m[j].n) ||
            !SB_LIT(b, ":")) {
            r = -1;
            break;
        }
        switch (m[j].special) {
        case M_V:
            r = SB_LIT(b, "1") ? 1 : -1;
            break;
        case M_SEQ:
            r = sb_int(b, seq) ? 1 : -1;
            break;
        case M_PREV:
            r = SB_LIT(b, "\"") && sb_put(b, prev, 64) && SB_LIT(b, "\"") ? 1 : -1;
            break;
        case M_HASH:
            hash_at = b->n - 7; /* "hash": */
            r = sb_grow(b, 66) ? 1 : -1;
            if (r == 1) {
                memset(b->p + b->n, '"', 66);
                b->n += 66;
            }
            break;
        case M_SPAN: {
            char tmp[32];
            int t = snprintf(tmp, sizeof tmp, "\"s%lld\"", seq);
            r = t > 0 && sb_put(b, tmp, (size_t)t) ? 1 : -1;
            break;
        }
        default:
            r = sb_value(b, m[j].v, 1);
        }
    }
    if (r == 1)
        r = SB_LIT(b, "}") ? 1 : -1;
    if (m != stackm)
        PyMem_Free(m);
    if (r < 0) {
        PyErr_NoMemory();
        return -1;
    }
    if (r == 0 || b->n > max_line)
        return 0;
    /* the hash: of the line without its member ("hash":"<64>", 73 bytes) and the comma that
       joins it to the others (before it, or after it when it comes first) */
    {
        const unsigned char *p = b->p;
        size_t len = b->n, cut = hash_at, skip = 73;
        if (cut > 0 && p[cut - 1] == ',') {
            cut--;
            skip++;
        } else if (cut + 73 < len && p[cut + 73] == ',') {
            skip++;
        }
        SHA256_CTX c;
        static const unsigned char zero = 0;
        SHA256_Init(&c);
        SHA256_Update(&c, &zero, 1);
        SHA256_Update(&c, p, cut);
        SHA256_Update(&c, p + cut + skip, len - cut - skip);
        SHA256_Final(leaf, &c);
    }
    for (int j = 0; j < 32; j++) {
        hexout[2 * j] = (unsigned char)HEX[leaf[j] >> 4];
        hexout[2 * j + 1] = (unsigned char)HEX[leaf[j] & 15];
    }
    memcpy(b->p + hash_at + 8, hexout, 64);
    /* what the verify loop takes, and nothing else */
    event_t ev;
    if (!check_line(b->p, b->n, &ev) || ev.seq != seq || memcmp(ev.prev, prev, 64) != 0 ||
        memcmp(ev.hash, hexout, 64) != 0)
        return 0;
    return 1;
}

static PyObject *seal_batch(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *events, *prev_obj, *scanner;
    Py_ssize_t start, max_line;
    long long seq;
    if (!PyArg_ParseTuple(args, "O!nLUnO", &PyList_Type, &events, &start, &seq, &prev_obj,
                          &max_line, &scanner))
        return NULL;
    if (scanner != Py_None && !PyObject_TypeCheck(scanner, &ScannerType)) {
        PyErr_SetString(PyExc_TypeError, "scanner must be a Scanner or None");
        return NULL;
    }
    Scanner *sc = scanner == Py_None ? NULL : (Scanner *)scanner;
    if (sc != NULL && sc->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the scanner is in use");
        return NULL;
    }
    unsigned char prev[64], hexout[64], leaf[32];
    Py_ssize_t n = PyList_GET_SIZE(events);
    PyObject *lines = PyList_New(0), *leaves = NULL, *result = NULL;
    sbuf_t b = {NULL, 0, 0}, lv = {NULL, 0, 0};
    if (lines == NULL)
        return NULL;
    /* a prev this code can write: 64 lowercase hex (any other is the caller's) */
    int ok = PyUnicode_IS_ASCII(prev_obj) && PyUnicode_GET_LENGTH(prev_obj) == 64 &&
             seq >= 0 && max_line >= 0;
    if (ok) {
        memcpy(prev, PyUnicode_DATA(prev_obj), 64);
        for (int j = 0; j < 64; j++)
            ok &= HEXL[prev[j]];
    }
    for (Py_ssize_t i = start < 0 ? 0 : start; ok && i < n && seq <= MAX_SAFE; i++) {
        int r = seal_one(&b, PyList_GET_ITEM(events, i), seq, prev, (size_t)max_line, leaf,
                         hexout);
        if (r < 0)
            goto done;
        if (r == 0)
            break;
        PyObject *line = PyBytes_FromStringAndSize((const char *)b.p, (Py_ssize_t)b.n);
        if (line == NULL)
            goto done;
        int added = PyList_Append(lines, line);
        Py_DECREF(line);
        if (added < 0)
            goto done;
        if (!sb_put(&lv, leaf, 32) || (sc != NULL && push_leaf(sc, leaf) < 0)) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(prev, hexout, 64);
        seq++;
    }
    leaves = PyBytes_FromStringAndSize(lv.p ? (const char *)lv.p : "", (Py_ssize_t)lv.n);
    if (leaves == NULL)
        goto done;
    if (PyList_GET_SIZE(lines) == 0)
        result = PyTuple_Pack(3, lines, leaves, prev_obj);
    else
        result = Py_BuildValue("(OOs#)", lines, leaves, (const char *)prev, (Py_ssize_t)64);
done:
    Py_XDECREF(leaves);
    Py_DECREF(lines);
    PyMem_Free(b.p);
    PyMem_Free(lv.p);
    return result;
}

/* ---- The judging pass's per-event helpers (issue 28, item 2) --------------------------------
 * Kept apart from the verifier and the sealing above: pure functions of one field, each the
 * compiled twin of a Python function that stays the reference (a differential test holds them
 * equal). */

static int two_digits(const unsigned char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static PyObject *trail_us(PyObject *Py_UNUSED(module), PyObject *arg)
{
    /* period.trail_us: YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z, a real UTC time (the minute as
       datetime.fromisoformat takes it: year 1-9999, hour 0-23), seconds 0-59 -> its
       microseconds since the epoch; any other text -> None */
    static const unsigned char mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "trail_us() takes a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(arg))
        Py_RETURN_NONE;
    const unsigned char *s = (const unsigned char *)PyUnicode_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    if (n != 20 && (n < 22 || n > 27))
        Py_RETURN_NONE;
    for (int i = 0; i < 19; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != (unsigned char)shape[i])
            Py_RETURN_NONE;
    }
    if (s[n - 1] != 'Z')
        Py_RETURN_NONE;
    long long frac = 0;
    if (n > 20) {
        if (s[19] != '.')
            Py_RETURN_NONE;
        Py_ssize_t i = 20;
        for (; i < n - 1; i++) {
            if (s[i] < '0' || s[i] > '9')
                Py_RETURN_NONE;
            frac = frac * 10 + (s[i] - '0');
        }
        for (; i < 26; i++) /* padded on the right to six digits */
            frac *= 10;
    }
    int year = two_digits(s) * 100 + two_digits(s + 2);
    int month = two_digits(s + 5), day = two_digits(s + 8);
    int hour = two_digits(s + 11), minute = two_digits(s + 14), second = two_digits(s + 17);
    if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 ||
        second > 59)
        Py_RETURN_NONE;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[month] + (month == 2 && leap))
        Py_RETURN_NONE;
    long long secs = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400LL +
                     hour * 3600LL + minute * 60LL + second;
    return PyLong_FromLongLong(secs * 1000000LL + frac);
}

/* ---- end of the judging pass's helpers ---------------------------------------------------- */

static PyMethodDef module_methods[] = {
    {"check", check, METH_O,
     "check(line) -> bool: the line is an event this core decides (canonical, valid)."},
    {"tile_window", tile_window, METH_VARARGS,
     "tile_window(buf, a, b, limit) -> (n, leaves, framed, ends) | None: the tiles' leaves and "
     "entry bundle bytes of the lines of buf[a:b]."},
    {"tile_nodes", tile_nodes, METH_O,
     "tile_nodes(level) -> bytes: the inner node of each pair of 32-byte hashes."},
    {"seal_batch", seal_batch, METH_VARARGS,
     "seal_batch(events, start, seq, prev, max_line, scanner) -> (lines, leaves, last hash):\n"
     "seal the plain events of events[start:] the verify loop takes, stopping at the first\n"
     "that is not (the caller's Python seals it or says why not)."},
    {"trail_us", trail_us, METH_O,
     "trail_us(ts) -> int | None: period.trail_us, compiled (the judging pass, issue 28)."},
    {"use_sha_ni", use_sha_ni, METH_O,
     "use_sha_ni(on) -> bool: hash with the CPU's SHA-NI (if it has them) or OpenSSL only;\n"
     "whether SHA-NI is used now (for tests and benchmarks)."},
    {"kinds", kinds, METH_NOARGS,
     "kinds() -> {kind: (required fields, optional fields)}: the core's copy of the schema."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cverify",
    "The compiled verifier core (C, OpenSSL's libcrypto for SHA-256).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cverify(void)
{
    for (int c = 0x20; c < 0x80; c++)
        PLAIN[c] = c != '"' && c != '\\';
    for (int c = 0; c < 256; c++)
        HEXL[c] = (unsigned char)is_hex_lower((unsigned char)c);
    for (int c = 0; c < 256; c++)
        FIRSTKEY[c] = NKEYS;
    for (int k = NKEYS - 1; k >= 0; k--) {
        KEYLEN[k] = strlen(KEYS[k]);
#if defined(__SSE2__)
        KEYPAT[k][0] = '"';
        memcpy(KEYPAT[k] + 1, KEYS[k], KEYLEN[k]);
        KEYPAT[k][KEYLEN[k] + 1] = '"';
        KEYBITS[k] = (1u << (KEYLEN[k] + 2)) - 1;
#endif
        FIRSTKEY[(unsigned char)KEYS[k][0]] = k;
    }
    memset(KINDSLOT, -1, sizeof KINDSLOT);
    for (int k = 0; k < NKINDS; k++) {
        KINDLEN[k] = strlen(KINDS[k].name);
        size_t slot = kind_slot((const unsigned char *)KINDS[k].name, KINDLEN[k]);
        if (KINDSLOT[slot] >= 0)
            kind_linear = 1;
        KINDSLOT[slot] = (signed char)k;
    }
    sha_ni_detect();
    if (PyType_Ready(&ScannerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddStringConstant(m, "openssl_version",
                                   OpenSSL_version(OPENSSL_VERSION)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
