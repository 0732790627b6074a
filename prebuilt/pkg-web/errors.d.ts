/** What an input error is about. `INVALID_JSON`: text that is not JSON (`line` and `column` say where). */
export type RencheInputErrorCode = "INVALID_JSON" | "MISSING_FIELD" | "UNKNOWN_FIELD" | "INVALID_VALUE";

/**
 * Thrown by any export for input that is not a valid call (refusals are answers, never thrown).
 * `field` is the JSON path of the bad field ("" for the whole value).
 */
export class RencheInputError extends Error {
  private constructor();
  readonly name: "RencheInputError";
  readonly field: string;
  readonly code: RencheInputErrorCode;
  /** For text that is not JSON: where reading stopped, from 1 (the column in characters). */
  readonly line?: number;
  readonly column?: number;
}
