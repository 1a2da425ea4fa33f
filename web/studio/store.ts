/**
 * The training page's browser storage (IndexedDB, reachable from the page and its worker alike): the
 * classes, their images (as Blobs, with the split each belongs to), and the current run — what it was
 * asked to do, the samples it trains on, its checkpoint after every epoch and its history — so that
 * a reload loses nothing and a run resumes from its last checkpoint.
 */
import type { RunRequest, RunRecord } from './protocol.js';

const DB = 'flatten-vit-studio';
const VERSION = 1;

/** A class the user made. */
export interface ClassEntry {
  id?: number;
  name: string;
}

/** One image of a class. */
export interface ImageEntry {
  id?: number;
  classId: number;
  /** Its name within the class (a path below the class folder when a folder was dropped). */
  name: string;
  /** `auto`: the validation split decides; `train` / `val`: given by a dropped `train/` or `val/` folder. */
  split: 'auto' | 'train' | 'val';
  blob: Blob;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

let opened: Promise<IDBDatabase> | null = null;

/** Opens (and on the first visit creates) the database. */
export function openStore(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, VERSION);
    r.onupgradeneeded = () => {
      const db = r.result;
      db.createObjectStore('classes', { keyPath: 'id', autoIncrement: true });
      db.createObjectStore('images', { keyPath: 'id', autoIncrement: true }).createIndex('class', 'classId');
      db.createObjectStore('run', { keyPath: 'key' });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB could not be opened'));
  });
  return opened;
}

async function tx<T>(stores: string[], mode: IDBTransactionMode, work: (t: IDBTransaction) => Promise<T>): Promise<T> {
  const db = await openStore();
  const t = db.transaction(stores, mode);
  const done = new Promise<void>((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error ?? new Error('IndexedDB transaction failed'));
    t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction aborted (is the disk full?)'));
  });
  const out = await work(t);
  await done;
  return out;
}

export const listClasses = () => tx(['classes'], 'readonly', (t) => request(t.objectStore('classes').getAll() as IDBRequest<ClassEntry[]>));

export const addClass = (name: string) =>
  tx(['classes'], 'readwrite', async (t) => Number(await request(t.objectStore('classes').add({ name } satisfies ClassEntry))));

export const renameClass = (id: number, name: string) =>
  tx(['classes'], 'readwrite', (t) => request(t.objectStore('classes').put({ id, name } satisfies ClassEntry)));

/** Removes a class and its images. */
export const removeClass = (id: number) =>
  tx(['classes', 'images'], 'readwrite', async (t) => {
    await request(t.objectStore('classes').delete(id));
    const keys = await request(t.objectStore('images').index('class').getAllKeys(id));
    for (const k of keys) await request(t.objectStore('images').delete(k));
  });

/** Images without their pixels (for counts and lists). */
export const listImages = () =>
  tx(['images'], 'readonly', async (t) => {
    const all = (await request(t.objectStore('images').getAll())) as ImageEntry[];
    return all.map(({ id, classId, name, split }) => ({ id: id!, classId, name, split }));
  });

export const addImages = (images: ImageEntry[]) =>
  tx(['images'], 'readwrite', async (t) => {
    for (const im of images) await request(t.objectStore('images').add(im));
  });

/** One image's bytes by id (the trainer's `read`). */
export async function imageBytes(id: number): Promise<Uint8Array> {
  const im = await tx(['images'], 'readonly', (t) => request(t.objectStore('images').get(id) as IDBRequest<ImageEntry | undefined>));
  if (!im) throw new Error(`image ${id} is no longer stored`);
  return new Uint8Array(await im.blob.arrayBuffer());
}

export const getRun = () =>
  tx(['run'], 'readonly', (t) => request(t.objectStore('run').get('current') as IDBRequest<RunRecord | undefined>));

export const putRun = (run: RunRecord) => tx(['run'], 'readwrite', (t) => request(t.objectStore('run').put(run)));

/** Updates the current run record in one transaction. */
export const updateRun = (change: (r: RunRecord) => void) =>
  tx(['run'], 'readwrite', async (t) => {
    const store = t.objectStore('run');
    const r = (await request(store.get('current'))) as RunRecord | undefined;
    if (!r) return;
    change(r);
    await request(store.put(r));
  });

export const clearRun = () => tx(['run'], 'readwrite', (t) => request(t.objectStore('run').delete('current')));

export type { RunRequest };
