/* tslint:disable */
/* eslint-disable */

/** The texts of every symbol read, or why none was (`error` has the shape of `QrError`). */
export type QrScan =
| { ok: true; texts: string[] }
| { ok: false; error: { code: string; params: { [name: string]: string | number }; message: { zh: string; en: string } } };



/**
 * Reads QR codes from greyscale pixels, one byte each (0 = black).
 */
export function qrScanGrey(data: Uint8Array | Uint8ClampedArray, width: number, height: number): QrScan;

/**
 * Reads QR codes from RGBA pixels (a canvas `ImageData`'s `data`, `width`, `height`).
 */
export function qrScanRgba(data: Uint8Array | Uint8ClampedArray, width: number, height: number): QrScan;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly qrScanGrey: (a: number, b: number, c: number, d: number) => [number, number, number];
    readonly qrScanRgba: (a: number, b: number, c: number, d: number) => [number, number, number];
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_exn_store: (a: number) => void;
    readonly __externref_table_alloc: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __externref_table_dealloc: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
