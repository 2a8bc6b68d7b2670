/* SPDX-License-Identifier: MIT */
/* jobd-logread.c — read a job's history back from its log files.
 *
 * Memory is bounded whatever the files hold: a stream is read through one
 * buffer of READ_BUFFER bytes (a longer "line", which jobd never writes,
 * comes back cut in pieces), and counting lines back from the end (-n)
 * reads the files backwards in chunks without keeping them.
 */
#include "jobd-logread.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jobd-linesplit.h"
#include "jobd-output.h"

#define READ_BUFFER (2 * JOBD_LINE_MAX)
#define BACK_CHUNK (64 * 1024)
#define PREFIX_LEN 20   /* "[yy-mm-dd HH:MM:SS] " */

/* ---- files and keys -------------------------------------------------- */

static gboolean
all_digits (const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

gboolean
jobd_log_key_from_name (const char *name, char key[JOBD_LOG_KEY_LEN + 1])
{
  const char *base = strrchr (name, '/');

  base = base != NULL ? base + 1 : name;
  if (strlen (base) < JOBD_LOG_KEY_LEN || !all_digits (base, JOBD_LOG_KEY_LEN)
      || (strcmp (base + JOBD_LOG_KEY_LEN, ".log") != 0
          && strcmp (base + JOBD_LOG_KEY_LEN, ".error.log") != 0))
    return FALSE;
  memcpy (key, base, JOBD_LOG_KEY_LEN);
  key[JOBD_LOG_KEY_LEN] = '\0';
  return TRUE;
}

static const char *
stream_suffix (guint stream)
{
  return stream == 1 ? ".error.log" : ".log";
}

static char *
key_path (const char *dir, const char *key, guint stream)
{
  g_autofree char *day = g_strndup (key, 8);
  g_autofree char *file = g_strconcat (key, stream_suffix (stream), NULL);

  return g_build_filename (dir, day, file, NULL);
}

static int
compare_keys (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The stream's hour keys, oldest first. */
static GPtrArray *
list_keys (const char *dir, guint stream)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) top = g_dir_open (dir, 0, NULL);
  const char *day;

  while (top != NULL && (day = g_dir_read_name (top)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr(GDir) sub = NULL;
      const char *name;

      if (strlen (day) != 8 || !all_digits (day, 8))
        continue;
      path = g_build_filename (dir, day, NULL);
      sub = g_dir_open (path, 0, NULL);
      while (sub != NULL && (name = g_dir_read_name (sub)) != NULL)
        if (strlen (name) == JOBD_LOG_KEY_LEN + strlen (stream_suffix (stream))
            && all_digits (name, JOBD_LOG_KEY_LEN) && strncmp (name, day, 8) == 0
            && strcmp (name + JOBD_LOG_KEY_LEN, stream_suffix (stream)) == 0)
          g_ptr_array_add (keys, g_strndup (name, JOBD_LOG_KEY_LEN));
    }
  g_ptr_array_sort (keys, compare_keys);
  return keys;
}

static int
pos_compare (const JobdLogPos *a, const JobdLogPos *b)
{
  int c = strcmp (a->key, b->key);

  if (c != 0)
    return c;
  return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static void
pos_set (JobdLogPos *pos, const char *key, guint64 offset)
{
  g_strlcpy (pos->key, key, sizeof pos->key);
  pos->offset = offset;
}

/* Local time of a key's hour, as Unix seconds. */
static gint64
key_hour_start (const char *key)
{
  int y, mo, d, h;
  g_autoptr(GDateTime) t = NULL;

  if (sscanf (key, "%4d%2d%2d%2d", &y, &mo, &d, &h) != 4)
    return 0;
  t = g_date_time_new_local (y, mo, d, h, 0, 0);
  return t != NULL ? g_date_time_to_unix (t) : 0;
}

/* ---- reading one stream forwards ------------------------------------ */

typedef struct {
  const char *dir;
  guint stream;
  GPtrArray *keys;
  guint idx;             /* keys->pdata[idx] is the file being read */
  int fd;
  char *buf;
  gsize len, at;         /* bytes in buf, bytes of it taken */
  guint64 buf_offset;    /* file offset of buf[0] */
  guint64 limit;         /* read the file up to here */
  gboolean file_eof;
  JobdLogPos pos;        /* the next line's start */
  JobdLogPos end;
  /* The line looked at, not yet taken. */
  gboolean have;
  gint64 usec;
  const char *text;
  gsize text_len;
  gsize line_bytes;      /* with prefix and newline */
  /* Seconds of the last prefix parsed (a flood repeats it). */
  char cached_prefix[PREFIX_LEN];
  gint64 cached_usec;
} Reader;

static void
reader_close_file (Reader *r)
{
  if (r->fd >= 0)
    close (r->fd);
  r->fd = -1;
}

static void
reader_init (Reader *r, const char *dir, guint stream, GPtrArray *keys,
             const JobdLogPos *from, const JobdLogPos *end)
{
  memset (r, 0, sizeof *r);
  r->dir = dir;
  r->stream = stream;
  r->keys = keys;
  r->fd = -1;
  r->buf = g_malloc (READ_BUFFER);
  r->pos = *from;
  r->end = *end;
  r->cached_usec = G_MININT64;
  while (r->idx < keys->len && strcmp (keys->pdata[r->idx], from->key) < 0)
    r->idx++;
}

static void
reader_clear (Reader *r)
{
  reader_close_file (r);
  g_free (r->buf);
}

/* Open the next file to read, if any (key at most end's). */
static gboolean
reader_open_next (Reader *r)
{
  while (r->idx < r->keys->len)
    {
      const char *key = r->keys->pdata[r->idx];
      g_autofree char *path = NULL;
      guint64 offset;

      if (strcmp (key, r->end.key) > 0)
        return FALSE;
      path = key_path (r->dir, key, r->stream);
      offset = strcmp (key, r->pos.key) == 0 ? r->pos.offset : 0;
      r->limit = strcmp (key, r->end.key) == 0 ? r->end.offset : G_MAXUINT64;
      r->fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (r->fd >= 0 && offset <= r->limit && lseek (r->fd, (off_t) offset, SEEK_SET) >= 0)
        {
          pos_set (&r->pos, key, offset);
          r->buf_offset = offset;
          r->len = r->at = 0;
          r->file_eof = FALSE;
          return TRUE;
        }
      reader_close_file (r);   /* gone (retention) or unreadable: the next one */
      r->idx++;
    }
  return FALSE;
}

static gint64
parse_prefix (Reader *r, const char *p)
{
  int yy, mo, d, h, mi, s;
  g_autoptr(GDateTime) t = NULL;

  if (memcmp (p, r->cached_prefix, PREFIX_LEN) == 0)
    return r->cached_usec;
  if (sscanf (p, "[%2d-%2d-%2d %2d:%2d:%2d] ", &yy, &mo, &d, &h, &mi, &s) != 6)
    return G_MININT64;
  t = g_date_time_new_local (2000 + yy, mo, d, h, mi, s);
  if (t == NULL)
    return G_MININT64;
  memcpy (r->cached_prefix, p, PREFIX_LEN);
  r->cached_usec = g_date_time_to_unix (t) * G_USEC_PER_SEC;
  return r->cached_usec;
}

static void
reader_set_line (Reader *r, const char *line, gsize len, gsize with_newline)
{
  gint64 usec = G_MININT64;

  if (len >= PREFIX_LEN && line[0] == '[' && line[PREFIX_LEN - 2] == ']')
    usec = parse_prefix (r, line);
  if (usec != G_MININT64)
    {
      line += PREFIX_LEN;
      len -= PREFIX_LEN;
    }
  else   /* not jobd's (or cut): the time of the line before, or the hour */
    usec = r->cached_usec != G_MININT64 ? r->cached_usec
           : key_hour_start (r->keys->pdata[r->idx]) * G_USEC_PER_SEC;
  r->have = TRUE;
  r->usec = usec;
  r->text = line;
  r->text_len = len;
  r->line_bytes = with_newline;
}

/* Look at the next line without taking it; FALSE at the end. */
static gboolean
reader_peek (Reader *r)
{
  while (!r->have)
    {
      char *start, *nl;
      gsize avail;
      ssize_t n;

      if (r->fd < 0 && !reader_open_next (r))
        return FALSE;
      start = r->buf + r->at;
      avail = r->len - r->at;
      nl = avail > 0 ? memchr (start, '\n', avail) : NULL;
      if (nl != NULL)
        {
          reader_set_line (r, start, nl - start, nl - start + 1);
          break;
        }
      if (avail == READ_BUFFER || (r->file_eof && avail > 0))
        {
          /* Longer than any line jobd writes, or a last line without its
           * newline: taken as it is. */
          reader_set_line (r, start, avail, avail);
          break;
        }
      if (r->file_eof)
        {
          reader_close_file (r);
          r->idx++;
          continue;
        }
      memmove (r->buf, start, avail);
      r->buf_offset += r->at;
      r->len = avail;
      r->at = 0;
      {
        guint64 room = MIN ((guint64) (READ_BUFFER - r->len),
                            r->limit - MIN (r->limit, r->buf_offset + r->len));

        do
          n = room > 0 ? read (r->fd, r->buf + r->len, room) : 0;
        while (n < 0 && errno == EINTR);
      }
      if (n <= 0)
        r->file_eof = TRUE;
      else
        r->len += n;
    }
  return TRUE;
}

static void
reader_take (Reader *r)
{
  r->at += r->line_bytes;
  r->pos.offset = r->buf_offset + r->at;
  r->have = FALSE;
}

/* ---- merging the two streams ----------------------------------------- */

/* The stream whose next line comes first, or -1 at the end of both. */
static int
next_stream (Reader readers[2])
{
  gboolean out = reader_peek (&readers[0]);
  gboolean err = reader_peek (&readers[1]);

  if (out && err)
    return readers[1].usec < readers[0].usec ? 1 : 0;
  return out ? 0 : err ? 1 : -1;
}

static void
readers_init (Reader readers[2], const char *dir, GPtrArray *keys[2], const JobdLogCursor *cursor)
{
  for (guint s = 0; s < 2; s++)
    reader_init (&readers[s], dir, s, keys[s], &cursor->next[s], &cursor->end[s]);
}

static void
readers_clear (Reader readers[2])
{
  reader_clear (&readers[0]);
  reader_clear (&readers[1]);
}

/* Takes up to n lines; returns how many there were. */
static guint64
readers_skip (Reader readers[2], guint64 n)
{
  guint64 done = 0;
  int s;

  while (done < n && (s = next_stream (readers)) >= 0)
    {
      reader_take (&readers[s]);
      done++;
    }
  return done;
}

/* ---- locating -------------------------------------------------------- */

/* The first line of the stream at or after (strict: after) usec. */
static void
time_position (const char *dir, guint stream, GPtrArray *keys, gint64 usec,
               gboolean strict, const JobdLogPos *end, JobdLogPos *out)
{
  gint64 sec = usec / G_USEC_PER_SEC;
  JobdLogPos from = { "", 0 };
  JobdLogPos file_end;
  Reader r;
  guint i;

  /* The last file whose hour began at or before usec holds it, or the one
   * after. */
  for (i = keys->len; i > 0 && key_hour_start (keys->pdata[i - 1]) > sec; i--)
    ;
  if (i == 0)
    {
      pos_set (out, "", 0);
      return;
    }
  pos_set (&from, keys->pdata[i - 1], 0);
  pos_set (&file_end, keys->pdata[i - 1], G_MAXUINT64);
  if (pos_compare (end, &file_end) < 0)
    file_end = *end;
  reader_init (&r, dir, stream, keys, &from, &file_end);
  while (reader_peek (&r) && (strict ? r.usec <= usec : r.usec < usec))
    reader_take (&r);
  if (r.have)
    *out = r.pos;
  else   /* none in that file: from the next one */
    pos_set (out, keys->pdata[i - 1], G_MAXUINT64);
  reader_clear (&r);
}

/* Where the last n lines of the stream before end begin. */
static void
count_back (const char *dir, guint stream, GPtrArray *keys, const JobdLogPos *end,
            guint64 n, JobdLogPos *out)
{
  g_autofree char *chunk = g_malloc (BACK_CHUNK);

  for (guint i = keys->len; i > 0; i--)
    {
      const char *key = keys->pdata[i - 1];
      g_autofree char *path = NULL;
      struct stat st;
      guint64 hi;
      int fd;

      if (strcmp (key, end->key) > 0)
        continue;
      path = key_path (dir, key, stream);
      fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0)
        continue;
      if (fstat (fd, &st) < 0 || st.st_size == 0)
        {
          close (fd);
          continue;
        }
      hi = (guint64) st.st_size;
      if (strcmp (key, end->key) == 0)
        hi = MIN (hi, end->offset);
      if (hi == 0)
        {
          close (fd);
          continue;
        }
      /* The byte before hi ends the last line; a newline before that
       * starts a line. */
      if (hi > 0)
        hi--;
      while (hi > 0)
        {
          gsize want = MIN ((guint64) BACK_CHUNK, hi);
          guint64 lo = hi - want;
          ssize_t got = pread (fd, chunk, want, (off_t) lo);
          char *p;

          if (got != (ssize_t) want)
            break;
          while ((p = memrchr (chunk, '\n', want)) != NULL)
            {
              want = p - chunk;
              if (--n == 0)
                {
                  close (fd);
                  pos_set (out, key, lo + want + 1);
                  return;
                }
            }
          hi = lo;
        }
      close (fd);
      if (--n == 0 || i == 1)   /* the file's first line */
        {
          pos_set (out, key, 0);
          return;
        }
    }
  pos_set (out, "", 0);
}

void
jobd_log_read_locate (const char *dir,
                      JobdLogCursor *cursor,
                      gint64 since_usec,
                      gint64 until_usec,
                      guint64 lines)
{
  g_autoptr(GPtrArray) keys0 = list_keys (dir, 0);
  g_autoptr(GPtrArray) keys1 = list_keys (dir, 1);
  GPtrArray *keys[2] = { keys0, keys1 };
  JobdLogPos p;

  for (guint s = 0; s < 2; s++)
    {
      if (until_usec != G_MAXINT64)
        {
          time_position (dir, s, keys[s], until_usec, TRUE, &cursor->end[s], &p);
          if (pos_compare (&p, &cursor->end[s]) < 0)
            cursor->end[s] = p;
        }
      if (since_usec != G_MININT64)
        {
          time_position (dir, s, keys[s], since_usec, FALSE, &cursor->end[s], &p);
          if (pos_compare (&p, &cursor->next[s]) > 0)
            cursor->next[s] = p;
        }
      if (lines > 0)
        {
          count_back (dir, s, keys[s], &cursor->end[s], lines, &p);
          if (pos_compare (&p, &cursor->next[s]) > 0)
            cursor->next[s] = p;
        }
    }
  if (lines > 0)
    {
      /* Each stream now holds at most `lines`; of both merged, the first
       * ones go until `lines` are left. */
      Reader readers[2];
      guint64 total;

      readers_init (readers, dir, keys, cursor);
      total = readers_skip (readers, G_MAXUINT64);
      readers_clear (readers);
      if (total > lines)
        {
          readers_init (readers, dir, keys, cursor);
          readers_skip (readers, total - lines);
          cursor->next[0] = readers[0].pos;
          cursor->next[1] = readers[1].pos;
          readers_clear (readers);
        }
    }
}

/* ---- reading a page -------------------------------------------------- */

gboolean
jobd_log_read_page (const char *dir,
                    JobdLogCursor *cursor,
                    guint max_lines,
                    gsize max_bytes,
                    GPtrArray *lines)
{
  g_autoptr(GPtrArray) keys0 = list_keys (dir, 0);
  g_autoptr(GPtrArray) keys1 = list_keys (dir, 1);
  GPtrArray *keys[2] = { keys0, keys1 };
  Reader readers[2];
  gsize bytes = 0;
  guint count = 0;
  gboolean done;
  int s;

  readers_init (readers, dir, keys, cursor);
  while ((s = next_stream (readers)) >= 0)
    {
      Reader *r = &readers[s];
      JobdLine *line;
      gsize len;

      if (count >= max_lines)
        break;
      if (g_utf8_validate_len (r->text, r->text_len, NULL)
          && memchr (r->text, '\0', r->text_len) == NULL)
        line = jobd_line_new (r->usec, s, r->text, r->text_len);
      else
        {
          /* What the reply will hold: U+FFFD is three bytes for one. */
          g_autofree char *safe = jobd_utf8_make_safe (r->text, r->text_len);

          line = jobd_line_new (r->usec, s, safe, strlen (safe));
        }
      len = strlen (line->text);
      if (count > 0 && bytes + len > max_bytes)
        {
          jobd_line_free (line);
          break;
        }
      g_ptr_array_add (lines, line);
      bytes += len;
      count++;
      reader_take (r);
    }
  done = s < 0;
  cursor->next[0] = readers[0].pos;
  cursor->next[1] = readers[1].pos;
  readers_clear (readers);
  return done;
}
