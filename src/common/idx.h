/* idx.h -- a hash index from string ids to the slots of the caller's array.
 *
 * The caller keeps its entries in an array of its own (its order is its
 * business); the index maps each entry's id to its position there, so a
 * lookup is O(1) instead of a pass over the array. The index does not copy
 * ids: it asks the caller for the id of position i through key(ctx, i), so
 * the caller must tell it of every add, removal and move (idx_add,
 * idx_remove, idx_moved), and ids must not change while indexed.
 * Used by the leader's task table and report history, which are looked up
 * on every executor report (at 1,000 servers, 200 a second).
 *
 * Threads: the owner's; nothing here is thread-safe. */
#ifndef MCM_IDX_H
#define MCM_IDX_H

typedef struct idx idx;
typedef const char *(*idx_key_fn)(void *ctx, int i);   /* the id of position i */

idx *idx_new(idx_key_fn key, void *ctx);   /* NULL if out of memory */
void idx_free(idx *x);                     /* NULL-safe */
void idx_clear(idx *x);                    /* no entry indexed */

int idx_find(const idx *x, const char *id);               /* its position, -1 if none */
/* Indexes position i under id (absent so far). n: entries indexed after it,
 * for growth. MCM_ERR if out of memory (then nothing changed). */
int idx_add(idx *x, const char *id, int i, int n);
void idx_remove(idx *x, const char *id);                  /* no-op if absent */
void idx_moved(idx *x, const char *id, int to);           /* id's entry is at position to now */

#endif
