import { crc32 } from 'node:zlib';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LogCorruptionError } from './log-store';

/** Makes a directory entry change (create, rename, unlink) durable. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `directory/name` so that after a crash it holds either the old or the new content,
 * never a mix or an empty file: write a temp file, fsync it, rename over, fsync the directory.
 */
export async function writeFileAtomic(directory: string, name: string, content: Uint8Array): Promise<void> {
  const path = join(directory, name);
  const temporaryPath = `${path}.tmp`;
  const handle = await open(temporaryPath, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporaryPath, path);
  await fsyncDirectory(directory);
}

/** Removes a file if it exists; a leftover temp file from a crash is the usual case. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

/**
 * Small JSON documents (identity, hard state) carry a CRC of their body, so a damaged file is
 * an error rather than a silently different term or vote.
 */
export function encodeCheckedJson(body: Readonly<Record<string, unknown>>): Buffer {
  const text = JSON.stringify(body);
  return Buffer.from(JSON.stringify({ crc32: crc32(text), body: text }) + '\n', 'utf8');
}

/** Returns the body, null when the file does not exist, or throws a `LogCorruptionError` naming the file. */
export async function readCheckedJson(path: string): Promise<Record<string, unknown> | null> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(raw);
  } catch {
    throw new LogCorruptionError(`${path} is not valid JSON`);
  }
  if (!isRecord(envelope) || typeof envelope.body !== 'string' || typeof envelope.crc32 !== 'number') {
    throw new LogCorruptionError(`${path} is not a checked JSON document ({crc32, body})`);
  }
  if (crc32(envelope.body) !== envelope.crc32) throw new LogCorruptionError(`${path} fails its checksum`);
  const body: unknown = JSON.parse(envelope.body);
  if (!isRecord(body)) throw new LogCorruptionError(`${path} body is not an object`);
  return body;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
