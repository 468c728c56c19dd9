/* steady.c — prototype of "steady checkpoints" (libmdbx SAFE_NOSYNC) on stock LMDB 0.9.24.
 *
 *   gcc -O2 -Wall -o steady steady.c -llmdb
 *
 *   steady run   DIR N [opts]   open (boot-id restore rule), N cache-miss txns, checkpoint at close
 *   steady check DIR [opts]     open (restore rule), walk every DBI, print "ok COUNTER HASH ITEMS",
 *                               then continue 100 txns and re-walk (freelist sanity)
 *   steady info  DIR            dump both meta pages and both steady slots
 * opts: --mode steady|nosync|sync  --ckpt-txns K (1000)  --ckpt-ms M (1000)  --seed S
 *       --mapsize BYTES (doubles on MDB_MAP_FULL, pin held)  --marks FILE  --no-pin  --no-restore
 *       --continue N (check: txns after the walk, 100)  --quiet
 * env:  STEADY_BOOT_ID overrides /proc/sys/kernel/random/boot_id.
 *
 * Marks (for the power-loss harness): "t I HASH ITEMS" after txn I committed, "c I T" after a
 * checkpoint naming counter I / LMDB txnid T is durable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- LMDB 0.9 on-disk meta page (mdb.c: MDB_page header, MDB_meta), 64-bit ---- */
#define PAGEHDRSZ 16          /* pgno u64, pad u16, flags u16, lower u16, upper u16 */
#define P_META 0x08
#define MDB_MAGIC_ 0xBEEFC0DEu
#define MDB_DATA_VERSION_ 1u
#define META_SIZE 136         /* magic4 version4 address8 mapsize8 dbs[2]*48 last_pg8 txnid8 */
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_MAPSIZE 16
#define OFF_PSIZE 24          /* mm_dbs[FREE_DBI].md_pad */
#define OFF_LASTPG 120
#define OFF_TXNID 128
#define METAPAGE (PAGEHDRSZ + META_SIZE)

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* A meta page is valid when flagged P_META with LMDB's magic and data version (0.9 has no checksum). */
static int meta_valid(const uint8_t *pg) {
    return (rd16(pg + 10) & P_META) && rd32(pg + PAGEHDRSZ + OFF_MAGIC) == MDB_MAGIC_ &&
           rd32(pg + PAGEHDRSZ + OFF_VERSION) == MDB_DATA_VERSION_;
}
static uint64_t meta_txnid(const uint8_t *pg) { return rd64(pg + PAGEHDRSZ + OFF_TXNID); }
static uint32_t meta_psize(const uint8_t *pg) { return rd32(pg + PAGEHDRSZ + OFF_PSIZE); }

/* ---- hashing (prototype; the real thing would use XXH3) ---- */
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
/* Order-independent multiset hash of the whole store: sum of per-item hashes. */
static uint64_t item_hash(int dbi_ix, const MDB_val *k, const MDB_val *v) {
    uint64_t h = hash_bytes((uint64_t)dbi_ix * 0x9e3779b97f4a7c15ULL, k->mv_data, k->mv_size);
    return hash_bytes(h, v->mv_data, v->mv_size);
}

/* ---- the schema: roughly what a v2 cache miss writes ---- */
enum { D_CALLS, D_IDS, D_TIMELINE, D_TAGS, D_NAMES, D_META, ND };
static const char *dbname[ND] = {"calls", "ids", "timeline", "tag_index", "name_index", "meta"};
static const unsigned dbflags[ND] = {0, MDB_DUPSORT | MDB_DUPFIXED, MDB_DUPSORT | MDB_DUPFIXED,
                                     MDB_DUPSORT | MDB_DUPFIXED, MDB_DUPSORT | MDB_DUPFIXED, 0};

struct opts {
    const char *dir, *marks;
    int mode;               /* 0 steady, 1 nosync, 2 sync */
    long ckpt_txns, ckpt_ms, cont;
    uint64_t seed;
    size_t mapsize;
    int no_pin, no_restore, quiet;
};

struct store {
    struct opts o;
    MDB_env *env;
    MDB_dbi dbi[ND];
    int dfd;                /* data.mdb, read-only, for pread of the metas */
    int sfd;                /* steady */
    unsigned psize;
    MDB_txn *pin;           /* read txn pinned at the last steady snapshot */
    uint64_t pin_txnid, steady_seq;
    int steady_fresh;       /* steady was created by this process: fsync the directory once */
    char boot[64];
    uint64_t counter, hash, items;   /* workload state: txns applied, multiset hash, item count */
    FILE *marks;
    long since_ckpt;
    struct timespec last_ckpt;
    /* stats */
    long n_ckpt; double ckpt_sum, ckpt_max, sync_sum;
    long n_resize;
};

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void die(const char *what, int rc) { fprintf(stderr, "error: %s: %s\n", what, rc > 0 ? strerror(rc) : mdb_strerror(rc)); exit(2); }
#define CK(call) do { int rc_ = (call); if (rc_) die(#call, rc_); } while (0)

static void read_boot(char *out) {
    const char *e = getenv("STEADY_BOOT_ID");
    if (e) { snprintf(out, 64, "%s", e); return; }
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f || !fgets(out, 64, f)) die("boot_id", errno);
    fclose(f);
    out[strcspn(out, "\n")] = 0;
}

/* ---- steady file: two 4 KiB slots, written alternately ----
 * "CSTD" u32 version | u64 seq | u64 txnid T | u64 counter | u32 psize | char boot[40] |
 * meta page bytes [METAPAGE] | u64 checksum of everything before it */
#define SLOT 4096
#define S_MAGIC 0
#define S_SEQ 8
#define S_TXNID 16
#define S_COUNTER 24
#define S_PSIZE 32
#define S_BOOT 36
#define S_META 76
#define S_SUM (S_META + METAPAGE)

struct slot { int valid; uint64_t seq, txnid, counter; uint32_t psize; char boot[41]; uint8_t meta[METAPAGE]; };

static void read_steady(int fd, struct slot *best, struct slot s[2]) {
    memset(best, 0, sizeof *best);
    for (int i = 0; i < 2; i++) {
        uint8_t b[SLOT];
        memset(&s[i], 0, sizeof s[i]);
        if (pread(fd, b, SLOT, (off_t)i * SLOT) != SLOT) continue;
        if (memcmp(b, "CSTD", 4) || rd64(b + S_SUM) != hash_bytes(0, b, S_SUM)) continue;
        s[i].valid = 1;
        s[i].seq = rd64(b + S_SEQ); s[i].txnid = rd64(b + S_TXNID); s[i].counter = rd64(b + S_COUNTER);
        s[i].psize = rd32(b + S_PSIZE);
        memcpy(s[i].boot, b + S_BOOT, 40); s[i].boot[40] = 0;
        memcpy(s[i].meta, b + S_META, METAPAGE);
        if (!meta_valid(s[i].meta) || meta_txnid(s[i].meta) != s[i].txnid) { s[i].valid = 0; continue; }
        if (!best->valid || s[i].seq > best->seq) *best = s[i];
    }
}

/* ---- open with the boot-id rule ---- */
static void restore_if_needed(struct store *st) {
    char path[4096];
    snprintf(path, sizeof path, "%s/steady", st->o.dir);
    int sfd = open(path, O_RDONLY);
    if (sfd < 0) return;                     /* no checkpoint ever: nothing acknowledged as steady */
    struct slot best, s[2];
    read_steady(sfd, &best, s);
    close(sfd);
    if (!best.valid) return;                 /* possible only if steady's first write never completed */
    st->steady_seq = best.seq;
    if (!strcmp(best.boot, st->boot)) return;   /* same boot: the page cache holds every commit */
    snprintf(path, sizeof path, "%s/data.mdb", st->o.dir);
    int fd = open(path, O_RDWR);
    if (fd < 0) die("open data.mdb for restore", errno);
    uint8_t pg[2][METAPAGE];
    uint64_t newest = 0; int bad = 0;
    for (int i = 0; i < 2; i++) {
        if (pread(fd, pg[i], METAPAGE, (off_t)i * best.psize) != METAPAGE || !meta_valid(pg[i])) { bad = 1; continue; }
        if (meta_txnid(pg[i]) > newest) newest = meta_txnid(pg[i]);
    }
    if (!bad && newest < best.txnid) { fprintf(stderr, "error: data.mdb (txn %llu) is older than its steady record (txn %llu)\n",
                                               (unsigned long long)newest, (unsigned long long)best.txnid); exit(2); }
    if (bad || newest > best.txnid) {
        if (st->o.no_restore) { if (!st->o.quiet) fprintf(stderr, "restore skipped (--no-restore)\n"); close(fd); return; }
        for (int i = 0; i < 2; i++) {
            uint8_t b[METAPAGE];
            memcpy(b, best.meta, METAPAGE);
            uint64_t pgno = (uint64_t)i; memcpy(b, &pgno, 8);      /* mp_pgno = slot */
            if (pwrite(fd, b, METAPAGE, (off_t)i * best.psize) != METAPAGE) die("pwrite meta", errno);
        }
        if (fdatasync(fd)) die("fdatasync data.mdb", errno);
        if (!st->o.quiet) fprintf(stderr, "restored steady txn %llu (newest on disk was %llu%s)\n",
                                  (unsigned long long)best.txnid, (unsigned long long)newest, bad ? ", a meta was invalid" : "");
    }
    close(fd);
}

/* ---- checkpoint ---- */
static void write_mark(struct store *st, const char *fmt, unsigned long long a, unsigned long long b, unsigned long long c) {
    if (!st->marks) return;
    fprintf(st->marks, fmt, a, b, c);
    fflush(st->marks);
}

static void checkpoint(struct store *st, int force) {
    if (st->o.mode != 0) return;
    double t0 = now_s();
    int dead = 0;
    CK(mdb_reader_check(st->env, &dead));     /* clear pins of killed processes (stale reader slots) */
    MDB_txn *r;
    CK(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r));
    uint64_t T = mdb_txn_id(r);
    if (T == st->pin_txnid && !force) { mdb_txn_abort(r); return; }
    /* The raw meta of T: slot T&1 holds it until txn T+2 commits (we are the only writer here;
     * with other writer processes this needs the writer lock or a retry on mismatch). */
    uint8_t pg[METAPAGE];
    if (pread(st->dfd, pg, METAPAGE, (off_t)(T & 1) * st->psize) != METAPAGE) die("pread meta", errno);
    if (!meta_valid(pg) || meta_txnid(pg) != T) { fprintf(stderr, "error: meta slot %llu does not hold txn %llu\n",
                                                          (unsigned long long)(T & 1), (unsigned long long)T); exit(2); }
    double t1 = now_s();
    CK(mdb_env_sync(st->env, 1));            /* fdatasync(data.mdb): every page of T is durable */
    double t2 = now_s();
    uint8_t b[SLOT];
    memset(b, 0, SLOT);
    memcpy(b, "CSTD", 4);
    uint32_t ver = 1; memcpy(b + 4, &ver, 4);
    uint64_t seq = st->steady_seq + 1;
    memcpy(b + S_SEQ, &seq, 8); memcpy(b + S_TXNID, &T, 8); memcpy(b + S_COUNTER, &st->counter, 8);
    memcpy(b + S_PSIZE, &st->psize, 4);
    memcpy(b + S_BOOT, st->boot, strnlen(st->boot, 40));
    memcpy(b + S_META, pg, METAPAGE);
    uint64_t sum = hash_bytes(0, b, S_SUM); memcpy(b + S_SUM, &sum, 8);
    if (pwrite(st->sfd, b, SLOT, (off_t)(seq & 1) * SLOT) != SLOT) die("pwrite steady", errno);
    if (fdatasync(st->sfd)) die("fdatasync steady", errno);
    if (st->steady_fresh) {                  /* names of data.mdb and steady */
        int d = open(st->o.dir, O_RDONLY | O_DIRECTORY);
        if (d < 0 || fsync(d)) die("fsync dir", errno);
        close(d);
        st->steady_fresh = 0;
    }
    st->steady_seq = seq;
    /* Only now drop the previous pin. */
    if (st->pin) mdb_txn_abort(st->pin);
    st->pin = r; st->pin_txnid = T;
    if (st->o.no_pin) { mdb_txn_abort(st->pin); st->pin = NULL; }
    write_mark(st, "c %llu %llu%.0llu\n", st->counter, T, 0);
    double t3 = now_s();
    st->n_ckpt++; st->ckpt_sum += t3 - t0; st->sync_sum += t2 - t1;
    if (t3 - t0 > st->ckpt_max) st->ckpt_max = t3 - t0;
    st->since_ckpt = 0; clock_gettime(CLOCK_MONOTONIC, &st->last_ckpt);
}

static void maybe_checkpoint(struct store *st) {
    if (st->o.mode != 0) return;
    st->since_ckpt++;
    if (st->since_ckpt >= st->o.ckpt_txns) { checkpoint(st, 0); return; }
    if ((st->since_ckpt & 63) == 0 || st->o.ckpt_txns <= 64) {
        struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
        double ms = (t.tv_sec - st->last_ckpt.tv_sec) * 1e3 + (t.tv_nsec - st->last_ckpt.tv_nsec) / 1e6;
        if (ms >= st->o.ckpt_ms) checkpoint(st, 0);
    }
}

/* ---- the workload: txn i of a deterministic stream ---- */
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
    m->rowlen = (i % 97 == 0) ? 6000 : 140 + rnext(&r) % 21;       /* now and then an overflow row */
    rfill(&r, m->row, m->rowlen);
    uint8_t h[6]; rfill(&r, h, 6);                                    /* commit hash prefix */
    uint8_t tk[8]; be64(tk, (1ULL << 63) | i);                         /* timeKey8, increasing */
    m->idkey = h[0]; memcpy(m->iditem, h + 1, 5); memcpy(m->iditem + 5, tk, 8);
    memcpy(m->tl, tk, 8); memcpy(m->tl + 8, h, 6); be32(m->tl + 14, fn); memcpy(m->tl + 18, m->ck + 4, 8);
    be32(m->tagkey, 1 + (uint32_t)(i % 5)); be32(m->nmkey, fn);
    memcpy(m->tagitem, tk, 8); memcpy(m->tagitem + 8, h, 6);
}

#define V(p, n) (MDB_val){ (n), (void *)(p) }

static int put_h(struct store *st, MDB_txn *t, int d, MDB_val k, MDB_val v, unsigned fl, uint64_t *dh) {
    int rc = mdb_put(t, st->dbi[d], &k, &v, fl);
    if (rc == 0) *dh += item_hash(d, &k, &v);
    return rc;
}

/* One cache miss = one txn: 6 puts (+ a delete every 8th txn). Returns 0 or MDB_MAP_FULL. */
static int miss_txn(struct store *st) {
    uint64_t i = st->counter + 1, dh = 0, dn = 0;
    struct miss m, old;
    gen(st->o.seed, i, &m);
    MDB_txn *t;
    CK(mdb_txn_begin(st->env, NULL, 0, &t));
    int rc;
#define TRY(x) do { if ((rc = (x))) goto fail; } while (0)
    TRY(put_h(st, t, D_CALLS, V(m.ck, 36), V(m.row, m.rowlen), 0, &dh)); dn++;
    TRY(put_h(st, t, D_IDS, V(&m.idkey, 1), V(m.iditem, 13), 0, &dh)); dn++;
    uint8_t zero = 0;
    TRY(put_h(st, t, D_TIMELINE, V(&zero, 1), V(m.tl, 26), MDB_APPENDDUP, &dh)); dn++;
    TRY(put_h(st, t, D_TAGS, V(m.tagkey, 4), V(m.tagitem, 14), MDB_APPENDDUP, &dh)); dn++;
    TRY(put_h(st, t, D_NAMES, V(m.nmkey, 4), V(m.tagitem, 14), MDB_APPENDDUP, &dh)); dn++;
    uint8_t cnt[64], oldc[64];
    memset(cnt, 0xA5, 64); memcpy(cnt, &i, 8);
    memset(oldc, 0xA5, 64); uint64_t pi = i - 1; memcpy(oldc, &pi, 8);
    TRY(put_h(st, t, D_META, V("counters", 8), V(cnt, 64), 0, &dh));
    if (i > 1) dh -= item_hash(D_META, &V("counters", 8), &V(oldc, 64)); else dn++;
    if (i % 8 == 0) {                        /* gc-like delete of txn i/8's call row and its id */
        gen(st->o.seed, i / 8, &old);
        MDB_val k = V(old.ck, 36), v = V(old.row, old.rowlen), ik = V(&old.idkey, 1), iv = V(old.iditem, 13);
        TRY(mdb_del(t, st->dbi[D_CALLS], &k, NULL));
        TRY(mdb_del(t, st->dbi[D_IDS], &ik, &iv));
        dh -= item_hash(D_CALLS, &k, &v) + item_hash(D_IDS, &ik, &iv); dn -= 2;
    }
    if ((rc = mdb_txn_commit(t))) {          /* LMDB 0.9 frees the txn on a failed commit: no abort */
        if (rc == MDB_MAP_FULL) return rc;
        die("commit", rc);
    }
    st->counter = i; st->hash += dh; st->items += dn;
    write_mark(st, "t %llu %llu %llu\n", i, st->hash, st->items);
    return 0;
fail:
    mdb_txn_abort(t);
    if (rc == MDB_MAP_FULL) return rc;
    die("miss txn", rc);
    return rc;
}

static void do_miss(struct store *st) {
    while (miss_txn(st) == MDB_MAP_FULL) {
        /* Grow the map with the pin still held: mdb_env_set_mapsize only refuses a live *write*
         * txn of this env; the pin is a reader slot in lock.mdb and never dereferences the map. */
        MDB_envinfo info; CK(mdb_env_info(st->env, &info));
        CK(mdb_env_set_mapsize(st->env, info.me_mapsize * 2));
        st->n_resize++;
    }
    maybe_checkpoint(st);
}

/* ---- full walk: every DBI, every item, order checked ---- */
static int walk(struct store *st, uint64_t *hash, uint64_t *items, uint64_t *counter) {
    MDB_txn *t; int rc;
    if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t))) return rc;
    uint64_t h = 0, n = 0;
    *counter = 0;
    /* the main DB lists exactly our named DBs */
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
        MDB_val pk = {0, 0}, pv = {0, 0}; uint8_t pkb[512], pvb[512]; uint64_t cnt = 0;
        while ((rc = mdb_cursor_get(c, &k, &v, cnt ? MDB_NEXT : MDB_FIRST)) == 0) {
            if (cnt) {
                int ck = mdb_cmp(t, dbi, &pk, &k);
                if (ck > 0 || (ck == 0 && (!(dbflags[d] & MDB_DUPSORT) || mdb_dcmp(t, dbi, &pv, &v) >= 0))) { rc = MDB_CORRUPTED; break; }
            }
            if (k.mv_size > sizeof pkb) { rc = MDB_CORRUPTED; break; }
            memcpy(pkb, k.mv_data, k.mv_size); pk = V(pkb, k.mv_size);
            if (v.mv_size <= sizeof pvb) { memcpy(pvb, v.mv_data, v.mv_size); pv = V(pvb, v.mv_size); }
            h += item_hash(d, &k, &v); cnt++;
            if (d == D_META && k.mv_size == 8 && !memcmp(k.mv_data, "counters", 8) && v.mv_size == 64) memcpy(counter, v.mv_data, 8);
        }
        mdb_cursor_close(c);
        if (rc != MDB_NOTFOUND) goto out;
        if (cnt != s.ms_entries) { rc = MDB_CORRUPTED; goto out; }
        n += cnt;
    }
    rc = 0; *hash = h; *items = n;
out:
    mdb_txn_abort(t);
    return rc;
}

/* ---- open / close ---- */
static void store_open(struct store *st) {
    read_boot(st->boot);
    mkdir(st->o.dir, 0700);
    char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", st->o.dir);
    struct stat sb;
    int existed = stat(path, &sb) == 0 && sb.st_size > 0;
    if (existed && st->o.mode == 0) restore_if_needed(st);
    CK(mdb_env_create(&st->env));
    CK(mdb_env_set_maxdbs(st->env, 8));
    CK(mdb_env_set_mapsize(st->env, st->o.mapsize));
    unsigned fl = MDB_NOTLS | MDB_NORDAHEAD | (st->o.mode <= 1 ? MDB_NOSYNC : 0);
    CK(mdb_env_open(st->env, st->o.dir, fl, 0600));
    int dead = 0;
    CK(mdb_reader_check(st->env, &dead));      /* a killed process's pin would hold pages forever */
    MDB_stat es; CK(mdb_env_stat(st->env, &es)); st->psize = es.ms_psize;
    st->dfd = open(path, O_RDONLY);
    if (st->dfd < 0) die("open data.mdb", errno);
    MDB_txn *t;
    CK(mdb_txn_begin(st->env, NULL, 0, &t));
    for (int d = 0; d < ND; d++) CK(mdb_dbi_open(t, dbname[d], dbflags[d] | MDB_CREATE, &st->dbi[d]));
    CK(mdb_txn_commit(t));
    if (st->o.mode == 0) {
        snprintf(path, sizeof path, "%s/steady", st->o.dir);
        st->steady_fresh = access(path, F_OK) != 0;
        st->sfd = open(path, O_RDWR | O_CREAT, 0600);
        if (st->sfd < 0) die("open steady", errno);
        struct slot best, s[2]; read_steady(st->sfd, &best, s);
        st->steady_seq = best.valid ? best.seq : 0;
    }
    if (existed) {
        uint64_t c; int rc = walk(st, &st->hash, &st->items, &c);
        if (rc) die("walk at open", rc);
        st->counter = c;
    }
    if (st->o.marks) { st->marks = fopen(st->o.marks, "a"); if (!st->marks) die("marks", errno); }
    /* Checkpoint before the first lazy commit: names this boot, and pins. */
    checkpoint(st, 1);
}

static void store_close(struct store *st) {
    checkpoint(st, 0);
    if (st->pin) mdb_txn_abort(st->pin);
    if (st->o.mode == 1 && !st->o.quiet) {}
    mdb_env_close(st->env);
    close(st->dfd);
    if (st->o.mode == 0) close(st->sfd);
    if (st->marks) fclose(st->marks);
}

static void info(const char *dir) {
    char path[4096]; uint8_t pg[METAPAGE];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        uint32_t ps = 4096;
        for (int i = 0; i < 2; i++) {
            if (pread(fd, pg, METAPAGE, (off_t)i * ps) != METAPAGE) { printf("meta %d: short\n", i); continue; }
            if (i == 0 && meta_valid(pg)) ps = meta_psize(pg);
            printf("meta %d: valid=%d txnid=%llu last_pg=%llu mapsize=%llu psize=%u\n", i, meta_valid(pg),
                   (unsigned long long)meta_txnid(pg), (unsigned long long)rd64(pg + PAGEHDRSZ + OFF_LASTPG),
                   (unsigned long long)rd64(pg + PAGEHDRSZ + OFF_MAPSIZE), meta_psize(pg));
        }
        close(fd);
    }
    snprintf(path, sizeof path, "%s/steady", dir);
    fd = open(path, O_RDONLY);
    if (fd >= 0) {
        struct slot best, s[2]; read_steady(fd, &best, s);
        for (int i = 0; i < 2; i++)
            printf("steady slot %d: valid=%d seq=%llu txnid=%llu counter=%llu boot=%s\n", i, s[i].valid, (unsigned long long)s[i].seq,
                   (unsigned long long)s[i].txnid, (unsigned long long)s[i].counter, s[i].boot);
        close(fd);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: steady run|check|info DIR [N] [opts]\n"); return 2; }
    struct store st; memset(&st, 0, sizeof st);
    struct opts *o = &st.o;
    o->dir = argv[2]; o->ckpt_txns = 1000; o->ckpt_ms = 1000; o->seed = 1; o->mapsize = 1ULL << 30; o->cont = 100;
    long n = 0; int a = 3;
    if (!strcmp(argv[1], "info")) { info(argv[2]); return 0; }
    if (!strcmp(argv[1], "run")) { if (argc < 4) return 2; n = atol(argv[3]); a = 4; }
    for (; a < argc; a++) {
        const char *s = argv[a], *v = a + 1 < argc ? argv[a + 1] : "";
        if (!strcmp(s, "--mode")) { o->mode = !strcmp(v, "steady") ? 0 : !strcmp(v, "nosync") ? 1 : 2; a++; }
        else if (!strcmp(s, "--ckpt-txns")) { o->ckpt_txns = atol(v); a++; }
        else if (!strcmp(s, "--ckpt-ms")) { o->ckpt_ms = atol(v); a++; }
        else if (!strcmp(s, "--seed")) { o->seed = strtoull(v, 0, 10); a++; }
        else if (!strcmp(s, "--mapsize")) { o->mapsize = strtoull(v, 0, 10); a++; }
        else if (!strcmp(s, "--marks")) { o->marks = v; a++; }
        else if (!strcmp(s, "--continue")) { o->cont = atol(v); a++; }
        else if (!strcmp(s, "--no-pin")) o->no_pin = 1;
        else if (!strcmp(s, "--no-restore")) o->no_restore = 1;
        else if (!strcmp(s, "--quiet")) o->quiet = 1;
        else { fprintf(stderr, "unknown option %s\n", s); return 2; }
    }
    if (!strcmp(argv[1], "run")) {
        double t0 = now_s();
        store_open(&st);
        double t1 = now_s();
        for (long i = 0; i < n; i++) do_miss(&st);
        double t2 = now_s();
        store_close(&st);
        double t3 = now_s();
        printf("mode=%s txns=%ld loop=%.3fs per_txn=%.2fus txn_per_s=%.0f open=%.1fms close=%.1fms "
               "checkpoints=%ld ckpt_mean=%.3fms ckpt_max=%.3fms sync_mean=%.3fms resizes=%ld counter=%llu items=%llu\n",
               o->mode == 0 ? "steady" : o->mode == 1 ? "nosync" : "sync", n, t2 - t1, (t2 - t1) / n * 1e6, n / (t2 - t1),
               (t1 - t0) * 1e3, (t3 - t2) * 1e3, st.n_ckpt, st.n_ckpt ? st.ckpt_sum / st.n_ckpt * 1e3 : 0, st.ckpt_max * 1e3,
               st.n_ckpt ? st.sync_sum / st.n_ckpt * 1e3 : 0, st.n_resize, (unsigned long long)st.counter, (unsigned long long)st.items);
        return 0;
    }
    if (!strcmp(argv[1], "check")) {
        read_boot(st.boot);
        o->quiet = 1;
        char path[4096]; snprintf(path, sizeof path, "%s/data.mdb", o->dir);
        struct stat sb;
        if (stat(path, &sb) || sb.st_size == 0) { printf("nodata\n"); return 3; }
        if (o->mode == 0) restore_if_needed(&st);
        int rc;
        if ((rc = mdb_env_create(&st.env)) || (rc = mdb_env_set_maxdbs(st.env, 8)) || (rc = mdb_env_set_mapsize(st.env, o->mapsize)) ||
            (rc = mdb_env_open(st.env, o->dir, MDB_NOTLS | MDB_NOSYNC, 0600))) { printf("open-failed %s\n", mdb_strerror(rc)); return 4; }
        uint64_t h, items, counter;
        if ((rc = walk(&st, &h, &items, &counter))) { printf("walk-failed %s\n", mdb_strerror(rc)); return 5; }
        printf("ok %llu %llu %llu\n", (unsigned long long)counter, (unsigned long long)h, (unsigned long long)items);
        fflush(stdout);
        mdb_env_close(st.env);
        /* Now continue as the application would, then re-walk: catches a freelist that hands out live pages. */
        memset(&st.env, 0, sizeof st.env);
        st.o.marks = NULL;
        store_open(&st);
        if (st.counter != counter || st.hash != h) { printf("reopen-mismatch\n"); return 6; }
        for (long i = 0; i < o->cont; i++) do_miss(&st);
        uint64_t h2, n2, c2;
        if ((rc = walk(&st, &h2, &n2, &c2))) { printf("rewalk-failed %s\n", mdb_strerror(rc)); return 7; }
        if (h2 != st.hash || n2 != st.items || c2 != st.counter) { printf("rewalk-mismatch\n"); return 8; }
        store_close(&st);
        printf("cont-ok %llu\n", (unsigned long long)c2);
        return 0;
    }
    return 2;
}
