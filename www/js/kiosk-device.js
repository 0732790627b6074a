// The kiosk as a device: its key pair, its enrolment, the signature on every API request, and the two
// pieces of hardware a kiosk signs people in with (an ID-card reader and a face check).
//
// The key is an Ed25519 pair made here with WebCrypto; the private half is not extractable and stays in
// this browser profile's IndexedDB (on a real kiosk, the profile is the device's). An officer enrols the
// public half in the window console and gives the kiosk its number. From then on every request to the API
// carries X-Kiosk-Id/-Timestamp/-Nonce/-Signature over the method, path, time, nonce and body hash, and the
// server decides on the kiosk channel only for requests so signed (docs/api.md, "Kiosk requests").

const DB_NAME = 'renche-kiosk';
const STORE = 'keys';
const KEY_NAME = 'device';
const ID_ITEM = 'renche.kioskId';
const API_PREFIX = '/api/v1/';

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function idb(mode, work) {
  return openDb().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = work(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(req.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  }));
}

let keyPair = null;

/** The device's key pair, made on first use. */
async function deviceKeys() {
  if (keyPair) return keyPair;
  keyPair = await idb('readonly', (s) => s.get(KEY_NAME));
  if (!keyPair) {
    keyPair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    await idb('readwrite', (s) => s.put(keyPair, KEY_NAME));
  }
  return keyPair;
}

function base64(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text);
}

/** Whether this browser can be a kiosk at all (WebCrypto Ed25519 and IndexedDB). */
export async function kioskSupported() {
  try {
    await deviceKeys();
    return true;
  } catch {
    return false;
  }
}

/** The public key an officer enrols, base64 of its 32 bytes. */
export async function publicKeyText() {
  const { publicKey } = await deviceKeys();
  return base64(await crypto.subtle.exportKey('raw', publicKey));
}

/** The kiosk number the officer's enrolment gave, or null before enrolment. */
export function kioskId() {
  try { return localStorage.getItem(ID_ITEM); } catch { return null; }
}

export function setKioskId(id) {
  try {
    if (id) localStorage.setItem(ID_ITEM, id); else localStorage.removeItem(ID_ITEM);
  } catch { /* a kiosk profile keeps its storage */ }
}

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function nonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The four headers for a request: what the server checks in `flows::kiosks::verify`. */
export async function signatureHeaders(method, pathAndQuery, bodyBytes) {
  const id = kioskId();
  if (!id) return {};
  const { privateKey } = await deviceKeys();
  const at = String(Date.now());
  const n = nonce();
  const text = ['renche-kiosk-v1', method.toUpperCase(), pathAndQuery, at, n, await sha256Hex(bodyBytes)].join('\n');
  const signature = await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, new TextEncoder().encode(text));
  return { 'X-Kiosk-Id': id, 'X-Kiosk-Timestamp': at, 'X-Kiosk-Nonce': n, 'X-Kiosk-Signature': base64(signature) };
}

let installed = false;

/**
 * Signs every API request this page makes, its own and the rules core's Client's alike (both go through
 * `window.fetch`), once the kiosk is enrolled.
 */
export function signApiRequests() {
  if (installed) return;
  installed = true;
  const plain = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(API_PREFIX) || !kioskId()) return plain(request);
    const body = request.method === 'GET' || request.method === 'HEAD' ? new ArrayBuffer(0) : await request.clone().arrayBuffer();
    const headers = new Headers(request.headers);
    for (const [k, v] of Object.entries(await signatureHeaders(request.method, url.pathname + url.search, body))) headers.set(k, v);
    return plain(new Request(request, { headers }));
  };
}

// The hardware. A kiosk vendor's adapter implements these two with the device's reader and camera (for
// instance a service on the kiosk's loopback, or a native bridge), answering the same shapes:
//
//   cardReader.read(signal) → Promise<{ residentId, name }>   resolves when a card is on the reader
//   faceCheck.compare(card, signal) → Promise<{ score, live }> the live face against the chip's photo
//
// The development ones below wait for a tester (or a browser test) to place a card and set the face
// result from the development panel; the server applies the score threshold, not the page.

class DevCardReader {
  constructor() { this.waiting = []; this.card = null; }
  place(card) {
    this.card = card;
    for (const resolve of this.waiting.splice(0)) resolve(card);
  }
  remove() { this.card = null; }
  read(signal) {
    if (this.card) return Promise.resolve(this.card);
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    });
  }
}

class DevFaceCheck {
  constructor() { this.outcome = { score: 0.95, live: true }; }
  set(outcome) { this.outcome = outcome; }
  async compare() { return { ...this.outcome }; }
}

export const devices = {
  cardReader: new DevCardReader(),
  faceCheck: new DevFaceCheck(),
};

/** For a vendor's adapter: replaces the development reader and face check. */
export function useDevices({ cardReader, faceCheck }) {
  if (cardReader) devices.cardReader = cardReader;
  if (faceCheck) devices.faceCheck = faceCheck;
}
