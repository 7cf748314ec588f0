import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';

/**
 * The owner of an embedded database directory, written to `<dir>.pid` beside it. PGlite has no lock
 * between processes, so this file keeps a second process out:
 *
 * - on this host, the lock is held while its process lives: a process that is gone (`kill -9`, power
 *   cut, container restart) or whose PID now belongs to another program (different start time) leaves a
 *   stale lock that the next start takes over at once;
 * - written by another host (a shared volume, a recreated container), liveness cannot be checked, so the
 *   owner refreshes the file's time every few seconds and the lock counts as stale when that stops.
 */
interface LockOwner {
  pid: number;
  /** Start time of the owner process (Linux: clock ticks since boot, from /proc), null where unknown */
  processStart: string | null;
  host: string;
  /** When the lock was taken (ISO 8601), for the operator's eyes */
  since: string;
}

export class DataDirLockedError extends Error {}

const HEARTBEAT_MS = 5_000;
/** Lock files held by this process (a second open in the same process is refused like any other). */
const heldHere = new Set<string>();
/** A lock from another host whose time was not refreshed for this long belongs to nobody. */
const FOREIGN_STALE_MS = 15_000;

/** The start time of process `pid` as the kernel records it, or null when unknown (not Linux, gone). */
export function processStartOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command) may hold spaces and parentheses: count fields after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 of the whole line: starttime
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return null;
    return { pid: o.pid, processStart: o.processStart ?? null, host: o.host, since: String(o.since ?? '') };
  } catch {
    return null;
  }
}

/** Why `owner` no longer holds the lock, or null when it still does. */
function staleReason(owner: LockOwner | null, mtimeMs: number, now = Date.now()): string | null {
  if (!owner) return 'unreadable lock file';
  if (owner.host !== hostname()) {
    return now - mtimeMs > FOREIGN_STALE_MS ? `owner on ${owner.host} stopped refreshing the lock` : null;
  }
  if (owner.pid === process.pid) return 'left by an earlier process with this PID';
  if (!isAlive(owner.pid)) return `process ${owner.pid} is gone`;
  const start = processStartOf(owner.pid);
  if (owner.processStart !== null && start !== null && start !== owner.processStart) {
    return `PID ${owner.pid} now belongs to another process`;
  }
  return null;
}

export interface DataDirLock {
  readonly path: string;
  /** Set when the lock was taken over from a process that had died, for the start-up log */
  readonly tookOverFrom: string | null;
  release(): void;
}

/**
 * Takes the lock of `dataDir` or throws DataDirLockedError naming the live owner. A stale lock is moved
 * aside and checked to be the one judged stale (two processes taking over the same stale lock at the
 * same moment: only one of them wins the file, the other sees the winner alive and is refused).
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = `${dataDir}.pid`;
  if (heldHere.has(path)) {
    throw new DataDirLockedError(
      `The embedded database directory ${dataDir} is in use by this process (PID ${process.pid}). ` +
        'Only one handle may open it: close the other one first, or point KEYWARD_DATA_DIR elsewhere.',
    );
  }
  const me: LockOwner = {
    pid: process.pid,
    processStart: processStartOf(process.pid),
    host: hostname(),
    since: new Date().toISOString(),
  };
  const text = JSON.stringify(me) + '\n';
  let tookOverFrom: string | null = null;
  for (let attempt = 0; !createLockFile(path, text); attempt++) {
    const found = readLockFile(path);
    if (!found) continue; // released meanwhile
    const owner = parseOwner(found.text);
    const reason = staleReason(owner, found.mtimeMs);
    if (reason === null || attempt >= 5) throw lockedByAnother(dataDir, path, owner);
    if (moveAsideIfUnchanged(path, found.text)) tookOverFrom = reason;
  }
  return heldLock(path, text, tookOverFrom);
}

/** Creates the lock file holding `text`; false when it exists already. */
function createLockFile(path: string, text: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  }
}

/** The lock file's content and time, or null when it was removed meanwhile. */
function readLockFile(path: string): { text: string; mtimeMs: number } | null {
  try {
    return { text: readFileSync(path, 'utf8'), mtimeMs: statSync(path).mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function lockedByAnother(dataDir: string, path: string, owner: LockOwner | null): DataDirLockedError {
  const who = owner ? `PID ${owner.pid} on ${owner.host}, since ${owner.since}` : 'another process';
  return new DataDirLockedError(
    `The embedded database directory ${dataDir} is in use by another Keyward process (${who}; lock file ${path}). ` +
      'Only one process may open it: stop the running service first, or point KEYWARD_DATA_DIR elsewhere.',
  );
}

/** The lock this process now holds: its file's time refreshed every HEARTBEAT_MS until released. */
function heldLock(path: string, text: string, tookOverFrom: string | null): DataDirLock {
  const heartbeat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      /* the next start decides with what is left */
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  heldHere.add(path);
  return {
    path,
    tookOverFrom,
    release() {
      clearInterval(heartbeat);
      heldHere.delete(path);
      try {
        if (readFileSync(path, 'utf8') === text) unlinkSync(path);
      } catch {
        /* already gone */
      }
    },
  };
}

/** Moves the stale lock away; puts it back if it turned out to be someone's fresh lock. */
function moveAsideIfUnchanged(path: string, judged: string): boolean {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const moved = readFileSync(aside, 'utf8');
  if (moved !== judged) {
    try {
      linkSync(aside, path);
    } catch {
      /* a third process took the lock meanwhile: it wins */
    }
    rmSync(aside, { force: true });
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}
