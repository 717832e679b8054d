/*
 * db_format.h - the users database: on-disk binary layout (version 2; the
 * readers also accept version 1, described at the end).
 *
 * Owns: the byte layout shared by the writer (dbwrite.c) and the reader
 * (db.c), and the hash functions both sides must agree on. libc only.
 *
 * All integers are little-endian, fixed width. Every section starts on an
 * 8-byte boundary. Layout of a file:
 *
 *   header (JFA_DB_HDR_SIZE = 192 bytes; the same in both versions)
 *     0   char[8]  magic "JFAUSRDB"
 *     8   u32      format version (JFA_DB_VERSION = 2; 1 still read)
 *     12  u32      header size (192)
 *     16  u64      total file size in bytes (must equal the real size)
 *     24  u64      generation (sync time, unix seconds)
 *     32  u32      number of user records
 *     36  u32      number of group records
 *     40  u64      FNV-1a 64 of bytes [header size, file size) (checked by
 *                  jfa_db_verify only, never on the NSS path)
 *     48  9 x {u64 offset, u64 size} section table, in enum jfa_db_sec order
 *
 *   watch block (JFA_DB_WATCH_SIZE = 8 bytes at offset 192; optional: a
 *   file has one iff every section offset is >= 200 and the tag matches.
 *   Files written before it existed start their first section at 192;
 *   readers that predate it ignore the gap, as sections need only be
 *   8-aligned, after the header and non-overlapping)
 *     192 char[4]  tag "JFAW"
 *     196 u32      replaced: 0 while the file is the current database; the
 *                  writer stores a nonzero value (1) into the OLD file just
 *                  before it renames a new database over it. The only
 *                  transition is 0 -> 1, so a reader's aligned load sees one
 *                  of the two. Counted as 0 in the checksum. Readers with a
 *                  mapping check it on every call (one load, no system
 *                  call); see doc/design.md "Replacement and staleness".
 *
 * Two kinds of file carry version 2 data:
 *   plain version 2: header version 2, its section table the version 2
 *     sections below (written with JFA_DBW_NO_V1_VIEW; readers older than
 *     version 2 refuse it);
 *   transitional (what sync writes while processes may still have the
 *     version-1-only module loaded): header version 1 and its table the
 *     version 1 view below, so version 1 readers read it as before; at
 *     offset 200 (after the watch block, which it requires) a directory:
 *       200 char[4]  tag "JFA2"
 *       204 u32      2 (the version of the sections it lists)
 *       208 9 x {u64 offset, u64 size}: the version 2 sections
 *     (JFA_DB_DIR_SIZE = 152 bytes; every section of the header's table
 *     starts at or after 352). Version 2 readers check the version 1 view
 *     as version 1 readers do, then read only through the directory. The
 *     view's STRINGS section is the byte range of the version 2 USERS and
 *     GROUPS sections (adjacent): its string refs point at the strings
 *     inside the entries, so no string is stored twice. A version 1 reader
 *     never reads the directory (a gap between header and sections).
 *
 *   cell block (JFA_DB_CELLS_SIZE = 104 bytes at JFA_DB_CELLS_OFF = 352;
 *   optional, read by version 2 readers only: present iff the file is read
 *   as version 2, every section of every table the reader loaded (the
 *   header's, and a transitional file's directory) starts at or after 456,
 *   and tag and block version match, so an older file's section bytes are
 *   never read as one. A plain version 2 file with it has 152 zero bytes
 *   at 200..351)
 *     352 char[4]  tag "JFAC"
 *     356 u32      1 (block version)
 *     360 4 x {u64 offset (in the file), u64 size, u32 stride, u32 0}: the
 *                  cell tables of user name, uid, group name, gid (key
 *                  order); size 0 = none for that key (the slot table is
 *                  used).
 *
 * Version 2 sections. A lookup reads one hash slot (8 bytes), and on a tag
 * match one entry, which holds the record's fixed fields followed by its
 * own strings: a hit touches the slot's cache line and one or two adjacent
 * lines of the entry; a miss touches the slots only. With cell tables a
 * hit reads the slot and one cell holding the entry, which the NSS module
 * prefetches together (one cache miss of latency).
 *   section 0       unused, size 0 (v1's STRINGS)
 *   USERS (1)       user entries, each 8-aligned (zero padding between):
 *     0  u32 uid, 4 u32 gid, 8 u32 flags (JFA_DBU_*), 12 u32 n_gids,
 *     16 u16 name length, 18 u16 gecos length, 20 u16 home length,
 *     22 u16 shell length, 24 u16 Jellyfin name length, 26 u16 0,
 *     28 u32 size: the entry's bytes (without the padding after it),
 *     32 name NUL gecos NUL home NUL shell NUL Jellyfin name NUL,
 *        zero padding to a 4-byte boundary, n_gids x u32 supplementary
 *        gids, u8[16] Jellyfin user Id (binary; shown as 32 lowercase hex).
 *     So size == align4(32 + the five lengths + 5) + 4 * n_gids + 16.
 *   GROUPS (2)      group entries, each 8-aligned:
 *     0  u32 gid, 4 u32 flags (JFA_DBG_*), 8 u32 n_members,
 *     12 u32 record index (its position in GINDEX), 16 u32 size,
 *     20 u16 name length, 22 u16 0, 24 name NUL, zero padding to a 4-byte
 *     boundary, n_members x u32: offset of each member's login name from
 *     the start of the entry, then the member names, each NUL-terminated
 *     (at most JFA_DB_NAME_MAX bytes before the NUL).
 *   UINDEX (3)      n_users x u32: byte offset of each user entry in USERS,
 *                   in enumeration order (getpwent, jfa_db_user_at).
 *   GINDEX (4)      n_groups x u32: the same for groups.
 *   H_UNAME, H_UID, H_GNAME, H_GID (5-8): open-addressing hash indexes
 *            (linear probing). Each is an array of 8-byte slots {u32 tag,
 *            u32 ref}; slot count a power of two >= 2 * records (minimum
 *            8). ref = entry offset / 8 + 1 (0 = empty slot); tag = the
 *            key's full 32-bit hash (names: FNV-1a 32, ids: jfa_db_hash_id,
 *            a bijection, so an id's tag equals the id's only). The probe
 *            starts at tag & (slots - 1) and reads an entry only when the
 *            tag matches; it visits at most slot-count slots, so a table
 *            without an empty slot (hostile file) still terminates.
 *
 * Cell tables (optional, listed by the cell block). A cell table is a hash
 * table of n cells of `stride` bytes (64, 128 or 256), inside USERS (user
 * name, uid) or GROUPS (group name, gid), each table at a 128-aligned file
 * offset (USERS starts 128-aligned and its size is a multiple of 128).
 * A cell's first 8 bytes are a version 2 slot {u32 tag, u32 ref} (tag and
 * ref as above; 0 = empty); bytes 8..stride-1 hold a copy of the record's
 * entry when it fits (size <= stride - 8), and ref then points at that
 * inline copy (the cell's offset in the section + 8); else they are zero
 * and ref points at the primary entry.
 *
 * The home cell of a tag is (tag * n) >> 32 (jfa_db_cell_home); linear
 * probing; the writer places by Robin Hood (a record displaces an
 * occupant nearer its own home), so a probe stops at an empty cell or at
 * a cell whose occupant is nearer its home than the probe is to the
 * key's, and visits at most n cells. Load factor 80% (dbwrite.c). The
 * writer puts no record more than 256 cells from its home
 * (JFA_CELL_MAX_PROBE): a kind whose keys cluster more (names chosen to
 * share a home) gets no cell tables, so a probe of a file it wrote visits
 * at most 257 cells.
 *
 * Primary entries: H_* slots, UINDEX/GINDEX and the version 1 view's
 * string refs point at each record's primary entry. With cell tables an
 * entry section holds the tables first (USERS: user name cells, uid
 * cells; GROUPS: group name cells, gid cells), then every primary entry
 * in input order, as without them (enumeration reads them sequentially).
 * Readers without cell tables never read the copies. The stride of a kind
 * is the smallest that holds 90% of its entries (none: no cell tables for
 * that kind). Readers ask the slot table first and probe the cell table
 * on a tag match (a miss then costs one 8-byte slot).
 *
 * Validation at open, O(1): stride one of 64, 128, 256; size a multiple
 * of stride; more cells than records; offset 8-aligned; the table inside
 * its entry section; no two cell tables overlapping. Refs, entries and
 * order are checked where used (a broken order only hides keys);
 * jfa_db_verify checks everything.
 *
 * Validation at open (O(1)): size >= header, magic, version, header size,
 * declared size == real size, each section 8-aligned, inside the file and
 * after the header (after the directory for its sections), sections of a
 * table pairwise non-overlapping; the cell block's tables (above); v2: section 0
 * empty, entry sections a multiple of 8, index sections exactly count * 4,
 * hash tables a power-of-two slot count greater than the record count.
 * Everything else (slot refs, entry sizes, string lengths and their NULs,
 * member offsets) is checked where it is used. The watch block is
 * optional: without it (older files, or a tag that does not match) a
 * reader falls back to checking the path.
 *
 * Version 1 (written by releases before version 2, and as the view of a
 * transitional file; readers keep a compact path for it so that a
 * database written before an upgrade keeps answering until the next sync
 * rewrites it). Its sections, in table order:
 *   STRINGS  NUL-terminated strings, deduplicated. A string is referenced
 *            by {u32 offset, u32 length}; valid iff offset + length <
 *            section size and the byte at offset + length is NUL.
 *   USERS    n_users records of 80 bytes (JFA_DB_USER_SIZE):
 *     0 u32 uid, 4 u32 gid, 8 u32 flags, 12 u32 n_gids,
 *     16 u32 first gid (index into GIDS, in u32 units), 20 u32 reserved (0),
 *     24 name, 32 gecos, 40 home, 48 shell, 56 Jellyfin name: string refs,
 *     64 u8[16] Jellyfin user Id.
 *   GROUPS   n_groups records of 24 bytes (JFA_DB_GROUP_SIZE):
 *     0 u32 gid, 4 u32 n_members, 8 u32 first member (index into MEMBERS,
 *     in 8-byte units), 12 name string ref, 20 u32 flags.
 *   GIDS     u32 array: supplementary gids of users, concatenated.
 *   MEMBERS  string-ref array: login names of group members, concatenated.
 *   H_UNAME, H_UID, H_GNAME, H_GID: arrays of u32 slots, slot count a power
 *            of two > records; a slot holds record index + 1, 0 = empty.
 *   Open checks record sections exactly count * record size, array
 *   sections a multiple of their element size.
 */
#ifndef JFA_DB_FORMAT_H
#define JFA_DB_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JFA_DB_MAGIC "JFAUSRDB"
#define JFA_DB_MAGIC_LEN 8
#define JFA_DB_VERSION 2u /* written; 1 is still read */
#define JFA_DB_VERSION_1 1u
#define JFA_DB_HDR_SIZE 192u
#define JFA_DB_USER_SIZE 80u
#define JFA_DB_GROUP_SIZE 24u
#define JFA_DB_STRREF_SIZE 8u
#define JFA_DB_MIN_SLOTS 8u
/* Largest file the reader maps (1 GiB: ~ several million users). */
#define JFA_DB_MAX_FILE ((uint64_t)1 << 30)
/* Longest string the writer accepts (gecos, home, shell). */
#define JFA_DB_MAX_STR 4095u
#define JFA_DB_NAME_MAX 32u

/* header field offsets */
#define JFA_DBH_MAGIC 0
#define JFA_DBH_VERSION 8
#define JFA_DBH_HDRSIZE 12
#define JFA_DBH_FILESIZE 16
#define JFA_DBH_GENERATION 24
#define JFA_DBH_NUSERS 32
#define JFA_DBH_NGROUPS 36
#define JFA_DBH_CHECKSUM 40
#define JFA_DBH_SECTIONS 48

/* the optional watch block after the header */
#define JFA_DB_WATCH_OFF 192u
#define JFA_DB_WATCH_SIZE 8u
#define JFA_DB_WATCH_TAG "JFAW"
#define JFA_DB_WATCH_TAG_LEN 4
#define JFA_DBW_REPLACED 196u /* u32, 4-aligned */

/* the version 2 directory of a transitional file (after the watch block) */
#define JFA_DB_DIR_OFF 200u
#define JFA_DB_DIR_TAG "JFA2"
#define JFA_DB_DIR_TAG_LEN 4
#define JFA_DB_DIR_SECTIONS 208u
#define JFA_DB_DIR_SIZE 152u /* tag, u32 version, 9 x {u64 offset, u64 size} */

/* the optional cell block (version 2 readers; after the directory) */
#define JFA_DB_CELLS_OFF 352u
#define JFA_DB_CELLS_TAG "JFAC"
#define JFA_DB_CELLS_TAG_LEN 4
#define JFA_DB_CELLS_VERSION 1u
#define JFA_DB_CELLS_TABLES 360u /* 4 x {u64 offset, u64 size, u32 stride, u32 0} */
#define JFA_DB_CELLS_ENTRY 24u
#define JFA_DB_CELLS_SIZE 104u /* tag, u32 version, 4 x 24 bytes: ends at 456 */
#define JFA_DB_CELLS_END (JFA_DB_CELLS_OFF + JFA_DB_CELLS_SIZE)
#define JFA_DB_CELL_ALIGN 128u /* file alignment of a cell table */

/* home cell of a tag in a cell table of n cells: (tag * n) >> 32, so any
 * cell count (any load factor) spreads the tags evenly */
static inline uint32_t jfa_db_cell_home(uint32_t tag, uint32_t n)
{
    return (uint32_t)(((uint64_t)tag * n) >> 32);
}

/* how far cell i (of n) is from the home cell of tag, probing forward
 * with wrap-around: what Robin Hood placement orders by */
static inline uint32_t jfa_db_cell_dist(uint32_t tag, uint32_t i, uint32_t n)
{
    uint32_t home = jfa_db_cell_home(tag, n);

    return i >= home ? i - home : i + n - home;
}

enum jfa_db_sec {
    JFA_SEC_STRINGS = 0,
    JFA_SEC_USERS,
    JFA_SEC_GROUPS,
    JFA_SEC_GIDS,
    JFA_SEC_MEMBERS,
    JFA_SEC_H_UNAME,
    JFA_SEC_H_UID,
    JFA_SEC_H_GNAME,
    JFA_SEC_H_GID,
    JFA_SEC_COUNT
};

/* version 2: sections 0, 3 and 4 (the others keep their v1 names) */
#define JFA_SEC2_UNUSED JFA_SEC_STRINGS
#define JFA_SEC2_UINDEX JFA_SEC_GIDS
#define JFA_SEC2_GINDEX JFA_SEC_MEMBERS
#define JFA_DB2_SLOT_SIZE 8u

/* version 2 user entry */
#define JFA_DBE_UID 0
#define JFA_DBE_GID 4
#define JFA_DBE_FLAGS 8
#define JFA_DBE_NGIDS 12
#define JFA_DBE_LENS 16 /* 5 x u16: name, gecos, home, shell, Jellyfin name */
#define JFA_DBE_SIZE 28
#define JFA_DBE_STRINGS 32
/* version 2 group entry */
#define JFA_DBF_GID 0
#define JFA_DBF_FLAGS 4
#define JFA_DBF_NMEM 8
#define JFA_DBF_INDEX 12
#define JFA_DBF_SIZE 16
#define JFA_DBF_NAMELEN 20
#define JFA_DBF_NAME 24

/* version 1 user record field offsets */
#define JFA_DBU_OFF_UID 0
#define JFA_DBU_OFF_GID 4
#define JFA_DBU_OFF_FLAGS 8
#define JFA_DBU_OFF_NGIDS 12
#define JFA_DBU_OFF_GIDX 16
#define JFA_DBU_OFF_NAME 24
#define JFA_DBU_OFF_GECOS 32
#define JFA_DBU_OFF_HOME 40
#define JFA_DBU_OFF_SHELL 48
#define JFA_DBU_OFF_JFNAME 56
#define JFA_DBU_OFF_JFID 64

/* version 1 group record field offsets */
#define JFA_DBG_OFF_GID 0
#define JFA_DBG_OFF_NMEM 4
#define JFA_DBG_OFF_MIDX 8
#define JFA_DBG_OFF_NAME 12
#define JFA_DBG_OFF_FLAGS 20

static inline uint32_t jfa_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t jfa_le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint64_t jfa_le64(const unsigned char *p)
{
    return (uint64_t)jfa_le32(p) | (uint64_t)jfa_le32(p + 4) << 32;
}

static inline void jfa_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void jfa_put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void jfa_put64(unsigned char *p, uint64_t v)
{
    jfa_put32(p, (uint32_t)v);
    jfa_put32(p + 4, (uint32_t)(v >> 32));
}

/* FNV-1a 32 over a name of len bytes. */
static inline uint32_t jfa_db_hash_name(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Integer mixer (lowbias32) for uids and gids. */
static inline uint32_t jfa_db_hash_id(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

#define JFA_DB_FNV64_BASIS 14695981039346656037ull

/* FNV-1a 64, continuing from h (start with JFA_DB_FNV64_BASIS). */
static inline uint64_t jfa_db_fnv64(uint64_t h, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* FNV-1a 64: the file checksum. Any single changed byte changes it. */
static inline uint64_t jfa_db_checksum(const unsigned char *p, size_t len)
{
    return jfa_db_fnv64(JFA_DB_FNV64_BASIS, p, len);
}

/* The checksum of a file image of `size` bytes (everything after the
 * header); with a watch block, its `replaced` word counts as 0 so that
 * marking a file does not change its checksum. */
static inline uint64_t jfa_db_image_checksum(const unsigned char *img, size_t size, int has_watch)
{
    static const unsigned char zero[4];
    uint64_t h;

    if (!has_watch)
        return jfa_db_checksum(img + JFA_DB_HDR_SIZE, size - JFA_DB_HDR_SIZE);
    h = jfa_db_fnv64(JFA_DB_FNV64_BASIS, img + JFA_DB_WATCH_OFF,
                     JFA_DBW_REPLACED - JFA_DB_WATCH_OFF);
    h = jfa_db_fnv64(h, zero, sizeof(zero));
    return jfa_db_fnv64(h, img + JFA_DBW_REPLACED + 4, size - (JFA_DBW_REPLACED + 4));
}

#endif
