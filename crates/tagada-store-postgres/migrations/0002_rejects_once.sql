-- A row rejected again by a re-import of the same file is kept once.
DELETE FROM rejects
WHERE id NOT IN (SELECT min(id) FROM rejects GROUP BY source_file, line, reason, raw);
CREATE UNIQUE INDEX rejects_once ON rejects (source_file, line, md5(reason), md5(raw));
