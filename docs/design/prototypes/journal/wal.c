/* wal.c — prototype of "a WAL in front of LMDB" for cashet (stock LMDB 0.9.24, libxxhash).
 *
 *   gcc -O2 -Wall -Wno-format -o wal wal.c -llmdb -lxxhash
 *
 * Store dir: data.mdb/lock.mdb (LMDB, normal synced mode), journal (append-only records, never
 * fsynced), journal-shm (4 KiB, mmap'd by every process: write offset, next seq, chain state,
 * generation; never trusted at open, rebuilt from the journal).
 *
 *   wal run    DIR N [opts]  open (= recovery), N submits (cache misses), close (final flush)
 *   wal check  DIR [opts]    open (= recovery), full walk, print "ok COUNTER HASH ITEMS",
 *                            then --continue submits (100) + flush + re-walk, print "cont-ok C"
 *   wal reader DIR N [opts]  pure reader (no recovery, no writes): looks the N first submits'
 *                            call rows up through the journal overlay, then LMDB; microbenchmarks
 *   wal dump   DIR           print the journal's header and records
 * opts: --mode wal|nosync|sync   wal (default); nosync/sync = the same 6-op set as one direct LMDB
 *                                txn per submit, MDB_NOSYNC or fully synced
 *       --flush-n N (1000) --flush-ms M (100)  flush when N records are pending or the oldest is M ms old
 *       --max-journal BYTES (4 MiB)  ftruncate the journal at a flush when it is larger (0: always)
 *       --no-close-flush   run: exit without the final flush (leaves acknowledged records in the journal)
 *       --seed S --mapsize B --marks FILE --continue N --quiet
 * broken variants (for the power-loss campaign):
 *       --no-check     recovery takes records by magic/length/seq only (no checksum at all)
 *       --no-chain     per-record checksum, not chained, no salt
 *       --trunc-first  reset the journal before the LMDB apply txn commits
 *       --nosync-apply LMDB opened MDB_NOSYNC: the apply txn is not durable when the journal is reset
 * Marks: "t I HASH ITEMS" after submit I is acknowledged; "f SEQ" after a flush's LMDB commit returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static uint64_t now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (uint64_t)t.tv_sec * 1000000000ULL + t.tv_nsec; }
static void die(const char *what, int rc) { fprintf(stderr, "error: %s: %s\n", what, rc > 0 ? strerror(rc) : mdb_strerror(rc)); exit(2); }
#define CK(call) do { int rc_ = (call); if (rc_) die(#call, rc_); } while (0)

/* ---- workload hashing (same as steady.c, so the harness logic carries over) ---- */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    h ^= 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return mix64(h ^ n);
}
static uint64_t item_hash(int dbi_ix, const MDB_val *k, const MDB_val *v) {
    uint64_t h = hash_bytes((uint64_t)dbi_ix * 0x9e3779b97f4a7c15ULL, k->mv_data, k->mv_size);
    return hash_bytes(h, v->mv_data, v->mv_size);
}

enum { D_CALLS, D_IDS, D_TIMELINE, D_TAGS, D_NAMES, D_META, ND };
static const char *dbname[ND] = {"calls", "ids", "timeline", "tag_index", "name_index", "meta"};
static const unsigned dbflags[ND] = {0, MDB_DUPSORT | MDB_DUPFIXED, MDB_DUPSORT | MDB_DUPFIXED,
                                     MDB_DUPSORT | MDB_DUPFIXED, MDB_DUPSORT | MDB_DUPFIXED, 0};
#define APPLIED_KEY "wal_applied"      /* in "meta": u64 seq applied up to; not part of the workload hash */

/* ---- journal format ----
 * header (64 B at offset 0): "CWALJNL1" | u32 version | u32 0 | u64 salt | u64 base_seq | u64 xxh3(bytes 0..32) | 0...
 * record (at JHDR, 8-aligned): u64 sum | u32 "CREC" | u32 len | u64 seq | payload[len] | pad to 8
 *   sum = XXH3_64bits_withSeed(bytes 8..24+len, prev_sum), prev_sum of the first record = salt.
 * payload = ops: u8 op | u8 dbi | u16 klen | u32 vlen | key | value */
#define JHDR 64
#define RHDR 24
#define REC_MAGIC 0x43455243u
#define OP_PUT 1
#define OP_PUTDUP 2
#define OP_DEL 3
#define PAD8(n) (((n) + 7) & ~(size_t)7)

struct shm {                     /* journal-shm: shared by all processes, guarded by flock(journal) */
    uint64_t magic, gen, end, next_seq, prev_sum, salt, base_seq, nrec, oldest_ns;
    uint64_t busy;               /* set while a lock holder changes the journal/shm: a holder that died
                                  * mid-change leaves it set, and the next one rebuilds from the file */
};
#define SHM_MAGIC 0x314d48534c415743ULL

struct opts {
    const char *dir, *marks;
    int mode;                    /* 0 wal, 1 nosync, 2 sync */
    long flush_n, flush_ms, cont, max_journal;
    uint64_t seed;
    size_t mapsize;
    int no_check, no_chain, trunc_first, nosync_apply, no_close_flush, quiet, no_busy;
    long die_at, start;                 /* test hook: SIGKILL itself inside the lock, after appending submit die_at */
};

struct store {
    struct opts o;
    MDB_env *env;
    MDB_dbi dbi[ND];
    int jfd, shmfd;
    volatile struct shm *shm;
    uint64_t counter, hash, items;
    FILE *marks;
    uint8_t *rbuf; size_t rcap;
    long n_flush, flush_recs, n_trunc, n_resize, n_rebuild;
    double flush_sum, flush_max, commit_sum;
    float *lat; long nlat;       /* per-submit latency up to the acknowledgement (excludes its own flush) */
};

static void mark(struct store *st, const char *fmt, unsigned long long a, unsigned long long b, unsigned long long c) {
    if (!st->marks) return;
    fprintf(st->marks, fmt, a, b, c);
    fflush(st->marks);
}

/* ---- the workload: submit i = the ops of one cache miss (shapes from steady.c) ---- */
struct rng { uint64_t s; };
static uint64_t rnext(struct rng *r) { return mix64(r->s += 0x9e3779b97f4a7c15ULL); }
static void rfill(struct rng *r, uint8_t *p, size_t n) { for (size_t i = 0; i < n; i++) { if (!(i & 7)) { uint64_t v = rnext(r); memcpy(p + i, &v, n - i < 8 ? n - i : 8); } } }
struct miss { uint8_t ck[36]; uint8_t row[6000]; size_t rowlen; uint8_t idkey, iditem[13]; uint8_t tl[26]; uint8_t tagkey[4], nmkey[4], tagitem[14]; };
static void be64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i)); }
static void be32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i)); }
static void gen(uint64_t seed, uint64_t i, struct miss *m) {
    struct rng r = { mix64(seed * 0x100000001b3ULL + i) };
    uint32_t fn = 1 + (uint32_t)(rnext(&r) % 7);
    be32(m->ck, fn); rfill(&r, m->ck + 4, 32);
    m->rowlen = (i % 97 == 0) ? 6000 : 140 + rnext(&r) % 21;
    rfill(&r, m->row, m->rowlen);
    uint8_t h[6]; rfill(&r, h, 6);
    uint8_t tk[8]; be64(tk, (1ULL << 63) | i);
    m->idkey = h[0]; memcpy(m->iditem, h + 1, 5); memcpy(m->iditem + 5, tk, 8);
    memcpy(m->tl, tk, 8); memcpy(m->tl + 8, h, 6); be32(m->tl + 14, fn); memcpy(m->tl + 18, m->ck + 4, 8);
    be32(m->tagkey, 1 + (uint32_t)(i % 5)); be32(m->nmkey, fn);
    memcpy(m->tagitem, tk, 8); memcpy(m->tagitem + 8, h, 6);
}
#define V(p, n) (MDB_val){ (n), (void *)(p) }

static size_t put_op(uint8_t *p, int op, int d, const void *k, size_t kl, const void *v, size_t vl) {
    p[0] = (uint8_t)op; p[1] = (uint8_t)d; uint16_t k16 = (uint16_t)kl; memcpy(p + 2, &k16, 2); wr32(p + 4, (uint32_t)vl);
    memcpy(p + 8, k, kl); if (vl) memcpy(p + 8 + kl, v, vl);
    return 8 + kl + vl;
}

/* Builds submit i's payload at p; *dh, *dn = its effect on the expected store hash/item count. */
static size_t build_miss(uint64_t seed, uint64_t i, uint8_t *p, uint64_t *dh, uint64_t *dn) {
    struct miss m, old;
    gen(seed, i, &m);
    size_t o = 0; uint64_t h = 0, n = 0; uint8_t zero = 0;
    o += put_op(p + o, OP_PUT, D_CALLS, m.ck, 36, m.row, m.rowlen);         h += item_hash(D_CALLS, &V(m.ck, 36), &V(m.row, m.rowlen)); n++;
    o += put_op(p + o, OP_PUTDUP, D_IDS, &m.idkey, 1, m.iditem, 13);        h += item_hash(D_IDS, &V(&m.idkey, 1), &V(m.iditem, 13)); n++;
    o += put_op(p + o, OP_PUTDUP, D_TIMELINE, &zero, 1, m.tl, 26);          h += item_hash(D_TIMELINE, &V(&zero, 1), &V(m.tl, 26)); n++;
    o += put_op(p + o, OP_PUTDUP, D_TAGS, m.tagkey, 4, m.tagitem, 14);      h += item_hash(D_TAGS, &V(m.tagkey, 4), &V(m.tagitem, 14)); n++;
    o += put_op(p + o, OP_PUTDUP, D_NAMES, m.nmkey, 4, m.tagitem, 14);      h += item_hash(D_NAMES, &V(m.nmkey, 4), &V(m.tagitem, 14)); n++;
    uint8_t cnt[64], oldc[64];
    memset(cnt, 0xA5, 64); memcpy(cnt, &i, 8);
    memset(oldc, 0xA5, 64); uint64_t pi = i - 1; memcpy(oldc, &pi, 8);
    o += put_op(p + o, OP_PUT, D_META, "counters", 8, cnt, 64);            h += item_hash(D_META, &V("counters", 8), &V(cnt, 64));
    if (i > 1) h -= item_hash(D_META, &V("counters", 8), &V(oldc, 64)); else n++;
    if (i % 8 == 0) {
        gen(seed, i / 8, &old);
        o += put_op(p + o, OP_DEL, D_CALLS, old.ck, 36, NULL, 0);
        o += put_op(p + o, OP_DEL, D_IDS, &old.idkey, 1, old.iditem, 13);
        h -= item_hash(D_CALLS, &V(old.ck, 36), &V(old.row, old.rowlen)) + item_hash(D_IDS, &V(&old.idkey, 1), &V(old.iditem, 13));
        n -= 2;
    }
    *dh = h; *dn = n;
    return o;
}

/* Applies one record's ops. Idempotent (a replayed put/dup/delete is a no-op), although the
 * applied-up-to key commits in the same txn, so a record is never applied twice anyway.
 * Returns 0, -1 on a malformed payload, or an LMDB error. */
static int apply_ops(struct store *st, MDB_txn *t, const uint8_t *p, size_t len) {
    size_t o = 0;
    while (o < len) {
        if (len - o < 8) return -1;
        int op = p[o], d = p[o + 1]; uint16_t kl; memcpy(&kl, p + o + 2, 2); uint32_t vl = rd32(p + o + 4);
        o += 8;
        if (d >= ND || kl == 0 || kl > 511 || kl > len - o || vl > len - o - kl) return -1;
        MDB_val k = V(p + o, kl), v = V(p + o + kl, vl);
        o += kl + vl;
        int rc;
        switch (op) {
        case OP_PUT: rc = mdb_put(t, st->dbi[d], &k, &v, 0); break;
        case OP_PUTDUP: rc = mdb_put(t, st->dbi[d], &k, &v, MDB_NODUPDATA); if (rc == MDB_KEYEXIST) rc = 0; break;
        case OP_DEL: rc = mdb_del(t, st->dbi[d], &k, vl ? &v : NULL); if (rc == MDB_NOTFOUND) rc = 0; break;
        default: return -1;
        }
        if (rc) return rc;
    }
    return 0;
}

/* ---- journal ---- */
static uint64_t rec_sum(struct store *st, const uint8_t *rec, size_t len, uint64_t prev) {
    if (st->o.no_chain) return XXH3_64bits(rec + 8, 16 + len);
    return XXH3_64bits_withSeed(rec + 8, 16 + len, prev);
}

static void write_header(struct store *st, uint64_t salt, uint64_t base) {
    uint8_t h[JHDR];
    memset(h, 0, JHDR);
    memcpy(h, "CWALJNL1", 8); wr32(h + 8, 1); wr64(h + 16, salt); wr64(h + 24, base);
    wr64(h + 32, XXH3_64bits(h, 32));
    if (pwrite(st->jfd, h, JHDR, 0) != JHDR) die("pwrite journal header", errno);
}

/* Journal is empty from now on, next record = base. Caller holds the journal lock and has made
 * every record < base durable in LMDB (unless a broken variant says otherwise). */
static void reset_journal(struct store *st, uint64_t base) {
    uint64_t salt = XXH3_64bits_withSeed((uint64_t[]){ now_ns(), (uint64_t)getpid(), st->shm->gen, base }, 32, st->shm->salt);
    if (st->o.no_chain) salt = 0;
    struct stat sb;
    if (fstat(st->jfd, &sb)) die("fstat journal", errno);
    if (sb.st_size > st->o.max_journal) { if (ftruncate(st->jfd, JHDR)) die("ftruncate journal", errno); st->n_trunc++; }
    write_header(st, salt, base);
    volatile struct shm *s = st->shm;
    s->salt = salt; s->prev_sum = salt; s->base_seq = base; s->next_seq = base; s->nrec = 0; s->end = JHDR;
    __atomic_store_n(&s->gen, s->gen + 1, __ATOMIC_RELEASE);
}
static void flush_locked(struct store *st, int recovering);
/* Takes the journal lock; if the previous holder died while changing the journal or the shm,
 * rebuilds both from the file first (= a recovery flush: the page cache is authoritative). */
static void lock_journal(struct store *st) {
    if (flock(st->jfd, LOCK_EX)) die("flock", errno);
    if (!st->o.no_busy && __atomic_load_n(&st->shm->busy, __ATOMIC_ACQUIRE)) { st->n_rebuild++; flush_locked(st, 1); }
}

static uint64_t get_applied(struct store *st, MDB_txn *t) {
    MDB_val k = V(APPLIED_KEY, sizeof APPLIED_KEY - 1), v;
    int rc = mdb_get(t, st->dbi[D_META], &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) die("get applied", rc);
    return v.mv_size == 8 ? rd64(v.mv_data) : 0;
}

/* Flush (recovering=0: records [JHDR, shm.end) written under the lock; recovering=1: the file
 * as found, scanned until the first invalid record). Applies every valid record with seq >
 * applied in ONE LMDB write txn (synced), then resets the journal. */
static void flush_locked(struct store *st, int recovering) {
    volatile struct shm *s = st->shm;
    if (!recovering && s->nrec == 0) return;
    double t0 = now_s();
    size_t limit;
    if (recovering) { struct stat sb; if (fstat(st->jfd, &sb)) die("fstat", errno); limit = sb.st_size; }
    else limit = s->end;
    if (limit > st->rcap) { st->rcap = limit * 2; st->rbuf = realloc(st->rbuf, st->rcap); }
    if (limit && pread(st->jfd, st->rbuf, limit, 0) != (ssize_t)limit) die("pread journal", errno);
    const uint8_t *b = st->rbuf;
retry:;
    MDB_txn *t;
    CK(mdb_txn_begin(st->env, NULL, 0, &t));
    uint64_t S = get_applied(st, t), last = S, napplied = 0;
    size_t off = JHDR;
    int hdr_ok = limit >= JHDR && !memcmp(b, "CWALJNL1", 8) && rd64(b + 32) == XXH3_64bits(b, 32);
    if (hdr_ok) {
        uint64_t prev = rd64(b + 16), expect = rd64(b + 24);
        while (off + RHDR <= limit) {
            const uint8_t *r = b + off;
            uint32_t len = rd32(r + 12);
            if (rd32(r + 8) != REC_MAGIC || len > limit - off - RHDR || rd64(r + 16) != expect) break;
            if (!st->o.no_check && rec_sum(st, r, len, prev) != rd64(r)) break;
            if (expect > S) {
                if (expect != last + 1) { fprintf(stderr, "warning: journal gap: applied %llu, next record %llu\n",
                                                  (unsigned long long)last, (unsigned long long)expect); break; }
                int rc = apply_ops(st, t, r + RHDR, len);
                if (rc == MDB_MAP_FULL) {
                    mdb_txn_abort(t);
                    MDB_envinfo info; CK(mdb_env_info(st->env, &info));
                    CK(mdb_env_set_mapsize(st->env, info.me_mapsize * 2)); st->n_resize++;
                    goto retry;
                }
                if (rc == -1) { if (!recovering) die("malformed record in the live journal", 0); break; }
                if (rc) die("apply", rc);
                last = expect; napplied++;
            }
            prev = rd64(r); expect++;
            off += RHDR + PAD8(len);
        }
    }
    if (!recovering && off != limit) { fprintf(stderr, "error: live journal invalid at %zu of %zu\n", off, limit); exit(2); }
    if (st->o.trunc_first) { s->busy = 1; reset_journal(st, last + 1); }    /* BROKEN variant */
    uint64_t lv = last;
    MDB_val k = V(APPLIED_KEY, sizeof APPLIED_KEY - 1), v = V(&lv, 8);
    CK(mdb_put(t, st->dbi[D_META], &k, &v, 0));
    double t1 = now_s();
    int rc = mdb_txn_commit(t);
    if (rc == MDB_MAP_FULL) {
        MDB_envinfo info; CK(mdb_env_info(st->env, &info));
        CK(mdb_env_set_mapsize(st->env, info.me_mapsize * 2)); st->n_resize++;
        goto retry;
    }
    if (rc) die("commit flush", rc);
    double t2 = now_s();
    mark(st, "f %llu\n%.0llu%.0llu", last, 0, 0);
    __atomic_store_n(&s->busy, 1, __ATOMIC_RELEASE);
    if (!st->o.trunc_first) reset_journal(st, last + 1);   /* only now may the journal space be reused */
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
    double t3 = now_s();
    if (!recovering) {
        st->n_flush++; st->flush_recs += napplied; st->flush_sum += t3 - t0; st->commit_sum += t2 - t1;
        if (t3 - t0 > st->flush_max) st->flush_max = t3 - t0;
    }
}
static void flush(struct store *st, int recovering) {
    if (recovering) { if (flock(st->jfd, LOCK_EX)) die("flock", errno); flush_locked(st, 1); }
    else { lock_journal(st); flush_locked(st, 0); }
    flock(st->jfd, LOCK_UN);
}

/* ---- submit ---- */
static uint8_t recbuf[RHDR + 16384];

static void submit(struct store *st) {
    double ts = now_s();
    uint64_t i = st->counter + 1, dh, dn;
    size_t len = build_miss(st->o.seed, i, recbuf + RHDR, &dh, &dn);
    size_t total = RHDR + PAD8(len);
    memset(recbuf + RHDR + len, 0, total - RHDR - len);
    if (st->o.mode != 0) {                   /* direct LMDB txn: the nosync / sync baselines */
        for (;;) {
            MDB_txn *t; CK(mdb_txn_begin(st->env, NULL, 0, &t));
            int rc = apply_ops(st, t, recbuf + RHDR, len);
            if (!rc) rc = mdb_txn_commit(t); else mdb_txn_abort(t);
            if (rc == MDB_MAP_FULL) { MDB_envinfo info; CK(mdb_env_info(st->env, &info)); CK(mdb_env_set_mapsize(st->env, info.me_mapsize * 2)); st->n_resize++; continue; }
            if (rc) die("direct txn", rc);
            break;
        }
    } else {
        volatile struct shm *s = st->shm;
        lock_journal(st);
        s->busy = 1;
        uint64_t end = s->end, seq = s->next_seq;
        wr32(recbuf + 8, REC_MAGIC); wr32(recbuf + 12, (uint32_t)len); wr64(recbuf + 16, seq);
        uint64_t sum = rec_sum(st, recbuf, len, s->prev_sum);
        wr64(recbuf, sum);
        if (pwrite(st->jfd, recbuf, total, end) != (ssize_t)total) die("pwrite record", errno);
        if ((long)i == st->o.die_at) { s->prev_sum = sum; raise(SIGKILL); }   /* shm half-updated, busy set */
        s->prev_sum = sum; s->next_seq = seq + 1;
        if (s->nrec++ == 0) s->oldest_ns = now_ns();
        __atomic_store_n(&s->end, end + total, __ATOMIC_RELEASE);
        __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
        flock(st->jfd, LOCK_UN);
    }
    st->counter = i; st->hash += dh; st->items += dn;                  /* acknowledged */
    if (st->lat) st->lat[st->nlat++] = (float)((now_s() - ts) * 1e6);
    mark(st, "t %llu %llu %llu\n", i, st->hash, st->items);
    if (st->o.mode == 0) {
        volatile struct shm *s = st->shm;
        if (s->nrec >= (uint64_t)st->o.flush_n || (s->nrec && now_ns() - s->oldest_ns >= (uint64_t)st->o.flush_ms * 1000000ULL))
            flush(st, 0);
    }
}

/* ---- full walk (as steady.c; the applied-up-to key is not part of the workload) ---- */
static int walk(struct store *st, uint64_t *hash, uint64_t *items, uint64_t *counter) {
    MDB_txn *t; int rc;
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t))) return rc;
    uint64_t h = 0, n = 0;
    *counter = 0;
    MDB_dbi main; MDB_cursor *c; MDB_val k, v;
    if ((rc = mdb_dbi_open(t, NULL, 0, &main)) || (rc = mdb_cursor_open(t, main, &c))) goto out;
    int names = 0;
    while ((rc = mdb_cursor_get(c, &k, &v, names ? MDB_NEXT : MDB_FIRST)) == 0) {
        int known = 0;
        for (int d = 0; d < ND; d++) if (k.mv_size == strlen(dbname[d]) && !memcmp(k.mv_data, dbname[d], k.mv_size)) known = 1;
        if (!known) { rc = MDB_CORRUPTED; mdb_cursor_close(c); goto out; }
        names++;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) goto out;
    for (int d = 0; d < ND; d++) {
        MDB_dbi dbi;
        if ((rc = mdb_dbi_open(t, dbname[d], dbflags[d], &dbi))) { if (rc == MDB_NOTFOUND && names == 0) continue; goto out; }
        MDB_stat s; if ((rc = mdb_stat(t, dbi, &s))) goto out;
        if ((rc = mdb_cursor_open(t, dbi, &c))) goto out;
        MDB_val pk = {0, 0}, pv = {0, 0}; uint8_t pkb[512], pvb[512]; uint64_t cnt = 0, all = 0;
        while ((rc = mdb_cursor_get(c, &k, &v, all ? MDB_NEXT : MDB_FIRST)) == 0) {
            if (all) {
                int ck = mdb_cmp(t, dbi, &pk, &k);
                if (ck > 0 || (ck == 0 && (!(dbflags[d] & MDB_DUPSORT) || mdb_dcmp(t, dbi, &pv, &v) >= 0))) { rc = MDB_CORRUPTED; break; }
            }
            if (k.mv_size > sizeof pkb) { rc = MDB_CORRUPTED; break; }
            memcpy(pkb, k.mv_data, k.mv_size); pk = V(pkb, k.mv_size);
            if (v.mv_size <= sizeof pvb) { memcpy(pvb, v.mv_data, v.mv_size); pv = V(pvb, v.mv_size); }
            all++;
            if (d == D_META && k.mv_size == sizeof APPLIED_KEY - 1 && !memcmp(k.mv_data, APPLIED_KEY, k.mv_size)) continue;
            h += item_hash(d, &k, &v); cnt++;
            if (d == D_META && k.mv_size == 8 && !memcmp(k.mv_data, "counters", 8) && v.mv_size == 64) memcpy(counter, v.mv_data, 8);
        }
        mdb_cursor_close(c);
        if (rc != MDB_NOTFOUND) goto out;
        if (all != s.ms_entries) { rc = MDB_CORRUPTED; goto out; }
        n += cnt;
    }
    rc = 0; *hash = h; *items = n;
out:
    mdb_txn_abort(t);
    return rc;
}

/* ---- open / close ---- */
static int open_env(struct store *st, int rdonly_ok) {
    int rc;
    if ((rc = mdb_env_create(&st->env)) || (rc = mdb_env_set_maxdbs(st->env, 8)) || (rc = mdb_env_set_mapsize(st->env, st->o.mapsize))) return rc;
    unsigned fl = MDB_NOTLS | MDB_NORDAHEAD | ((st->o.mode == 1 || st->o.nosync_apply) ? MDB_NOSYNC : 0);
    if ((rc = mdb_env_open(st->env, st->o.dir, fl, 0600))) return rc;
    MDB_txn *t;
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &t))) return rc;
    for (int d = 0; d < ND; d++) if ((rc = mdb_dbi_open(t, dbname[d], dbflags[d] | MDB_CREATE, &st->dbi[d]))) { mdb_txn_abort(t); return rc; }
    (void)rdonly_ok;
    return mdb_txn_commit(t);
}

static void open_journal(struct store *st, int create) {
    char path[4096];
    snprintf(path, sizeof path, "%s/journal", st->o.dir);
    st->jfd = open(path, O_RDWR | (create ? O_CREAT : 0), 0600);
    if (st->jfd < 0) die("open journal", errno);
    snprintf(path, sizeof path, "%s/journal-shm", st->o.dir);
    st->shmfd = open(path, O_RDWR | (create ? O_CREAT : 0), 0600);
    if (st->shmfd < 0) die("open journal-shm", errno);
    struct stat sb;
    if (fstat(st->shmfd, &sb)) die("fstat shm", errno);
    if (sb.st_size < 4096 && ftruncate(st->shmfd, 4096)) die("ftruncate shm", errno);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, st->shmfd, 0);
    if (p == MAP_FAILED) die("mmap shm", errno);
    st->shm = p;
}

static void store_open(struct store *st) {
    mkdir(st->o.dir, 0700);
    char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", st->o.dir);
    struct stat sb;
    int existed = stat(path, &sb) == 0 && sb.st_size > 0;
    snprintf(path, sizeof path, "%s/journal", st->o.dir);
    int fresh_names = !existed || access(path, F_OK) != 0;
    int rc = open_env(st, 0);
    if (rc) die("open env", rc);
    if (st->o.mode == 0) {
        open_journal(st, 1);
        if (fresh_names) {                   /* data.mdb's and journal's names must survive a power cut */
            int d = open(st->o.dir, O_RDONLY | O_DIRECTORY);
            if (d < 0 || fsync(d)) die("fsync dir", errno);
            close(d);
        }
        /* Recovery = a flush of whatever valid prefix the journal holds. The shm is never trusted
         * here: it is rebuilt (by reset_journal) under the lock. */
        flock(st->jfd, LOCK_EX);
        if (st->shm->magic != SHM_MAGIC) { memset((void *)st->shm, 0, sizeof *st->shm); st->shm->magic = SHM_MAGIC; }
        flock(st->jfd, LOCK_UN);
        flush(st, 1);
    }
    if (existed) {
        uint64_t c; rc = walk(st, &st->hash, &st->items, &c);
        if (rc) { printf("walk-failed %s\n", mdb_strerror(rc)); exit(5); }
        st->counter = c;
    }
    if (st->o.marks) { st->marks = fopen(st->o.marks, "a"); if (!st->marks) die("marks", errno); }
}

static void store_close(struct store *st, int do_flush) {
    if (st->o.mode == 0) {
        if (do_flush) flush(st, 0);
        munmap((void *)st->shm, 4096); close(st->shmfd); close(st->jfd);
    }
    mdb_env_close(st->env);
    if (st->marks) fclose(st->marks);
}

/* ---- reader: overlay of journal records not yet in LMDB (calls rows only, for the demo) ---- */
struct overlay {
    uint64_t gen, end;              /* what the overlay covers: journal generation and byte end */
    uint8_t *buf; size_t cap;       /* copy of journal bytes [0, end) */
    uint32_t *slot; size_t nslot;   /* open addressing: offset of the op (0 = empty) */
    size_t n;
    long refreshes, rebuilds;
};
static uint64_t ov_hash(const uint8_t *k, size_t kl) { return XXH3_64bits(k, kl); }
static void ov_insert(struct overlay *ov, uint32_t opoff) {
    const uint8_t *p = ov->buf + opoff; uint16_t kl; memcpy(&kl, p + 2, 2);
    size_t m = ov->nslot - 1, i = ov_hash(p + 8, kl) & m;
    for (;; i = (i + 1) & m) {
        if (!ov->slot[i]) { ov->slot[i] = opoff; ov->n++; return; }
        const uint8_t *q = ov->buf + ov->slot[i]; uint16_t ql; memcpy(&ql, q + 2, 2);
        if (ql == kl && !memcmp(q + 8, p + 8, kl)) { ov->slot[i] = opoff; return; }   /* newer op wins */
    }
}
static void ov_reset(struct overlay *ov) { memset(ov->slot, 0, ov->nslot * sizeof *ov->slot); ov->n = 0; ov->end = JHDR; }
/* The "did it grow?" check + catch-up. Returns 1 if the overlay changed. */
static int ov_refresh(struct store *st, struct overlay *ov) {
    volatile struct shm *s = st->shm;
    uint64_t g = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE), e = __atomic_load_n(&s->end, __ATOMIC_ACQUIRE);
    if (g == ov->gen && e == ov->end) return 0;                        /* the common case: two loads */
again:
    if (g != ov->gen) { ov_reset(ov); ov->gen = g; ov->rebuilds++; }
    if (e > ov->cap) { ov->cap = e * 2; ov->buf = realloc(ov->buf, ov->cap); }
    if (e > ov->end && pread(st->jfd, ov->buf + ov->end, e - ov->end, ov->end) != (ssize_t)(e - ov->end)) die("pread", errno);
    /* A flush may have reset and overwritten the journal meanwhile: re-check the generation. */
    uint64_t g2 = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE);
    if (g2 != g) { g = g2; e = __atomic_load_n(&s->end, __ATOMIC_ACQUIRE); ov->gen = ~0ULL; goto again; }
    for (size_t off = ov->end; off + RHDR <= e;) {
        const uint8_t *r = ov->buf + off; uint32_t len = rd32(r + 12);
        for (size_t o = 0; o < len;) {
            const uint8_t *p = r + RHDR + o; uint16_t kl; memcpy(&kl, p + 2, 2); uint32_t vl = rd32(p + 4);
            if (p[1] == D_CALLS) ov_insert(ov, (uint32_t)(off + RHDR + o));
            o += 8 + kl + vl;
        }
        off += RHDR + PAD8(len);
    }
    ov->end = e; ov->refreshes++;
    return 1;
}
/* Lookup of a call row: overlay first (refresh BEFORE the LMDB snapshot starts), then LMDB.
 * Returns 1 from the overlay, 2 from LMDB, 0 not found (-1: an overlay tombstone). */
static int lookup(struct store *st, struct overlay *ov, MDB_txn *rt, const uint8_t *key, size_t kl, MDB_val *out) {
    ov_refresh(st, ov);
    if (ov->n) {
        size_t m = ov->nslot - 1, i = ov_hash(key, kl) & m;
        for (; ov->slot[i]; i = (i + 1) & m) {
            const uint8_t *q = ov->buf + ov->slot[i]; uint16_t ql; memcpy(&ql, q + 2, 2);
            if (ql == kl && !memcmp(q + 8, key, kl)) {
                if (q[0] == OP_DEL) return -1;
                *out = V(q + 8 + kl, rd32(q + 4)); return 1;
            }
        }
    }
    CK(mdb_txn_renew(rt));
    MDB_val k = V(key, kl);
    int rc = mdb_get(rt, st->dbi[D_CALLS], &k, out);
    mdb_txn_reset(rt);          /* prototype: the value pointer stays valid until the next write reuses the page */
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) die("mdb_get", rc);
    return 2;
}

static void reader(struct store *st, long n) {
    st->o.mode = 0;
    int rc = open_env(st, 1);
    if (rc) die("open env", rc);
    open_journal(st, 0);
    struct overlay ov; memset(&ov, 0, sizeof ov);
    ov.nslot = 1 << 16; ov.slot = calloc(ov.nslot, sizeof *ov.slot); ov.gen = ~0ULL; ov.end = JHDR;
    MDB_txn *rt; CK(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &rt)); mdb_txn_reset(rt);
    long from_ov = 0, from_db = 0, missing = 0, deleted = 0, wrong = 0;
    uint8_t (*keys)[36] = malloc((size_t)n * 36);
    for (long i = 1; i <= n; i++) {
        struct miss m; gen(st->o.seed, i, &m); memcpy(keys[i - 1], m.ck, 36);
        MDB_val v; int r = lookup(st, &ov, rt, m.ck, 36, &v);
        if (r == 1) from_ov++; else if (r == 2) from_db++; else if (r == -1) deleted++; else missing++;
        if (r > 0 && (v.mv_size != m.rowlen || memcmp(v.mv_data, m.row, m.rowlen))) wrong++;
    }
    printf("lookups=%ld from_overlay=%ld from_lmdb=%ld deleted_in_overlay=%ld not_found=%ld wrong_value=%ld overlay_items=%zu journal_end=%llu gen=%llu\n",
           n, from_ov, from_db, deleted, missing, wrong, ov.n, (unsigned long long)ov.end, (unsigned long long)ov.gen);
    /* microbenchmarks */
    const long R = 2000000;
    struct stat sb; double t0 = now_s();
    for (long i = 0; i < R / 4; i++) if (fstat(st->jfd, &sb)) die("fstat", errno);
    double t_fstat = (now_s() - t0) / (R / 4) * 1e9;
    volatile uint64_t sink = 0; t0 = now_s();
    for (long i = 0; i < R * 10; i++) sink += ov_refresh(st, &ov);
    double t_check = (now_s() - t0) / (R * 10) * 1e9;
    /* classify the keys by where the lookup found them */
    long nov = 0, ndb = 0; uint8_t (*ok_)[36] = malloc((size_t)n * 36), (*kd)[36] = malloc((size_t)n * 36);
    MDB_val v;
    for (long i = 0; i < n; i++) { int r = lookup(st, &ov, rt, keys[i], 36, &v); if (r == 1) memcpy(ok_[nov++], keys[i], 36); else if (r == 2) memcpy(kd[ndb++], keys[i], 36); }
    long hits = 0; double t_ovhit = 0, t_dbhit = 0, t_dbonly = 0;
    if (nov) { t0 = now_s(); for (long i = 0; i < R; i++) hits += lookup(st, &ov, rt, ok_[(i * 7919) % nov], 36, &v) == 1; t_ovhit = (now_s() - t0) / R * 1e9; }
    if (ndb) {
        t0 = now_s(); for (long i = 0; i < R; i++) hits += lookup(st, &ov, rt, kd[(i * 7919) % ndb], 36, &v) == 2; t_dbhit = (now_s() - t0) / R * 1e9;
        t0 = now_s();
        for (long i = 0; i < R; i++) { CK(mdb_txn_renew(rt)); MDB_val k = V(kd[(i * 7919) % ndb], 36); hits += mdb_get(rt, st->dbi[D_CALLS], &k, &v) == 0; mdb_txn_reset(rt); }
        t_dbonly = (now_s() - t0) / R * 1e9;
    }
    /* keys that are nowhere: overlay probe + LMDB, vs LMDB alone */
    uint8_t nk[36]; memset(nk, 0x5a, 36); t0 = now_s();
    for (long i = 0; i < R / 4; i++) { memcpy(nk, &i, 8); lookup(st, &ov, rt, nk, 36, &v); }
    double t_miss = (now_s() - t0) / (R / 4) * 1e9;
    t0 = now_s();
    for (long i = 0; i < R / 4; i++) { memcpy(nk, &i, 8); CK(mdb_txn_renew(rt)); MDB_val k = V(nk, 36); mdb_get(rt, st->dbi[D_CALLS], &k, &v); mdb_txn_reset(rt); }
    double t_lmdb_absent = (now_s() - t0) / (R / 4) * 1e9;
    /* rebuild cost: parse the whole journal into a fresh overlay */
    long reps = 200; size_t end = ov.end; t0 = now_s();
    for (long i = 0; i < reps; i++) { ov.gen = ~0ULL; ov_refresh(st, &ov); }
    double t_rebuild = (now_s() - t0) / reps * 1e6;
    printf("fstat=%.1fns shm_check=%.2fns overlay_hit=%.1fns lmdb_hit_via_lookup=%.1fns lmdb_hit_alone=%.1fns (hits %ld) "
           "absent_via_lookup=%.1fns absent_lmdb_alone=%.1fns overlay_rebuild=%.1fus for %zu bytes (%zu items, %.0fns/record)\n",
           t_fstat, t_check, t_ovhit, t_dbhit, t_dbonly, hits, t_miss, t_lmdb_absent, t_rebuild, (size_t)end, ov.n,
           t_rebuild * 1e3 / ((end - JHDR) / 477.0));
    mdb_txn_abort(rt);
    free(keys); free(ok_); free(kd);
}

static void dump(struct store *st) {
    char path[4096]; snprintf(path, sizeof path, "%s/journal", st->o.dir);
    int fd = open(path, O_RDONLY); if (fd < 0) die("open journal", errno);
    struct stat sb; fstat(fd, &sb);
    uint8_t *b = malloc(sb.st_size + 1); if (pread(fd, b, sb.st_size, 0) != sb.st_size) die("pread", errno);
    size_t lim = sb.st_size;
    int ok = lim >= JHDR && !memcmp(b, "CWALJNL1", 8) && rd64(b + 32) == XXH3_64bits(b, 32);
    printf("journal size=%zu header_ok=%d salt=%016llx base=%llu\n", lim, ok, ok ? (unsigned long long)rd64(b + 16) : 0ULL, ok ? (unsigned long long)rd64(b + 24) : 0ULL);
    if (!ok) return;
    uint64_t prev = rd64(b + 16), expect = rd64(b + 24); size_t off = JHDR; long n = 0;
    while (off + RHDR <= lim) {
        const uint8_t *r = b + off; uint32_t len = rd32(r + 12);
        int good = rd32(r + 8) == REC_MAGIC && len <= lim - off - RHDR && rd64(r + 16) == expect && XXH3_64bits_withSeed(r + 8, 16 + len, prev) == rd64(r);
        if (!good) { printf("stop at %zu (record %ld): magic=%d seq=%llu expect=%llu\n", off, n, rd32(r + 8) == REC_MAGIC, (unsigned long long)rd64(r + 16), (unsigned long long)expect); break; }
        prev = rd64(r); expect++; n++; off += RHDR + PAD8(len);
    }
    printf("valid records=%ld end=%zu next_seq=%llu\n", n, off, (unsigned long long)expect);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: wal run|check|reader|dump DIR [N] [opts]\n"); return 2; }
    struct store st; memset(&st, 0, sizeof st);
    struct opts *o = &st.o;
    o->dir = argv[2]; o->flush_n = 1000; o->flush_ms = 100; o->seed = 1; o->mapsize = 1ULL << 30; o->cont = 100; o->max_journal = 4 << 20; o->start = -1;
    long n = 0; int a = 3;
    if (!strcmp(argv[1], "dump")) { dump(&st); return 0; }
    if (!strcmp(argv[1], "run") || !strcmp(argv[1], "reader")) { if (argc < 4) return 2; n = atol(argv[3]); a = 4; }
    for (; a < argc; a++) {
        const char *s = argv[a], *v = a + 1 < argc ? argv[a + 1] : "";
        if (!strcmp(s, "--mode")) { o->mode = !strcmp(v, "wal") ? 0 : !strcmp(v, "nosync") ? 1 : 2; a++; }
        else if (!strcmp(s, "--flush-n")) { o->flush_n = atol(v); a++; }
        else if (!strcmp(s, "--flush-ms")) { o->flush_ms = atol(v); a++; }
        else if (!strcmp(s, "--max-journal")) { o->max_journal = atol(v); a++; }
        else if (!strcmp(s, "--seed")) { o->seed = strtoull(v, 0, 10); a++; }
        else if (!strcmp(s, "--mapsize")) { o->mapsize = strtoull(v, 0, 10); a++; }
        else if (!strcmp(s, "--marks")) { o->marks = v; a++; }
        else if (!strcmp(s, "--continue")) { o->cont = atol(v); a++; }
        else if (!strcmp(s, "--no-check")) o->no_check = 1;
        else if (!strcmp(s, "--no-chain")) o->no_chain = 1;
        else if (!strcmp(s, "--trunc-first")) o->trunc_first = 1;
        else if (!strcmp(s, "--nosync-apply")) o->nosync_apply = 1;
        else if (!strcmp(s, "--no-close-flush")) o->no_close_flush = 1;
        else if (!strcmp(s, "--quiet")) o->quiet = 1;
        else if (!strcmp(s, "--no-busy")) o->no_busy = 1;
        else if (!strcmp(s, "--die-at")) { o->die_at = atol(v); a++; }
        else if (!strcmp(s, "--start")) { o->start = atol(v); a++; }   /* multi-writer tests: own submit numbering */
        else { fprintf(stderr, "unknown option %s\n", s); return 2; }
    }
    if (!strcmp(argv[1], "reader")) { reader(&st, n); return 0; }
    if (!strcmp(argv[1], "run")) {
        double t0 = now_s();
        store_open(&st);
        if (o->start >= 0) st.counter = (uint64_t)o->start;
        double t1 = now_s();
        st.lat = malloc(sizeof(float) * (n + 1));
        for (long i = 0; i < n; i++) submit(&st);
        double t2 = now_s();
        store_close(&st, !o->no_close_flush);
        double t3 = now_s();
        char path[4096]; struct stat sb; long long dsz = 0, jsz = 0;
        snprintf(path, sizeof path, "%s/data.mdb", o->dir); if (!stat(path, &sb)) dsz = sb.st_size;
        snprintf(path, sizeof path, "%s/journal", o->dir); if (!stat(path, &sb)) jsz = sb.st_size;
        printf("mode=%s submits=%ld loop=%.3fs per_submit=%.2fus submits_per_s=%.0f open=%.1fms close=%.1fms flushes=%ld rebuilds=%ld "
               "flush_mean=%.3fms flush_max=%.3fms commit_mean=%.3fms recs_per_flush=%.0f flush_us_per_rec=%.2f truncs=%ld resizes=%ld "
               "data.mdb=%lld journal=%lld counter=%llu items=%llu\n",
               o->mode == 0 ? "wal" : o->mode == 1 ? "nosync" : "sync", n, t2 - t1, (t2 - t1) / n * 1e6, n / (t2 - t1),
               (t1 - t0) * 1e3, (t3 - t2) * 1e3, st.n_flush, st.n_rebuild, st.n_flush ? st.flush_sum / st.n_flush * 1e3 : 0, st.flush_max * 1e3,
               st.n_flush ? st.commit_sum / st.n_flush * 1e3 : 0, st.n_flush ? (double)st.flush_recs / st.n_flush : 0,
               st.flush_recs ? st.flush_sum / st.flush_recs * 1e6 : 0, st.n_trunc, st.n_resize, dsz, jsz,
               (unsigned long long)st.counter, (unsigned long long)st.items);
        if (n > 0) {
            int cmpf(const void *x, const void *y) { float a = *(const float *)x, b = *(const float *)y; return (a > b) - (a < b); }
            qsort(st.lat, st.nlat, sizeof(float), cmpf);
            printf("ack_latency_us p50=%.1f p99=%.1f p999=%.1f max=%.1f\n", st.lat[st.nlat / 2], st.lat[st.nlat * 99 / 100],
                   st.lat[st.nlat * 999 / 1000], st.lat[st.nlat - 1]);
        }
        return 0;
    }
    if (!strcmp(argv[1], "check")) {
        o->quiet = 1;
        char path[4096]; snprintf(path, sizeof path, "%s/data.mdb", o->dir);
        struct stat sb;
        if (stat(path, &sb) || sb.st_size == 0) { printf("nodata\n"); return 3; }
        o->marks = NULL;
        store_open(&st);                      /* recovery + walk; exits 5 on a failed walk */
        uint64_t h = st.hash, items = st.items, counter = st.counter;
        printf("ok %llu %llu %llu\n", (unsigned long long)counter, (unsigned long long)h, (unsigned long long)items);
        fflush(stdout);
        for (long i = 0; i < o->cont; i++) submit(&st);
        flush(&st, 0);
        uint64_t h2, n2, c2; int rc;
        if ((rc = walk(&st, &h2, &n2, &c2))) { printf("rewalk-failed %s\n", mdb_strerror(rc)); return 7; }
        if (h2 != st.hash || n2 != st.items || c2 != st.counter) { printf("rewalk-mismatch\n"); return 8; }
        store_close(&st, 1);
        printf("cont-ok %llu\n", (unsigned long long)c2);
        return 0;
    }
    return 2;
}
